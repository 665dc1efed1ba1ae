"""golive dev's X-Ray daemon address and the segments the local cloud makes itself (API Gateway's, Lambda's).

Workers send X-Ray documents over UDP to `AWS_XRAY_DAEMON_ADDRESS` as the X-Ray SDKs do in Lambda: a header line
`{"format": "json", "version": 1}` then one segment or subsegment document per datagram. The daemon here checks the
header and hands the document's bytes on unparsed (the telemetry writer parses them in DuckDB, off the event loop).
The gateway's segment per request and the function's segment per invocation are built here as X-Ray shapes them, by
the local cloud after the reply is written, like the access log (golive dev's SpanSink builds them from their parts
on its writer thread, off the event loop)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any, Protocol

HEADER = b'{"format":"json","version":1}'  # the daemon protocol's first line, spaces removed
GATEWAY_ORIGIN = "AWS::ApiGateway::Stage"
FUNCTION_ORIGIN = "AWS::Lambda::Function"


class SpanSink(Protocol):
    """Where the local cloud's trace documents go (golive dev's telemetry)."""

    def on_segment(self, build: Callable[..., dict[str, Any]], *args: Any) -> None:
        """A segment the local cloud made itself (the gateway's, a function's), as `build(*args)` gives it: built
        later, off the event loop."""
        ...

    def on_datagram(self, body: bytes) -> None:
        """The document of one datagram a worker sent (header removed), as sent: JSON bytes."""
        ...


class _DaemonProtocol(asyncio.DatagramProtocol):
    __slots__ = ("on_datagram", "received", "rejected")

    def __init__(self, on_datagram: Callable[[bytes], None]) -> None:
        self.on_datagram = on_datagram
        self.received = self.rejected = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        # The only parsing on the loop: the header line. The document is checked when it is stored.
        head, newline, body = data.partition(b"\n")
        if not newline or not body or head.replace(b" ", b"") != HEADER:
            self.rejected += 1
            return
        self.received += 1
        self.on_datagram(body)

    def error_received(self, exc: Exception) -> None:
        pass  # a UDP error (ICMP) must never stop the daemon


class Daemon:
    """A UDP endpoint on loopback (an ephemeral port) that receives X-Ray documents."""

    def __init__(self, transport: asyncio.DatagramTransport, protocol: _DaemonProtocol) -> None:
        self.transport, self.protocol = transport, protocol
        host, port = transport.get_extra_info("sockname")[:2]
        self.host, self.port = str(host), int(port)

    @property
    def address(self) -> str:
        """What AWS_XRAY_DAEMON_ADDRESS says: host:port."""
        return f"{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets for the X-Ray SDKs when tracing is active."""
        return {"AWS_XRAY_DAEMON_ADDRESS": self.address, "_AWS_XRAY_DAEMON_ADDRESS": self.host,
                "_AWS_XRAY_DAEMON_PORT": str(self.port), "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR"}

    def close(self) -> None:
        self.transport.close()


async def start_daemon(on_datagram: Callable[[bytes], None], host: str = "127.0.0.1", port: int = 0) -> Daemon:
    """Listen for X-Ray documents on host:port (0: a free port); each document's bytes go to `on_datagram`."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: _DaemonProtocol(on_datagram),
                                                              local_addr=(host, port))
    return Daemon(transport, protocol)  # type: ignore[arg-type]


class TraceSampler:
    """X-Ray's sampling rule, as API Gateway applies it to a traced stage: the first `reservoir` requests each
    second, then `rate` of the rest (AWS's default rule: 1 a second and 5 %). golive dev keeps a reservoir of 100, so
    every request a person or a test suite sends is traced, and a load test's flood costs a twentieth of the spans.
    """

    __slots__ = ("_second", "_taken", "_threshold", "reservoir")

    def __init__(self, reservoir: int = 100, rate: float = 0.05) -> None:
        self.reservoir = reservoir
        self._threshold = round(rate * 256)  # compared with one random byte
        self._second = 0
        self._taken = 0

    def sample(self, epoch: float, chance: int) -> bool:
        """Whether the request that arrived at `epoch` is traced; `chance` is a random byte (0-255)."""
        second = int(epoch)
        if second != self._second:
            self._second, self._taken = second, 0
        if self._taken < self.reservoir:
            self._taken += 1
            return True
        return chance < self._threshold


def _flags(document: dict[str, Any], status: int | None) -> None:
    # X-Ray's flags: error for 4xx (throttle for 429 as well), fault for 5xx
    if status is None:
        return
    if 400 <= status < 500:
        document["error"] = True
        if status == 429:
            document["throttle"] = True
    elif status >= 500:
        document["fault"] = True


def gateway_segment(log: dict[str, Any], segment_id: str, start: float, end: float, name: str,
                    api_id: str) -> dict[str, Any]:
    """API Gateway's segment of one request (a traced stage), from its access-log record."""
    status = log.get("status")
    document: dict[str, Any] = {
        "name": name, "id": segment_id, "trace_id": log.get("xrayTraceId"), "start_time": start, "end_time": end,
        "origin": GATEWAY_ORIGIN,
        "http": {"request": {"method": log.get("httpMethod"), "url": log.get("path"),
                             "client_ip": log.get("sourceIp"), "user_agent": log.get("userAgent")},
                 "response": {"status": status, "content_length": log.get("responseLength")}},
        "aws": {"api_gateway": {"rest_api_id": api_id, "stage": log.get("stage"),
                                "request_id": log.get("requestId")}},
        "annotations": {"route": log.get("routeKey") or "-"},
    }
    error_type = log.get("errorResponseType")
    if error_type:
        document["annotations"]["gateway_response"] = error_type
    _flags(document, status if isinstance(status, int) else None)
    return document


def function_trace(trace_header: str, segment_id: str) -> tuple[str, str | None] | None:
    """For a sampled trace header from the caller: (the header the function's runtime gets, whose Parent is the
    function's segment, the caller's segment id); None when the trace is not sampled."""
    if not trace_header.endswith("Sampled=1"):
        return None
    root, parent = "", None
    for part in trace_header.split(";"):
        if part.startswith("Root="):
            root = part
        elif part.startswith("Parent="):
            parent = part[7:]
    if not root:
        return None
    return f"{root};Parent={segment_id};Sampled=1", parent


def function_segment(trace_header: str, segment_id: str, parent_id: str | None, name: str, arn: str,
                     request_id: str, outcome: str, end: float, duration_ms: float, init_ms: float | None,
                     error_type: str | None) -> dict[str, Any]:
    """Lambda's segment of one invocation (AWS::Lambda::Function) that ended at `end` (epoch seconds), with an
    Initialization subsegment on a cold start."""
    invoked = end - duration_ms / 1000
    start = invoked - (init_ms or 0.0) / 1000
    document: dict[str, Any] = {
        "name": name, "id": segment_id, "trace_id": trace_header.partition(";")[0][5:], "start_time": start,
        "end_time": end, "origin": FUNCTION_ORIGIN,
        "aws": {"request_id": request_id, "function_arn": arn},
        "annotations": {"outcome": outcome},
    }
    if parent_id:
        document["parent_id"] = parent_id
    if outcome != "ok":
        document["fault"] = True
        if outcome == "throttled":
            document["throttle"] = True
        document["cause"] = {"exceptions": [{"type": error_type or outcome, "message": outcome}]}
    if init_ms is not None:
        document["subsegments"] = [{"name": "Initialization", "id": os.urandom(8).hex(), "start_time": start,
                                    "end_time": invoked}]
    return document
