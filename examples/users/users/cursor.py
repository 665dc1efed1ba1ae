"""Opaque page cursors for GET /users: base64url of the last (created_at, id) a page returned."""

from __future__ import annotations

import json


def encode(position: tuple[str, str]) -> str:
    import base64  # only when a page has a next one

    raw = json.dumps(list(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(cursor: str) -> tuple[str, str]:
    """The position a cursor names; ValueError for anything this API did not hand out."""
    import base64

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("cursor is not one this API returned") from None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) and v for v in value)):
        raise ValueError("cursor is not one this API returned")
    return value[0], value[1]
