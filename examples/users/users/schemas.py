"""JSON Schemas of everything the Users API accepts and returns: validation, OpenAPI and gateway models derive
from these."""

from __future__ import annotations

from golive import schema

# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
E164 = r"^\+[1-9][0-9]{1,14}$"

USER_INPUT = {
    "title": "UserInput",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "email"],
    "properties": {
        # At least one visible character (a name of spaces is no name) and no control characters (NUL, ESC,
        # backspace, C1): they forge log lines and break every screen the name is shown on.
        "name": schema.text(min_length=1, max_length=100, visible=True),
        # format: email, plus a linear-time pattern: no spaces, no trailing newline, no control characters.
        "email": schema.email(max_length=254),
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "phone": {"type": "string", "pattern": E164, "description": "E.164, e.g. +14155550123"},
    },
}

USER = {
    "title": "User",
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "email", "createdAt", "updatedAt", "version"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "email": {"type": "string"},
        "age": {"type": "integer"},
        "phone": {"type": "string"},
        "createdAt": {"type": "string", "description": "UTC, ISO 8601 with microseconds"},
        "updatedAt": {"type": "string"},
        "version": {"type": "integer", "minimum": 1, "description": "bumped by every write"},
    },
}

USER_PAGE = {
    "title": "UserPage",
    "type": "object",
    "additionalProperties": False,
    "required": ["items", "next"],
    "properties": {
        "items": {"type": "array", "items": USER},
        "next": {"type": ["string", "null"], "description": "pass as ?cursor= for the next page; null on the last"},
    },
}

LIST_QUERY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        "cursor": {"type": "string", "minLength": 1, "maxLength": 512},
    },
}

USER_PATH = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 128}},
}

# Header schemas see lower-cased names; only the headers a route reads are described.
CREATE_HEADERS = {
    "type": "object",
    "properties": {
        "idempotency-key": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x21-\x7e]+$",
                            "description": "repeat a create safely: a replay returns the first response"},
    },
}
READ_HEADERS = {"type": "object", "properties": {"if-none-match": {"type": "string", "maxLength": 1024}}}
WRITE_HEADERS = {"type": "object", "properties": {"if-match": {"type": "string", "maxLength": 1024}}}

PROBLEM = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "requestId": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}


# golive's health report (golive.health): what monitors and load balancers read. Only what they rely on is
# required, so a field golive adds later does not turn the health check itself into a 500.
HEALTH = {
    "title": "Health",
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"enum": ["ok", "degraded"], "description": "degraded (with 503) when a critical check fails"},
        "service": {"type": "string"},
        "version": {"type": "string"},
        "uptime_s": {"type": "number"},
        "memory": {"type": "object"},
        "checks": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["status"],
                "properties": {
                    "status": {"enum": ["ok", "fail", "timeout"]},
                    "latency_ms": {"type": "number"},
                    "error": {"type": "string"},
                },
            },
        },
    },
}


def problems(*statuses: int) -> dict[int, dict]:
    """Error statuses a route can answer, each with the problem+json body."""
    return {status: PROBLEM for status in statuses}
