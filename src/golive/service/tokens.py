"""Development JWTs: HS256 with the service's dev secret, issuer and audience, as golive dev's functions verify them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from golive.service.config import ServiceConfig


def signing_settings(config: ServiceConfig) -> tuple[str, str | None, str | None]:
    """(secret, issuer, audience) the local function verifies with: its environment wins over golive.toml,
    exactly as golive dev applies it."""
    env = os.environ
    secret = env.get("GOLIVE_JWT_SECRET") or config.dev_secret
    issuer = env.get("GOLIVE_JWT_ISSUER") or config.auth.get("issuer") or None
    audience = env.get("GOLIVE_JWT_AUDIENCE") or config.auth.get("audience") or None
    return secret, issuer, audience


def mint_token(config: ServiceConfig, sub: str, *, roles: Iterable[str] = (), scopes: Iterable[str] = (),
               ttl: int = 3600) -> str:
    """An HS256 JWT for sub with roles and scopes, valid for ttl seconds."""
    import jwt

    secret, issuer, audience = signing_settings(config)
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "iat": now, "nbf": now, "exp": now + ttl}
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    role_list = [r for role in roles for r in role.replace(",", " ").split()]
    if role_list:
        claims[config.auth.get("roles_claim", "roles")] = role_list
    scope_list = [s for scope in scopes for s in scope.split()]
    if scope_list:
        claims["scope"] = " ".join(scope_list)
    return jwt.encode(claims, secret, algorithm="HS256")
