"""Removes secrets and masks personal data in anything about to be logged."""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

REDACTED = "[REDACTED]"
SENSITIVE_KEY = re.compile(
    r"pass(word|wd|phrase)?$|passwd|token|authori[sz]ation|secret|(^|[_-])ssn$|social.?security"
    r"|(^|[_-]|credit|debit)card(.?(number|no|num))?$"
    r"|^pan$|cvv|cvc|api.?key|^cookie$|^set-cookie$|credential|private.?key",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"([A-Za-z0-9._%+-]{1,2})[A-Za-z0-9._%+-]*(@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_SSN = re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")


def _luhn_ok(digits: str) -> bool:
    total, double = 0, False
    for char in reversed(digits):
        value = ord(char) - 48
        if double:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
        double = not double
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = match.group(0).replace(" ", "").replace("-", "")
    return REDACTED if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


def mask_text(text: str) -> str:
    """Mask emails (ad***@example.com), card numbers (Luhn-valid) and US SSNs inside free text."""
    if "@" in text:
        text = _EMAIL.sub(r"\1***\2", text)
    if len(text) >= 11 and any(c.isdigit() for c in text):
        text = _SSN.sub(REDACTED, text)
        text = _CARD.sub(_card, text)
    return text


def redact(value: Any, depth: int = 0) -> Any:
    """A copy of value with sensitive keys removed and personal data masked (bounded depth)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        if depth > 8:
            return "[TRUNCATED]"
        return {k: (REDACTED if isinstance(k, str) and SENSITIVE_KEY.search(k) else redact(v, depth + 1))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        if depth > 8:
            return "[TRUNCATED]"
        return [redact(item, depth + 1) for item in value]
    return value
