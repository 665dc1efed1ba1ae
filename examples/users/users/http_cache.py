"""ETag conditions (RFC 9110 §13): If-None-Match compares weakly, If-Match strongly."""

from __future__ import annotations


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def none_match_hits(header: str | None, current: str) -> bool:
    """True when If-None-Match names the current representation (answer 304)."""
    if header is None:
        return False
    opaque = current.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == opaque for tag in _tags(header))


def match_passes(header: str, current: str) -> bool:
    """True when If-Match allows writing over the current representation; weak tags never match."""
    return any(tag == "*" or (not tag.startswith("W/") and tag == current) for tag in _tags(header))
