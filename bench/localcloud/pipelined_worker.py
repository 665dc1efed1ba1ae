"""What-if for what_if.py: golive's own Lambda worker, but asking for the next invocation in the same write as the
response (HTTP/1.1 pipelining), so a finished invocation costs one write and one wake-up fewer; it also connects to
a Runtime API at "unix:/path" over a Unix socket. Run as a script in place of golive/local/worker.py; the Runtime API
it speaks is unchanged."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys

_spec = importlib.util.spec_from_file_location(
    "golive_worker", os.environ["GOLIVE_BENCH_WORKER"])  # golive/local/worker.py, set by what_if.py
assert _spec is not None and _spec.loader is not None
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)

_NEXT = "/invocation/next"


class PipelinedClient(worker.RuntimeClient):
    """POST .../response and GET /invocation/next leave in one sendall; the /next answer is read when asked for."""

    next_sent = False

    def __init__(self, address: str) -> None:
        self.unix_path = address[len("unix:"):] if address.startswith("unix:") else None
        super().__init__("127.0.0.1:0" if self.unix_path else address)

    def request(self, method: str, path: str, body: bytes = b"",
                headers: tuple[tuple[str, str], ...] = ()) -> tuple[int, dict[str, str], bytes]:
        if self.sock is None and self.unix_path is not None:  # the base class would dial TCP
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(self.unix_path)
        if method == "GET" and path == _NEXT and self.next_sent:
            self.next_sent = False
            return self._read()
        if method == "POST" and path.endswith("/response") and self.sock is not None:
            self.sock.sendall(self._head(method, path, body, headers) + body + self._head("GET", _NEXT, b"", ()))
            self.next_sent = True
            return self._read()
        return super().request(method, path, body, headers)

    def _head(self, method: str, path: str, body: bytes, headers: tuple[tuple[str, str], ...]) -> bytes:
        head = f"{method} {worker._API}{path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        for name, value in headers:
            head += f"{name}: {value}\r\n"
        return head.encode("latin-1") + b"\r\n"

    def _read(self) -> tuple[int, dict[str, str], bytes]:
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            buffer += self._recv()
        lines = buffer[:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        start = end + 4
        while len(buffer) < start + length:
            buffer += self._recv()
        self.buffer = buffer[start + length:]
        return int(lines[0].split(" ", 2)[1]), headers, buffer[start:start + length]


if __name__ == "__main__":
    worker.__file__ = os.environ["GOLIVE_BENCH_WORKER"]  # so _prepare_process drops golive's folder from sys.path
    worker.RuntimeClient = PipelinedClient
    sys.argv[0] = worker.__file__
    try:
        worker.main()
    except (ConnectionError, KeyboardInterrupt):
        sys.exit(1)
