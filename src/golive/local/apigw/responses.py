"""API Gateway's own answers (gateway responses): the status, body and headers AWS sends for each failure type."""

from __future__ import annotations

import json
import re
from typing import Any

from golive.service.config import ConfigError

# response type -> (REST API status, REST body, x-amzn-ErrorType, HTTP API status, HTTP API body).
# Bodies are byte-exact: REST answers {"message":...} except ACCESS_DENIED, which AWS capitalises ({"Message":...});
# REST sends the 413 as plain text from its front door; HTTP APIs send no x-amzn-ErrorType header at all.
_TABLE: dict[str, tuple[int, bytes, str | None, int, bytes]] = {
    "MISSING_AUTHENTICATION_TOKEN": (403, b'{"message":"Missing Authentication Token"}',
                                     "MissingAuthenticationTokenException", 404, b'{"message":"Not Found"}'),
    "THROTTLED": (429, b'{"message":"Too Many Requests"}', "TooManyRequestsException",
                  429, b'{"message":"Too Many Requests"}'),
    "QUOTA_EXCEEDED": (429, b'{"message":"Limit Exceeded"}', "LimitExceededException",
                       429, b'{"message":"Limit Exceeded"}'),
    "INVALID_API_KEY": (403, b'{"message":"Forbidden"}', "ForbiddenException", 403, b'{"message":"Forbidden"}'),
    "UNAUTHORIZED": (401, b'{"message":"Unauthorized"}', "UnauthorizedException",
                     401, b'{"message":"Unauthorized"}'),
    "ACCESS_DENIED": (403, b'{"Message":"User is not authorized to access this resource"}', "AccessDeniedException",
                      403, b'{"message":"Forbidden"}'),
    "ACCESS_DENIED_EXPLICIT": (403, b'{"Message":"User is not authorized to access this resource with an explicit '
                                    b'deny"}', "AccessDeniedException", 403, b'{"message":"Forbidden"}'),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, b'{"message": null}', "AuthorizerConfigurationException",
                                       500, b'{"message":"Internal Server Error"}'),
    "AUTHORIZER_FAILURE": (500, b'{"message": null}', "AuthorizerFailureException",
                           500, b'{"message":"Internal Server Error"}'),
    "BAD_REQUEST_BODY": (400, b'{"message": "Invalid request body"}', "BadRequestException",
                         400, b'{"message":"Bad Request"}'),
    "BAD_REQUEST_PARAMETERS": (400, b"", "BadRequestException", 400, b'{"message":"Bad Request"}'),
    # Function error, crash, Lambda timeout, malformed proxy response, response over 6 MB.
    "INTEGRATION_FAILURE": (502, b'{"message": "Internal server error"}', "InternalServerErrorException",
                            500, b'{"message":"Internal Server Error"}'),
    # Lambda refused the invocation (throttled, request too large for Lambda): REST answers 500, not 502.
    "INTEGRATION_REJECTED": (500, b'{"message": "Internal server error"}', "InternalServerErrorException",
                             500, b'{"message":"Internal Server Error"}'),
    "INTEGRATION_TIMEOUT": (504, b'{"message": "Endpoint request timed out"}', "InternalServerErrorException",
                            503, b'{"message":"Service Unavailable"}'),
    "REQUEST_TOO_LARGE": (413, b"HTTP content length exceeded 10485760 bytes.", None,
                          413, b'{"message":"Request Entity Too Large"}'),
    # Request line plus headers over 10,240 bytes (API Gateway's quota), refused at the front door like the 413.
    "REQUEST_HEADERS_TOO_LARGE": (431, b"HTTP header is larger than 10240 bytes.", None,
                                  431, b'{"message":"Request Header Fields Too Large"}'),
    # Under API Gateway's 10 MB but over Lambda's 6 MB request payload: API Gateway answers 413 for Lambda's
    # RequestEntityTooLargeException, not a 5xx (REST as captured from a live stage, with BadRequestException).
    "LAMBDA_REQUEST_TOO_LARGE": (413, b'{"message": "Request Too Long"}', "BadRequestException",
                                 413, b'{"message":"Request Entity Too Large"}'),
    "API_CONFIGURATION_ERROR": (500, b'{"message": "Internal server error"}', "InternalServerErrorException",
                                500, b'{"message":"Internal Server Error"}'),
}

# What $context.error.responseType reports for the types above that are golive's finer split of one AWS type.
_AWS_TYPE = {"ACCESS_DENIED_EXPLICIT": "ACCESS_DENIED", "INTEGRATION_REJECTED": "INTEGRATION_FAILURE",
             "LAMBDA_REQUEST_TOO_LARGE": "DEFAULT_4XX"}


class GatewayResponse:
    """A response API Gateway makes itself: status, body, headers, and the error type its access log names."""

    __slots__ = ("body", "headers", "message", "response_type", "status")

    def __init__(self, status: int, body: bytes, headers: list[tuple[str, str]], response_type: str,
                 message: str | None) -> None:
        self.status, self.body, self.headers = status, body, headers
        self.response_type, self.message = response_type, message

    def __repr__(self) -> str:
        return f"<GatewayResponse {self.status} {self.response_type}>"


def gateway_response(kind: str, api_type: str, *, missing: list[str] | None = None) -> GatewayResponse:
    """The answer AWS gives for a failure of this kind on a REST ('rest') or HTTP ('http') API.

    `missing` names the absent parameters of a BAD_REQUEST_PARAMETERS answer."""
    rest_status, rest_body, error_type, http_status, http_body = _TABLE[kind]
    if api_type == "http":
        status, body, headers = http_status, http_body, [("Content-Type", "application/json")]
    else:
        status, body = rest_status, rest_body
        if kind == "BAD_REQUEST_PARAMETERS":
            body = json.dumps({"message": f"Missing required request parameters: [{', '.join(missing or [])}]"}
                              ).encode()
        content_type = "application/json" if body.startswith(b"{") else "text/plain; charset=utf-8"
        headers = [("Content-Type", content_type)]
        if error_type:
            headers.append(("x-amzn-ErrorType", error_type))
    message = _message(body)
    return GatewayResponse(status, body, headers, _AWS_TYPE.get(kind, kind), message)


def _message(body: bytes) -> str | None:
    if not body.startswith(b"{"):
        return body.decode()
    document = json.loads(body)
    value = document.get("message", document.get("Message"))
    return None if value is None else str(value)


def www_authenticate(error: str, description: str, scope: str = "") -> tuple[str, str]:
    """The WWW-Authenticate header an HTTP API JWT authorizer adds to its 401 and 403 answers."""
    return ("www-authenticate", f'Bearer scope="{scope}" error="{error}" error_description="{description}"')


# Types API Gateway answers from its front door, before gateway responses apply (a custom 413 is ignored).
_NOT_CUSTOMISABLE = frozenset({"REQUEST_TOO_LARGE", "REQUEST_HEADERS_TOO_LARGE"})


class TemplateResponses:
    """REST gateway responses as a deployed template customises them (ResponseTemplates and ResponseParameters):
    a type's own entry, else DEFAULT_4XX or DEFAULT_5XX, else API Gateway's default."""

    def __init__(self, responses: dict[str, Any]) -> None:
        self.responses = responses

    def render(self, response: GatewayResponse, request_id: str, validation_error: str = "",
               request_headers: dict[str, str] | None = None) -> GatewayResponse:
        if response.response_type in _NOT_CUSTOMISABLE:
            return response
        custom = self.responses.get(response.response_type) or self.responses.get(
            "DEFAULT_5XX" if response.status >= 500 else "DEFAULT_4XX")
        if not custom:
            return response
        template = (custom.get("ResponseTemplates") or {}).get("application/json")
        body = response.body if template is None else _render(template, response, request_id,
                                                               validation_error).encode()
        headers = [(k, v) for k, v in response.headers if k.lower() != "content-type"]
        for name, value in ((custom.get("ResponseParameters") or {}).get("Headers") or {}).items():
            headers = [(k, v) for k, v in headers if k.lower() != name.lower()]
            text = str(value)
            if len(text) >= 2 and text[0] == text[-1] == "'":
                headers.append((name, text[1:-1]))  # a static value: the quotes are not part of the header
            elif text.startswith("method.request.header."):
                # A request header mapped into the response; absent from the request, absent from the answer.
                echoed = (request_headers or {}).get(text.removeprefix("method.request.header.").lower())
                if echoed is not None:
                    headers.append((name, echoed))
            else:
                headers.append((name, text))
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.insert(0, ("Content-Type", "application/json"))
        status = int(custom.get("StatusCode") or response.status)
        return GatewayResponse(status, body, headers, response.response_type, response.message)


_IF_MESSAGE = re.compile(r'#if\(\$context\.error\.message == "([^"]*)"\)(.*?)#\{else\}(.*?)#end', re.DOTALL)


def _render(template: str, response: GatewayResponse, request_id: str, validation_error: str) -> str:
    """The few VTL expressions gateway response templates use."""
    message = response.message
    template = _IF_MESSAGE.sub(lambda m: m.group(2) if message == m.group(1) else m.group(3), template)
    values = {
        "$util.escapeJavaScript($context.error.validationErrorString)": json.dumps(validation_error)[1:-1],
        "$util.escapeJavaScript($context.error.message)": json.dumps(message or "")[1:-1],
        "$context.error.validationErrorString": validation_error,
        "$context.error.messageString": "null" if message is None else json.dumps(message),
        "$context.error.message": "" if message is None else message,
        "$context.error.responseType": response.response_type,
        "$context.requestId": request_id,
    }
    for expression, value in values.items():
        template = template.replace(expression, value)
    return template


def template_responses(config: Any) -> TemplateResponses | None:
    """The gateway responses `golive template` writes for this service ([api] gateway_responses = "golive", the
    default on REST APIs), or None for API Gateway's defaults ("aws", and always on HTTP APIs)."""
    mode = config.api.get("gateway_responses", "golive")
    if mode not in ("golive", "aws"):
        raise ConfigError("[api] gateway_responses must be \"golive\" (as golive template deploys them) or \"aws\" "
                          "(API Gateway's defaults)")
    if mode == "aws" or config.api_type != "rest":
        return None
    from golive.service.responses import gateway_responses
    from golive.service.settings import api_settings

    try:
        settings = api_settings(config)
    except ConfigError:
        settings = {"cors": None}  # golive template reports the bad setting; the gateway still serves
    return TemplateResponses(gateway_responses(settings))
