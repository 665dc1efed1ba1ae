"""Picks the Users store from the environment: DynamoDB when USERS_TABLE is set, else SQLite under .golive/."""

from __future__ import annotations

import os

from users.store.base import UserStore

SERVICE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sqlite_path(env: dict[str, str] | None = None) -> str:
    """$GOLIVE_STATE_DIR/users.db (golive dev sets it), else the service's own .golive/users.db."""
    env = os.environ if env is None else env
    state_dir = env.get("GOLIVE_STATE_DIR") or os.path.join(SERVICE_DIR, ".golive")
    return os.path.join(state_dir, "users.db")


def open_store(env: dict[str, str] | None = None) -> UserStore:
    """The store this process should use; opening is lazy, so nothing is touched until the first request."""
    env = os.environ if env is None else env
    table = env.get("USERS_TABLE")
    if table:
        from users.store.dynamodb import DynamoUserStore

        endpoint = env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("DYNAMODB_ENDPOINT") or None
        return DynamoUserStore(table, endpoint_url=endpoint)
    from users.store.sqlite import SQLiteUserStore

    return SQLiteUserStore(sqlite_path(env))
