"""`golive token`: mint a development JWT (HS256, the service's dev secret) that golive dev accepts."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable

from golive.service.config import ServiceConfig, load_config

MAX_TTL = 30 * 24 * 3600


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", nargs="?", default=".", metavar="SERVICE_DIR",
                        help="folder holding golive.toml (default: the current folder)")
    parser.add_argument("--sub", required=True, help="the subject (user id) the token speaks for")
    parser.add_argument("--role", action="append", default=[], dest="roles", metavar="ROLE",
                        help="a role claim, e.g. admin (repeatable)")
    parser.add_argument("--scope", action="append", default=[], dest="scopes", metavar="SCOPE",
                        help="an OAuth scope, e.g. users:read (repeatable)")
    parser.add_argument("--ttl", type=int, default=3600, metavar="SECONDS", help="lifetime in seconds (default 3600)")


def run(args: argparse.Namespace) -> int:
    from golive.cli import CLIError

    if not args.sub.strip():
        raise CLIError("--sub must not be empty; pass the user id, e.g. --sub alice")
    if not 0 < args.ttl <= MAX_TTL:
        raise CLIError(f"--ttl must be between 1 and {MAX_TTL} seconds")
    config = load_config(args.service_dir)
    if not config.auth:
        print(f"golive token: warning: {args.service_dir}/golive.toml has no [auth] section, so the service "
              f"does not check tokens", file=sys.stderr)
    print(mint_token(config, args.sub, roles=args.roles, scopes=args.scopes, ttl=args.ttl))
    return 0


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
