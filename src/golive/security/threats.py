"""Threat signals: SQL-injection, XSS and path-traversal patterns in the path, query and body."""

from __future__ import annotations

import json
import re

from golive.errors import HTTPError
from golive.http import Request

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

_SOURCES: dict[str, tuple[str, int]] = {
    "sql_injection": (
        r"\bunion\b[\s\S]{0,40}\bselect\b|'\s*or\s+'?[\w]+'?\s*=\s*'?[\w]+|;\s*(drop|delete|insert|update|alter|"
        r"truncate|exec)\b|\bdrop\s+table\b|\bselect\b[\s\S]{1,80}\bfrom\b[\s\S]{1,80}\bwhere\b|"
        r"\bsleep\s*\(\s*\d|\bpg_sleep\b|\bwaitfor\s+delay\b|\bxp_cmdshell\b|'\s*;?\s*--",
        re.IGNORECASE),
    "xss": (
        r"<\s*script\b|javascript\s*:|\bon(error|load|click|mouseover|focus|toggle)\s*=|<\s*iframe\b|"
        r"<\s*object\b|<\s*embed\b|document\.cookie|<\s*svg\b[^>]*\bon\w+\s*=",
        re.IGNORECASE),
    "path_traversal": (
        r"\.\./|\.\.\\|%2e%2e(?:%2f|%5c|/|\\)|\.\.%2f|\.\.%5c|/etc/(passwd|shadow)|\\windows\\system32|%00|\x00",
        re.IGNORECASE),
}
_compiled: dict[str, re.Pattern[str]] = {}
MAX_SCAN = 64 * 1024  # bytes of body inspected: enough for any form, bounded for cost


def scan(request: Request) -> list[dict[str, str]]:
    """Every suspicious pattern found, as {kind, location, sample}."""
    findings: list[dict[str, str]] = []
    route = request.route
    if route is None or "{" in route.path:
        _check(request.path, "path", findings)  # a static route's path is the route's own text: nothing to scan
    for name, values in request.multi_query.items():
        for value in values:
            _check(value, f"query.{name}", findings)
    if request.body:
        text = request.body[:MAX_SCAN].decode("utf-8", "replace")
        document = None
        if text.lstrip()[:1] in ("{", "["):
            try:
                # The whole body parses once per request (Request.json caches it for validation too).
                document = request.json if len(request.body) <= MAX_SCAN else json.loads(text)
            except (ValueError, RecursionError, HTTPError):  # bad JSON (a BadRequest from Request.json): scan as text
                document = None
        if document is None:
            _check(text, "body", findings)
        else:
            _walk(document, "body", findings)
    return findings


def _walk(value: Any, location: str, findings: list[dict[str, str]], depth: int = 0) -> None:
    if depth > 10:
        return
    if isinstance(value, str):
        _check(value, location, findings)
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(item, f"{location}.{key}", findings, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value[:1000]):
            _walk(item, f"{location}[{index}]", findings, depth + 1)


def patterns() -> dict[str, re.Pattern[str]]:
    """The detectors, compiled on first use (not at import: cold start)."""
    if not _compiled:
        _compiled.update({kind: re.compile(source, flags) for kind, (source, flags) in _SOURCES.items()})
        # One alternation screens each string in a single pass; the per-kind patterns only run on a hit.
        _compiled["_any"] = re.compile("|".join(f"(?:{source})" for source, _ in _SOURCES.values()), re.IGNORECASE)
    return _compiled


# Every detector needs one of these in the text: a character or digraph it starts or hinges on, or (ASCII case
# folded) a keyword. Substring tests run at C speed, ~10x cheaper than the alternation below, and most strings a
# service sees (names, emails, ids) contain none of them. Keep in step with _SOURCES: a detector added there needs
# its marker here.
_MARKS = ("'", "<", ";", ":", "=", "%", "\\", "\x00", "..")
_KEYWORDS = ("union", "drop", "select", "sleep", "waitfor", "xp_cmdshell", "cookie", "/etc/")


def _may_match(text: str) -> bool:
    """False only when no detector can match. Only for ASCII text: under re.IGNORECASE a few non-ASCII letters
    (the long s, the Kelvin sign) match ASCII ones, which str.lower() does not reproduce."""
    for mark in _MARKS:
        if mark in text:
            return True
    lower = text.lower()
    for keyword in _KEYWORDS:  # noqa: SIM110  (a plain loop: any() over a generator costs more than the tests)
        if keyword in lower:
            return True
    return False


def _check(text: str, location: str, findings: list[dict[str, str]]) -> None:
    if len(text) < 3 or (text.isascii() and not _may_match(text)):
        return
    compiled = patterns()
    if compiled["_any"].search(text) is None:
        return
    for kind, pattern in compiled.items():
        if kind == "_any":
            continue
        match = pattern.search(text)
        if match:
            findings.append({"kind": kind, "location": location, "sample": match.group(0)[:80]})
