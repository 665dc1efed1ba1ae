"""The gateway responses golive deploys: API Gateway's own error answers as problem+json (REST APIs), one definition
for the template and the local gateway."""

from __future__ import annotations

import json
from typing import Any

# Every gateway response type a REST API can send -> (status, title). Each gets its own problem+json template with
# a static title and status: the RFC 9457 Problem schema golive publishes requires both, while API Gateway's
# $context.error.messageString is null for some types and no template variable carries the status. Statuses
# are AWS's defaults, except INTEGRATION_FAILURE, set to 502 (what a failed Lambda proxy call answers), so the
# body's status and the HTTP status agree by construction. REQUEST_TOO_LARGE is answered before gateway responses
# apply. DEFAULT_4XX/DEFAULT_5XX only catch a type AWS adds later.
PROBLEM_RESPONSES: dict[str, tuple[int, str]] = {
    "DEFAULT_4XX": (400, "Bad Request"), "DEFAULT_5XX": (500, "Internal Server Error"),
    "ACCESS_DENIED": (403, "Forbidden"), "API_CONFIGURATION_ERROR": (500, "Internal Server Error"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "Internal Server Error"),
    "AUTHORIZER_FAILURE": (500, "Internal Server Error"), "BAD_REQUEST_PARAMETERS": (400, "Bad Request"),
    "BAD_REQUEST_BODY": (400, "Invalid request body"), "EXPIRED_TOKEN": (403, "Forbidden"),
    "INTEGRATION_FAILURE": (502, "Bad Gateway"), "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "INVALID_API_KEY": (403, "Forbidden"), "INVALID_SIGNATURE": (403, "Forbidden"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"), "QUOTA_EXCEEDED": (429, "Limit Exceeded"),
    "RESOURCE_NOT_FOUND": (404, "Not Found"), "THROTTLED": (429, "Too Many Requests"),
    "UNAUTHORIZED": (401, "Unauthorized"), "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type"),
    "WAF_FILTERED": (403, "Forbidden"),
}
_EXPLICIT_STATUS = {"INTEGRATION_FAILURE"}  # types whose StatusCode golive sets rather than inherits


LAMBDA_TOO_LONG = "Request Too Long"


def _problem_template(kind: str, status: int, title: str) -> str:
    body = f'{{"type":"about:blank","title":{json.dumps(title)},"status":{status},'
    if kind.startswith("BAD_REQUEST"):
        body += '"detail":"$util.escapeJavaScript($context.error.validationErrorString)",'
    elif kind == "ACCESS_DENIED":
        body += '"detail":"$util.escapeJavaScript($context.error.message)",'  # says whether a deny was explicit
    return body + '"requestId":"$context.requestId"}'


def gateway_responses(settings: dict[str, Any]) -> dict[str, Any]:
    """API Gateway's own error answers as problem+json with golive's security headers (REST APIs)."""
    from golive.security.headers import DEFAULT_HEADERS

    headers = {"Content-Type": "'application/problem+json'", "Cache-Control": "'no-store'",
               **{name: f"'{value}'" for name, value in DEFAULT_HEADERS.items()},
               # Gateway responses may only map request parameters or constants (not $context.requestId), so
               # the caller's correlation id is echoed; the body carries API Gateway's requestId regardless.
               "X-Request-ID": "method.request.header.X-Request-ID"}
    cors = settings["cors"]
    if cors and len(cors["origins"]) == 1:
        headers["Access-Control-Allow-Origin"] = f"'{cors['origins'][0]}'"
        headers["Vary"] = "'Origin'"
    responses: dict[str, Any] = {}
    for kind, (status, title) in PROBLEM_RESPONSES.items():
        body = _problem_template(kind, status, title)
        if kind == "DEFAULT_4XX":
            # Lambda refusing a request over its 6 MB payload reaches the client as API Gateway's 413 "Request Too
            # Long", a type of its own that only DEFAULT_4XX catches: the one 4xx whose status the body must pick.
            body = (f'#if($context.error.message == "{LAMBDA_TOO_LONG}")'
                    f'{_problem_template(kind, 413, LAMBDA_TOO_LONG)}#{{else}}{body}#end')
        responses[kind] = {"ResponseParameters": {"Headers": dict(headers)},
                           "ResponseTemplates": {"application/json": body}}
        if kind in _EXPLICIT_STATUS:
            responses[kind]["StatusCode"] = str(status)
    return responses
