"""JSON Schema building blocks for route inputs: text without control characters, emails checked in linear time."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

# C0 controls (NUL, backspace, ESC, ...), DEL and C1 controls: never part of a name, an address or a title, and
# a way to forge log lines, break terminals and smuggle data past naive filters.
CONTROL_CHARACTERS = r"\x00-\x1F\x7F-\x9F"
# The same, minus tab, line feed and carriage return: for multi-line text such as a description.
CONTROL_EXCEPT_WHITESPACE = r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F"
NO_CONTROL_CHARACTERS = rf"^[^{CONTROL_CHARACTERS}]*$"
# Dot-separated atoms around one @: no two ways to match a string, so no backtracking (fastjsonschema's own email
# regex takes seconds on a long string of dots); no spaces, no control characters.
_ATOM = rf"[^@\s.{CONTROL_CHARACTERS}]+"
EMAIL = rf"^{_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})+$"


def text(*, min_length: int | None = None, max_length: int | None = None, visible: bool = False,
         multiline: bool = False, **extra: Any) -> dict[str, Any]:
    """A string schema that refuses control characters (NUL, ESC, backspace, DEL, C1; with multiline=True tab,
    line feed and carriage return are allowed). visible=True also needs one non-space character. The rule is a
    `pattern`, so the function, the local gateway, API Gateway's models and the OpenAPI document all enforce it."""
    forbidden = CONTROL_EXCEPT_WHITESPACE if multiline else CONTROL_CHARACTERS
    # The lookahead scans once from the start: linear, unlike a pattern such as ^\s*\S.*$ around a class.
    lookahead = (r"(?=[\s\S]*\S)" if multiline else r"(?=.*\S)") if visible else ""
    schema: dict[str, Any] = {"type": "string", "pattern": f"^{lookahead}[^{forbidden}]*$"}
    if min_length is not None:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    schema.update(extra)
    return schema


def email(*, max_length: int = 254, **extra: Any) -> dict[str, Any]:
    """An email address: `format: email` for documents and clients, and a linear-time pattern that refuses spaces,
    control characters and dots at the edges of an atom (254: the longest address SMTP carries)."""
    return {"type": "string", "format": "email", "maxLength": max_length, "pattern": EMAIL, **extra}
