"""POST /users written with golive: body schema, access log, EMF metric, security headers, correlation id."""

import os

from golive import App, logger, metrics

# The benchmark's "-log" rows: the handler also logs one line of its own with personal data in it, as real ones do.
LOG_USER = os.environ.get("BENCH_LOG_USER") == "1"

USER_IN = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "email": {"type": "string", "format": "email"},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
    },
    "required": ["name", "email"],
    "additionalProperties": False,
}
USER = {
    "type": "object",
    "properties": {"id": {"type": "string"}, **USER_IN["properties"]},
    "required": ["id", "name", "email"],
    "additionalProperties": False,
}

# golive's defaults already give the JSON access log (one line per request, with correlation_id from
# X-Request-ID, echoed back), the security headers, per-route EMF metrics and threat screening.
app = App(service="users", metrics_namespace="users")


@app.post("/users", body=USER_IN, responses={201: USER})
def create_user(request):
    user = {"id": os.urandom(16).hex(), **request.json}
    metrics.add("UserCreated", 1)
    if LOG_USER:
        logger.info("user created", email=user["email"])
    return user, 201


handler = app.handler
