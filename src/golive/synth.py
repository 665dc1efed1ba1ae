"""Synthesises Lambda HTTP events the way API Gateway (REST, HTTP API), Function URLs and ALB send them."""

from __future__ import annotations

import base64
import os
import time
from typing import Any
from urllib.parse import quote, urlencode

from golive.events import is_text
from golive.http import new_request_id

# The account every locally made event, ARN and context names; golive.service.quotas re-exports it with AWS's quotas.
LOCAL_ACCOUNT_ID = "123456789012"
_region: str | None = None


def local_region() -> str:
    """The Region local events and ARNs name: AWS_REGION (or AWS_DEFAULT_REGION) as Lambda sets it, else us-east-1.
    Read once per process: the local gateway builds an event per request."""
    global _region
    if _region is None:
        _region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return _region


class _RequestTime:
    """$context.requestTime, formatted once per second (requests in the same second share the string)."""

    second = -1
    value = ""


def request_time(epoch: float) -> str:
    """$context.requestTime: CLF-formatted, e.g. 21/Nov/2025:04:26:03 +0000."""
    second = int(epoch)
    if second != _RequestTime.second:
        _RequestTime.value = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second))
        _RequestTime.second = second
    return _RequestTime.value


def _body(body: bytes, headers: dict[str, str]) -> tuple[str | None, bool]:
    if not body:
        return None, False
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if is_text(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


def build_event(
    kind: str,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    query: dict[str, str | list[str]] | list[tuple[str, str]] | None = None,
    body: bytes = b"",
    stage: str = "$default",
    resource: str | None = None,
    path_params: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    authorizer: dict[str, Any] | None = None,
    stage_variables: dict[str, str] | None = None,
    request_id: str | None = None,
    api_id: str = "local",
    alb_multi_value: bool = False,
) -> dict[str, Any]:
    """An event of the given kind ('v1', 'v2', 'url' or 'alb') for one HTTP request."""
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    query_pairs: list[tuple[str, str]] = []
    if isinstance(query, dict):
        for key, value in query.items():
            for item in value if isinstance(value, list) else [value]:
                query_pairs.append((key, item))
    elif query:
        query_pairs = list(query)
    request_id = request_id or new_request_id()
    now = time.time()
    user_agent = next((v for k, v in pairs if k.lower() == "user-agent"), "")
    text, is_b64 = _body(body, dict(pairs))
    if kind in ("v2", "url"):
        return _v2(kind, method, path, pairs, query_pairs, text, is_b64, stage, resource, path_params, source_ip,
                   authorizer, stage_variables, request_id, api_id, now, user_agent)
    multi_headers = multi_values(pairs)
    multi_query = multi_values(query_pairs)
    if kind == "alb":
        encoded = {quote(k): [quote(v, safe="") for v in vs] for k, vs in multi_query.items()}
        event: dict[str, Any] = {
            "requestContext": {"elb": {"targetGroupArn": f"arn:aws:elasticloadbalancing:{local_region()}:"
                                                         f"{LOCAL_ACCOUNT_ID}:"
                                                         f"targetgroup/{api_id}/73e2d6bc24d8a067"}},
            "httpMethod": method, "path": path, "body": text or "", "isBase64Encoded": is_b64,
        }
        if alb_multi_value:
            event["multiValueHeaders"] = {k.lower(): v for k, v in multi_headers.items()}
            event["multiValueQueryStringParameters"] = encoded
        else:
            event["headers"] = {k.lower(): v[-1] for k, v in multi_headers.items()}
            event["queryStringParameters"] = {k: v[-1] for k, v in encoded.items()}
        return event
    event = rest_event(method, path, resource or path, multi_headers, multi_query, path_params, stage_variables,
                       stage, api_id, request_id, request_id[:16], source_ip, user_agent,
                       request_time(now), int(now * 1000), text, is_b64)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return event


def multi_values(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Name -> every value, in order (API Gateway's multiValueHeaders / multiValueQueryStringParameters)."""
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        values = multi.get(key)
        if values is None:
            multi[key] = [value]
        else:
            values.append(value)
    return multi


def rest_event(method: str, path: str, resource: str, multi_headers: dict[str, list[str]],
               multi_query: dict[str, list[str]], path_params: dict[str, str] | None,
               stage_variables: dict[str, str] | None, stage: str, api_id: str, request_id: str, extended_id: str,
               source_ip: str, user_agent: str, request_time: str, epoch_ms: int, body: str | None,
               is_b64: bool) -> dict[str, Any]:
    """A REST API (payload v1) event from its parts: the one shape for tests and for the local cloud's gateway."""
    stage_name = "prod" if stage == "$default" else stage
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_params or None,
        "stageVariables": stage_variables or None,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID, "apiId": api_id,
            "domainName": f"{api_id}.execute-api.{local_region()}.amazonaws.com",
            "domainPrefix": api_id, "extendedRequestId": extended_id, "httpMethod": method,
            "identity": {"sourceIp": source_ip, "userAgent": user_agent, "accessKey": None, "accountId": None,
                         "caller": None, "cognitoIdentityId": None, "user": None, "userArn": None},
            "path": f"/{stage_name}{path}", "protocol": "HTTP/1.1", "requestId": request_id,
            "requestTime": request_time, "requestTimeEpoch": epoch_ms, "resourceId": "abc123",
            "resourcePath": resource, "stage": stage_name,
        },
        "body": body,
        "isBase64Encoded": is_b64,
    }


def _v2(kind, method, path, pairs, query_pairs, text, is_b64, stage, resource, path_params, source_ip, authorizer,
        stage_variables, request_id, api_id, now, user_agent) -> dict[str, Any]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for key, value in pairs:
        lower = key.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    query: dict[str, str] = {}
    for key, value in query_pairs:
        query[key] = f"{query[key]},{value}" if key in query else value
    domain = (f"{api_id}.lambda-url.{local_region()}.on.aws" if kind == "url"
              else f"{api_id}.execute-api.{local_region()}.amazonaws.com")
    event_route_key = "$default" if kind == "url" or resource is None else f"{method} {resource}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": event_route_key,
        "rawPath": raw_path,
        "rawQueryString": urlencode(query_pairs),
        "headers": headers,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID if kind == "v2" else "anonymous", "apiId": api_id, "domainName": domain,
            "domainPrefix": api_id, "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
                                             "sourceIp": source_ip, "userAgent": user_agent},
            "requestId": request_id, "routeKey": event_route_key,
            "stage": stage, "time": request_time(now),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if text is not None:
        event["body"] = text
    if path_params:
        event["pathParameters"] = path_params
    if stage_variables:
        event["stageVariables"] = stage_variables
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return event


class LambdaContext:
    """The context object Lambda passes to a handler (name, memory, ARN, log group, remaining time), shaped as the
    local cloud's worker gives it: memory_limit_in_mb is a string, as on Lambda."""

    def __init__(self, function_name: str = "golive-local", memory_mb: int = 512, timeout_s: float = 3.0,
                 request_id: str | None = None) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = str(memory_mb)
        self.aws_request_id = request_id or new_request_id()
        self.invoked_function_arn = f"arn:aws:lambda:{local_region()}:{LOCAL_ACCOUNT_ID}:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + os.urandom(16).hex()
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
