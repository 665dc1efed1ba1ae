"""The gateway's route table: read from golive.toml and each golive.App (in a child process), matched like AWS.

Run as `python -m golive.local.apigw.routes SERVICE_DIR` it prints the table as JSON: the gateway never imports the
service's code itself, so a reload is a fresh read and the user's module-level side effects stay in their workers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from golive.service.assignment import assign_routes
from golive.service.assignment import normal_path as _normal
from golive.service.config import ConfigError, ServiceConfig

_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_.-]*)(\+?)\}$")


class RouteSpec:
    """One route the gateway serves: its key, the function behind it, and what the gateway enforces for it."""

    __slots__ = ("authenticated", "body", "function", "golive", "headers", "method", "path", "path_params", "public",
                 "query", "scopes", "throttle")

    def __init__(self, method: str, path: str, function: str, *, public: bool = False, throttle: dict | None = None,
                 body: dict | None = None, query: dict | None = None, path_params: dict | None = None,
                 headers: dict | None = None, scopes: list[str] | None = None, golive: bool = False,
                 authenticated: bool = False) -> None:
        self.method, self.path, self.function = method, path, function
        self.public, self.throttle, self.golive = public, throttle, golive
        self.authenticated = authenticated  # the function's golive.App checks an identity for this route
        self.body, self.query, self.path_params, self.headers = body, query, path_params, headers
        self.scopes = list(scopes or [])

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def __repr__(self) -> str:
        return f"<RouteSpec {self.key} -> {self.function}>"

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RouteSpec:
        return cls(data["method"], data["path"], data["function"],
                   **{k: v for k, v in data.items() if k not in ("method", "path", "function")})


class _Node:
    __slots__ = ("greedy", "literal", "methods", "param")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.param: tuple[str, _Node] | None = None
        self.greedy: tuple[str, dict[str, RouteSpec]] | None = None
        self.methods: dict[str, RouteSpec] = {}


class RouteTable:
    """Matches (method, path) to a route: literal segments before {param} before {proxy+}, and a method-specific
    route before ANY, as API Gateway selects them."""

    def __init__(self, routes: list[RouteSpec], failures: dict[str, str] | None = None) -> None:
        self.routes = list(routes)
        # functions whose handler failed to import while the table was read (served on their declared routes)
        self.failures = dict(failures or {})
        self._root = _Node()
        for route in self.routes:
            self._add(route)

    def _add(self, route: RouteSpec) -> None:
        node = self._root
        segments = [s for s in route.path.split("/")[1:] if s != ""]
        for index, segment in enumerate(segments):
            param = _PARAM.match(segment)
            if param and param.group(2):
                if index != len(segments) - 1:
                    raise ConfigError(f"route {route.key}: a greedy {{{param.group(1)}+}} must be the last segment")
                if node.greedy is None:
                    node.greedy = (param.group(1), {})
                self._put(node.greedy[1], route)
                return
            if param:
                if node.param is None:
                    node.param = (param.group(1), _Node())
                elif node.param[0] != param.group(1):
                    raise ConfigError(f"route {route.key}: {{{param.group(1)}}} conflicts with "
                                      f"{{{node.param[0]}}} at the same place in another route; use one name")
                node = node.param[1]
            else:
                node = node.literal.setdefault(segment, _Node())
        self._put(node.methods, route)

    @staticmethod
    def _put(methods: dict[str, RouteSpec], route: RouteSpec) -> None:
        if route.method in methods:
            raise ConfigError(f"route {route.key} is declared twice (functions {methods[route.method].function} "
                              f"and {route.function}); keep one")
        methods[route.method] = route

    def match(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
        """The route serving METHOD path with its (decoded) path parameters, or None."""
        path = _normal(path)
        segments = path.split("/")[1:] if path != "/" else []
        return _walk(self._root, segments, 0, method, {})

    def has_path(self, path: str) -> bool:
        """Whether any route (any method) serves this path: REST answers preflights only on existing resources."""
        path = _normal(path)
        segments = path.split("/")[1:] if path != "/" else []
        return any(_walk(self._root, segments, 0, method, {}) for method in ("ANY", *_METHODS))

    def methods_for(self, path: str) -> list[str]:
        path = _normal(path)
        segments = path.split("/")[1:] if path != "/" else []
        found = [m for m in _METHODS if _walk(self._root, segments, 0, m, {}) is not None]
        return found


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _pick(methods: dict[str, RouteSpec], method: str) -> RouteSpec | None:
    return methods.get(method) or methods.get("ANY")


def _walk(node: _Node, segments: list[str], index: int, method: str,
          params: dict[str, str]) -> tuple[RouteSpec, dict[str, str]] | None:
    if index == len(segments):
        route = _pick(node.methods, method)
        if route is not None:
            return route, params
    else:
        segment = segments[index]
        child = node.literal.get(segment)
        if child is not None:
            found = _walk(child, segments, index + 1, method, params)
            if found:
                return found
        if node.param is not None and segment:
            name, child = node.param
            found = _walk(child, segments, index + 1, method, {**params, name: _decode(segment)})
            if found:
                return found
    if node.greedy is not None and index < len(segments):
        name, methods = node.greedy
        route = _pick(methods, method)
        rest = "/".join(segments[index:])
        if route is not None and rest:
            return route, {**params, name: _decode(rest)}
    return None


def _decode(value: str) -> str:
    return unquote(value) if "%" in value else value


# -- reading the table ---------------------------------------------------------------------------------------------
def extract(config: ServiceConfig, failures: dict[str, str] | None = None) -> list[RouteSpec]:
    """Every route of the service, assigned to functions as `golive template` assigns them (assignment.py);
    `failures` collects the import errors of handlers served on the routes golive.toml declares for them."""
    from golive.service.auth import authorizer_functions
    from golive.service.loading import LoadError, load_function

    apps: dict[str, Any] = {}
    skipped = authorizer_functions(config)
    functions = {name: f for name, f in config.functions.items() if name not in skipped}
    for name, function in functions.items():
        try:
            apps[name] = load_function(config, function)[1]
        except LoadError as exc:
            if not function.routes:
                raise ConfigError(f"{exc}; or declare its routes in golive.toml (routes = [\"ANY /{{proxy+}}\"])"
                                  ) from None
            apps[name] = None  # declared routes are enough to serve it; its worker reports the import error
            if failures is not None:
                failures[name] = str(exc)
    return [spec_of(item.route, item.function, apps[item.function]) if item.route is not None
            else RouteSpec(item.method, item.path, item.function)
            for item in assign_routes(config, apps)]


def spec_of(route: Any, function: str, app: Any) -> RouteSpec:
    """A golive.App's Route as the gateway serves it."""
    return RouteSpec(route.method, _normal(route.path), function, public=route.public, throttle=route.throttle,
                     body=route.body, query=route.query, path_params=route.path_params, headers=route.headers,
                     scopes=route.scopes, golive=True,
                     authenticated=not route.public and (route.auth is not None or bool(app.authenticators)))


def load(config: ServiceConfig, timeout: float = 60.0) -> RouteTable:
    """The service's route table, read by a child Python so this process never imports the service's code."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        result = subprocess.run([sys.executable, "-m", "golive.local.apigw.routes", str(config.root)],
                                capture_output=True, text=True, timeout=timeout, cwd=str(config.root), env=env)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"reading the routes of {config.root} took over {timeout:.0f} s; "
                          f"does a handler module block at import?") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise ConfigError(lines[-1] if lines else f"reading the routes of {config.root} failed "
                                                  f"(exit {result.returncode})")
    read = json.loads(result.stdout.strip().splitlines()[-1])
    return RouteTable([RouteSpec.from_json(item) for item in read["routes"]], read["failures"])


def main(argv: list[str]) -> int:
    from golive.service.config import load_config

    try:
        config = load_config(argv[0])
        failures: dict[str, str] = {}
        specs = extract(config, failures)
        RouteTable(specs)  # conflicts surface here, as one line
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    # Handlers may print at import: the table is the last stdout line.
    table = {"routes": [spec.to_json() for spec in specs], "failures": failures}
    sys.stdout.write("\n" + json.dumps(table, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
