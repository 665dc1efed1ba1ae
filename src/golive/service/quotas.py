"""AWS's quotas that golive enforces locally and checks before deploying, and the local identities (account, Region)."""

from __future__ import annotations

from golive.synth import LOCAL_ACCOUNT_ID, local_region

__all__ = ["HTTP_INTEGRATION_TIMEOUT_S", "LAMBDA_REQUEST_BYTES", "LAMBDA_RESPONSE_BYTES", "LOCAL_ACCOUNT_ID",
           "MAX_HEADER_BYTES", "MAX_REQUEST_BYTES", "REST_INTEGRATION_TIMEOUT_S", "integration_limit_s", "local_region"]

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's request payload quota (REST and HTTP APIs)
MAX_HEADER_BYTES = 10240  # API Gateway's quota on the request line plus headers (REST and HTTP APIs)
# Lambda's synchronous invocation payload limits; its error messages quote these exact byte counts.
LAMBDA_REQUEST_BYTES = 6291456
LAMBDA_RESPONSE_BYTES = 6291556
REST_INTEGRATION_TIMEOUT_S = 29.0  # API Gateway's maximum integration timeout, REST APIs
HTTP_INTEGRATION_TIMEOUT_S = 30.0  # ... and HTTP APIs


def integration_limit_s(api_type: str) -> float:
    """API Gateway's maximum integration timeout for a REST ('rest') or HTTP ('http') API."""
    return REST_INTEGRATION_TIMEOUT_S if api_type == "rest" else HTTP_INTEGRATION_TIMEOUT_S
