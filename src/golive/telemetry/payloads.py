"""golive dev's recent payloads: each proxied request's event and its function's raw result, in a bounded ring in
the dev process's memory, shown redacted as logs are by the request page and /_golive/api/requests/{id}."""

# Why not in the DuckDB store: the store keeps millions of requests within a budget of about 100 bytes per request
# row; an event and a response are kilobytes each (up to 6 MB). They matter for the requests a developer has just
# sent, so golive dev keeps the last DEFAULT_REQUESTS of them in memory and forgets them when it stops.
#
# Why they are held as sent and redacted when shown: on_payload runs on the gateway's event loop after each reply,
# and parsing plus redacting every event there (or on a thread holding the GIL beside it) would cost the local
# cloud's benchmarked throughput; a page asks for one request, on a worker thread. The bytes held are the ones the
# gateway and the Lambda service already made (references, no copies), bounded by count and by total size.

from __future__ import annotations

import base64
import binascii
import json
from collections import deque
from typing import Any
from urllib.parse import parse_qsl, urlencode

from golive.observability.redaction import REDACTED, mask_text, redact, sensitive_key

DEFAULT_REQUESTS = 1000  # the requests kept; the page says so when one is not among them
DEFAULT_BODY_BYTES = 256 * 1024  # per body shown: the rest is cut, with a note saying how much there was
DEFAULT_TOTAL_BYTES = 64 * 1024 * 1024  # all events and results held (a few 6 MB payloads must not pin gigabytes)
KEPT_NOTE = f"kept in memory by golive dev for the last {DEFAULT_REQUESTS:,} requests"

Kept = tuple[str, str, bytes, bytes | None]  # API request id, Lambda request id, event, raw result

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class PayloadRing:
    """The last `max_requests` proxied requests' event and raw result (at most `max_total_bytes` of them)."""

    def __init__(self, max_requests: int = DEFAULT_REQUESTS, max_body_bytes: int = DEFAULT_BODY_BYTES,
                 max_total_bytes: int = DEFAULT_TOTAL_BYTES) -> None:
        self.max_requests, self.max_body_bytes, self.max_total_bytes = max_requests, max_body_bytes, max_total_bytes
        self._recent: deque[Kept] = deque()  # oldest first; appended on the loop only, read by copying
        self.bytes = 0  # the events' and results' sizes held

    def on_payload(self, request_id: str, lambda_request_id: str, event: bytes, result: bytes | None) -> None:
        """The gateway's callback (after the reply): hold the references, drop the oldest beyond the bounds."""
        recent = self._recent
        recent.append((request_id, lambda_request_id, event, result))
        self.bytes += len(event) + (len(result) if result is not None else 0)
        while len(recent) > self.max_requests or (self.bytes > self.max_total_bytes and len(recent) > 1):
            _, _, old_event, old_result = recent.popleft()
            self.bytes -= len(old_event) + (len(old_result) if old_result is not None else 0)

    def __len__(self) -> int:
        return len(self._recent)

    def add_to(self, found: dict[str, Any]) -> dict[str, Any]:
        """`found` (queries.find_request's answer) with "event" and "response" when this ring still keeps them."""
        request = found.get("request") or {}
        ids = [request.get("request_id"), request.get("lambda_request_id"),
               *[line.get("lambda_request_id") for line in (found.get("logs") or [])[:1]]]
        kept = self.find(*(str(one) for one in ids if one))
        if kept is not None:
            found.update(kept)
        return found

    def find(self, *ids: str) -> dict[str, Any] | None:
        """{"event": ..., "response": ...} of the request any of `ids` names (its API or Lambda request id),
        redacted and with long bodies cut; None when it is not (or no longer) kept. Called off the event loop."""
        wanted = {str(one) for one in ids if one}
        for request_id, lambda_request_id, event, result in reversed(tuple(self._recent)):  # tuple(): atomic copy
            if request_id in wanted or (lambda_request_id and lambda_request_id in wanted):
                return {"event": shown(event, self.max_body_bytes),
                        "response": shown(result, self.max_body_bytes) if result is not None else None}
        return None


def shown(raw: bytes, max_body_bytes: int = DEFAULT_BODY_BYTES) -> Any:
    """A payload as the dashboard shows it: parsed, secrets redacted by key, emails and card numbers masked, the
    Authorization header and cookies "[REDACTED]", a body (base64 or not) redacted inside and cut to
    `max_body_bytes` with a note; a payload that is not JSON is masked text, cut the same way."""
    try:
        document = json.loads(raw)
    except ValueError:
        return _cut(mask_text(raw.decode("utf-8", "replace")), max_body_bytes)
    if not isinstance(document, dict):
        return _cut_deep(redact(document), max_body_bytes)
    content_type = _content_type(document)
    redacted = redact(document)
    for key in ("cookies",):  # payload v2's cookies (request and response) are a list, not a Cookie header
        if isinstance(redacted.get(key), list):
            redacted[key] = [REDACTED for _ in redacted[key]]
    body = document.get("body")
    if isinstance(body, str) and body:
        redacted["body"] = _body(body, bool(document.get("isBase64Encoded")), content_type, max_body_bytes)
    elif body is not None and not isinstance(body, str):  # a malformed result's body (not a string): as it is
        redacted["body"] = _cut_deep(redacted.get("body"), max_body_bytes)
    return redacted


def _content_type(document: dict[str, Any]) -> str:
    headers = document.get("headers")
    if isinstance(headers, dict):
        for name, value in headers.items():
            if isinstance(name, str) and name.lower() == "content-type" and isinstance(value, str):
                return value.lower()
    return ""


def _body(body: str, base64_encoded: bool, content_type: str, limit: int) -> str:
    """The body redacted inside (JSON by key, a form by field name, text masked), cut to `limit` bytes."""
    if base64_encoded:
        try:
            text = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return _cut(body, limit)  # binary: nothing readable to redact
        return _cut(base64.b64encode(_redact_text(text, content_type).encode()).decode(), limit)
    return _cut(_redact_text(body, content_type), limit)


def _redact_text(text: str, content_type: str) -> str:
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            return _encode(redact(json.loads(text)))
        except ValueError:
            pass
    if "application/x-www-form-urlencoded" in content_type:
        pairs = parse_qsl(text, keep_blank_values=True)
        return urlencode([(k, REDACTED if sensitive_key(k) else mask_text(v)) for k, v in pairs])
    return mask_text(text)


def _cut(text: str, limit: int) -> str:
    size = len(text.encode())
    if size <= limit:
        return text
    kept = text.encode()[:limit].decode("utf-8", "ignore")
    return f"{kept}… [cut by golive dev: {size:,} bytes, the first {limit:,} shown]"


def _cut_deep(value: Any, limit: int) -> Any:
    """A JSON value whose encoding is over `limit` bytes becomes its encoding cut, with the note."""
    text = _encode(value)
    return value if len(text.encode()) <= limit else _cut(text, limit)
