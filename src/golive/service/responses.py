"""The gateway responses golive deploys: API Gateway's own error answers as problem+json (REST APIs), one definition
for the template and the local gateway."""

from __future__ import annotations

from typing import Any

# Gateway-made errors as RFC 9457 problem+json, like the function's own.
PROBLEM_RESPONSES = {
    "DEFAULT_4XX": None, "DEFAULT_5XX": None, "BAD_REQUEST_BODY": 400, "BAD_REQUEST_PARAMETERS": 400,
    "UNAUTHORIZED": 401, "ACCESS_DENIED": 403, "WAF_FILTERED": 403, "THROTTLED": 429, "QUOTA_EXCEEDED": 429,
    "INTEGRATION_TIMEOUT": 504,
}

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
    for kind, status in PROBLEM_RESPONSES.items():
        body = '{"type":"about:blank","title":$context.error.messageString,'
        if status is not None:
            body += f'"status":{status},'
        if kind.startswith("BAD_REQUEST"):
            body += '"detail":"$util.escapeJavaScript($context.error.validationErrorString)",'
        body += '"requestId":"$context.requestId"}'
        responses[kind] = {"ResponseParameters": {"Headers": dict(headers)},
                           "ResponseTemplates": {"application/json": body}}
    return responses
