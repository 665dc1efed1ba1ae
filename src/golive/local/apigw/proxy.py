"""Lambda proxy integration: the event API Gateway sends (payload v1 or v2) and the HTTP answer it makes of the
function's result, with the same validation (a malformed result is API Gateway's 502/500, not the client's)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from typing import TYPE_CHECKING, Any

from golive.observability.tracing import new_trace_id, parse_xray
from golive.synth import build_event as synth_event
from golive.synth import multi_values, request_time, rest_event

if TYPE_CHECKING:
    from golive.service.config import ServiceConfig

_V1_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
_PLAIN_KEYS = frozenset({"statusCode", "headers", "body", "isBase64Encoded"})
_DROPPED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "te", "trailer",
                      "proxy-connection"})


# What API Gateway does not pass on to the integration, and the headers it sets in front of every integration.
_NOT_FORWARDED = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-amzn-trace-id",
                            "connection", "keep-alive", "transfer-encoding", "expect", "content-length"})
_FORWARD_NAMES_REST = ("X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Amzn-Trace-Id")
_FORWARD_NAMES_HTTP = tuple(name.lower() for name in _FORWARD_NAMES_REST)


class MalformedResponse(Exception):
    """The function's result is not a valid proxy response; the message says why (for the access log)."""


def api_id_for(config: ServiceConfig) -> str:
    """A stable 10-character API id for the service (what execute-api hostnames and ARNs carry)."""
    return str(config.api.get("api_id") or hashlib.sha1(config.service.encode()).hexdigest()[:10])


def short_id(random: bytes | None = None) -> str:
    """An id shaped like API Gateway's extended request ids and HTTP API request ids (e.g. MKbB-HYDIAMEq0w=)."""
    return base64.urlsafe_b64encode(random or os.urandom(11)).decode().replace("_", "-")


def trace_context(header: str | None, random: bytes | None = None) -> tuple[str, bool | None]:
    """The incoming X-Amzn-Trace-Id's root, or a new one (from `random`'s 12 bytes when given), and the caller's
    sampling decision (None when it made none)."""
    root, _, sampled = parse_xray(header)
    return root or new_trace_id(random=random), sampled


def trace_root(header: str | None, random: bytes | None = None) -> str:
    """The incoming X-Amzn-Trace-Id's root, or a new one (from `random`'s 12 bytes when given)."""
    return trace_context(header, random)[0]


def integration_headers(headers: list[tuple[str, str]], rest: bool, client_ip: str, server_port: int,
                        root: str, forwarded: str | None) -> list[tuple[str, str]]:
    """The client's headers as the integration sees them: hop-by-hop and forwarding headers replaced by the
    X-Forwarded-* and X-Amzn-Trace-Id API Gateway adds (`forwarded`: the client's own X-Forwarded-For)."""
    pairs = [(k, v) for k, v in headers if k.lower() not in _NOT_FORWARDED]
    names = _FORWARD_NAMES_REST if rest else _FORWARD_NAMES_HTTP
    pairs.append((names[0], f"{forwarded}, {client_ip}" if forwarded else client_ip))
    pairs.append((names[1], str(server_port)))
    pairs.append((names[2], "http"))
    pairs.append((names[3], f"Root={root}"))
    return pairs


def build_event(api_type: str, method: str, path: str, raw_query: str, query: list[tuple[str, str]],
                headers: list[tuple[str, str]], body: bytes, *, route_path: str, route_key: str,
                params: dict[str, str], stage: str, stage_variables: dict[str, str], request_id: str,
                extended_id: str, source_ip: str, binary_types: list[str], api_id: str,
                epoch: float | None = None) -> dict[str, Any]:
    """The proxy event for one request: payload v1 for a REST API, v2 for an HTTP API."""
    if api_type != "http":
        return _v1_event(method, path, query, headers, body, route_path, params, stage, stage_variables, request_id,
                         extended_id, source_ip, binary_types, api_id, time.time() if epoch is None else epoch)
    event = synth_event("v2", method, path, headers=headers, query=query, body=body, stage=stage,
                        resource=route_path, path_params=params or None, source_ip=source_ip,
                        stage_variables=stage_variables or None, request_id=request_id, api_id=api_id)
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    event["rawQueryString"] = raw_query
    return event


def _v1_event(method: str, path: str, query: list[tuple[str, str]], headers: list[tuple[str, str]], body: bytes,
              route_path: str, params: dict[str, str], stage: str, stage_variables: dict[str, str], request_id: str,
              extended_id: str, source_ip: str, binary_types: list[str], api_id: str,
              epoch: float) -> dict[str, Any]:
    """A REST API's payload v1 event from the gateway's parsed request: golive.synth's shape, without its generic
    argument handling (this runs for every request through the local cloud's gateway)."""
    multi_headers = multi_values(headers)
    user_agent = next((values[0] for key, values in multi_headers.items() if key.lower() == "user-agent"), "")
    text: str | None = None
    is_b64 = False
    if body:
        # REST APIs pass a body base64-encoded only when its Content-Type is one of binaryMediaTypes.
        content_type = _header(headers, "content-type")
        if content_type and media_matches(content_type, binary_types):
            text, is_b64 = base64.b64encode(body).decode(), True
        else:
            text = body.decode("utf-8", "replace")
    return rest_event(method, path, route_path or path, multi_headers, multi_values(query), params, stage_variables,
                      stage, api_id, request_id, extended_id, source_ip, user_agent, request_time(epoch),
                      int(epoch * 1000), text, is_b64)


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def media_matches(content_type: str, patterns: list[str]) -> bool:
    """Whether a media type (or one of an Accept header's types) matches binaryMediaTypes. Wildcards count only on
    the binaryMediaTypes side, as in API Gateway: "*/*" there matches anything, but a client's Accept: */* does not
    match image/png (why browsers get base64 text back unless */* is a binary media type)."""
    if not patterns:
        return False
    for item in content_type.split(","):
        wanted = item.split(";")[0].strip().lower()
        if not wanted:
            continue
        w_type, _, w_sub = wanted.partition("/")
        for pattern in patterns:
            p_type, _, p_sub = pattern.strip().lower().partition("/")
            if p_type in (w_type, "*") and p_sub in (w_sub, "*"):
                return True
    return False


def v1_response(result: Any, accept: str | None, binary_types: list[str]) -> tuple[int, list[tuple[str, str]], bytes]:
    """A REST API's answer from a payload v1 result: only the five proxy keys, statusCode a number, header values
    strings, body a string (base64-decoded when isBase64Encoded and the client accepts a binary media type)."""
    if not isinstance(result, dict):
        raise MalformedResponse(f"the result is {type(result).__name__}, not an object")
    fast = _v1_plain(result)
    if fast is not None:
        return fast
    extra = set(result) - _V1_KEYS
    if extra:
        raise MalformedResponse(f"unexpected key(s) {', '.join(sorted(extra))}")
    status = _status(result.get("statusCode", 200) or 200)
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedResponse("headers and multiValueHeaders must be objects")
    if any(not isinstance(v, str | bool) for v in single.values()):
        raise MalformedResponse("header values must be strings")
    if any(not isinstance(v, list) for v in multi.values()):
        raise MalformedResponse("multiValueHeaders values must be lists")
    pairs: list[tuple[str, str]] = []
    multi_lower = {name.lower(): name for name in multi}
    for name, values in multi.items():
        pairs.extend((name, _text(v)) for v in values)
    for name, value in single.items():
        # A name in both maps: the pair from multiValueHeaders wins, other values are merged in.
        existing = multi.get(multi_lower.get(name.lower(), ""), None)
        if existing is None or _text(value) not in [_text(v) for v in existing]:
            pairs.append((name, _text(value)))
    headers = [(k, v) for k, v in pairs if k.lower() not in _DROPPED]
    _check_header_values(headers)
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponse(f"body must be a string, not {type(body).__name__}")
    encoded = result.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise MalformedResponse("isBase64Encoded must be true or false")
    raw = (body or "").encode()
    if encoded and body and accept and media_matches(accept, binary_types):
        raw = _b64(body)
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return status, headers, raw


def _v1_plain(result: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """The usual result (an int statusCode, string headers, a string body, nothing base64 or multi-valued) in one
    pass; None sends anything else through v1_response's full checks, which answer the same for this case."""
    if not _PLAIN_KEYS.issuperset(result) or result.get("isBase64Encoded", False) is not False:
        return None
    status = result.get("statusCode", 200)
    if type(status) is not int or not 100 <= status <= 599:
        return None
    body = result.get("body")
    if body is None:
        body = ""
    elif type(body) is not str:
        return None
    single = result.get("headers")
    headers: list[tuple[str, str]] = []
    typed = False
    if single:
        if type(single) is not dict:
            return None
        for name, value in single.items():
            if type(value) is not str or not name or "\r" in value or "\n" in value or "\r" in name \
                    or "\n" in name:
                return None
            lower = name.lower()
            if lower in _DROPPED:
                continue
            typed = typed or lower == "content-type"
            headers.append((name, value))
    if not typed:
        headers.append(("Content-Type", "application/json"))
    return status, headers, body.encode()


def v2_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """An HTTP API's answer from a payload v2 result: a structured response when it has statusCode, otherwise the
    whole result is a 200 application/json body (API Gateway infers the format)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        text = result if isinstance(result, str) else json.dumps(result)
        return 200, [("content-type", "application/json")], text.encode()
    status = _status(result["statusCode"])
    headers_map = result.get("headers") or {}
    cookies = result.get("cookies") or []
    if not isinstance(headers_map, dict) or not isinstance(cookies, list):
        raise MalformedResponse("headers must be an object and cookies a list")
    headers = [(k, _text(v)) for k, v in headers_map.items() if k.lower() not in _DROPPED]
    headers.extend(("set-cookie", str(cookie)) for cookie in cookies)
    _check_header_values(headers)
    body = result.get("body")
    text = "" if body is None else body if isinstance(body, str) else json.dumps(body)
    raw = _b64(text) if result.get("isBase64Encoded") and text else text.encode()
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("content-type", "application/json"))
    return status, headers, raw


def _status(value: Any) -> int:
    if isinstance(value, bool):
        raise MalformedResponse("statusCode must be a number")
    try:
        status = int(value)
    except (TypeError, ValueError):
        raise MalformedResponse(f"statusCode {value!r} is not a number") from None
    if not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status} is not an HTTP status")
    return status


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_header_values(headers: list[tuple[str, str]]) -> None:
    for name, value in headers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or not name:
            raise MalformedResponse(f"header {name!r} has a line break or no name")


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise MalformedResponse("isBase64Encoded is true but the body is not base64") from None
