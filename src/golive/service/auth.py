"""The one auth plan: which authorizer [auth] asks the gateway to run, decided once for golive dev and the template."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from golive.service.config import ConfigError, FunctionConfig, ServiceConfig

KINDS = ("none", "iam", "lambda-token", "lambda-request", "cognito", "jwt", "jwt-function")
LAMBDA_KINDS = ("lambda-token", "lambda-request")
DEFAULT_TTL = 300  # seconds: API Gateway's default authorizer result TTL
MAX_TTL = 3600
# REST APIs with a non-Cognito JWT issuer get golive's own TOKEN authorizer function, locally and in the template.
AUTHORIZER_FUNCTION = "authorizer"
JWT_AUTHORIZER_HANDLER = "golive.security.authorizer.handler"
JWT_TOKEN_EXPRESSION = "^[Bb]earer [-0-9A-Za-z._~+/]+=*$"  # what that authorizer's TOKEN source must look like
_COGNITO_ISSUER = re.compile(r"^https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com/[A-Za-z0-9_-]+/?$")
_DECLARED = {"lambda": "lambda-request"}  # accepted spellings of [auth] type


@dataclass(frozen=True)
class AuthPlan:
    """What the gateway does about authentication, read once from [auth].

    kind: none (the functions check tokens themselves), iam, lambda-token, lambda-request, cognito (a Cognito
    issuer), jwt (an HTTP API's JWT authorizer) or jwt-function (REST: golive's TOKEN authorizer function).
    function: the Lambda authorizer's [functions.NAME], or the name golive's JWT authorizer function runs under."""

    kind: str
    function: str | None = None
    ttl: int = DEFAULT_TTL
    sources: list[tuple[str, str]] = field(default_factory=list)  # identity sources as (where, name)
    validation_expression: str | None = None  # TOKEN authorizers: the regex the token must match
    routes: frozenset[str] | None = None  # [auth] routes: only these are guarded (None: every non-public route)
    public_routes: frozenset[str] = frozenset()

    @property
    def lambda_authorizer(self) -> bool:
        """The gateway invokes a Lambda function to decide (a service function, or golive's JWT one)."""
        return self.kind in LAMBDA_KINDS or self.kind == "jwt-function"

    def guards(self, route_key: str, public: bool) -> bool:
        """Whether the gateway's authorizer runs for this route."""
        if self.kind == "none":
            return False
        if public or route_key in self.public_routes:
            return False
        return self.routes is None or route_key in self.routes


def plan(config: ServiceConfig) -> AuthPlan:
    """The auth plan for a service; ConfigError (one line) for any [auth] setting neither side could serve."""
    auth = config.auth
    if not auth:
        return AuthPlan("none")
    declared = str(auth.get("type", "jwt"))
    kind = _DECLARED.get(declared, declared)
    if kind not in ("none", "iam", "lambda-token", "lambda-request", "cognito", "jwt"):
        raise ConfigError(f"[auth] type must be jwt, cognito, lambda-token, lambda-request (or lambda), iam or "
                          f"none, not {declared!r}")
    if kind in ("none", "iam"):
        return AuthPlan(kind)
    ttl = auth.get("cache_ttl", DEFAULT_TTL)  # load_config renamed the alias "ttl"
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_TTL:
        raise ConfigError(f"[auth] cache_ttl must be whole seconds between 0 and {MAX_TTL} (0 turns caching off)")
    scope = _route_scope(auth)
    if kind in LAMBDA_KINDS:
        if kind == "lambda-token" and config.api_type == "http":
            raise ConfigError("[auth] type = \"lambda-token\" exists only on REST APIs; HTTP APIs use "
                              "\"lambda-request\" with identity_source = \"$request.header.X\"")
        function = str(auth.get("function") or "")
        if not function or function not in config.functions:
            raise ConfigError(f"[auth] type = \"{declared}\" needs function = \"NAME\" naming one of "
                              f"[functions.*] ({', '.join(config.functions)})")
        sources = identity_sources(auth.get("identity_source"), config.api_type)
        if kind == "lambda-token" and (len(sources) != 1 or sources[0][0] != "header"):
            raise ConfigError("[auth] a lambda-token authorizer reads exactly one header: identity_source = "
                              "\"method.request.header.Authorization\"")
        expression = auth.get("validation_expression")
        if expression is not None:
            try:
                re.compile(str(expression))
            except re.error as exc:
                raise ConfigError(f"[auth] validation_expression is not a regular expression ({exc})") from None
        return AuthPlan(kind, function, ttl, sources, str(expression) if expression else None, **scope)
    sources = identity_sources(auth.get("identity_source"), config.api_type)[:1]
    if kind == "cognito" or _COGNITO_ISSUER.match(str(auth.get("issuer", ""))):
        return AuthPlan("cognito", None, ttl, sources, **scope)
    if config.api_type == "http":
        return AuthPlan("jwt", None, ttl, sources, **scope)
    return AuthPlan("jwt-function", jwt_function_name(config), ttl, [("header", "Authorization")],
                    JWT_TOKEN_EXPRESSION, **scope)


def _route_scope(auth: dict[str, Any]) -> dict[str, Any]:
    routes, public = auth.get("routes"), auth.get("public_routes") or []
    for key, value in (("routes", routes), ("public_routes", public)):
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise ConfigError(f"[auth] {key} must be a list of route keys, e.g. [\"GET /users/{{id}}\"]")
    return {"routes": frozenset(" ".join(k.split()) for k in routes) if routes is not None else None,
            "public_routes": frozenset(" ".join(k.split()) for k in public)}


def identity_sources(value: Any, api_type: str) -> list[tuple[str, str]]:
    """Identity sources as (where, name): method.request.header.X / $request.querystring.y / plain header names."""
    default = "method.request.header.Authorization" if api_type == "rest" else "$request.header.Authorization"
    items = value if isinstance(value, list) else [s.strip() for s in str(value or default).split(",")]
    parsed = []
    for item in items:
        text = str(item).strip().removeprefix("$").removeprefix("method.")
        for prefix, where in (("request.header.", "header"), ("request.querystring.", "query"),
                              ("stageVariables.", "stage"), ("context.", "context")):
            if text.startswith(prefix):
                parsed.append((where, text[len(prefix):]))
                break
        else:
            if "." in text:
                raise ConfigError(f"[auth] identity_source {item!r} is not one API Gateway knows; use e.g. "
                                  f"\"method.request.header.Authorization\" or \"$request.querystring.token\"")
            parsed.append(("header", text))
    return parsed


def jwt_function_name(config: ServiceConfig) -> str:
    """The name golive's JWT authorizer function runs under (the one a service already gave it, if any)."""
    for name, function in config.functions.items():
        if function.handler == JWT_AUTHORIZER_HANDLER:
            return name
    return AUTHORIZER_FUNCTION if AUTHORIZER_FUNCTION not in config.functions else "golive-jwt-authorizer"


def authorizer_functions(config: ServiceConfig) -> set[str]:
    """Functions of golive.toml that are authorizers, not route handlers."""
    chosen = plan(config)
    return {chosen.function} if chosen.function and chosen.kind in LAMBDA_KINDS else set()


def jwt_function(config: ServiceConfig, template: FunctionConfig | None = None) -> FunctionConfig | None:
    """golive's JWT authorizer function as the template deploys it (and the local cloud runs it), or None."""
    chosen = plan(config)
    if chosen.kind != "jwt-function" or chosen.function is None:
        return None
    existing = config.functions.get(chosen.function)
    if existing is not None:
        return existing
    first = template or next(iter(config.functions.values()), None)
    reserve = max(((f.reserved_concurrency or f.concurrency) for f in config.functions.values()), default=10)
    return FunctionConfig(name=chosen.function, handler=JWT_AUTHORIZER_HANDLER, memory=256, timeout=3,
                          concurrency=reserve, runtime=first.runtime if first else FunctionConfig.runtime,
                          architecture=first.architecture if first else FunctionConfig.architecture)


def add_jwt_function(config: ServiceConfig) -> str | None:
    """For a REST API whose JWT issuer is not Cognito, add golive's TOKEN authorizer function to the config (as the
    template adds it to the stack) and return its name; the Lambda service then runs it like any function."""
    function = jwt_function(config)
    if function is None:
        return None
    config.functions.setdefault(function.name, function)
    return function.name
