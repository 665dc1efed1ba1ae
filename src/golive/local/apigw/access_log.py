"""Access logs with API Gateway's $context field names: one JSON line per request, and an optional callback."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from golive.local.output import write_soon
from golive.observability.redaction import mask_text

# Field order of every line; absent text values are "-" as in API Gateway, absent numbers null.
FIELDS = ("requestId", "extendedRequestId", "ip", "sourceIp", "requestTime", "requestTimeEpoch", "httpMethod",
          "path", "routeKey", "resourcePath", "stage", "status", "protocol", "responseLength", "responseLatency",
          "integrationLatency", "integrationStatus", "integrationErrorMessage", "integrationRequestId",
          "functionName", "authorizerStatus", "authorizerError", "authorizerLatency", "principalId",
          "errorResponseType", "errorMessage", "validationErrorString", "userAgent", "xrayTraceId", "apiKeyId")
_NUMERIC = frozenset({"requestTimeEpoch", "status", "responseLength", "responseLatency", "integrationLatency",
                      "integrationStatus", "authorizerStatus", "authorizerLatency"})
_DEFAULTS = {name: None if name in _NUMERIC else "-" for name in FIELDS}
# Fields whose text comes from the caller (or from the function, about the caller's input): masked as function
# logs are (emails, card numbers, SSNs), so GET /users/ada@example.com is not written down in the clear.
_CALLER_TEXT = ("path", "userAgent", "principalId", "errorMessage", "validationErrorString",
                "integrationErrorMessage", "authorizerError")


class AccessLog:
    """Writes each record as one JSON line (stdout by default) and hands it to `callback` (the dashboard's store)."""

    def __init__(self, *, stream: TextIO | None = None, enabled: bool = True,
                 callback: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.stream, self.enabled, self.callback = stream, enabled, callback
        # a record is flat and built by the gateway: no cycles, so no circular-reference check (half the cost)
        self._encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode

    def emit(self, values: dict[str, Any]) -> dict[str, Any]:
        record = _DEFAULTS.copy()  # C-level copy and update: cheaper than building the dict field by field
        record.update(values)
        if None in values.values():  # rare: an absent text value is "-" as in API Gateway, a number null
            for name, value in values.items():
                if value is None and name not in _NUMERIC:
                    record[name] = "-"
        for name in _CALLER_TEXT:
            value = record[name]
            if value.__class__ is str and len(value) >= 9:  # shorter text holds no email, card or SSN
                record[name] = mask_text(value)
        if self.enabled:
            write_soon(self.stream or sys.stdout, self._encode(record) + "\n")
        if self.callback is not None:
            try:
                self.callback(record)
            except Exception as exc:  # a broken consumer must not break the gateway
                print(f"golive: access-log callback failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return record
