"""Typed HTTP errors and RFC 9457 problem+json responses."""

from __future__ import annotations

from golive.http import PROBLEM_TYPE, Response

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any


class HTTPError(Exception):
    """An error with an HTTP status; rendered as application/problem+json."""

    status = 500
    title: str | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        title: str | None = None,
        type: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        if status is not None:
            self.status = status
        self.title = title or self.title or _phrase(self.status)
        self.detail = detail
        self.type = type
        self.headers = headers or {}
        self.extra = extra
        super().__init__(detail or self.title)


# Every status's reason phrase (RFC 9110 names), for the runtime, the local gateway and the Runtime API alike. A
# table instead of http.HTTPStatus: that enum costs ~1 ms to import at cold start.
PHRASES = {
    100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints", 200: "OK", 201: "Created",
    202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content", 205: "Reset Content",
    206: "Partial Content", 207: "Multi-Status", 208: "Already Reported", 226: "IM Used", 300: "Multiple Choices",
    301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified", 305: "Use Proxy",
    307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized",
    402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
    411: "Length Required", 412: "Precondition Failed", 413: "Content Too Large", 414: "URI Too Long",
    415: "Unsupported Media Type", 416: "Requested Range Not Satisfiable", 417: "Expectation Failed",
    418: "I'm a Teapot", 421: "Misdirected Request", 422: "Unprocessable Content", 423: "Locked",
    424: "Failed Dependency", 425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required",
    429: "Too Many Requests", 431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 505: "HTTP Version Not Supported", 506: "Variant Also Negotiates",
    507: "Insufficient Storage", 508: "Loop Detected", 510: "Not Extended", 511: "Network Authentication Required",
}


def _phrase(status: int) -> str:
    return PHRASES.get(status, "Error")


class BadRequest(HTTPError):
    status = 400


class Unauthorized(HTTPError):
    status = 401

    def __init__(self, detail: str | None = "Authentication required", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="api"'})
        super().__init__(detail, **kw)


class Forbidden(HTTPError):
    status = 403


class NotFound(HTTPError):
    status = 404


class MethodNotAllowed(HTTPError):
    status = 405

    def __init__(self, allow: list[str], detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"Allow": ", ".join(allow)})
        super().__init__(detail or f"Allowed methods: {', '.join(allow)}", **kw)


class Conflict(HTTPError):
    status = 409


class PreconditionFailed(HTTPError):
    status = 412


class PayloadTooLarge(HTTPError):
    status = 413


class UnsupportedMediaType(HTTPError):
    status = 415


class UnprocessableContent(HTTPError):
    status = 422
    title = "Unprocessable Content"


class PreconditionRequired(HTTPError):
    status = 428


class TooManyRequests(HTTPError):
    status = 429


class ServiceUnavailable(HTTPError):
    status = 503


def problem(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type: str = "about:blank",
    instance: str | None = None,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """An RFC 9457 problem details response."""
    body: dict[str, Any] = {"type": type, "title": title or _phrase(status), "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if request_id:
        body["requestId"] = request_id
    body.update(extra)
    response = Response(body, status, headers, content_type=PROBLEM_TYPE)
    return response


def problem_from(error: HTTPError, *, instance: str | None, request_id: str | None) -> Response:
    return problem(
        error.status,
        title=error.title,
        detail=error.detail,
        type=error.type,
        instance=instance,
        request_id=request_id,
        headers=dict(error.headers),
        **error.extra,
    )
