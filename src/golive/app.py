"""App: the route table and the Lambda handler that runs every request through the production pipeline."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable

from golive import events
from golive.errors import (
    BadRequest,
    HTTPError,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    problem,
    problem_from,
)
from golive.http import Request, Response, coerce_response, new_request_id
from golive.observability.logging import logger
from golive.observability.metrics import metrics
from golive.observability.tracing import tracer
from golive.routing import Route, Router, allowed_methods
from golive.security import cors as cors_headers
from golive.security import headers as security_headers
from golive.security import threats
from golive.security.auth import authorize
from golive.security.cors import CORS
from golive.validation import ValidationFailed, Validator, coerce

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

_CORRELATION_OK = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
DEFAULT_MAX_BODY = 1024 * 1024
_VARKEYWORDS = 0x08  # inspect.CO_VARKEYWORDS, without importing inspect (cold start)
_INVALID = {"body": "The request body is invalid", "query": "The query string is invalid",
            "path": "The path parameters are invalid", "headers": "The request headers are invalid"}


class _CompiledRoute:
    """A route's validators and call shape, prepared once at registration."""

    __slots__ = ("body", "headers", "kwargs", "path", "query", "responses")

    def __init__(self, route: Route) -> None:
        self.body = Validator(route.body, "body") if route.body else None
        self.query = Validator(route.query, "query") if route.query else None
        self.path = Validator(route.path_params, "path") if route.path_params else None
        self.headers = Validator(route.headers, "headers") if route.headers else None
        self.responses = {status: Validator(schema, f"response {status}")
                          for status, schema in route.responses.items() if schema}
        code = getattr(route.handler, "__code__", None)
        # Handlers taking more than the request (or **params) get path parameters as keyword arguments;
        # a bound method's `self` is not one of them.
        bound = getattr(route.handler, "__self__", None) is not None
        self.kwargs = bool(code and (code.co_argcount - bound > 1 or code.co_flags & _VARKEYWORDS))


class App:
    """A service's routes, guards and telemetry; `app.handler` is the Lambda entry point."""

    def __init__(
        self,
        service: str,
        *,
        version: str | None = None,
        cors: CORS | None = None,
        auth: Any = None,
        validate_responses: bool = True,
        threats: str = "log",
        base_paths: tuple[str, ...] | list[str] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY,
        health_path: str | None = "/health",
        access_log: bool = True,
        metrics_namespace: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        if threats not in ("log", "block", "off"):
            raise ValueError("threats must be 'log', 'block' or 'off'")
        self.service = service
        self.version = version or os.environ.get("GOLIVE_VERSION") or "0.0.0"
        self.cors = cors
        self.authenticators = [] if auth is None else list(auth) if isinstance(auth, list | tuple) else [auth]
        self.validate_responses = validate_responses
        self.threat_mode = threats
        self.base_paths = tuple(base_paths)
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log
        self.extra_headers = extra_headers or {}
        self.router = Router()
        self._compiled: dict[int, _CompiledRoute] = {}
        self._error_handlers: list[tuple[type[BaseException], Callable[[Request, Any], Any]]] = []
        self._middleware: list[Callable[[Request, Callable[[Request], Response]], Response]] = []
        self._cold = True
        self.started = time.time()
        logger.service = metrics.service = tracer.service = service
        if metrics_namespace:
            metrics.namespace = metrics_namespace
        from golive.health import HealthChecks  # stdlib-only, small

        self.health = HealthChecks(self)
        if health_path:
            self.route("GET", health_path, public=True, name="health", summary="Health check", tags=["health"],
                       cache_control="no-store")(self.health.endpoint)

    # -- route table -------------------------------------------------------------------------
    @property
    def routes(self) -> list[Route]:
        return list(self.router.routes)

    def route(self, method: str, path: str, **options: Any) -> Callable[[Callable], Callable]:
        """Register a handler for METHOD path; options are Route fields (body=, responses=, scopes=, public=...)."""
        def register(fn: Callable) -> Callable:
            responses = {int(k): v for k, v in (options.pop("responses", None) or {}).items()}
            route = Route(method=method.upper(), path=path, handler=fn, name=options.pop("name", fn.__name__),
                          responses=responses, **options)
            if (route.scopes or route.roles) and not self.authenticators and route.auth is None:
                raise ValueError(f"{route.key} requires scopes/roles but the app has no auth configured")
            self.router.add(route)
            self._compiled[id(route)] = _CompiledRoute(route)
            return fn
        return register

    def get(self, path: str, **options: Any) -> Callable[[Callable], Callable]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Callable], Callable]:
        return self.route("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Callable], Callable]:
        return self.route("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Callable], Callable]:
        return self.route("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Callable], Callable]:
        return self.route("DELETE", path, **options)

    def errorhandler(self, exc_type: type[BaseException]) -> Callable[[Callable], Callable]:
        """Turn an exception type into a response: fn(request, exc) -> Response or HTTPError."""
        def register(fn: Callable) -> Callable:
            self._error_handlers.append((exc_type, fn))
            return fn
        return register

    def middleware(self, fn: Callable[[Request, Callable[[Request], Response]], Response]) -> Callable:
        """Wrap every matched route's call: fn(request, call_next) -> Response."""
        self._middleware.append(fn)
        return fn

    # -- Lambda entry point ------------------------------------------------------------------
    def handler(self, event: dict, context: Any = None) -> dict:
        """Lambda handler(event, context) for API Gateway REST/HTTP API, Function URL and ALB events."""
        started = time.perf_counter()
        cold, self._cold = self._cold, False
        try:
            request = events.parse_event(event, self.base_paths)
        except (ValueError, TypeError, AttributeError) as exc:
            logger.error("event is not an HTTP request golive can route", error={"type": type(exc).__name__,
                                                                                  "message": str(exc)})
            raise
        request.context = context
        lambda_request_id = getattr(context, "aws_request_id", "") or ""
        if context is not None:
            logger.function = getattr(context, "function_name", "") or logger.function
        request.correlation_id = _correlation_id(request)
        trace_id = tracer.start_invocation(self.service, request.headers.get("x-amzn-trace-id"),
                                           request.headers.get("traceparent"))
        logger.start_invocation(request_id=lambda_request_id or request.request_id,
                                correlation_id=request.correlation_id, trace_id=trace_id,
                                cold_start=cold, method=request.method, path=request.path)
        error: BaseException | None = None
        try:
            response = self._dispatch(request)
            body, implied_type = _encode(response)  # inside the try: an unserialisable body is a 500 too
        except HTTPError as exc:
            response = problem_from(exc, instance=request.path, request_id=request.correlation_id)
            body, implied_type = _encode(response)
        except Exception as exc:
            error = exc
            response = self._unhandled(request, exc)
            body, implied_type = _encode(response)
        route = request.route
        # A route's caching policy covers its successes; an error must never be cached as if it were one.
        cache_control = route.cache_control if route is not None and response.status < 400 else None
        security_headers.apply(response, cache_control, self.extra_headers)
        response.headers["X-Request-ID"] = request.correlation_id
        if self.cors is not None:
            if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
                cors_headers.add_vary(response)  # a preflight answer already carries exactly its grants
            else:
                self.cors.decorate(response, request.headers.get("origin"))
        if implied_type and response.get_header("Content-Type") is None:
            response.headers["Content-Type"] = implied_type
        if request.method == "HEAD":
            body = b""
        result = events.render(request, response.status, response.headers, response.multi_headers,
                               response.cookies, body)
        latency_ms = (time.perf_counter() - started) * 1000
        route_key = route.key if route is not None else "UNMATCHED"
        if self.access_log:
            level = logger.error if response.status >= 500 else logger.info
            level("request completed", status=response.status, latency_ms=round(latency_ms, 3),
                  route=route_key, source_ip=request.source_ip, user_agent=request.headers.get("user-agent", ""))
        metrics.flush(route_key, response.status, latency_ms, cold)
        tracer.end_invocation(error, response.status)
        logger.end_invocation()
        return result

    __call__ = handler

    def _dispatch(self, request: Request) -> Response:
        method = request.method
        if method == "OPTIONS":
            preflight = "origin" in request.headers and "access-control-request-method" in request.headers
            # golive answers OPTIONS itself unless the route table has an OPTIONS handler for a plain request.
            if preflight or "OPTIONS" not in self.router.methods_for(request.path.rstrip("/") or "/"):
                return self._options(request)
        route, params = self.router.match(method, request.path)
        request.route = route
        request.path_params = params
        logger.context["route"] = route.key
        if tracer.root is not None:
            tracer.root.annotate("route", route.key)
        compiled = self._compiled[id(route)]
        if not route.public:
            self._authenticate(request, route)
        if self.threat_mode != "off":
            self._screen(request, route)
        self._validate_input(request, compiled)
        call: Callable[[Request], Response] = self._call_route
        for middleware in reversed(self._middleware):
            call = _chain(middleware, call)
        response = call(request)
        if self.validate_responses and compiled.responses:
            validator = compiled.responses.get(response.status)
            if validator is not None and response.body is not None and not isinstance(response.body, bytes | str):
                # Encode once with the same encoder the client's bytes come from (Decimal stays a number),
                # validate what the client would receive, and send those very bytes.
                encoded, implied_type = response.encode()
                try:
                    validator(json.loads(encoded.decode()))  # our own UTF-8: skip loads' encoding sniffing
                    response.body = encoded
                    response.set_default_header("Content-Type", implied_type or "application/json")
                except ValidationFailed as exc:
                    # The handler broke its own contract: a server bug, never the client's fault.
                    logger.error("response failed its schema", route=route.key, status=response.status,
                                 errors=exc.errors)
                    return problem(500, detail="The server produced an invalid response",
                                   instance=request.path, request_id=request.correlation_id)
        return response

    def _call_route(self, request: Request) -> Response:
        route = request.route
        compiled = self._compiled[id(route)]
        try:
            with tracer.subsegment(route.name or route.key, "local"):
                result = route.handler(request, **request.path_params) if compiled.kwargs else route.handler(request)
        except HTTPError:
            raise
        except Exception as exc:
            for exc_type, handler in self._error_handlers:
                if isinstance(exc, exc_type):
                    answer = handler(request, exc)
                    if isinstance(answer, HTTPError):
                        raise answer from exc
                    return coerce_response(answer)
            raise
        return coerce_response(result)

    def _options(self, request: Request) -> Response:
        methods = self.router.methods_for(request.path.rstrip("/") or "/")
        if not methods:
            raise NotFound(f"No route matches {request.path}")
        allow = allowed_methods(methods)
        origin = request.headers.get("origin")
        asked = request.headers.get("access-control-request-method")
        if self.cors is not None and origin and asked:
            return self.cors.preflight(origin, asked, request.headers.get("access-control-request-headers"), allow)
        return Response(None, 204, {"Allow": ", ".join(allow)})

    def _authenticate(self, request: Request, route: Route) -> None:
        authenticators = [route.auth] if route.auth is not None else self.authenticators
        if not authenticators:
            return
        identity = None
        for authenticator in authenticators:
            identity = authenticator.authenticate(request)
            if identity is not None:
                break
        if identity is None:
            raise Unauthorized("Authentication required")
        request.claims = identity.claims
        request.principal = identity.principal
        request.validated["identity"] = identity
        logger.context["principal"] = identity.principal
        if route.scopes or route.roles:
            authorize(identity, route.scopes, route.roles)

    def _screen(self, request: Request, route: Route) -> None:
        findings = threats.scan(request)
        if not findings:
            return
        metrics.add("SuspiciousRequest", len(findings))
        logger.warning("suspicious request", threats=findings, source_ip=request.source_ip,
                       user_agent=request.headers.get("user-agent", ""))
        block = route.block_threats if route.block_threats is not None else self.threat_mode == "block"
        if block:
            raise BadRequest("The request contains a disallowed pattern",
                             errors=[{"field": f["location"], "message": f"looks like {f['kind']}"} for f in findings])

    def _validate_input(self, request: Request, compiled: _CompiledRoute) -> None:
        try:
            if compiled.path is not None:
                request.path_params = compiled.path(coerce(compiled.path.schema, request.path_params))
            if compiled.query is not None:
                request.validated["query"] = compiled.query(
                    coerce(compiled.query.schema, request.query, request.multi_query))
            if compiled.headers is not None:
                request.validated["headers"] = compiled.headers(
                    coerce(compiled.headers.schema, request.headers, request.multi_headers))
            if compiled.body is not None:
                request.json = compiled.body(self._json_body(request))
        except ValidationFailed as exc:
            raise BadRequest(_INVALID.get(exc.where, "The request is invalid"), errors=exc.errors) from None

    def _json_body(self, request: Request) -> Any:
        if len(request.body) > self.max_body_bytes:
            raise PayloadTooLarge(f"The body exceeds {self.max_body_bytes} bytes")
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if not request.body:
            raise BadRequest("A JSON request body is required")
        if content_type and content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedMediaType(f"Expected application/json, got {content_type}")
        return request.json  # parsed once, shared with the threat scan; bad JSON raises its own 400

    def _unhandled(self, request: Request, exc: Exception) -> Response:
        route = request.route.key if request.route is not None else "UNMATCHED"
        logger.exception("unhandled exception", exc, route=route)
        # Nothing about the failure reaches the client: the stack trace lives only in the logs.
        return problem(500, detail="An unexpected error occurred", instance=request.path,
                       request_id=request.correlation_id)


def _encode(response: Response) -> tuple[bytes, str | None]:
    return (b"", None) if response.status in (204, 304) else response.encode()


def _chain(middleware: Callable, call_next: Callable[[Request], Response]) -> Callable[[Request], Response]:
    return lambda request: coerce_response(middleware(request, call_next))


def _correlation_id(request: Request) -> str:
    for name in ("x-request-id", "x-correlation-id"):
        value = request.headers.get(name)
        if value and _CORRELATION_OK.match(value):
            return value
    return request.request_id or new_request_id()
