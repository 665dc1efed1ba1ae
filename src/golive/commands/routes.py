"""`golive routes`: the service's route table — method, path, function, auth, body schema and summary."""

from __future__ import annotations

import argparse
import json
from typing import Any

COLUMNS = ("METHOD", "PATH", "FUNCTION", "AUTH", "BODY", "SUMMARY")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", nargs="?", default=".", metavar="SERVICE_DIR",
                        help="folder holding golive.toml (default: the current folder)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")


def run(args: argparse.Namespace) -> int:
    from golive.local.devserver import load_targets
    from golive.service.assignment import assign_routes
    from golive.service.config import load_config

    config = load_config(args.service_dir)
    targets = load_targets(config)
    apps = {name: target.app for name, target in targets.items() if target.app is not None}
    assigned = assign_routes(config, apps)
    rows = [_row(item.function, item.route, apps[item.function]) for item in assigned if item.route is not None]
    # Functions not written with golive.App: the routes golive.toml lists for them (else every path), as deployed.
    rows += [{"method": item.method, "path": item.path, "function": item.function,
              "auth": {"public": None, "scopes": [], "roles": [], "text": "handler's own"}, "body": False,
              "summary": "not a golive.App: routes from golive.toml" if config.functions[item.function].routes
              else "not a golive.App: routes unknown"}
             for item in assigned if item.route is None]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        print(_table(rows))
    return 0


def _row(function: str, route: Any, app: Any) -> dict[str, Any]:
    return {
        "method": route.method,
        "path": route.path,
        "function": function,
        "name": route.name,
        "auth": {"public": route.public, "scopes": list(route.scopes), "roles": list(route.roles),
                 "text": auth_text(route, app)},
        "body": route.body is not None,
        "summary": route.summary,
    }


def auth_text(route: Any, app: Any) -> str:
    """public, the scopes and roles a route requires, 'authenticated', or 'none' when the app checks nothing."""
    if route.public:
        return "public"
    parts = []
    if route.scopes:
        parts.append("scopes " + ",".join(route.scopes))
    if route.roles:
        parts.append("roles " + ",".join(route.roles))
    if parts:
        return " or ".join(parts)
    return "authenticated" if route.auth is not None or app.authenticators else "none"


def _table(rows: list[dict[str, Any]]) -> str:
    cells = [COLUMNS] + [(r["method"], r["path"], r["function"], r["auth"]["text"], "yes" if r["body"] else "no",
                          r["summary"] or "") for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
             for row in cells]
    return "\n".join(line.rstrip() for line in lines)
