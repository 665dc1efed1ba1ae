"""The Lambda Runtime API (2018-06-01) served over loopback HTTP/1.1 to one execution environment.

Each environment gets its own listening port (AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT) because runtime clients use
fixed paths. The server is an asyncio.Protocol with a tiny HTTP/1.1 parser instead of a web framework: the protocol
is fixed and small (four routes, Content-Length or chunked bodies, keep-alive), and per-invocation overhead is
benchmarked, so every microsecond on this path counts.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Iterable
from typing import Protocol

from golive.errors import PHRASES
from golive.service.quotas import LAMBDA_RESPONSE_BYTES

PREFIX = "/2018-06-01/runtime/"
NEXT_PATH = PREFIX + "invocation/next"
INIT_ERROR_PATH = PREFIX + "init/error"
_MAX_HEAD_BYTES = 64 * 1024
_NEXT_REQUEST = b"GET " + NEXT_PATH.encode() + b" "
_HEADER_FIELD = re.compile(r"([^:\r\n]*):([^\r\n]*)")

_BODIES = {
    202: b'{"status":"OK"}\n',
    400: b'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}\n',
    403: b'{"errorMessage":"State transition failed for runtime: no invocation is waiting for this result",'
         b'"errorType":"InvalidStateTransition"}\n',
    404: b'{"errorMessage":"Not found","errorType":"NotFound"}\n',
    405: b'{"errorMessage":"Method not allowed","errorType":"MethodNotAllowed"}\n',
    413: b'{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).",'
         b'"errorType":"RequestEntityTooLarge"}\n',
    431: b'{"errorMessage":"Request headers too large","errorType":"InvalidRequestFormat"}\n',
}
_MALFORMED = b'{"errorMessage":"Malformed HTTP request","errorType":"InvalidRequestFormat"}\n'


class RuntimeHandler(Protocol):
    """What the environment behind a Runtime API does with the runtime's calls (each returns an HTTP status)."""

    def on_next(self) -> None: ...

    def on_response(self, request_id: str, body: bytes, content_type: str) -> int: ...

    def on_error(self, request_id: str, body: bytes, error_type: str) -> int: ...

    def on_init_error(self, body: bytes, error_type: str) -> int: ...


def _response(status: int, body: bytes, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    head = [f"HTTP/1.1 {status} {PHRASES.get(status, 'OK')}", "Content-Type: application/json"]
    head.extend(f"{name}: {value}" for name, value in headers)
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


_RESULT_ANSWERS = {status: _response(status, _BODIES[status]) for status in (202, 400, 403, 413)}


class _Connection(asyncio.Protocol):
    """One keep-alive connection from the runtime client; parses requests and hands them to the API."""

    def __init__(self, api: RuntimeAPI) -> None:
        self.api = api
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()  # an unfinished request, kept until the rest arrives
        self.head: tuple[str, str, dict[str, str], int] | None = None  # method, path, headers, body offset
        self.continued = False
        self.close_after = False
        self.held = b""  # a 202 held back to leave in the same write as the next event (pipelined /next)
        self._data: bytes | bytearray = b""  # what is being parsed, and where the next request in it starts
        self._next_at = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.api.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.api.connections.discard(self)
        if self.api.parked is self:
            self.api.parked = None
        self.transport = None

    def data_received(self, received: bytes) -> None:
        # Requests are parsed where they lie: in what was received when nothing was left over (the usual case, a
        # result and the next GET /next in one read), otherwise in the buffer that collects a partial request.
        data: bytes | bytearray = received
        if self.buffer:
            self.buffer += received
            data = self.buffer
        self._data = data
        position = 0
        while self.transport is not None:
            consumed = self._parse_at(data, position)
            if consumed is None:
                break
            position = consumed
        if data is self.buffer:
            del self.buffer[:position]
        elif position < len(data):
            self.buffer += data[position:]
        self._data = b""

    def send(self, payload: bytes) -> None:
        if self.transport is None:
            return
        if self.held:
            payload, self.held = self.held + payload, b""
        self.transport.write(payload)
        if self.close_after:
            self.transport.close()

    def _parse_at(self, data: bytes | bytearray, start: int) -> int | None:
        """Dispatch the request starting at `start`; the offset after it, or None when more bytes are needed."""
        if self.head is None:
            end = data.find(b"\r\n\r\n", start)
            if end < 0:
                if len(data) - start > _MAX_HEAD_BYTES:
                    self.close_after = True
                    self.send(_response(431, _BODIES[431]))
                return None
            head = _parse_head(bytes(data[start:end]))
            if head is None:
                self.close_after = True
                self.send(_response(400, _MALFORMED))
                return None
            method, path, headers = head
            self.head = (method, path, headers, end + 4 - start)
            self.continued = False
            self.close_after = headers.get("connection", "").lower() == "close"
        method, path, headers, offset = self.head
        offset += start
        if "transfer-encoding" in headers and headers["transfer-encoding"].lower() == "chunked":
            decoded = _decode_chunked(data, offset)
            if decoded is None:
                self._maybe_continue(headers)
                return None
            body, consumed = decoded
        else:
            length = int(headers.get("content-length") or 0)
            consumed = offset + length
            if len(data) < consumed:
                self._maybe_continue(headers)
                return None
            body = bytes(data[offset:consumed])
        self.head = None
        self._next_at = consumed
        self.api.dispatch(self, method, path, headers, body)
        return consumed

    def hold_or_send(self, payload: bytes) -> None:
        """Send a result's answer, or, when the runtime already pipelined its GET /next behind the result (golive's
        worker does), hold it to leave in one write with the next event: the runtime reads both answers anyway."""
        if not self.close_after and self._data.startswith(_NEXT_REQUEST, self._next_at):
            self.held += payload
        else:
            self.send(payload)

    def _maybe_continue(self, headers: dict[str, str]) -> None:
        # libcurl (awslambdaric's native client) asks before sending large bodies
        if not self.continued and headers.get("expect", "").lower() == "100-continue" and self.transport:
            self.continued = True
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")


_HEADS: dict[bytes, tuple[str, str, dict[str, str]] | None] = {}  # a runtime's repeated heads, parsed once
_HEADS_LIMIT = 64


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]] | None:
    """Method, path (no query) and headers (lower-cased names) of a request head; None when it is malformed.
    Heads that repeat byte for byte (every GET /next a runtime sends) are parsed once: callers only read them."""
    parsed = _HEADS.get(head, False)
    if parsed is not False:
        return parsed  # type: ignore[return-value]
    parsed = _parse_new_head(head)
    if len(_HEADS) >= _HEADS_LIMIT:
        _HEADS.clear()  # heads with request ids in them never repeat: keep the cache small
    _HEADS[head] = parsed
    return parsed


def _parse_new_head(head: bytes) -> tuple[str, str, dict[str, str]] | None:
    request_line, _, fields = head.decode("latin-1").partition("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3:
        return None
    headers = {name.strip().lower(): value.strip() for name, value in _HEADER_FIELD.findall(fields)}
    return parts[0], parts[1].partition("?")[0], headers


def _decode_chunked(buffer: bytes | bytearray, offset: int) -> tuple[bytes, int] | None:
    """Body and end offset of a complete chunked body starting at offset, or None if incomplete."""
    chunks: list[bytes] = []
    position = offset
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";", 1)[0] or b"0", 16)
        start = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", line_end)
            if trailer_end < 0:
                return None
            return b"".join(chunks), trailer_end + 4
        if len(buffer) < start + size + 2:
            return None
        chunks.append(bytes(buffer[start:start + size]))
        position = start + size + 2


class RuntimeAPI:
    """One environment's Runtime API endpoint: parks /next until an invocation is delivered, passes results on."""

    def __init__(self, handler: RuntimeHandler) -> None:
        self.handler = handler
        self.server: asyncio.Server | None = None
        self.unix_server: asyncio.AbstractServer | None = None
        self.address = ""
        self.unix_name = ""  # an abstract Unix socket's name (no leading NUL), when start(unix=True) made one
        self.connections: set[_Connection] = set()
        self.parked: _Connection | None = None  # the connection whose GET /next waits for an invocation
        self.pending: bytes | None = None  # an invocation delivered before the runtime asked for it

    async def start(self, unix: bool = False) -> str:
        """Listen on a free loopback port; returns the value for AWS_LAMBDA_RUNTIME_API. With `unix` (Linux), also
        on an abstract Unix socket (self.unix_name) for golive's own runtime client: the same HTTP without the
        TCP/IP stack, whose loopback processing was a tenth of the gateway process's CPU under load. Runtime
        clients that know only host:port (awslambdaric) use the TCP port."""
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Connection(self), "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.address = f"127.0.0.1:{port}"
        if unix and sys.platform.startswith("linux"):
            name = f"golive-runtime-{os.getpid()}-{port}"
            try:
                self.unix_server = await loop.create_unix_server(lambda: _Connection(self), "\0" + name)
                self.unix_name = name
            except OSError:
                self.unix_server = None
        return self.address

    def deliver(self, request_id: str, payload: bytes, headers: Iterable[tuple[str, str]]) -> None:
        """Answer the runtime's GET /next with this invocation (now, or as soon as it asks)."""
        response = _response(200, payload, [("Lambda-Runtime-Aws-Request-Id", request_id), *headers])
        if self.parked is not None:
            connection, self.parked = self.parked, None
            connection.send(response)
        else:
            self.pending = response

    def close(self) -> None:
        for server in (self.server, self.unix_server):
            if server is not None:
                server.close()
        self.server = self.unix_server = None
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.abort()
        self.connections.clear()
        self.parked = None
        self.pending = None

    def dispatch(self, connection: _Connection, method: str, path: str, headers: dict[str, str],
                 body: bytes) -> None:
        if path == NEXT_PATH:
            if method != "GET":
                connection.send(_response(405, _BODIES[405]))
            elif self.pending is not None:
                response, self.pending = self.pending, None
                connection.send(response)
            else:
                self.parked = connection
                self.handler.on_next()
            return
        if path == INIT_ERROR_PATH and method == "POST":
            status = self.handler.on_init_error(body, headers.get("lambda-runtime-function-error-type", ""))
            connection.send(_response(status, _BODIES[status]))
            return
        if path.startswith(PREFIX + "invocation/") and method == "POST":
            request_id, _, action = path[len(PREFIX) + len("invocation/"):].partition("/")
            if action == "response":
                if len(body) > LAMBDA_RESPONSE_BYTES:
                    status = 413
                    self.handler.on_error(request_id, b"", "Function.ResponseSizeTooLarge")
                else:
                    status = self.handler.on_response(
                        request_id, body, headers.get("content-type", "application/json"))
                connection.hold_or_send(_RESULT_ANSWERS[status])
                return
            if action == "error":
                status = self.handler.on_error(request_id, body, headers.get("lambda-runtime-function-error-type", ""))
                connection.send(_response(status, _BODIES[status]))
                return
        status = 405 if path in (NEXT_PATH, INIT_ERROR_PATH) else 404
        connection.send(_response(status, _BODIES[status]))
