"""Lambda entry point of the Users service (golive.toml: handler = "handler.handler")."""

from users.api import create_app

app = create_app()
handler = app.handler
