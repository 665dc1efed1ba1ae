"""Test client: real v1/v2/URL/ALB events in, parsed responses and the emitted log/EMF lines out."""

from __future__ import annotations

import base64
import contextlib
import io
import json
from collections.abc import Callable
from typing import Any

from golive.synth import LambdaContext, build_event


class TestResponse:
    """A handler's answer, decoded: status, headers (case-insensitive), body, JSON and captured lines."""

    __test__ = False  # not a pytest test class

    def __init__(self, result: dict[str, Any], lines: list[str], event: dict[str, Any]) -> None:
        self.raw = result
        self.event = event
        self.status: int = result["statusCode"]
        headers: dict[str, str] = {}
        for name, value in (result.get("headers") or {}).items():
            headers[name.lower()] = value
        self.multi_headers: dict[str, list[str]] = {}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            self.multi_headers[name.lower()] = list(values)
            headers.setdefault(name.lower(), ",".join(values))
        self.headers = headers
        # Set-Cookie travels in `cookies` (payload v2), multiValueHeaders (v1, ALB multi) or headers (ALB single).
        self.cookies: list[str] = list(result.get("cookies") or self.multi_headers.get("set-cookie")
                                       or ([headers["set-cookie"]] if "set-cookie" in headers else []))
        body = result.get("body") or ""
        self.body: bytes = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        self.lines = lines

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def logs(self) -> list[dict[str, Any]]:
        """Structured log records written during the call (EMF documents excluded)."""
        return [r for r in self._records() if "_aws" not in r]

    @property
    def emf(self) -> list[dict[str, Any]]:
        """EMF metric documents written during the call."""
        return [r for r in self._records() if "_aws" in r]

    def _records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records

    def __repr__(self) -> str:
        return f"<TestResponse {self.status}>"


class TestClient:
    """Calls a Lambda handler with events built like AWS builds them, capturing stdout."""

    __test__ = False

    def __init__(self, handler: Callable[[dict, Any], dict] | Any, kind: str = "v1", stage: str = "$default",
                 function_name: str = "golive-test", capture: bool = True) -> None:
        self.handler = getattr(handler, "handler", handler)
        self.kind = kind
        self.stage = stage
        self.function_name = function_name
        self.capture = capture
        self.default_headers: dict[str, str] = {}

    def request(self, method: str, path: str, *, json_body: Any = None, body: bytes | str | None = None,
                headers: dict[str, str] | None = None, query: dict[str, Any] | None = None,
                kind: str | None = None, token: str | None = None, **event_options: Any) -> TestResponse:
        merged = {**self.default_headers, **(headers or {})}
        raw = b""
        if json_body is not None:
            raw = json.dumps(json_body).encode()
            if not any(k.lower() == "content-type" for k in merged):
                merged["Content-Type"] = "application/json"
        elif body is not None:
            raw = body.encode() if isinstance(body, str) else body
        if token:
            merged["Authorization"] = f"Bearer {token}"
        event_options.setdefault("stage", self.stage)
        event = build_event(kind or self.kind, method.upper(), path, headers=merged, query=query, body=raw,
                            **event_options)
        context = LambdaContext(self.function_name)
        return self.invoke(event, context)

    def invoke(self, event: dict[str, Any], context: Any = None) -> TestResponse:
        """Send a ready-made event (for example one copied from AWS's documentation)."""
        context = context or LambdaContext(self.function_name)
        if not self.capture:
            return TestResponse(self.handler(event, context), [], event)
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            result = self.handler(event, context)
        return TestResponse(result, buffer.getvalue().splitlines(), event)

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.request("GET", path, **kw)

    def head(self, path: str, **kw: Any) -> TestResponse:
        return self.request("HEAD", path, **kw)

    def options(self, path: str, **kw: Any) -> TestResponse:
        return self.request("OPTIONS", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> TestResponse:
        return self.request("POST", path, json_body=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> TestResponse:
        return self.request("PUT", path, json_body=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> TestResponse:
        return self.request("PATCH", path, json_body=json, **kw)

    def delete(self, path: str, **kw: Any) -> TestResponse:
        return self.request("DELETE", path, **kw)
