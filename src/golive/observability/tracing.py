"""A light X-Ray tracer: subsegments for the handler and downstream calls, sent over UDP to the daemon."""

from __future__ import annotations

import json
import os
import time

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

_HEADER = b'{"format":"json","version":1}\n'


def _id(nbytes: int = 8) -> str:
    return os.urandom(nbytes).hex()


def new_trace_id(now: float | None = None, random: bytes | None = None) -> str:
    """A new X-Ray trace id (1-<epoch seconds, hex>-<96 random bits>); 12 random bytes may be given."""
    return f"1-{int(now or time.time()):08x}-{random.hex() if random else _id(12)}"


def _hex(text: str, length: int) -> bool:
    # strip() runs in C: nothing left over means every character was a lower-case hex digit.
    return len(text) == length and not text.strip("0123456789abcdef")


def parse_xray(header: str | None) -> tuple[str | None, str | None, bool | None]:
    """(root, parent, sampled) from an X-Amzn-Trace-Id header; malformed parts are ignored."""
    if not header:
        return None, None, None
    root = parent = None
    sampled: bool | None = None
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "Root":
            pieces = value.split("-")
            if len(pieces) == 3 and pieces[0] == "1" and _hex(pieces[1], 8) and _hex(pieces[2], 24):
                root = value
        elif key == "Parent":
            parent = value if _hex(value, 16) else None
        elif key == "Sampled":
            sampled = value == "1" if value in ("0", "1") else None
    if root is None:
        return None, None, None
    return root, parent, sampled


def parse_traceparent(header: str | None) -> tuple[str | None, str | None, bool | None]:
    """(xray root, parent, sampled) from a W3C traceparent header; None for anything malformed."""
    if not header:
        return None, None, None
    parts = header.strip().lower().split("-")
    if (len(parts) < 4 or not _hex(parts[0], 2) or parts[0] == "ff" or not _hex(parts[1], 32)
            or not _hex(parts[2], 16) or not _hex(parts[3], 2) or parts[1] == "0" * 32 or parts[2] == "0" * 16):
        return None, None, None
    trace = parts[1]
    return f"1-{trace[:8]}-{trace[8:]}", parts[2], bool(int(parts[3], 16) & 1)


def xray_to_w3c(root: str) -> str:
    return root[2:].replace("-", "")


class Subsegment:
    """A timed unit of work: the handler or one downstream call."""

    __slots__ = ("_id", "annotations", "children", "end_time", "error", "metadata", "name", "namespace",
                 "start_time", "status")

    def __init__(self, name: str, namespace: str | None = None) -> None:
        self._id: str | None = None  # drawn on first use: most subsegments are never sent or propagated
        self.name = name[:200]
        self.namespace = namespace
        self.start_time = time.time()
        self.end_time: float | None = None
        self.error: BaseException | None = None
        self.annotations: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}
        self.children: list[Subsegment] = []
        self.status: int | None = None  # the HTTP status, on the invocation's root subsegment

    @property
    def id(self) -> str:
        if self._id is None:
            self._id = _id()
        return self._id

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        self.annotations[key] = value

    def close(self, error: BaseException | None = None) -> None:
        if self.end_time is None:
            self.end_time = time.time()
        if error is not None:
            self.error = error

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "id": self.id, "start_time": self.start_time,
                               "end_time": self.end_time or time.time()}
        if self.namespace in ("aws", "remote"):  # the only namespaces X-Ray accepts; local work has none
            doc["namespace"] = self.namespace
        if self.annotations:
            doc["annotations"] = self.annotations
        if self.metadata:
            doc["metadata"] = {"default": self.metadata}
        if self.status is not None:
            doc["http"] = {"response": {"status": self.status}}
            # X-Ray's flags: error for 4xx, throttle for 429 as well, fault for 5xx.
            if 400 <= self.status < 500:
                doc["error"] = True
                if self.status == 429:
                    doc["throttle"] = True
            elif self.status >= 500:
                doc["fault"] = True
        if self.error is not None:
            status = getattr(self.error, "status", None)  # an HTTPError: 4xx is the client's error, not a fault
            doc["error" if isinstance(status, int) and 400 <= status < 500 else "fault"] = True
            doc["cause"] = {"exceptions": [{"id": _id(), "type": type(self.error).__name__,
                                            "message": str(self.error)[:500]}]}
        if self.children:
            doc["subsegments"] = [child.document() for child in self.children[:100]]
        return doc


class Tracer:
    """Tracks the invocation's trace context and its subsegments; emits them when the invocation ends."""

    def __init__(self, service: str | None = None) -> None:
        self.service = service or os.environ.get("GOLIVE_SERVICE") or "service"
        self.trace_id: str | None = None
        self.parent_id: str | None = None
        self.sampled = False
        self.root: Subsegment | None = None
        self._stack: list[Subsegment] = []
        self.sent: list[dict] = []

    @property
    def enabled(self) -> bool:
        return os.environ.get("GOLIVE_TRACING", "on").lower() not in ("off", "0", "false")

    def start_invocation(self, name: str, xray_header: str | None = None, traceparent: str | None = None) -> str:
        """Adopt the incoming trace (Lambda's env, X-Amzn-Trace-Id, then traceparent) or start one."""
        root, parent, sampled = parse_xray(os.environ.get("_X_AMZN_TRACE_ID"))
        if not root:
            root, parent, sampled = parse_xray(xray_header)
        if not root:
            root, parent, sampled = parse_traceparent(traceparent)
        self.trace_id = root or new_trace_id()
        self.parent_id = parent
        self.sampled = bool(sampled) if sampled is not None else False
        self.root = Subsegment(f"## {name}")
        self._stack = [self.root]
        return self.trace_id

    def subsegment(self, name: str, namespace: str = "remote", **annotations: Any) -> _Scope:
        """Time a block (`with tracer.subsegment("DynamoDB.PutItem", "aws"):`); errors are recorded, re-raised."""
        segment = Subsegment(name, namespace)
        if annotations:
            segment.annotations.update(annotations)
        return _Scope(self, segment)

    def capture(self, name: str | None = None, namespace: str = "local"):
        """Decorator form of subsegment()."""
        def wrap(fn):
            label = name or fn.__qualname__

            def inner(*args: Any, **kwargs: Any) -> Any:
                with self.subsegment(label, namespace):
                    return fn(*args, **kwargs)
            inner.__wrapped__ = fn  # type: ignore[attr-defined]
            inner.__name__ = fn.__name__
            return inner
        return wrap

    def headers(self) -> dict[str, str]:
        """Headers that carry this trace to a downstream call (X-Ray and W3C)."""
        if not self.trace_id:
            return {}
        current = self._stack[-1].id if self._stack else _id()
        flag = "1" if self.sampled else "0"
        return {
            "X-Amzn-Trace-Id": f"Root={self.trace_id};Parent={current};Sampled={flag}",
            "traceparent": f"00-{xray_to_w3c(self.trace_id)}-{current}-0{flag}",
        }

    def end_invocation(self, error: BaseException | None = None, status: int | None = None) -> dict | None:
        """Close the handler subsegment and send it to the X-Ray daemon when one is configured and sampled."""
        root = self.root
        if root is None:
            return None
        root.close(error)
        root.status = status
        self.root = None
        self._stack = []
        address = os.environ.get("AWS_XRAY_DAEMON_ADDRESS")
        if not (address and self.sampled and self.enabled):
            return None  # the document is only built when a daemon will receive it
        document = root.document()
        document["trace_id"] = self.trace_id
        if self.parent_id:
            document["type"] = "subsegment"
            document["parent_id"] = self.parent_id
        else:
            document["origin"] = "AWS::Lambda::Function"
            document["name"] = self.service
        _send(address, document)
        self.sent.append(document)
        del self.sent[:-50]
        return document


class _Scope:
    """The `with` block of one subsegment (a class, not @contextmanager: it runs on every request)."""

    __slots__ = ("segment", "tracer")

    def __init__(self, tracer: Tracer, segment: Subsegment) -> None:
        self.tracer, self.segment = tracer, segment

    def __enter__(self) -> Subsegment:
        stack = self.tracer._stack
        if stack:
            stack[-1].children.append(self.segment)
        stack.append(self.segment)
        return self.segment

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.segment.close(exc)
        stack = self.tracer._stack
        if stack and stack[-1] is self.segment:
            stack.pop()


_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False, default=str).encode
_senders: dict = {}  # daemon address -> (socket, (host, port)): one socket per process, as the X-Ray SDKs keep


def _sender(address: str) -> tuple | None:
    found = _senders.get(address)
    if found is None:
        import socket  # the daemon address is only set where tracing is on

        # "127.0.0.1:2000", or "tcp:127.0.0.1:2000 udp:127.0.0.2:2001" where segments go to the udp one.
        parts = address.split()
        host_port = next((p[4:] for p in parts if p.startswith("udp:")),
                         next((p for p in parts if not p.startswith("tcp:")), ""))
        host, _, port = host_port.rpartition(":")
        try:
            found = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM), (host or "127.0.0.1", int(port)))
        except (ValueError, OSError):
            return None  # a malformed address must never fail a request
        _senders[address] = found
    return found


def _send(address: str, document: dict) -> None:
    sender = _sender(address)
    if sender is None:
        return
    payload = _HEADER + _encode(document).encode()
    if len(payload) > 64000:  # one UDP datagram: a cut document is unreadable, so drop the children instead
        document = {k: v for k, v in document.items() if k != "subsegments"}
        payload = _HEADER + _encode(document).encode()
    try:
        sender[0].sendto(payload, sender[1])
    except OSError:
        pass  # tracing must never fail a request


tracer = Tracer()
