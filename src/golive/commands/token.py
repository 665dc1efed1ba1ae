"""`golive token`: mint a development JWT (HS256, the service's dev secret) that golive dev accepts."""

from __future__ import annotations

import argparse
import sys

from golive.service.config import load_config
from golive.service.tokens import mint_token

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
