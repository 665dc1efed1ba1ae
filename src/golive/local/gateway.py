"""The local API Gateway: an HTTP/1.1 server (httptools, keep-alive, pipelining) whose request pipeline behaves and
fails like API Gateway in front of the local Lambda service.

Pipeline: 413 on bodies over 10 MB → CORS preflight → route (403 Missing Authentication Token on REST, 404 on HTTP
APIs) → throttling (429) → API key and usage plan (403, 429) → authorizer (401, 403, 500) → request validation on
REST (400) → Lambda proxy integration within the route's integration timeout (504 on REST, 503 on HTTP APIs) → the
proxy response, validated (502 on REST, 500 on HTTP APIs when malformed or when the function failed; 500 on both
when Lambda throttled). REST gateway responses are rendered from the templates `golive template` deploys unless
[api] gateway_responses = "aws". Every request leaves one access-log record with API Gateway's $context names."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qsl

from golive.errors import PHRASES
from golive.http import RandomBytes, new_request_id
from golive.local.apigw import authorizers
from golive.local.apigw.access_log import AccessLog
from golive.local.apigw.apikeys import UsagePlan
from golive.local.apigw.cors import GatewayCORS
from golive.local.apigw.proxy import (
    MalformedResponse,
    api_id_for,
    build_event,
    integration_headers,
    short_id,
    trace_context,
    v1_response,
    v2_response,
)
from golive.local.apigw.responses import GatewayResponse, gateway_response, template_responses
from golive.local.apigw.routes import RouteSpec, RouteTable
from golive.local.apigw.throttling import Throttler
from golive.local.apigw.validation import RequestValidator
from golive.local.invocation import Invocation
from golive.local.xray import TraceSampler, gateway_segment
from golive.service.config import ServiceConfig
from golive.service.quotas import (
    LAMBDA_REQUEST_BYTES,
    LAMBDA_RESPONSE_BYTES,
    MAX_HEADER_BYTES,
    MAX_REQUEST_BYTES,
    integration_limit_s,
)
from golive.service.settings import api_settings, integration_timeout_s
from golive.synth import request_time

_DRAIN_S = 5.0  # how long a refused request's body is still read before the connection closes
_PIPELINE_LIMIT = 16  # pipelined requests queued per connection before reading pauses

Reply = tuple[int, list[tuple[str, str]], bytes]


_PHRASES = {status: phrase.encode() for status, phrase in PHRASES.items()}


class GatewayRequest:
    """One HTTP request as the server read it."""

    __slots__ = ("body", "client_ip", "headers", "headers_too_large", "http_version", "keep_alive", "method",
                 "server_port", "target", "too_large")

    def __init__(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, *,
                 client_ip: str = "127.0.0.1", server_port: int = 0, http_version: str = "1.1",
                 keep_alive: bool = True, too_large: bool = False, headers_too_large: bool = False) -> None:
        self.method, self.target, self.headers, self.body = method, target, headers, body
        self.client_ip, self.server_port, self.http_version = client_ip, server_port, http_version
        self.keep_alive, self.too_large, self.headers_too_large = keep_alive, too_large, headers_too_large


class _Exchange:
    """Per-request state: ids, parsed request parts and the access-log values gathered along the pipeline."""

    __slots__ = ("answered", "epoch", "event", "extended_id", "headers", "integration_started", "invocation",
                 "lambda_trace", "log", "path", "query", "raw_query", "request", "request_id", "respond", "route",
                 "sampled", "segment_id", "started", "task", "timer", "trace_root")

    def __init__(self, request: GatewayRequest, entropy: bytes, started: float, epoch: float,
                 respond: Callable[[Reply], None], traced: bool = False) -> None:
        self.request = request
        self.started = started
        self.epoch = epoch
        self.respond = respond
        self.answered = False
        self.request_id = self.extended_id = ""
        self.integration_started = started
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None  # the authorizer's coroutine, held while it runs
        self.event: bytes | None = None  # the proxy event as sent to the function (JSON), once it is sent
        self.invocation: Invocation | None = None  # the function's answer, once it has one
        target = request.target
        if not target.startswith("/"):  # absolute-form request target
            target = "/" + target.split("://", 1)[-1].partition("/")[2]
        self.path, _, self.raw_query = target.partition("?")
        self.query = parse_qsl(self.raw_query, keep_blank_values=True) if self.raw_query else []
        headers: dict[str, str] = {}
        for name, value in request.headers:
            lower = name.lower()
            headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
        self.headers = headers
        self.route: RouteSpec | None = None
        root, upstream = trace_context(headers.get("x-amzn-trace-id"), entropy[:12])
        self.trace_root = root
        # a traced stage follows the caller's sampling decision when it made one
        self.sampled = traced and (upstream is None or upstream)
        # the gateway's segment id is the Parent Lambda receives; sampled when golive dev records this trace
        self.segment_id = entropy[12:20].hex()
        self.lambda_trace = f"Root={root};Parent={self.segment_id};Sampled={'1' if self.sampled else '0'}"
        self.log: dict[str, Any] = {}


# Reused (json.dumps with separators builds an encoder per call), and without the circular-reference check: the
# event is built here and has no cycles, and the check's bookkeeping was half the encoding time (6.4 -> 3.2 us).
_encode_event = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_ENTROPY_BYTES = 64  # random bytes per request, sliced: trace root 12, parent 8, request id 16, ids 11 + 11


class Lambdas(Protocol):
    """What the gateway needs of the Lambda service behind it (LambdaService)."""

    def submit(self, function: str, payload: bytes, *, trace_id: str | None = None,
               client_context: str | None = None,
               on_done: Callable[[Invocation], None] | None = None) -> asyncio.Future[Invocation]:
        """Start one invocation; on_done(invocation) is called once, as soon as the result is known."""
        ...

    async def invoke(self, function: str, payload: bytes, *, trace_id: str | None = None,
                     client_context: str | None = None) -> Invocation:
        """One invocation, awaited (authorizers)."""
        ...


class Gateway:
    """API Gateway in front of a Lambda service."""

    def __init__(self, config: ServiceConfig, lambdas: Lambdas, routes: RouteTable, *,
                 access_log: AccessLog | None = None) -> None:
        self.lambdas = lambdas
        self.access_log = access_log or AccessLog()
        self._random = RandomBytes()  # the gateway's loop is its only user
        self.routes = routes
        self.configure(config)

    def configure(self, config: ServiceConfig) -> None:
        """(Re)read golive.toml's [api] and [auth] (as the template reads them: service/settings.api_settings and
        service/auth.plan): raises ConfigError with one line saying what to fix."""
        settings = api_settings(config)
        self.config = config
        self.api_type = config.api_type
        self.rest = self.api_type == "rest"
        self.stage = config.stage
        self.api_id = api_id_for(config)
        self.stage_variables = settings["stage_variables"]
        # Each route's integration timeout (timeoutInMillis), by the rule the template deploys.
        self.route_timeouts = {route.key: integration_timeout_s(settings, route.key,
                                                                 config.functions.get(route.function))
                               for route in self.routes.routes}
        self.integration_timeout = settings["integration_timeout"] or integration_limit_s(self.api_type)
        self.binary_types = settings["binary_media_types"]
        self.throttler = Throttler(settings)
        self.throttler.prepare([(route.key, route.throttle) for route in self.routes.routes])
        self.usage_plan = UsagePlan(settings, config.service) if settings["usage_plan"] else None
        self.templates = template_responses(config)
        self.validator = RequestValidator(settings["request_validation"]) \
            if settings["request_validation"] != "off" else None
        self.cors = GatewayCORS(settings["cors"], self.api_type) if settings["cors"] else None
        self.authorizer = authorizers.build(config, self._invoke_authorizer, self.integration_timeout)

    async def _invoke_authorizer(self, function: str, payload: bytes) -> Invocation:
        return await self.lambdas.invoke(function, payload)

    # -- the pipeline ------------------------------------------------------------------------------------------
    # Callbacks, not a coroutine per request: the pipeline runs synchronously up to the Lambda invocation, and the
    # invocation's answer (LambdaService calls on_done at once) writes the reply before any bookkeeping. A Task
    # and three awaits per request cost more, on the local cloud's benchmarked path, than the gateway's own checks.
    async def handle(self, request: GatewayRequest) -> Reply:
        """One request through API Gateway's pipeline, awaited (serve() for callers that take a callback)."""
        answered: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()

        def respond(reply: Reply) -> None:
            if not answered.done():
                answered.set_result(reply)

        self.serve(request, respond)
        return await answered

    # golive dev's own API (telemetry under /_golive/api/): answered before route matching, so it never collides
    # with a service route, and never written to the access log; None when dev serves no such API
    reserved: Callable[[GatewayRequest, Callable[[Reply], None]], None] | None = None
    # where the gateway's X-Ray segment of each request goes (golive dev with tracing on), as its builder and parts
    # (on_segment(build, *parts): the sink builds it off the event loop); None: not traced, and the function is
    # invoked with Sampled=0 as on a stage without active tracing
    on_segment: Callable[..., None] | None = None
    # which requests a traced gateway samples (X-Ray's rule); None: every request (golive dev --trace-all)
    sampler: TraceSampler | None = None
    # where each proxied request's payloads go, after the reply and its access log (golive dev's payload ring):
    # (API request id, Lambda request id or "" when the function never answered, the event as sent (JSON bytes),
    # the function's raw result (JSON bytes: its return value or Lambda's error document) or None). References
    # only: the bytes already exist, nothing is encoded or copied for it on the event loop. None: not kept.
    on_payload: Callable[[str, str, bytes, bytes | None], None] | None = None

    def serve(self, request: GatewayRequest, respond: Callable[[Reply], None]) -> None:
        """One request through API Gateway's pipeline: `respond` gets the answer exactly once (now, or when the
        integration answers), then one access-log record is written. Never raises."""
        if self.reserved is not None and request.target.startswith("/_golive/"):
            self.reserved(request, respond)
            return
        started = time.perf_counter()
        epoch = time.time()
        entropy = self._random.take(_ENTROPY_BYTES)
        sampler = self.sampler
        traced = self.on_segment is not None and (sampler is None or sampler.sample(epoch, entropy[12]))
        exchange = _Exchange(request, entropy, started, epoch, respond, traced)
        request_id = exchange.request_id = new_request_id(entropy[20:36]) if self.rest else short_id(entropy[36:47])
        extended_id = exchange.extended_id = short_id(entropy[47:58])
        exchange.log.update(requestId=request_id, extendedRequestId=extended_id, ip=request.client_ip,
                            sourceIp=request.client_ip, requestTime=request_time(epoch),
                            requestTimeEpoch=int(epoch * 1000), httpMethod=request.method, path=exchange.path,
                            stage=self.stage, protocol=f"HTTP/{request.http_version}",
                            userAgent=exchange.headers.get("user-agent") or "-", xrayTraceId=exchange.trace_root)
        reply: Reply | None
        try:
            if request.headers_too_large:
                reply = self._fail(exchange, gateway_response("REQUEST_HEADERS_TOO_LARGE", self.api_type))
            elif request.too_large:
                reply = self._fail(exchange, gateway_response("REQUEST_TOO_LARGE", self.api_type))
            else:
                reply = self._front(exchange, epoch)
        except Exception as exc:
            reply = self._broken(exchange, exc)
        if reply is not None:
            self._complete(exchange, reply)

    def _broken(self, exchange: _Exchange, exc: Exception) -> Reply:
        """A gateway bug must still answer like API Gateway, and say what broke."""
        traceback.print_exception(exc, file=sys.stderr)
        exchange.log["errorMessage"] = f"golive gateway error: {type(exc).__name__}: {exc}"
        return self._fail(exchange, gateway_response("API_CONFIGURATION_ERROR", self.api_type))

    def _complete(self, exchange: _Exchange, reply: Reply) -> None:
        """Send the answer (once), then write the access-log record: bookkeeping waits until the client has it."""
        if exchange.answered:
            return
        exchange.answered = True
        if exchange.timer is not None:
            exchange.timer.cancel()
        status, headers, body = reply
        if self.rest:
            headers.append(("x-amzn-RequestId", exchange.request_id))
            headers.append(("x-amz-apigw-id", exchange.extended_id))
            headers.append(("X-Amzn-Trace-Id", f"Root={exchange.trace_root}"))
        else:
            headers.append(("Apigw-Requestid", exchange.request_id))
        log = exchange.log
        log["status"] = status
        log["responseLength"] = len(body)
        elapsed = time.perf_counter() - exchange.started
        log["responseLatency"] = round(elapsed * 1000)
        if exchange.request.method == "HEAD":
            headers.append(("Content-Length", str(len(body))))
            body = b""
        try:
            exchange.respond((status, headers, body))
        finally:
            self.access_log.emit(log)
            on_segment = self.on_segment
            if on_segment is not None and exchange.sampled:
                self._segment(on_segment, exchange, log, elapsed)
            on_payload = self.on_payload
            if on_payload is not None and exchange.event is not None:
                self._payload(on_payload, exchange)

    def _segment(self, on_segment: Callable[..., None], exchange: _Exchange, log: dict[str, Any],
                 elapsed: float) -> None:
        """The request's X-Ray segment (API Gateway's, on a traced stage), after the reply and its access log."""
        try:
            parts = (log, exchange.segment_id, exchange.epoch, exchange.epoch + elapsed,
                     f"{self.config.service}/{self.stage}", self.api_id)
            on_segment(gateway_segment, *parts)  # the record is final: the access log has it
        except Exception as exc:  # tracing must never break the gateway
            print(f"golive dev: gateway segment failed: {type(exc).__name__}: {exc}", file=sys.stderr)

    @staticmethod
    def _payload(on_payload: Callable[[str, str, bytes, bytes | None], None], exchange: _Exchange) -> None:
        """The request's event and the function's raw result, after the reply (what golive dev keeps to show)."""
        invocation = exchange.invocation
        try:
            on_payload(exchange.request_id, invocation.request_id if invocation is not None else "",
                       exchange.event or b"", invocation.payload if invocation is not None else None)
        except Exception as exc:  # keeping payloads must never break the gateway
            print(f"golive dev: keeping the payloads failed: {type(exc).__name__}: {exc}", file=sys.stderr)

    def _fail(self, exchange: _Exchange, response: GatewayResponse,
              extra: list[tuple[str, str]] | None = None) -> Reply:
        log = exchange.log
        log["errorResponseType"] = response.response_type
        log.setdefault("errorMessage", response.message)
        if self.templates is not None:
            response = self.templates.render(response, log["requestId"], log.get("validationErrorString") or "",
                                             exchange.headers)
        headers = list(response.headers) + list(extra or [])
        if self.cors is not None:
            self.cors.decorate(headers, exchange.headers.get("origin"))
        return response.status, headers, response.body

    def _front(self, exchange: _Exchange, epoch: float) -> Reply | None:
        """Everything before the integration; a Reply when the gateway answers itself, None when it continues."""
        request, log, headers = exchange.request, exchange.log, exchange.headers
        method, path = request.method, exchange.path
        if self.cors is not None and method == "OPTIONS" and "origin" in headers \
                and "access-control-request-method" in headers and (not self.rest or self.routes.has_path(path)):
            status, cors_headers = self.cors.preflight(headers["origin"], self.routes.methods_for(path) or
                                                       ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
            log["routeKey"] = "OPTIONS " + path
            return status, cors_headers + ([("Content-Type", "application/json")] if self.rest else []), b""
        found = self.routes.match(method, path)
        if found is None:
            return self._fail(exchange, gateway_response("MISSING_AUTHENTICATION_TOKEN", self.api_type))
        route, params = found
        exchange.route = route
        log["routeKey"] = route.key
        log["functionName"] = route.function
        if self.rest:
            log["resourcePath"] = route.path
        if not self.throttler.allow(route.key, route.throttle):
            return self._fail(exchange, gateway_response("THROTTLED", self.api_type))
        api_key = headers.get("x-api-key")
        if self.usage_plan is not None and not route.public:  # golive template: every non-public route needs a key
            verdict = self.usage_plan.check(api_key)
            if verdict is not None:
                return self._fail(exchange, gateway_response(verdict, self.api_type))
            log["apiKeyId"] = hashlib.sha1((api_key or "").encode()).hexdigest()[:10]
        request_headers = integration_headers(request.headers, self.rest, request.client_ip, request.server_port,
                                              exchange.trace_root, headers.get("x-forwarded-for"))
        event = build_event(self.api_type, method, path, exchange.raw_query, exchange.query, request_headers,
                            request.body, route_path=route.path, route_key=route.key, params=params,
                            stage=self.stage, stage_variables=self.stage_variables, request_id=exchange.request_id,
                            extended_id=exchange.extended_id, source_ip=request.client_ip,
                            binary_types=self.binary_types, api_id=self.api_id, epoch=epoch)
        if self.rest and api_key and log.get("apiKeyId"):
            event["requestContext"]["identity"]["apiKey"] = api_key
            event["requestContext"]["identity"]["apiKeyId"] = log["apiKeyId"]
        if self.authorizer is not None and self.authorizer.guards(route.key, route.public):
            exchange.task = asyncio.get_running_loop().create_task(self._guarded(exchange, route, event))
            return None
        return self._validate_and_integrate(exchange, route, event)

    async def _guarded(self, exchange: _Exchange, route: RouteSpec, event: dict[str, Any]) -> None:
        """The rest of the pipeline behind an authorizer (which may invoke a Lambda function and wait)."""
        try:
            reply = await self._authorize(exchange, route, event)
            if reply is None:
                reply = self._validate_and_integrate(exchange, route, event)
        except Exception as exc:
            reply = self._broken(exchange, exc)
        exchange.task = None
        if reply is not None:
            self._complete(exchange, reply)

    def _validate_and_integrate(self, exchange: _Exchange, route: RouteSpec, event: dict[str, Any]) -> Reply | None:
        if self.validator is not None:
            verdict = self.validator.check(route, exchange.headers, dict(exchange.query), exchange.request.body)
            if verdict is not None:
                if verdict.detail:
                    exchange.log["validationErrorString"] = verdict.detail
                return self._fail(exchange, gateway_response(verdict.kind, self.api_type, missing=verdict.missing))
        return self._integrate(exchange, route, event)

    async def _authorize(self, exchange: _Exchange, route: RouteSpec, event: dict[str, Any]) -> Reply | None:
        assert self.authorizer is not None
        stage = self.stage if self.rest else "$default"
        arn = authorizers.method_arn(self.api_id, stage, exchange.request.method, exchange.path)
        request = authorizers.AuthRequest(exchange.headers, dict(exchange.query), event, route.key, arn,
                                          route.scopes, self.stage_variables)
        started = time.perf_counter()
        result = await self.authorizer.authorize(request)
        latency = round((time.perf_counter() - started) * 1000)
        log = exchange.log
        log["authorizerLatency"] = latency
        log["authorizerStatus"] = result.status
        if result.principal:
            log["principalId"] = result.principal
        if result.error is not None:
            log["authorizerError"] = result.message or result.error
            return self._fail(exchange, gateway_response(result.error, self.api_type), result.headers)
        context = dict(result.context or {})
        if self.rest and self.authorizer.plan.lambda_authorizer:
            context["integrationLatency"] = latency
        event["requestContext"]["authorizer"] = context
        return None

    def _integrate(self, exchange: _Exchange, route: RouteSpec, event: dict[str, Any]) -> Reply | None:
        """Invoke the route's function; the reply comes from _integrated (or _timed_out), not from here."""
        log = exchange.log
        payload = _encode_event(event).encode()
        if len(payload) > LAMBDA_REQUEST_BYTES:
            log["integrationStatus"] = 413
            log["integrationErrorMessage"] = (f"Lambda request payload size exceeded the maximum allowed payload "
                                              f"size ({LAMBDA_REQUEST_BYTES} bytes)")
            return self._fail(exchange, gateway_response("LAMBDA_REQUEST_TOO_LARGE", self.api_type))
        exchange.event = payload
        exchange.integration_started = time.perf_counter()
        try:
            invoked = self.lambdas.submit(route.function, payload, trace_id=exchange.lambda_trace,
                                          on_done=lambda invocation: self._integrated(exchange, invocation))
        except Exception as exc:
            traceback.print_exception(exc, file=sys.stderr)
            log["integrationLatency"] = round((time.perf_counter() - exchange.integration_started) * 1000)
            log["integrationErrorMessage"] = f"Lambda invocation failed: {type(exc).__name__}: {exc}"
            return self._fail(exchange, gateway_response("INTEGRATION_REJECTED", self.api_type))
        if not exchange.answered:
            # API Gateway stops waiting; the function runs on until its own timeout, as in AWS.
            timeout = self.route_timeouts.get(route.key, self.integration_timeout)
            # the invocation's future knows the loop: asyncio.get_running_loop() costs a getpid() system call
            loop = invoked.get_loop() if isinstance(invoked, asyncio.Future) else asyncio.get_running_loop()
            exchange.timer = loop.call_later(timeout, self._timed_out, exchange)
        return None

    def _timed_out(self, exchange: _Exchange) -> None:
        exchange.timer = None
        if exchange.answered:
            return
        log = exchange.log
        log["integrationLatency"] = round((time.perf_counter() - exchange.integration_started) * 1000)
        log["integrationErrorMessage"] = "Execution failed due to a timeout error"
        self._complete(exchange, self._fail(exchange, gateway_response("INTEGRATION_TIMEOUT", self.api_type)))

    def _integrated(self, exchange: _Exchange, invocation: Invocation) -> None:
        """The function's answer (called by the Lambda service as soon as it has one): the client's reply."""
        if exchange.answered:  # the integration timed out meanwhile
            return
        exchange.invocation = invocation
        exchange.log["integrationLatency"] = round((time.perf_counter() - exchange.integration_started) * 1000)
        try:
            reply = self._proxy_reply(exchange, invocation)
        except Exception as exc:
            reply = self._broken(exchange, exc)
        self._complete(exchange, reply)

    def _proxy_reply(self, exchange: _Exchange, invocation: Invocation) -> Reply:
        log = exchange.log
        log["integrationRequestId"] = invocation.request_id
        outcome = invocation.outcome
        if outcome == "throttled":
            log["integrationStatus"] = 429
            log["integrationErrorMessage"] = invocation.error_message or "Rate Exceeded."
            return self._fail(exchange, gateway_response("INTEGRATION_REJECTED", self.api_type))
        log["integrationStatus"] = 200
        if outcome != "ok":
            log["integrationErrorMessage"] = ("Lambda execution failed with status 200 due to customer function "
                                              f"error: {invocation.error_message or invocation.error_type}")
            return self._fail(exchange, gateway_response("INTEGRATION_FAILURE", self.api_type))
        raw = invocation.payload or b""
        if len(raw) > LAMBDA_RESPONSE_BYTES:
            log["integrationErrorMessage"] = (f"Response payload size exceeded maximum allowed payload size "
                                              f"({LAMBDA_RESPONSE_BYTES} bytes).")
            return self._fail(exchange, gateway_response("INTEGRATION_FAILURE", self.api_type))
        try:
            result = json.loads(raw) if raw else None
            if self.rest:
                status, headers, body = v1_response(result, exchange.headers.get("accept"), self.binary_types)
            else:
                status, headers, body = v2_response(result)
        except (ValueError, MalformedResponse) as exc:
            log["integrationErrorMessage"] = f"Execution failed due to configuration error: Malformed Lambda " \
                                             f"proxy response ({exc})"
            return self._fail(exchange, gateway_response("INTEGRATION_FAILURE", self.api_type))
        if self.cors is not None and not self.rest:
            self.cors.decorate(headers, exchange.headers.get("origin"))
        return status, headers, body


# -- the HTTP server ---------------------------------------------------------------------------------------------
class _Date:
    """The Date header, formatted once per second."""

    second = -1
    value = b""

    @classmethod
    def now(cls) -> bytes:
        second = int(time.time())
        if second != cls.second:
            cls.second = second
            cls.value = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(second)).encode()
        return cls.value


class _Connection(asyncio.Protocol):
    """One client connection: parses requests with httptools, answers them in order (keep-alive, pipelining)."""

    def __init__(self, gateway: Gateway, server_port: int) -> None:
        import httptools

        self.gateway = gateway
        self.server_port = server_port
        self.parser = httptools.HttpRequestParser(self)
        self._parse_error = (httptools.HttpParserError, httptools.HttpParserUpgrade)
        self.transport: asyncio.Transport | None = None
        self.client_ip = "127.0.0.1"
        self.queue: deque[GatewayRequest] = deque()
        self.current: GatewayRequest | None = None  # the request whose answer is awaited
        self.dispatching = False  # inside gateway.serve(): an answer given now is written by _next's loop
        self.busy = False
        self.paused = False
        self.closed = False
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.header_bytes = 0
        self.too_large = False
        self.headers_too_large = False
        self.refused = False  # answered from its headers alone: the rest of the message is read and dropped

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if peer:
            self.client_ip = peer[0]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except self._parse_error:
            self._write_raw(400, [("Content-Type", "application/json")], b'{"message":"Bad Request"}', False)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._reset()

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.header_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > MAX_HEADER_BYTES:
            self.headers_too_large = True  # refused once the headers end; never held in memory meanwhile
        else:
            self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        # The request line counts too: method, a space, the target, a space, HTTP/1.1.
        if self.header_bytes + len(self.parser.get_method()) + 10 > MAX_HEADER_BYTES:
            self.headers_too_large = True
        for name, value in self.headers:
            lower = name.lower()
            if lower == "content-length" and value.strip().isdigit() and int(value) > MAX_REQUEST_BYTES:
                self.too_large = True
            elif lower == "expect" and value.lower() == "100-continue" and self.transport is not None \
                    and not self.headers_too_large and not self.too_large:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if (self.too_large or self.headers_too_large) and not self.busy and not self.queue:
            # Refused from the headers alone, as API Gateway's front door does: no waiting for a body it would
            # drop. The answer closes the connection; what the client still sends is read and dropped.
            self.refused = True
            self._dispatch(b"")

    def on_body(self, body: bytes) -> None:
        if self.too_large or self.headers_too_large:
            return  # read and dropped: refused already, or the client gets its 413 once it has sent everything
        self.size += len(body)
        if self.size > MAX_REQUEST_BYTES:
            self.too_large = True
            self.body = []
        else:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if not self.refused:
            self._dispatch(b"".join(self.body))

    def _dispatch(self, body: bytes) -> None:
        parser = self.parser
        request = GatewayRequest(parser.get_method().decode(), self.url.decode("latin-1"), self.headers,
                                 body, client_ip=self.client_ip, server_port=self.server_port,
                                 http_version=parser.get_http_version(),
                                 keep_alive=parser.should_keep_alive() and not self.refused,
                                 too_large=self.too_large, headers_too_large=self.headers_too_large)
        self.queue.append(request)
        if len(self.queue) > _PIPELINE_LIMIT and self.transport is not None and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        if not self.busy:
            self._next()

    def _next(self) -> None:
        """Serve queued requests in order; stops while one waits for its integration (_respond resumes)."""
        while self.queue and not self.closed:
            request = self.queue.popleft()
            if self.paused and len(self.queue) < _PIPELINE_LIMIT // 2 and self.transport is not None:
                self.paused = False
                self.transport.resume_reading()
            self.busy = True
            self.current = request
            self.dispatching = True
            try:
                self.gateway.serve(request, self._respond)
            except Exception:  # serve() answers its own failures; this is the last line of defence
                traceback.print_exc(file=sys.stderr)
                if self.current is request:
                    self._respond((500, [("Content-Type", "application/json")],
                                   b'{"message":"Internal server error"}'))
            finally:
                self.dispatching = False
            if self.current is not None:
                return
        self.busy = False

    def _respond(self, reply: Reply) -> None:
        request, self.current = self.current, None
        if request is None:
            return
        status, headers, body = reply
        self._write_raw(status, headers, body, request.keep_alive, head=request.method == "HEAD")
        if self.dispatching:
            return  # _next's loop goes on
        if self.queue and not self.closed:
            # pipelined requests wait for the next loop turn: this answer arrives inside the Lambda service's
            # bookkeeping, which must finish (the environment idle again) before another invocation starts
            asyncio.get_running_loop().call_soon(self._next)
        else:
            self.busy = False

    def _write_raw(self, status: int, headers: list[tuple[str, str]], body: bytes, keep_alive: bool,
                   head: bool = False) -> None:
        transport = self.transport
        if transport is None or self.closed:
            return
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, _PHRASES.get(status, b"Unknown"))]
        for name, value in headers:
            try:
                lines.append(f"{name}: {value}\r\n".encode("latin-1"))
            except UnicodeEncodeError:
                lines.append(f"{name}: {value}\r\n".encode())
        if not head:
            lines.append(b"Content-Length: %d\r\n" % len(body))
        lines.append(b"Date: " + _Date.now() + (b"\r\nConnection: keep-alive\r\n\r\n" if keep_alive
                                                 else b"\r\nConnection: close\r\n\r\n"))
        lines.append(body)
        transport.write(b"".join(lines))
        if not keep_alive:
            self.closed = True
            if self.refused and transport.can_write_eof():
                # The client may still be sending the body: closing now would reset the connection and could
                # destroy the answer before it is read. Half-close, drain, and close a little later.
                transport.write_eof()
                asyncio.get_running_loop().call_later(_DRAIN_S, transport.close)
            else:
                transport.close()


async def listen(gateway: Gateway, host: str, port: int) -> asyncio.Server:
    """Start serving on host:port (0 picks a free port); the caller closes the returned server."""
    loop = asyncio.get_running_loop()
    holder: dict[str, int] = {}
    server = await loop.create_server(lambda: _Connection(gateway, holder["port"]), host, port, backlog=1024,
                                      reuse_address=True)
    holder["port"] = server.sockets[0].getsockname()[1]
    return server


def bound_port(server: asyncio.Server) -> int:
    return server.sockets[0].getsockname()[1]


def access_log_to(callback: Callable[[dict[str, Any]], None] | None, printed: bool = True) -> AccessLog:
    """An AccessLog printing JSON lines to stdout (when `printed`) and passing each record to `callback`."""
    return AccessLog(enabled=printed, callback=callback)
