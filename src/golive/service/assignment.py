"""Which function serves which route: one rule for `golive template`, `golive routes`, the local cloud and the
in-process server, so that what runs locally is what deploys."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from golive.service.config import ConfigError, ServiceConfig

PROXY_ROUTE = ("ANY", "/{proxy+}")  # what a handler golive cannot see into gets when golive.toml lists no routes
_KEY = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY)\s+(/\S*)$")


class Assigned(NamedTuple):
    """One route and the function serving it; `route` is the golive.App's Route, None for other handlers."""

    function: str
    method: str
    path: str
    route: Any

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def parse_key(key: str, where: str) -> tuple[str, str]:
    """'METHOD /path' (ANY allowed) as (method, path); ConfigError naming `where` otherwise."""
    match = _KEY.match(key.strip())
    if not match:
        raise ConfigError(f"{where}: route {key!r} must be 'METHOD /path', e.g. \"GET /users/{{id}}\" or "
                          f"\"ANY /{{proxy+}}\"")
    return match.group(1), normal_path(match.group(2))


def normal_path(path: str) -> str:
    """A route path without a trailing slash (API Gateway treats /a/ as /a)."""
    return path.rstrip("/") or "/" if len(path) > 1 else path


def assign_routes(config: ServiceConfig, apps: dict[str, Any]) -> list[Assigned]:
    """Every route of the service with the one function serving it, in golive.toml's order of functions.

    - A function listing `routes` in golive.toml serves exactly those (its golive.App must declare each).
    - Otherwise a function serves its golive.App's routes; an App several functions run is split by the
      `function=` each route names.
    - A handler not written with golive serves its listed routes, else every path (ANY /{proxy+}).
    - Lambda authorizer functions serve no route. A route two functions claim is an error, except the public
      GET /health every App has: the first function answers it.
    `apps` maps function names to their golive.App (absent or None for other handlers)."""
    from golive.service.auth import authorizer_functions

    skipped = authorizer_functions(config)
    runners: dict[int, int] = {}
    for name, app in apps.items():
        if app is not None and name not in skipped:
            runners[id(app)] = runners.get(id(app), 0) + 1
    owners: dict[str, str] = {}
    assigned: list[Assigned] = []
    for name, function in config.functions.items():
        if name in skipped:
            continue
        app = apps.get(name)
        where = f"{config.root / 'golive.toml'} [functions.{name}]"
        chosen: list[tuple[str, str, Any]] = []
        if function.routes:
            wanted = [parse_key(key, where) for key in function.routes]
            if app is None:
                chosen = [(method, path, None) for method, path in wanted]
            else:
                declared = {(route.method, normal_path(route.path)): route for route in app.routes}
                missing = [f"{method} {path}" for method, path in wanted if (method, path) not in declared]
                if missing:
                    raise ConfigError(f"[functions.{name}] routes lists {', '.join(sorted(missing))}, which its app "
                                      f"does not declare; run `golive routes` to see the route keys")
                chosen = [(method, path, declared[method, path]) for method, path in wanted]
        elif app is None:
            chosen = [(*PROXY_ROUTE, None)]
        else:
            shared = runners.get(id(app), 0) > 1
            chosen = [(route.method, normal_path(route.path), route) for route in app.routes
                      if not shared or route.function == name]
        for method, path, route in chosen:
            key = f"{method} {path}"
            if key in owners:
                if key == "GET /health" and route is not None and route.public:
                    continue
                raise ConfigError(f"route {key} is served by functions {owners[key]} and {name}; "
                                  f"list it in the routes of only one [functions.*]")
            owners[key] = name
            assigned.append(Assigned(name, method, path, route))
    return assigned
