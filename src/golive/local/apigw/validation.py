"""REST API request validators derived from the route schemas: required parameters first, then the JSON body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from golive.http import parse_json
from golive.local.apigw.routes import RouteSpec
from golive.validation import FORMATS


class ValidationVerdict:
    """Why the gateway refuses a request: the gateway response type, missing parameter names, the detail."""

    __slots__ = ("detail", "kind", "missing")

    def __init__(self, kind: str, missing: list[str] | None = None, detail: str = "") -> None:
        self.kind, self.missing, self.detail = kind, missing or [], detail


class RequestValidator:
    """[api] request_validation as api_settings reads it: "full" (parameters and body, the default on REST APIs), "body"
    or "params"."""

    def __init__(self, mode: str) -> None:
        self.params = mode in ("full", "params")
        self.body = mode in ("full", "body")
        self._validators: dict[str, Callable[[Any], Any]] = {}

    def check(self, route: RouteSpec, headers: dict[str, str], query: dict[str, str],
              body: bytes) -> ValidationVerdict | None:
        if self.params:
            missing = [name for name in _required(route.query) if name not in query]
            missing += [name for name in _required(route.headers) if name.lower() not in headers]
            if missing:
                return ValidationVerdict("BAD_REQUEST_PARAMETERS", missing)
        if self.body and route.body:
            content_type = (headers.get("content-type") or "application/json").split(";")[0].strip().lower()
            if content_type != "application/json" and not content_type.endswith("+json"):
                return None  # no model for this content type: API Gateway passes the body through
            try:
                # Too deep or a lone surrogate: refused as the function would refuse it, never a RecursionError.
                document = parse_json(body) if body else None
            except ValueError as exc:  # UnicodeDecodeError included
                return ValidationVerdict("BAD_REQUEST_BODY", detail=f"body is not JSON: {exc}")
            try:
                self._validator(route)(document)
            except ValueError as exc:
                return ValidationVerdict("BAD_REQUEST_BODY", detail=str(exc))
        return None

    def _validator(self, route: RouteSpec) -> Callable[[Any], Any]:
        validator = self._validators.get(route.key)
        if validator is None:
            import fastjsonschema

            assert route.body is not None  # only routes with a body schema are validated
            validator = self._validators[route.key] = fastjsonschema.compile(route.body, formats=FORMATS,
                                                                             use_default=False)
        return validator


def _required(schema: dict | None) -> list[str]:
    if not schema:
        return []
    return [str(name) for name in schema.get("required") or []]
