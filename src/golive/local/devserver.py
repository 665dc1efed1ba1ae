"""golive dev's in-process server: HTTP requests become API Gateway events, handler results become HTTP replies."""

from __future__ import annotations

import json
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from golive.errors import PHRASES, MethodNotAllowed, NotFound
from golive.http import new_request_id
from golive.local.apigw import proxy
from golive.local.apigw.proxy import MalformedResponse
from golive.local.apigw.responses import gateway_response, template_responses
from golive.local.invocation import handler_error
from golive.routing import Route, Router
from golive.service.assignment import assign_routes
from golive.service.config import ConfigError, FunctionConfig, ServiceConfig
from golive.service.loading import load_function
from golive.service.quotas import LAMBDA_RESPONSE_BYTES, MAX_REQUEST_BYTES
from golive.service.settings import api_settings
from golive.synth import LambdaContext

_DRAIN_LIMIT = 64 * 1024 * 1024  # read (and drop) an oversized body up to this, so the client sees the 413


class PortInUse(Exception):
    """The address golive dev should listen on is taken by another process."""


class Reply:
    """An HTTP reply: status, header pairs (repeats allowed) and body bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> None:
        self.status, self.headers, self.body = status, list(headers or []), body

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)

    def __repr__(self) -> str:
        return f"<Reply {self.status}>"


# -- HTTP <-> event translation: the local cloud's gateway (apigw/proxy.py) builds and reads the same ----------------
def event_kind(config: ServiceConfig) -> str:
    """The payload format API Gateway would send: v1 for a REST API, v2 for an HTTP API."""
    return "v2" if config.api_type == "http" else "v1"


def request_to_event(
    kind: str,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    stage: str,
    source_ip: str = "127.0.0.1",
    server_port: int = 443,
    resource: str | None = None,
    path_params: dict[str, str] | None = None,
    stage_variables: dict[str, str] | None = None,
    request_id: str | None = None,
    binary_types: list[str] | None = None,
    api_id: str = "local",
) -> dict[str, Any]:
    """The API Gateway event for one HTTP request (target is the request line's path?query), exactly as the local
    cloud's gateway builds it: the same forwarded headers, binaryMediaTypes rule and event shape."""
    path, raw_query = split_target(target)
    method = method.upper()
    rest = kind == "v1"

    def merged(name: str) -> str | None:  # a repeated header's values, comma-joined as the gateway reads them
        values = [value for key, value in headers if key.lower() == name]
        return ",".join(values) if values else None

    pairs = proxy.integration_headers(headers, rest, source_ip, server_port,
                                      proxy.trace_root(merged("x-amzn-trace-id")), merged("x-forwarded-for"))
    return proxy.build_event("rest" if rest else "http", method, path, raw_query,
                             parse_qsl(raw_query, keep_blank_values=True), pairs, body,
                             route_path=resource or "", route_key=f"{method} {resource}" if resource else "$default",
                             params=path_params or {}, stage=stage, stage_variables=stage_variables or {},
                             request_id=request_id or (new_request_id() if rest else proxy.short_id()),
                             extended_id=proxy.short_id(), source_ip=source_ip, binary_types=binary_types or [],
                             api_id=api_id)


def split_target(target: str) -> tuple[str, str]:
    """(path, query string) of a request target: origin form (/a?b, even //a) or absolute form (http://h/a?b)."""
    if not target.startswith("/"):
        parts = urlsplit(target)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    path, _, query = target.partition("#")[0].partition("?")
    return path or "/", query


def result_to_reply(kind: str, result: Any, accept: str | None = None,
                    binary_types: list[str] | None = None) -> Reply:
    """The HTTP reply API Gateway makes of a Lambda proxy result (the local cloud's rules: on a REST API a base64
    body is decoded only for a client accepting one of binaryMediaTypes); MalformedResponse where it answers 502."""
    if kind == "v1":
        status, headers, body = proxy.v1_response(result, accept, binary_types or [])
    else:
        status, headers, body = proxy.v2_response(result)
    return Reply(status, headers, body)


def _request_id_header(kind: str) -> str:
    return "Apigw-Requestid" if kind == "v2" else "x-amzn-RequestId"




# -- the service: functions, their routes, one invocation at a time ------------------------------------------
class FunctionTarget:
    """One function of the service, loaded in this process: its handler, its golive.App (if any), its settings."""

    def __init__(self, config: ServiceConfig, function: FunctionConfig, handler: Callable[..., Any], app: Any,
                 lock: threading.Lock) -> None:
        self.config, self.function, self.handler, self.app = config, function, handler, app
        self.name = function.name
        # The runtime keeps per-invocation state (logger, metrics, tracer) in process globals shared by every
        # function loaded here, so one lock serialises all invocations, like a single Lambda environment.
        self.lock = lock

    @property
    def lambda_name(self) -> str:
        return f"{self.config.service}-{self.name}"

    def context(self) -> LambdaContext:
        return LambdaContext(self.lambda_name, self.function.memory, float(self.function.timeout))

    def invoke(self, event: dict[str, Any], context: LambdaContext | None = None) -> Any:
        """Run the handler on one event (raises what the handler raises)."""
        with self.lock:
            return self.handler(event, context or self.context())


def load_targets(config: ServiceConfig, only: list[str] | None = None) -> dict[str, FunctionTarget]:
    """Import every function's handler (or only the named ones) with its local environment; import failures
    become one ConfigError line."""
    lock = threading.Lock()
    targets = {}
    for name, function in config.functions.items():
        if only is not None and name not in only:
            continue
        handler, app = load_function(config, function)
        targets[name] = FunctionTarget(config, function, handler, app, lock)
    return targets


def route_table(config: ServiceConfig, apps: dict[str, Any]) -> list[tuple[str, Route]]:
    """(function name, route) for every golive.App route the service serves, assigned as `golive template` does."""
    return [(item.function, item.route) for item in assign_routes(config, apps) if item.route is not None]


class ServiceRuntime:
    """The whole service in this process: finds the function for a request and turns it into an HTTP reply."""

    def __init__(self, config: ServiceConfig, targets: dict[str, FunctionTarget]) -> None:
        self.config = config
        self.targets = targets
        self.kind = event_kind(config)
        self.stage = config.stage
        settings = api_settings(config)  # [api] as the template and the local cloud's gateway read it
        self.stage_variables = settings["stage_variables"]
        self.binary_types = settings["binary_media_types"]
        self.api_id = proxy.api_id_for(config)
        self.templates = template_responses(config)
        self.routes = route_table(config, {n: t.app for n, t in targets.items() if t.app is not None})
        self.router = Router()
        self._owner: dict[int, str] = {}
        for name, route in self.routes:
            try:
                self.router.add(route)
            except ValueError as exc:  # two functions spell one path differently
                raise ConfigError(f"[functions.{name}] {exc}") from None
            self._owner[id(route)] = name
        # Functions not written with golive have no route table: they take whatever no route claims.
        self.catch_all = next((t for t in targets.values() if t.app is None), None)
        if self.catch_all is None and len(targets) == 1:
            self.catch_all = next(iter(targets.values()))  # its App answers its own 404/405

    @classmethod
    def load(cls, config: ServiceConfig) -> ServiceRuntime:
        return cls(config, load_targets(config))

    def failure(self, response_type: str, request_id: str, request_headers: dict[str, str] | None = None) -> Reply:
        """An answer API Gateway makes itself, from the same table and templates as the local cloud's gateway."""
        response = gateway_response(response_type, self.config.api_type)
        if self.templates is not None:
            response = self.templates.render(response, request_id, request_headers=request_headers)
        return Reply(response.status, [*response.headers, (_request_id_header(self.kind), request_id)], response.body)

    def resolve(self, method: str, path: str) -> tuple[FunctionTarget | None, Route | None, dict[str, str]]:
        """The function serving METHOD path, the matched route and its path parameters."""
        try:
            route, params = self.router.match(method, path)
        except MethodNotAllowed:
            # The path exists: the function owning it answers 405 (or the OPTIONS preflight) itself.
            methods = self.router.methods_for(path.rstrip("/") or "/")
            owner = next(iter(methods.values()))
            return self.targets[self._owner[id(owner)]], None, {}
        except NotFound:
            return self.catch_all, None, {}
        return self.targets[self._owner[id(route)]], route, params

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
               source_ip: str = "127.0.0.1", server_port: int | None = None) -> Reply:
        """One HTTP request through API Gateway's translation and the function's handler."""
        request_id = new_request_id() if self.kind == "v1" else proxy.short_id()
        path = split_target(target)[0]
        function, route, params = self.resolve(method.upper(), path)
        if function is None:
            return self.failure("MISSING_AUTHENTICATION_TOKEN", request_id, _lower(headers))
        event = request_to_event(self.kind, method, target, headers, body, stage=self.stage, source_ip=source_ip,
                                 server_port=server_port or 443, resource=route.path if route else None,
                                 path_params=params, stage_variables=self.stage_variables, request_id=request_id,
                                 binary_types=self.binary_types, api_id=self.api_id)
        accept = ",".join(value for name, value in headers if name.lower() == "accept") or None
        reply = self.invoke_http(function, event, request_id, accept, _lower(headers))
        if reply.header(_request_id_header(self.kind)) is None:
            reply.headers.append((_request_id_header(self.kind), request_id))
        return reply

    def invoke_http(self, function: FunctionTarget, event: dict[str, Any], request_id: str,
                    accept: str | None = None, headers: dict[str, str] | None = None) -> Reply:
        """Invoke the function and map its outcome the way API Gateway does (errors and bad results: 502 on REST
        APIs, 500 on HTTP APIs)."""
        context = function.context()
        started = time.monotonic()
        try:
            result = function.invoke(event, context)
        except Exception as exc:
            log_function_error(exc, context.aws_request_id)
            return self.failure("INTEGRATION_FAILURE", request_id, headers)
        elapsed = time.monotonic() - started
        if elapsed > function.function.timeout:
            # In-process the handler cannot be stopped, but Lambda would have: answer as API Gateway would then.
            _log_line(f"{context.aws_request_id} Task timed out after {function.function.timeout:.2f} seconds "
                      f"(golive dev let it finish in {elapsed:.2f} s; Lambda would have stopped it)")
            return self.failure("INTEGRATION_FAILURE", request_id, headers)
        size = _response_size(result)
        if size > LAMBDA_RESPONSE_BYTES:
            _log_line(f"{context.aws_request_id} response payload of {size} bytes exceeds Lambda's "
                      f"{LAMBDA_RESPONSE_BYTES} byte limit")
            return self.failure("INTEGRATION_FAILURE", request_id, headers)
        try:
            return result_to_reply(self.kind, result, accept, self.binary_types)
        except MalformedResponse as exc:
            _log_line(f"Execution failed due to configuration error: Malformed Lambda proxy response ({exc})")
            return self.failure("INTEGRATION_FAILURE", request_id, headers)


def _response_size(result: Any) -> int:
    """The bytes Lambda would return for a handler's result (encoded only when its body alone could be too big)."""
    body = result.get("body") if isinstance(result, dict) else None
    if isinstance(body, str) and len(body) > LAMBDA_RESPONSE_BYTES // 8:
        return len(json.dumps(result).encode())
    return 0


def _lower(headers: list[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def log_function_error(exc: BaseException, request_id: str) -> None:
    """An unhandled handler exception, logged the way the Lambda Python runtime logs it (one JSON line)."""
    _log_line(json.dumps(handler_error(exc, request_id, skip=__file__)))


def _log_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# -- the HTTP server ---------------------------------------------------------------------------------------------
class _RequestHandler(BaseHTTPRequestHandler):
    """Reads one HTTP/1.1 request, hands it to the ServiceRuntime and writes the reply (keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "golive-dev"
    server: DevHTTPServer

    def version_string(self) -> str:
        return self.server_version

    def handle_expect_100(self) -> bool:
        # curl asks before sending a large body: refuse an oversized one before it is sent.
        if self._declared_length() > MAX_REQUEST_BYTES:
            self.close_connection = True
            self._send(self._too_large())
            return False
        return super().handle_expect_100()

    def _declared_length(self) -> int:
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return 0

    def _too_large(self) -> Reply:
        return self.server.runtime.failure("REQUEST_TOO_LARGE", new_request_id())

    def _read_body(self) -> bytes | None:
        """The request body; None when it exceeds API Gateway's limit (the excess is drained, then refused)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        if not raw_length.strip().isdigit():
            raise ValueError("Content-Length is not a number")
        length = int(raw_length)
        if length > MAX_REQUEST_BYTES:
            self._drain(length)
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        chunks, total = [], 0
        while True:
            size_line = self.rfile.readline(1024)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            total += size
            if total > MAX_REQUEST_BYTES:
                self.close_connection = True
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)
        return b"".join(chunks)

    def _drain(self, length: int) -> None:
        self.close_connection = True
        remaining = length if length <= _DRAIN_LIMIT else 0
        while remaining > 0:
            data = self.rfile.read(min(remaining, 1024 * 1024))
            if not data:
                break
            remaining -= len(data)

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(Reply(400, [("Content-Type", "application/json")], b'{"message":"Bad Request"}'))
            return
        if body is None:
            self._send(self._too_large())
            return
        try:
            reply = self.server.runtime.handle(self.command, self.path, list(self.headers.items()), body,
                                               source_ip=self.client_address[0],
                                               server_port=self.server.server_port)
        except Exception:
            # A fault in golive dev itself, not in the function: say so, and answer like a failing gateway.
            sys.stderr.write(f"golive dev: internal error on {self.command} {self.path}:\n{traceback.format_exc()}")
            reply = self.server.runtime.failure("API_CONFIGURATION_ERROR", new_request_id())
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status, PHRASES.get(reply.status))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the function's own access log ("request completed") says it better


class DevHTTPServer(ThreadingHTTPServer):
    """A threading HTTP/1.1 server bound to one ServiceRuntime."""

    daemon_threads = True
    allow_reuse_address = True
    # The default listen backlog (5) drops bursts of new connections; clients then stall for a 1 s SYN retry.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on a machine without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    @property
    def url(self) -> str:
        host = self.server_name
        return f"http://[{host}]:{self.server_port}" if ":" in host else f"http://{host}:{self.server_port}"


def create_server(config: ServiceConfig, host: str = "127.0.0.1", port: int = 3000,
                  runtime: ServiceRuntime | None = None) -> DevHTTPServer:
    """Load the service (unless a runtime is given) and bind its HTTP server; PortInUse when the port is taken."""
    runtime = runtime or ServiceRuntime.load(config)
    try:
        return DevHTTPServer((host, port), runtime)
    except OSError as exc:
        import errno

        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} is in use") from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
            raise ConfigError(f"cannot listen on {host}: {exc.strerror or exc}; pass --host 127.0.0.1") from None
        raise


def serve(config: ServiceConfig, host: str = "127.0.0.1", port: int = 3000,
          ready: Callable[[str], None] | None = None, runtime: ServiceRuntime | None = None) -> None:
    """Serve the service over HTTP until interrupted; ready(url) is called once the socket listens."""
    server = create_server(config, host, port, runtime)
    try:
        if ready is not None:
            ready(server.url)
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
