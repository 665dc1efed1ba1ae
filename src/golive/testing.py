"""Test client: real v1/v2/URL/ALB events in, parsed responses and the emitted log/EMF lines out."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
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
        self.environment: dict[str, str] = {}  # applied around every call (from_service: golive.toml's)
        self.config: Any = None  # the ServiceConfig, with from_service
        self.state_dir: Path | None = None
        self._temporary: Any = None

    @classmethod
    def from_service(cls, service_dir: str | os.PathLike[str] = ".", *, function: str | None = None,
                     state_dir: str | os.PathLike[str] | None = None, kind: str | None = None) -> TestClient:
        """A client for the function golive.toml in service_dir declares (the only one, else `api`), set up as
        `golive dev` sets it up: its [functions.*.environment], the service variables, and the dev secret with
        [auth]'s issuer and audience (GOLIVE_JWT_*), so `client.token(...)` mints tokens the app accepts. The
        payload follows [api] type (REST: v1, HTTP: v2) and the stage is [api] stage.

        State (golive.state, GOLIVE_STATE_DIR) goes to a new temporary folder unless state_dir is given: every
        client starts empty and the service's own .golive/ is never touched. As in `golive dev`, a variable
        already set in this process's environment wins over golive.toml (GOLIVE_STATE_DIR excepted)."""
        import sys
        import tempfile

        from golive.service.config import load_config
        from golive.service.loading import load_handler

        config = load_config(service_dir)
        name = _function_name(config, function)
        spec = config.functions[name]
        temporary = None
        if state_dir is None:
            temporary = tempfile.TemporaryDirectory(prefix=f"golive-{config.service}-state-")
            state_dir = temporary.name
        environment = {key: os.environ.get(key, value) for key, value in config.local_environment(spec).items()}
        environment["GOLIVE_STATE_DIR"] = str(state_dir)
        # A module of that name from another service (two services in one test run): import this one instead.
        cached = sys.modules.get(spec.module)
        if cached is not None and not str(getattr(cached, "__file__", "") or "").startswith(str(config.root)):
            del sys.modules[spec.module]
        with _applied(environment):
            handler = load_handler(config, spec, apply_env=False)
        client = cls(handler, kind=kind or ("v1" if config.api_type == "rest" else "v2"), stage=config.stage,
                     function_name=f"{config.service}-{name}")
        client.environment = environment
        client.config = config
        client.state_dir = Path(state_dir)
        client._temporary = temporary
        return client

    def token(self, sub: str, *, roles: Iterable[str] = (), scopes: Iterable[str] = (), ttl: int = 3600) -> str:
        """A development JWT for sub (HS256 with the service's dev secret, its issuer and audience), the same
        `golive token` mints; only with from_service."""
        if self.config is None:
            raise RuntimeError("token() needs the service's golive.toml: build the client with "
                               "TestClient.from_service(DIR)")
        from golive.service.tokens import mint_token

        with _applied(self.environment):
            return mint_token(self.config, sub, roles=roles, scopes=scopes, ttl=ttl)

    def close(self) -> None:
        """Remove the temporary state folder (from_service)."""
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None

    def __enter__(self) -> TestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        with _applied(self.environment):
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


def token(sub: str, *, roles: Iterable[str] = (), scopes: Iterable[str] = (), ttl: int = 3600,
          service_dir: str | os.PathLike[str] = ".") -> str:
    """A development JWT for the service in service_dir, as `golive token` mints it: what `golive dev` accepts (for
    end-to-end tests over HTTP; TestClient.from_service(...).token does the same for in-process tests)."""
    from golive.service.config import load_config
    from golive.service.tokens import mint_token

    return mint_token(load_config(service_dir), sub, roles=roles, scopes=scopes, ttl=ttl)


def _function_name(config: Any, wanted: str | None) -> str:
    names = list(config.functions)
    if wanted:
        if wanted not in config.functions:
            raise ValueError(f"no function {wanted!r} in golive.toml; choose one of: {', '.join(names)}")
        return wanted
    if len(names) == 1:
        return names[0]
    if "api" in config.functions:
        return "api"
    raise ValueError(f"the service has several functions ({', '.join(names)}); pass function=NAME")


@contextlib.contextmanager
def _applied(environment: dict[str, str]) -> Iterator[None]:
    """os.environ with these variables set for the block, as the function's environment would hold them."""
    if not environment:
        yield
        return
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
