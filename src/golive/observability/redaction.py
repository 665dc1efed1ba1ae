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
# "%40" too: an address in a URL path arrives percent-encoded (/users/ada%40example.com).
_EMAIL = re.compile(r"([A-Za-z0-9._%+-]{1,2})[A-Za-z0-9._%+-]*"
                    r"((?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_SSN = re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")
# Nine digits (with separators) is the shortest SSN or card number: a C-speed pre-check before the full patterns.
_DIGIT_RUN = re.compile(r"\d[\d -]{8}")
# Key decisions are cached: log records reuse the same few dozen keys, and the key regex costs ~1.5 µs a search.
_key_cache: dict[str, bool] = {}
# Values found clean (nothing to mask) are remembered: messages, paths, user agents and source IPs repeat from
# request to request, and a set lookup is ~10x cheaper than the scan. Only clean values are kept, so the cache
# never holds personal data; it stops growing when full (unique ids would only churn it).
_clean: set[str] = set()
_CLEAN_MAX = 4096
_CLEAN_LONGEST = 256


def sensitive_key(key: str) -> bool:
    """Whether a field with this name must never be logged."""
    hit = _key_cache.get(key)
    if hit is None:
        hit = SENSITIVE_KEY.search(key) is not None
        if len(_key_cache) < 4096:
            _key_cache[key] = hit
    return hit


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


def _email(match: re.Match[str]) -> str:
    return f"{match[1]}***{match[2]}"  # a function replacement: ~2x cheaper than the r"\1***\2" template


def mask_text(text: str) -> str:
    """Mask emails (ad***@example.com), card numbers (Luhn-valid) and US SSNs inside free text."""
    if text in _clean:
        return text
    original = text
    if "@" in text or "%40" in text:
        text = _EMAIL.sub(_email, text)
    if len(text) >= 9 and _DIGIT_RUN.search(text):
        text = _SSN.sub(REDACTED, text)
        text = _CARD.sub(_card, text)
    if text is original and len(text) <= _CLEAN_LONGEST and len(_clean) < _CLEAN_MAX:
        _clean.add(text)
    return text


# Fields golive itself writes with values it controls (ids it generated, numbers, route templates): their values
# are never personal data, so log records skip scanning them (the scan is the costliest part of a log line).
TRUSTED_FIELDS = frozenset({"timestamp", "level", "service", "function", "request_id", "trace_id", "cold_start",
                            "method", "route", "status", "latency_ms", "sampled_debug"})


def redact_record(record: dict[str, Any]) -> dict[str, Any]:
    """redact() for a top-level log record, skipping TRUSTED_FIELDS."""
    return redact_record_in_place(dict(record))


def redact_record_in_place(record: dict[str, Any]) -> dict[str, Any]:
    """redact_record() on a record the caller owns (the logger's, built for this line): no second dict."""
    # The cache lookups are inlined (this loop runs for every field of every log line); misses take the full path.
    keys, clean = _key_cache, _clean
    for key, value in record.items():  # only values change: no key is added or removed while iterating
        if key in TRUSTED_FIELDS:
            continue
        sensitive = keys.get(key)
        if sensitive is None:
            sensitive = sensitive_key(key)
        if sensitive:
            record[key] = REDACTED
        elif value.__class__ is str:
            if value in clean:
                continue
            masked = mask_text(value)
            if masked is not value:
                record[key] = masked
        elif value is None or value.__class__ in (int, float, bool):
            continue
        else:
            record[key] = redact(value, 1)
    return record


def redact(value: Any, depth: int = 0) -> Any:
    """A copy of value with sensitive keys removed and personal data masked (bounded depth)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        if depth > 8:
            return "[TRUNCATED]"
        return {k: (REDACTED if isinstance(k, str) and sensitive_key(k) else redact(v, depth + 1))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        if depth > 8:
            return "[TRUNCATED]"
        return [redact(item, depth + 1) for item in value]
    return value
