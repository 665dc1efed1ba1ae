"""Which gateway authorizer [auth] asks for (Cognito, JWT, Lambda or IAM) and what the functions need to verify too."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from golive.deploy.builder import Builder
from golive.deploy.cfn import get_att, sub
from golive.deploy.environment import production_value
from golive.deploy.service import function_id
from golive.service.config import ConfigError

_COGNITO_ISSUER = re.compile(r"^https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([A-Za-z0-9_-]+)/?$")
AUTHORIZER_FUNCTION = "authorizer"  # name of the JWT authorizer function golive adds for REST APIs


@dataclass
class AuthPlan:
    kind: str  # none | cognito | jwt | lambda | iam
    name: str = ""  # the authorizer's name in the API's Auth
    rest: dict[str, Any] = field(default_factory=dict)  # Api Auth.Authorizers entry
    http: dict[str, Any] = field(default_factory=dict)  # HttpApi Auth.Authorizers entry
    environment: dict[str, Any] = field(default_factory=dict)  # what every function gets to verify tokens itself
    authorizer_function: bool = False  # golive's JWT authorizer function is part of the template


def plan_auth(b: Builder) -> AuthPlan:
    auth = b.service.config.auth
    kind = auth.get("type", "jwt" if auth else "none")
    where = "[auth]"
    if kind == "none" or not auth:
        return AuthPlan("none")
    environment: dict[str, Any] = {}
    for key, env in (("issuer", "GOLIVE_JWT_ISSUER"), ("audience", "GOLIVE_JWT_AUDIENCE"),
                     ("jwks_url", "GOLIVE_JWKS_URL")):
        if auth.get(key):
            environment[env] = str(auth[key])
    if auth.get("secret"):
        environment["GOLIVE_JWT_SECRET"] = production_value(where, "secret", auth["secret"])
    ttl = int(auth.get("cache_ttl", 300))
    if kind == "iam":
        return AuthPlan("iam", "AWS_IAM", environment=environment)
    if kind == "cognito" or (kind == "jwt" and _COGNITO_ISSUER.match(str(auth.get("issuer", "")))):
        pool_arn = auth.get("user_pool_arn") or _pool_arn(str(auth.get("issuer", "")))
        if not pool_arn:
            raise ConfigError("golive.toml: [auth] type = \"cognito\" needs user_pool_arn or a Cognito issuer URL")
        issuer = auth.get("issuer") or _issuer(pool_arn)
        audience = auth.get("audience")
        http: dict[str, Any] = {"IdentitySource": "$request.header.Authorization",
                "JwtConfiguration": {"issuer": issuer, **({"audience": _list(audience)} if audience else {})}}
        return AuthPlan("cognito", "CognitoAuthorizer", rest={"UserPoolArn": pool_arn}, http=http,
                        environment=environment)
    if kind == "jwt":
        if not auth.get("issuer") or not (auth.get("jwks_url") or auth.get("secret")):
            raise ConfigError("golive.toml: [auth] needs issuer and jwks_url for production (dev_secret is only for "
                              "golive dev); set them, or type = \"none\" for an API without authentication")
        http = {"IdentitySource": "$request.header.Authorization",
                "JwtConfiguration": {"issuer": str(auth["issuer"]),
                                     **({"audience": _list(auth["audience"])} if auth.get("audience") else {})}}
        rest: dict[str, Any] = {"FunctionArn": get_att(function_id(AUTHORIZER_FUNCTION), "Arn"),
                "FunctionPayloadType": "TOKEN",
                "Identity": {"Header": "Authorization", "ReauthorizeEvery": ttl,
                             "ValidationExpression": "^[Bb]earer [-0-9A-Za-z._~+/]+=*$"}}
        return AuthPlan("jwt", "JwtAuthorizer", rest=rest, http=http, environment=environment,
                        authorizer_function=b.service.api_type == "rest")
    if kind == "lambda":
        target = auth.get("function")
        if not target:
            raise ConfigError("golive.toml: [auth] type = \"lambda\" needs function = \"NAME\" ([functions]) or an ARN")
        arn = target if str(target).startswith("arn:") else get_att(function_id(str(target)), "Arn")
        if not str(target).startswith("arn:") and target not in b.service.functions:
            raise ConfigError(f"golive.toml: [auth] function {target!r} is not defined in [functions]")
        rest = {"FunctionArn": arn, "FunctionPayloadType": "REQUEST",
                "Identity": {"Headers": ["Authorization"], "ReauthorizeEvery": ttl}}
        http = {"FunctionArn": arn, "AuthorizerPayloadFormatVersion": "2.0", "EnableSimpleResponses": True,
                "Identity": {"Headers": ["Authorization"], "ReauthorizeEvery": ttl}}
        return AuthPlan("lambda", "LambdaAuthorizer", rest=rest, http=http, environment=environment)
    raise ConfigError(f"golive.toml: [auth] type must be jwt, cognito, lambda, iam or none, got {kind!r}")


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
