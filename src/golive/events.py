"""Event adapters: API Gateway REST (v1), HTTP API (v2), Function URL and ALB events to Request and back."""

from __future__ import annotations

from golive.errors import PHRASES
from golive.http import Request

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

V1, V2, URL, ALB = "v1", "v2", "url", "alb"

# Content types sent as text; everything else goes back base64-encoded (binary responses).
_TEXT_PREFIXES = ("text/", "application/json", "application/problem+json", "application/xml",
                  "application/javascript", "application/x-www-form-urlencoded", "image/svg+xml")


# Headers whose single value may itself contain commas (dates, agents, credentials): never split into values.
_UNSPLIT = frozenset({"user-agent", "date", "cookie", "authorization", "expires", "if-modified-since",
                      "if-unmodified-since", "last-modified", "if-range", "retry-after"})


def detect(event: dict) -> str:
    """Which kind of event this is: v1, v2, url or alb."""
    context = event.get("requestContext") or {}
    if event.get("version") == "2.0":
        return URL if ".lambda-url." in str(context.get("domainName", "")) else V2
    if "elb" in context:
        return ALB
    if "httpMethod" in event:
        return V1
    raise ValueError("not an HTTP event: expected API Gateway (REST or HTTP API), Function URL or ALB shape")


def parse_event(event: dict, base_paths: tuple[str, ...] = ()) -> Request:
    """Build a Request from any supported Lambda HTTP event."""
    kind = detect(event)
    request = _parse_v2(event, kind) if kind in (V2, URL) else _parse_v1(event, kind)
    for prefix in base_paths:
        if request.path == prefix or request.path.startswith(prefix + "/"):
            request.path = request.path[len(prefix):] or "/"
            break
    return request


def _body(event: dict) -> bytes:
    body = event.get("body")
    if not body:
        return b""
    if event.get("isBase64Encoded"):
        import base64

        return base64.b64decode(body)
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _parse_cookie_header(values: list[str]) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for value in values:
        for part in value.split(";"):
            name, sep, val = part.strip().partition("=")
            if sep and name:
                cookies[name] = val
    return cookies


def _parse_v1(event: dict, kind: str) -> Request:
    multi_headers: dict[str, list[str]] = {}
    headers: dict[str, str] = {}
    source = event.get("multiValueHeaders")
    if source:
        for name, values in source.items():
            key = name.lower()
            if key in multi_headers:  # the same header under two spellings (Accept and accept)
                multi_headers[key].extend(values or [])
            else:
                multi_headers[key] = list(values or [])
        for key, values in multi_headers.items():
            # Most headers carry one value: no join needed.
            headers[key] = values[0] if len(values) == 1 else ("; " if key == "cookie" else ",").join(values)
    elif event.get("headers"):
        for name, value in event["headers"].items():
            key = name.lower()
            if key in multi_headers:
                multi_headers[key].append(value)
                headers[key] = ("; " if key == "cookie" else ",").join(multi_headers[key])
            else:
                multi_headers[key] = [value]
                headers[key] = value
    multi_query: dict[str, list[str]] = {}
    if event.get("multiValueQueryStringParameters"):
        for name, values in event["multiValueQueryStringParameters"].items():
            multi_query[name] = list(values or [])
    elif event.get("queryStringParameters"):
        multi_query = {name: [value] for name, value in event["queryStringParameters"].items()}
    if kind == ALB:
        from urllib.parse import unquote_plus

        # ALB passes the query string as the client sent it: still percent-encoded.
        multi_query = {unquote_plus(k): [unquote_plus(v) for v in vs] for k, vs in multi_query.items()}
    query = {name: values[-1] for name, values in multi_query.items() if values}
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    source_ip = identity.get("sourceIp") or ""
    if kind == ALB:
        source_ip = headers.get("x-forwarded-for", "").split(",")[0].strip()
    path = event.get("path") or "/"
    stage = context.get("stage")
    # HTTP API payload 1.0 keeps a named stage in `path` (/prod/users); REST APIs leave it out.
    if event.get("version") == "1.0" and stage and stage != "$default" and (
            path == f"/{stage}" or path.startswith(f"/{stage}/")):
        path = path[len(stage) + 1:] or "/"
    request = Request(
        event.get("httpMethod", "GET"),
        path,
        headers=headers,
        multi_headers=multi_headers,
        query=query,
        multi_query=multi_query,
        body=_body(event),
        cookies=_parse_cookie_header(multi_headers.get("cookie", [])),
        source_ip=source_ip,
        stage=stage,
        stage_variables=event.get("stageVariables") or {},
        request_context=context,
        event=event,
        source=kind,
    )
    request.request_id = context.get("requestId", "")
    return request


def _parse_v2(event: dict, kind: str) -> Request:
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    multi_headers = {name: [value] if name in _UNSPLIT or "," not in value else value.split(",")
                     for name, value in headers.items()}
    raw_query = event.get("rawQueryString") or ""
    multi_query: dict[str, list[str]] = {}
    if raw_query:
        from urllib.parse import parse_qsl  # ~4 ms (it pulls ipaddress): only when a query string arrives

        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            multi_query.setdefault(name, []).append(value)
    if not multi_query and event.get("queryStringParameters"):
        multi_query = {k: v.split(",") for k, v in event["queryStringParameters"].items()}
    query = {name: values[-1] for name, values in multi_query.items()}
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    stage = context.get("stage")
    path = event.get("rawPath") or http.get("path") or "/"
    # A named HTTP API stage appears in rawPath (/prod/users); the $default stage does not.
    if stage and stage != "$default" and (path == f"/{stage}" or path.startswith(f"/{stage}/")):
        path = path[len(stage) + 1:] or "/"
    cookie_values = list(event.get("cookies") or [])
    if not cookie_values and "cookie" in headers:
        cookie_values = [headers["cookie"]]
    request = Request(
        http.get("method", "GET"),
        path,
        headers=headers,
        multi_headers=multi_headers,
        query=query,
        multi_query=multi_query,
        body=_body(event),
        cookies=_parse_cookie_header(cookie_values),
        source_ip=http.get("sourceIp", ""),
        stage=stage,
        stage_variables=event.get("stageVariables") or {},
        request_context=context,
        event=event,
        source=kind,
    )
    request.request_id = context.get("requestId", "")
    return request


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return True
    content_type = content_type.lower()
    return content_type.startswith(_TEXT_PREFIXES) or "+json" in content_type or "charset=" in content_type


def render(
    request: Request,
    status: int,
    headers: dict[str, str],
    multi_headers: dict[str, list[str]],
    cookies: list[str],
    body: bytes,
) -> dict[str, Any]:
    """The Lambda result for the event shape the request came in (API Gateway or ALB proxy response)."""
    content_type = headers.get("Content-Type")
    binary = bool(body) and not is_text(content_type)
    if binary:
        import base64

        text = base64.b64encode(body).decode()
    else:
        text = body.decode("utf-8")
    result: dict[str, Any] = {"statusCode": status}
    source = request.source
    if source in (V2, URL):
        merged = dict(headers)
        for name, values in multi_headers.items():
            if name.lower() == "set-cookie":
                cookies = [*cookies, *values]  # comma-joined cookies break: payload v2 carries them apart
                continue
            merged[name] = ",".join(([merged[name]] if name in merged else []) + values)
        for name in ("Set-Cookie", "set-cookie"):
            if name in merged:
                cookies = [merged.pop(name), *cookies]
        result["headers"] = merged
        if cookies:
            result["cookies"] = cookies
    else:
        multi: dict[str, list[str]] = {name: [value] for name, value in headers.items()}
        for name, values in multi_headers.items():
            multi.setdefault(name, []).extend(values)
        if cookies:
            multi.setdefault("Set-Cookie", []).extend(cookies)
        alb_multi = source == ALB and "multiValueHeaders" in request.event
        if source == ALB:
            result["statusDescription"] = f"{status} {_phrase(status)}"
        if source == ALB and not alb_multi:
            # Single-value ALB responses cannot carry repeated headers; the last value wins.
            result["headers"] = {name: values[-1] for name, values in multi.items()}
        elif source == ALB:
            result["multiValueHeaders"] = multi
        else:
            result["headers"] = {name: values[-1] for name, values in multi.items() if len(values) == 1}
            result["multiValueHeaders"] = multi
    result["body"] = text
    result["isBase64Encoded"] = binary
    return result


def _phrase(status: int) -> str:
    return PHRASES.get(status, "")
