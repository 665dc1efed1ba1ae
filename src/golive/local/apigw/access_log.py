"""Access logs with API Gateway's $context field names: one JSON line per request, and an optional callback."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

# Field order of every line; absent text values are "-" as in API Gateway, absent numbers null.
FIELDS = ("requestId", "extendedRequestId", "ip", "sourceIp", "requestTime", "requestTimeEpoch", "httpMethod",
          "path", "routeKey", "resourcePath", "stage", "status", "protocol", "responseLength", "responseLatency",
          "integrationLatency", "integrationStatus", "integrationErrorMessage", "integrationRequestId",
          "functionName", "authorizerStatus", "authorizerError", "authorizerLatency", "principalId",
          "errorResponseType", "errorMessage", "validationErrorString", "userAgent", "xrayTraceId", "apiKeyId")
_NUMERIC = frozenset({"requestTimeEpoch", "status", "responseLength", "responseLatency", "integrationLatency",
                      "integrationStatus", "authorizerStatus", "authorizerLatency"})
_DEFAULTS = {name: None if name in _NUMERIC else "-" for name in FIELDS}


def request_time(epoch: float) -> str:
    """$context.requestTime: CLF-formatted, e.g. 21/Nov/2025:04:26:03 +0000."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch))


class AccessLog:
    """Writes each record as one JSON line (stdout by default) and hands it to `callback` (the dashboard's store)."""

    def __init__(self, *, stream: TextIO | None = None, enabled: bool = True,
                 callback: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.stream, self.enabled, self.callback = stream, enabled, callback

    def emit(self, values: dict[str, Any]) -> dict[str, Any]:
        record = dict(_DEFAULTS)
        record.update(values)
        for name, value in values.items():
            if value is None and name not in _NUMERIC:
                record[name] = "-"
        if self.enabled:
            stream = self.stream or sys.stdout
            stream.write(json.dumps(record, separators=(",", ":")) + "\n")
            flush_soon(stream)
        if self.callback is not None:
            try:
                self.callback(record)
            except Exception as exc:  # a broken consumer must not break the gateway
                print(f"golive: access-log callback failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return record


_pending: set[int] = set()


def flush_soon(stream: TextIO) -> None:
    """Flush once the event loop has run the ready callbacks: one flush for a burst of lines, none lost on a
    quiet server. Without a running loop, flush now."""
    key = id(stream)
    if key in _pending:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        stream.flush()
        return
    _pending.add(key)

    def flush() -> None:
        _pending.discard(key)
        try:
            stream.flush()
        except (OSError, ValueError):
            pass

    loop.call_soon(flush)
