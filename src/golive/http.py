"""Request and Response: the event-independent view of one HTTP exchange."""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

JSON_TYPE = "application/json"
PROBLEM_TYPE = "application/problem+json"

_UNSET: Any = object()
MAX_JSON_DEPTH = 200  # deeper documents are refused: no real API nests so far, and Python's parser recurses


def parse_json(body: bytes) -> Any:
    """A request body parsed as JSON, refusing what would break later layers: nesting deeper than MAX_JSON_DEPTH
    (a RecursionError in the parser, a validator or a serialiser) and lone UTF-16 surrogates such as "\\ud800"
    (valid JSON syntax, but not Unicode: every store and encoder downstream would fail on them).
    Raises ValueError with a message fit for a client."""
    opened = body.count(b"[") + body.count(b"{")  # C-speed bound on the depth: most bodies skip the walk
    try:
        document = json.loads(body)
    except RecursionError:
        raise ValueError(f"it nests arrays or objects deeper than {MAX_JSON_DEPTH} levels") from None
    if opened > MAX_JSON_DEPTH and _deeper_than(document, MAX_JSON_DEPTH):
        raise ValueError(f"it nests arrays or objects deeper than {MAX_JSON_DEPTH} levels")
    if b"\\ud" in body or b"\\uD" in body:  # only an escape can make a surrogate: most bodies skip the check
        try:
            json.dumps(document, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise ValueError("it contains a lone UTF-16 surrogate escape (such as \\ud800), which is not Unicode; "
                             "send characters outside the BMP as a surrogate pair or as UTF-8") from None
    return document


def _deeper_than(document: Any, limit: int) -> bool:
    """True when arrays and objects nest more than `limit` levels (iterative: deep input must not recurse)."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        elif not isinstance(value, list):
            continue
        if depth > limit:
            return True
        stack.extend((item, depth + 1) for item in value if isinstance(item, dict | list))
    return False


class RandomBytes:
    """os.urandom read 4 KiB at a time and handed out in slices: a server making ids for every request needs fresh
    random bytes, not a getrandom() system call each. One instance per thread, never used across a fork."""

    __slots__ = ("_at", "_pool")

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def take(self, count: int) -> bytes:
        at = self._at
        end = at + count
        if end > len(self._pool):
            self._pool, at, end = os.urandom(max(4096, count)), 0, count
        self._at = end
        return self._pool[at:end]


def new_request_id(random: bytes | None = None) -> str:
    """A version-4 UUID as text, the shape of API Gateway's and Lambda's request ids (16 random bytes may be given;
    formatted directly because the uuid module costs import time and a UUID object per call)."""
    raw = (random or os.urandom(16)).hex()
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-{'89ab'[int(raw[16], 16) & 3]}{raw[17:20]}-{raw[20:]}"


class Request:
    """One incoming HTTP request, whatever event shape (REST, HTTP API, URL, ALB) carried it."""

    __slots__ = (
        "_json",
        "body",
        "claims",
        "context",
        "cookies",
        "correlation_id",
        "event",
        "headers",
        "method",
        "multi_headers",
        "multi_query",
        "path",
        "path_params",
        "principal",
        "query",
        "request_context",
        "request_id",
        "route",
        "source",
        "source_ip",
        "stage",
        "stage_variables",
        "validated",
    )

    def __init__(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        multi_headers: dict[str, list[str]] | None = None,
        query: dict[str, str] | None = None,
        multi_query: dict[str, list[str]] | None = None,
        body: bytes = b"",
        cookies: dict[str, str] | None = None,
        source_ip: str = "",
        stage: str | None = None,
        stage_variables: dict[str, str] | None = None,
        request_context: dict | None = None,
        event: dict | None = None,
        source: str = "v1",
    ) -> None:
        self.method = method.upper()
        self.path = path
        # Header names are case-insensitive: stored lower-cased once, at parse time.
        self.headers = headers or {}
        self.multi_headers = multi_headers or {k: [v] for k, v in self.headers.items()}
        self.query = query or {}
        self.multi_query = multi_query or {k: [v] for k, v in self.query.items()}
        self.body = body
        self.cookies = cookies or {}
        self.source_ip = source_ip
        self.stage = stage
        self.stage_variables = stage_variables or {}
        self.request_context = request_context or {}
        self.event = event or {}
        self.source = source
        self.path_params: dict[str, str] = {}
        self.route: Any = None
        self.context: Any = None
        self.claims: dict[str, Any] = {}
        self.principal: str | None = None
        self.correlation_id = ""
        self.request_id = ""
        self.validated: dict[str, Any] = {}
        self._json = _UNSET

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header's value, by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    @property
    def json(self) -> Any:
        """The body parsed as JSON (validated and defaulted when the route declares a body schema)."""
        if self._json is _UNSET:
            try:
                self._json = parse_json(self.body) if self.body else None
            except (ValueError, UnicodeDecodeError) as exc:
                from golive.errors import BadRequest  # errors imports this module: resolved at call time

                raise BadRequest(f"The body is not valid JSON: {exc}") from None
        return self._json

    @json.setter
    def json(self, value: Any) -> None:
        self._json = value

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


class Response:
    """What a handler returns: status, headers, cookies and a body (JSON-encoded unless bytes or str)."""

    __slots__ = ("body", "cookies", "headers", "multi_headers", "status")

    def __init__(
        self,
        body: Any = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        *,
        cookies: list[str] | None = None,
        multi_headers: dict[str, list[str]] | None = None,
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers) if headers else {}
        self.cookies = list(cookies) if cookies else []
        self.multi_headers = dict(multi_headers) if multi_headers else {}
        if content_type:
            self.headers["Content-Type"] = content_type

    def get_header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lname:
                return value
        return None

    def set_default_header(self, name: str, value: str) -> None:
        if self.get_header(name) is None:
            self.headers[name] = value

    def encode(self) -> tuple[bytes, str | None]:
        """The body as bytes and the content type it implies."""
        body = self.body
        if body is None:
            return b"", None
        if isinstance(body, bytes | bytearray | memoryview):
            return bytes(body), "application/octet-stream"
        if isinstance(body, str):
            return body.encode(), "text/plain; charset=utf-8"
        return _ENCODE(body).encode(), JSON_TYPE

    def __repr__(self) -> str:
        return f"<Response {self.status}>"


def _json_default(value: Any) -> Any:
    """Encode the few non-JSON types handlers commonly return (datetimes, decimals, sets)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    # Decimal arrives from DynamoDB; int when integral keeps JSON clean.
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{type(value).__name__} is not JSON serialisable") from None
    return int(as_float) if as_float.is_integer() else as_float


# Built once: json.dumps with non-default options constructs a new JSONEncoder on every call.
_ENCODE = json.JSONEncoder(separators=(",", ":"), default=_json_default).encode


def coerce_response(result: Any) -> Response:
    """Turn what a handler returned into a Response: Response, body, (body, status) or (body, status, headers)."""
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(None, 204)
    if isinstance(result, tuple):
        if len(result) == 2:
            return Response(result[0], result[1])
        if len(result) == 3:
            return Response(result[0], result[1], result[2])
        raise TypeError("a handler's tuple must be (body, status) or (body, status, headers)")
    return Response(result, 200)
