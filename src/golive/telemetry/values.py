"""DuckDB's values as JSON-able Python (ISO times with a Z, UUIDs and decimals as text and numbers): the one
conversion every telemetry answer goes through, for the API, the CLI's --format json and the dashboard alike."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    return value
