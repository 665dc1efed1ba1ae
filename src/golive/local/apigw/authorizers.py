"""Authorizers as API Gateway runs them: Lambda TOKEN and REQUEST (with result caching), Cognito and JWT."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from golive.local.invocation import Invocation
from golive.service.auth import AuthPlan, plan
from golive.service.config import ServiceConfig
from golive.service.quotas import LOCAL_ACCOUNT_ID, local_region

Invoke = Callable[[str, bytes], Awaitable[Invocation]]


class AuthResult:
    """The authorizer's verdict: `error` is a gateway response type (None: go on), `context` goes into
    requestContext.authorizer, `status`/`message` feed the access log."""

    __slots__ = ("context", "error", "headers", "message", "principal", "status")

    def __init__(self, error: str | None = None, context: dict[str, Any] | None = None, *, status: int = 200,
                 message: str = "", principal: str = "", headers: list[tuple[str, str]] | None = None) -> None:
        self.error, self.context, self.status, self.message = error, context, status, message
        self.principal, self.headers = principal, list(headers or [])


def method_arn(api_id: str, stage: str, method: str, path: str) -> str:
    """The ARN a policy is checked against: arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/path."""
    return f"arn:aws:execute-api:{local_region()}:{LOCAL_ACCOUNT_ID}:{api_id}/{stage}/{method}{path}"


class Authorizer:
    """Shared by every authorizer type: the plan it follows (which routes it guards)."""

    def __init__(self, chosen: AuthPlan) -> None:
        self.plan = chosen
        self.kind = chosen.kind

    def guards(self, route_key: str, public: bool) -> bool:
        return self.plan.guards(route_key, public)

    async def authorize(self, request: AuthRequest) -> AuthResult:
        raise NotImplementedError


class AuthRequest:
    """What an authorizer sees of a request: headers (lower-cased names), query, the event, the route, the ARN."""

    __slots__ = ("arn", "event", "headers", "query", "route_key", "scopes", "stage_variables")

    def __init__(self, headers: dict[str, str], query: dict[str, str], event: dict[str, Any], route_key: str,
                 arn: str, scopes: list[str], stage_variables: dict[str, str]) -> None:
        self.headers, self.query, self.event, self.route_key = headers, query, event, route_key
        self.arn, self.scopes, self.stage_variables = arn, scopes, stage_variables


def _identity_values(sources: list[tuple[str, str]], request: AuthRequest) -> list[str] | None:
    values = []
    for where, name in sources:
        if where == "header":
            value = request.headers.get(name.lower())
        elif where == "query":
            value = request.query.get(name)
        elif where == "stage":
            value = request.stage_variables.get(name)
        else:
            value = str((request.event.get("requestContext") or {}).get(name, ""))
        if not value:
            return None
        values.append(value)
    return values


class LambdaAuthorizer(Authorizer):
    """A Lambda TOKEN or REQUEST authorizer invoked through the local Lambda service, its results cached for `ttl`
    seconds on the identity source values (the cached policy is re-checked against each new method ARN)."""

    def __init__(self, config: ServiceConfig, chosen: AuthPlan, invoke: Invoke, timeout: float) -> None:
        super().__init__(chosen)
        # golive's JWT authorizer function is a TOKEN authorizer, as the template deploys it
        self.kind = "lambda-token" if chosen.kind == "jwt-function" else chosen.kind
        self.api_type = config.api_type
        assert chosen.function is not None  # the plan names the function of every Lambda authorizer
        self.function: str = chosen.function
        self.invoke, self.timeout = invoke, timeout
        self.sources = chosen.sources
        self.ttl = chosen.ttl
        self.validation = re.compile(chosen.validation_expression) if chosen.validation_expression else None
        self._cache: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}
        self.invocations = 0

    async def authorize(self, request: AuthRequest) -> AuthResult:
        values = _identity_values(self.sources, request)
        # Without its identity source (always for TOKEN, when caching for REQUEST) API Gateway answers 401 itself.
        if values is None and (self.kind == "lambda-token" or self.ttl > 0):
            return AuthResult("UNAUTHORIZED", status=401, message="Identity source missing")
        if self.kind == "lambda-token" and self.validation is not None and values \
                and not self.validation.fullmatch(values[0]):
            return AuthResult("UNAUTHORIZED", status=401, message="Token does not match validation_expression")
        key = tuple(values or ())
        cached = self._cache.get(key) if self.ttl > 0 else None
        if cached is not None and cached[0] > time.monotonic():
            return self._verdict(cached[1], request)
        outcome = await self._call(request, values or [])
        if isinstance(outcome, AuthResult):
            return outcome
        if self.ttl > 0:
            self._cache[key] = (time.monotonic() + self.ttl, outcome)
        return self._verdict(outcome, request)

    async def _call(self, request: AuthRequest, values: list[str]) -> dict[str, Any] | AuthResult:
        payload = json.dumps(self._event(request, values)).encode()
        self.invocations += 1
        try:
            invocation = await asyncio.wait_for(asyncio.shield(self.invoke(self.function, payload)), self.timeout)
        except TimeoutError:
            return AuthResult("AUTHORIZER_CONFIGURATION_ERROR", status=500, message="Authorizer timed out")
        if invocation.outcome != "ok":
            message = invocation.error_message or invocation.outcome
            if invocation.outcome == "function_error" and message == "Unauthorized":
                # An authorizer raising Exception("Unauthorized") is API Gateway's documented way to answer 401.
                return AuthResult("UNAUTHORIZED", status=401, message="Unauthorized")
            return AuthResult("AUTHORIZER_CONFIGURATION_ERROR", status=500, message=f"Authorizer error: {message}")
        try:
            output = json.loads(invocation.payload or b"null")
        except ValueError:
            output = None
        if not isinstance(output, dict):
            return AuthResult("AUTHORIZER_CONFIGURATION_ERROR", status=500,
                              message="Authorizer returned something other than a JSON object")
        return output

    def _event(self, request: AuthRequest, values: list[str]) -> dict[str, Any]:
        if self.kind == "lambda-token":
            return {"type": "TOKEN", "authorizationToken": values[0] if values else "", "methodArn": request.arn}
        event = {k: v for k, v in request.event.items() if k not in ("body", "isBase64Encoded")}
        event["type"] = "REQUEST"
        if self.api_type == "http":
            event["routeArn"] = request.arn
            event["identitySource"] = values
        else:
            event["methodArn"] = request.arn
        return event

    def _verdict(self, output: dict[str, Any], request: AuthRequest) -> AuthResult:
        context = output.get("context") or {}
        if not isinstance(context, dict):
            return AuthResult("AUTHORIZER_CONFIGURATION_ERROR", status=500, message="context must be an object")
        if self.api_type == "http" and "isAuthorized" in output:
            if output.get("isAuthorized") is not True:
                return AuthResult("ACCESS_DENIED", status=403, message="isAuthorized is false")
            return AuthResult(None, {"lambda": context})
        principal = output.get("principalId")
        document = output.get("policyDocument")
        if principal is None or not isinstance(document, dict):
            return AuthResult("AUTHORIZER_CONFIGURATION_ERROR", status=500,
                              message="Authorizer output needs principalId and policyDocument")
        if any(isinstance(value, dict | list) for value in context.values()) and self.api_type == "rest":
            return AuthResult("AUTHORIZER_CONFIGURATION_ERROR", status=500,
                              message="context values must be strings, numbers or booleans")
        effect = evaluate_policy(document, request.arn)
        if effect != "Allow":
            kind = "ACCESS_DENIED_EXPLICIT" if effect == "Deny" else "ACCESS_DENIED"
            return AuthResult(kind, status=403, message=f"Policy {'explicitly denies' if effect else 'does not allow'}"
                                                        f" {request.arn}", principal=str(principal))
        if self.api_type == "http":
            return AuthResult(None, {"principalId": str(principal), "lambda": context}, principal=str(principal))
        # REST proxy events carry context values as strings, beside principalId.
        flat = {key: _as_text(value) for key, value in context.items()}
        return AuthResult(None, {"principalId": str(principal), **flat}, principal=str(principal))


def evaluate_policy(document: dict[str, Any], arn: str) -> str | None:
    """'Deny' if a Deny statement matches the ARN, else 'Allow' if an Allow does, else None (implicit deny)."""
    statements = document.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict) or not _action_matches(statement.get("Action")):
            continue
        resources = statement.get("Resource") or []
        if isinstance(resources, str):
            resources = [resources]
        if not any(_arn_matches(pattern, arn) for pattern in resources if isinstance(pattern, str)):
            continue
        effect = str(statement.get("Effect", "")).capitalize()
        if effect == "Deny":
            return "Deny"
        if effect == "Allow":
            allowed = True
    return "Allow" if allowed else None


def _action_matches(action: Any) -> bool:
    actions = [action] if isinstance(action, str) else action or []
    return any(a in ("*", "execute-api:*", "execute-api:Invoke") for a in actions if isinstance(a, str))


def _arn_matches(pattern: str, arn: str) -> bool:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, arn) is not None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_as_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


class JWTAuthorizer(Authorizer):
    """A Cognito user-pool authorizer (REST) or JWT authorizer (HTTP API): the bearer token's signature is checked
    against the JWKS (jwks_url, or the issuer's /.well-known/jwks.json) or golive's development secret."""

    def __init__(self, config: ServiceConfig, chosen: AuthPlan) -> None:
        from golive.security.auth import JWTAuth

        auth = config.auth
        super().__init__(chosen)
        self.api_type = config.api_type
        self.sources = chosen.sources
        audience = auth.get("audience")
        self.audience = [audience] if isinstance(audience, str) else list(audience or [])
        if self.api_type == "rest":
            self.audience = []  # a REST Cognito authorizer trusts the user pool, with no audience setting
        jwks_url = auth.get("jwks_url")
        issuer = auth.get("issuer")
        if not jwks_url and issuer and self.kind == "cognito":
            jwks_url = issuer.rstrip("/") + "/.well-known/jwks.json"
        algorithms = ["HS256"] + (["RS256", "ES256"] if jwks_url else [])
        # The audience is checked here (aud or client_id, as API Gateway does), not by PyJWT (aud only).
        self.verifier = JWTAuth(issuer=issuer, secret=config.dev_secret, jwks_url=jwks_url, algorithms=algorithms,
                                require_sub=auth.get("require_sub", True) is not False)
        self.remote_keys = bool(jwks_url)
        # golive dev verifies development tokens (HS256, dev_secret) and asks the identity provider for its keys
        # only when told to: a placeholder or unreachable issuer must not turn every RS256 token into an outbound
        # fetch, and a developer's requests must not reach a production identity provider unasked.
        self.keys_allowed = not jwks_url or _dev_remote_jwks(config)

    async def authorize(self, request: AuthRequest) -> AuthResult:
        from golive.errors import HTTPError
        from golive.security.auth import token_scopes

        values = _identity_values(self.sources, request)
        if not values:
            return self._unauthorized("", "Identity source missing")
        token = values[0]
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if self.remote_keys and not self.keys_allowed and _algorithm(token) != "HS256":
            return self._unauthorized("invalid_token", "golive dev verifies development tokens (golive token) only; "
                                      "set [auth] dev_verify_identity_provider = true to fetch the issuer's keys")
        try:
            if self.remote_keys:
                claims = await asyncio.to_thread(self.verifier.verify, token)
            else:
                claims = self.verifier.verify(token)
        except HTTPError as exc:
            # Keys that cannot be fetched leave the token unverified: API Gateway answers 401 Unauthorized.
            return self._unauthorized("invalid_token", str(exc))
        if self.audience:
            presented = claims.get("aud", claims.get("client_id"))
            presented = presented if isinstance(presented, list) else [presented]
            if not any(a in self.audience for a in presented):
                return self._unauthorized("invalid_token", "the token audience is not accepted")
        scopes = token_scopes(claims)
        if request.scopes and not set(request.scopes) <= set(scopes):
            if self.api_type == "http":
                return AuthResult("ACCESS_DENIED", status=403, message="insufficient scope", headers=[
                    _www("insufficient_scope", "the token does not have the required scopes",
                         " ".join(request.scopes))])
            return AuthResult("UNAUTHORIZED", status=401, message="insufficient scope")
        text_claims = {key: _as_text(value) for key, value in claims.items()}
        principal = str(claims.get("sub", ""))
        if self.api_type == "http":
            return AuthResult(None, {"jwt": {"claims": text_claims, "scopes": scopes or None}}, principal=principal)
        return AuthResult(None, {"claims": text_claims}, principal=principal)

    def _unauthorized(self, error: str, description: str) -> AuthResult:
        headers = [_www(error, description)] if self.api_type == "http" and error else []
        return AuthResult("UNAUTHORIZED", status=401, message=description, headers=headers)


def _algorithm(token: str) -> str:
    """The alg a token's header names ("" when it cannot be read)."""
    import base64

    head = token.partition(".")[0]
    try:
        return str(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))).get("alg", ""))
    except (ValueError, AttributeError):
        return ""


def _dev_remote_jwks(config: ServiceConfig) -> bool:
    import os

    asked = config.auth.get("dev_verify_identity_provider") is True  # beside dev_secret: development only
    return asked or os.environ.get("GOLIVE_DEV_VERIFY_IDENTITY_PROVIDER", "") in ("1", "true", "yes")


def _www(error: str, description: str, scope: str = "") -> tuple[str, str]:
    from golive.local.apigw.responses import www_authenticate

    return www_authenticate(error, description, scope)


def build(config: ServiceConfig, invoke: Invoke, timeout: float) -> Authorizer | None:
    """The gateway's authorizer, or None when the functions check tokens themselves."""
    chosen = plan(config)
    if chosen.kind in ("none", "iam"):
        return None  # IAM (SigV4) is not emulated locally: requests pass, as with no authorizer
    if chosen.lambda_authorizer:
        return LambdaAuthorizer(config, chosen, invoke, timeout)
    return JWTAuthorizer(config, chosen)
