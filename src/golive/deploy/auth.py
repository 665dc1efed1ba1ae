"""The template's authorizer for the one auth plan (Cognito, JWT, Lambda TOKEN/REQUEST or IAM) and what the functions
need to verify tokens too."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from golive.deploy.builder import Builder
from golive.deploy.cfn import get_att, sub
from golive.deploy.environment import production_value
from golive.deploy.service import function_id
from golive.service.auth import JWT_TOKEN_EXPRESSION, plan
from golive.service.config import ConfigError

_COGNITO_ISSUER = re.compile(r"^https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([A-Za-z0-9_-]+)/?$")


@dataclass
class AuthPlan:
    kind: str  # none | cognito | jwt | lambda | iam
    name: str = ""  # the authorizer's name in the API's Auth
    rest: dict[str, Any] = field(default_factory=dict)  # Api Auth.Authorizers entry
    http: dict[str, Any] = field(default_factory=dict)  # HttpApi Auth.Authorizers entry
    environment: dict[str, Any] = field(default_factory=dict)  # what every function gets to verify tokens itself
    authorizer_function: bool = False  # golive's JWT authorizer function is part of the template
    guards: Callable[[str, bool], bool] = field(default=lambda key, public: False)  # the routes it runs on


def plan_auth(b: Builder) -> AuthPlan:
    """The template's side of the one auth plan (golive.service.auth.plan) that golive dev serves too."""
    config = b.service.config
    chosen = plan(config)
    auth = config.auth
    where = "[auth]"
    if chosen.kind == "none":
        return AuthPlan("none", guards=chosen.guards)
    environment: dict[str, Any] = {}
    for key, env in (("issuer", "GOLIVE_JWT_ISSUER"), ("audience", "GOLIVE_JWT_AUDIENCE"),
                     ("jwks_url", "GOLIVE_JWKS_URL")):
        if auth.get(key):
            environment[env] = str(auth[key])
    if auth.get("require_sub") is False:
        environment["GOLIVE_JWT_REQUIRE_SUB"] = "0"
    if auth.get("secret"):
        environment["GOLIVE_JWT_SECRET"] = production_value(where, "secret", auth["secret"])
    if chosen.kind == "iam":
        return AuthPlan("iam", "AWS_IAM", environment=environment, guards=chosen.guards)
    if chosen.kind == "cognito":
        pool_arn = auth.get("user_pool_arn") or _pool_arn(str(auth.get("issuer", "")))
        if not pool_arn:
            raise ConfigError("golive.toml: [auth] type = \"cognito\" needs user_pool_arn or a Cognito issuer URL")
        issuer = auth.get("issuer") or _issuer(pool_arn)
        audience = auth.get("audience")
        http: dict[str, Any] = {"IdentitySource": "$request.header.Authorization",
                "JwtConfiguration": {"issuer": issuer, **({"audience": _list(audience)} if audience else {})}}
        return AuthPlan("cognito", "CognitoAuthorizer", rest={"UserPoolArn": pool_arn}, http=http,
                        environment=environment, guards=chosen.guards)
    if chosen.kind in ("jwt", "jwt-function"):
        if not auth.get("issuer") or not (auth.get("jwks_url") or auth.get("secret")):
            raise ConfigError("golive.toml: [auth] needs issuer and jwks_url for production (dev_secret is only for "
                              "golive dev); set them, or type = \"none\" for an API without authentication")
        http = {"IdentitySource": "$request.header.Authorization",
                "JwtConfiguration": {"issuer": str(auth["issuer"]),
                                     **({"audience": _list(auth["audience"])} if auth.get("audience") else {})}}
        rest: dict[str, Any] = {"FunctionArn": get_att(function_id(str(chosen.function)), "Arn"),
                "FunctionPayloadType": "TOKEN",
                "Identity": {"Header": "Authorization", "ReauthorizeEvery": chosen.ttl,
                             "ValidationExpression": JWT_TOKEN_EXPRESSION}}
        return AuthPlan("jwt", "JwtAuthorizer", rest=rest, http=http, environment=environment,
                        authorizer_function=chosen.kind == "jwt-function", guards=chosen.guards)
    # a Lambda authorizer of the service's own: TOKEN (one header, REST only) or REQUEST
    arn = get_att(function_id(str(chosen.function)), "Arn")
    if chosen.kind == "lambda-token":
        identity: dict[str, Any] = {"Header": chosen.sources[0][1], "ReauthorizeEvery": chosen.ttl}
        if chosen.validation_expression:
            identity["ValidationExpression"] = chosen.validation_expression
        rest = {"FunctionArn": arn, "FunctionPayloadType": "TOKEN", "Identity": identity}
        return AuthPlan("lambda", "LambdaAuthorizer", rest=rest, environment=environment, guards=chosen.guards)
    identity = _request_identity(chosen.sources, chosen.ttl)
    rest = {"FunctionArn": arn, "FunctionPayloadType": "REQUEST", "Identity": identity}
    http = {"FunctionArn": arn, "AuthorizerPayloadFormatVersion": "2.0", "EnableSimpleResponses": True,
            "Identity": identity}
    return AuthPlan("lambda", "LambdaAuthorizer", rest=rest, http=http, environment=environment, guards=chosen.guards)


_IDENTITY_KEYS = {"header": "Headers", "query": "QueryStrings", "stage": "StageVariables", "context": "Context"}


def _request_identity(sources: list[tuple[str, str]], ttl: int) -> dict[str, Any]:
    """A REQUEST authorizer's identity sources as SAM spells them (Headers, QueryStrings, StageVariables, Context)."""
    identity: dict[str, Any] = {}
    for where, name in sources:
        identity.setdefault(_IDENTITY_KEYS[where], []).append(name)
    identity["ReauthorizeEvery"] = ttl
    return identity


def _list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _pool_arn(issuer: str) -> Any:
    match = _COGNITO_ISSUER.match(issuer)
    if not match:
        return None
    region, pool = match.groups()
    return sub(f"arn:${{AWS::Partition}}:cognito-idp:{region}:${{AWS::AccountId}}:userpool/{pool}")


def _issuer(pool_arn: Any) -> Any:
    if isinstance(pool_arn, str) and ":userpool/" in pool_arn:
        region = pool_arn.split(":")[3]
        return f"https://cognito-idp.{region}.amazonaws.com/{pool_arn.rsplit('/', 1)[1]}"
    raise ConfigError("golive.toml: [auth] with user_pool_arn also needs issuer (the pool's issuer URL)")
