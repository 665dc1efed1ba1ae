"""golive: production-ready HTTP APIs on AWS Lambda + API Gateway, from one route table."""

from golive.app import App
from golive.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HTTPError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnprocessableContent,
    UnsupportedMediaType,
)
from golive.http import Request, Response
from golive.observability.logging import logger
from golive.observability.metrics import metrics
from golive.observability.tracing import tracer
from golive.security.audit import audit
from golive.security.auth import APIKeyAuth, GatewayAuth, JWTAuth
from golive.security.cors import CORS

__all__ = [
    "CORS",
    "APIKeyAuth",
    "App",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "GatewayAuth",
    "HTTPError",
    "JWTAuth",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "PreconditionRequired",
    "Request",
    "Response",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableContent",
    "UnsupportedMediaType",
    "audit",
    "logger",
    "metrics",
    "tracer",
]
__version__ = "0.1.0"
