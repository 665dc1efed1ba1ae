"""Lambda TOKEN authorizer for REST APIs whose JWT issuer is not Cognito: verifies the bearer token at the gateway.

Deployed by `golive template` as golive.security.authorizer.handler (golive ships in the zip). It reads the same
GOLIVE_JWKS_URL / GOLIVE_JWT_ISSUER / GOLIVE_JWT_AUDIENCE as the functions, and allows the whole stage so the
gateway's cached decision serves every route; per-route scopes and roles are enforced by the function.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_auth: Any = None


def _context_value(value: Any) -> Any:
    # Authorizer context values must be strings, numbers or booleans; lists travel as "[a b]" like API Gateway's.
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return "[" + " ".join(str(v) for v in value) + "]"
    return str(value)


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    global _auth
    from golive.errors import HTTPError
    from golive.security.auth import jwt_from_env

    if _auth is None:
        _auth = jwt_from_env()
        if _auth is None:
            raise RuntimeError("authorizer needs GOLIVE_JWKS_URL (or GOLIVE_JWT_SECRET) in its environment")
    scheme, _, token = (event.get("authorizationToken") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Exception("Unauthorized")  # the exact message API Gateway turns into a 401
    try:
        claims = _auth.verify(token.strip())
    except HTTPError:
        raise Exception("Unauthorized") from None
    arn = event.get("methodArn", "")
    api, _, _rest = arn.partition("/")
    stage = _rest.split("/", 1)[0]
    resource = f"{api}/{stage}/*" if api and stage else arn
    return {
        "principalId": str(claims.get("sub", "")),
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}]},
        "context": {key: _context_value(value) for key, value in claims.items() if value is not None},
    }
