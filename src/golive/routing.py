"""The route table and its compiled router: static paths by dict, parameterised paths by regex."""

from __future__ import annotations

import re
from collections.abc import Callable

from golive.errors import MethodNotAllowed, NotFound

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}")


class Route:
    """One method on one path, with everything golive derives from it (validation, auth, OpenAPI, alarms)."""

    # A plain class, not a dataclass: dataclasses imports inspect (~10 ms of cold start).
    def __init__(
        self,
        method: str,
        path: str,
        handler: Callable[..., Any],
        name: str = "",
        summary: str = "",
        description: str = "",
        tags: list[str] | None = None,
        body: dict | None = None,  # JSON Schema of the request body
        query: dict | None = None,  # JSON Schema of the query-string object
        path_params: dict | None = None,  # JSON Schema of the path-parameter object
        headers: dict | None = None,  # JSON Schema of the (lower-cased) header object
        responses: dict[int, dict | None] | None = None,  # status -> JSON Schema (None: no body)
        public: bool = False,
        scopes: list[str] | None = None,
        roles: list[str] | None = None,
        auth: Any = None,  # per-route authenticator overriding the app's
        cache_control: str | None = None,
        content_types: list[str] | None = None,
        block_threats: bool | None = None,  # None: the app's setting
        throttle: dict | None = None,  # {"rate": req/s, "burst": n} for the gateway and the template
        function: str = "api",  # the golive.toml function serving this route
    ) -> None:
        self.method = method
        self.path = path
        self.handler = handler
        self.name = name
        self.summary = summary
        self.description = description
        self.tags = list(tags or [])
        self.body = body
        self.query = query
        self.path_params = path_params
        self.headers = headers
        self.responses = dict(responses or {})
        self.public = public
        self.scopes = list(scopes or [])
        self.roles = list(roles or [])
        self.auth = auth
        self.cache_control = cache_control
        self.content_types = list(content_types or ["application/json"])
        self.block_threats = block_threats
        self.throttle = throttle
        self.function = function

    def __repr__(self) -> str:
        return f"<Route {self.key}>"

    @property
    def key(self) -> str:
        """`METHOD /path`, the route's identity in logs, metrics and alarms."""
        return f"{self.method} {self.path}"

    @property
    def param_names(self) -> list[str]:
        return [m.group(1) for m in _PARAM.finditer(self.path)]


def _compile(path: str) -> re.Pattern[str]:
    pattern, pos = "", 0
    for match in _PARAM.finditer(path):
        pattern += re.escape(path[pos : match.start()])
        name, greedy = match.group(1), match.group(2)
        pattern += f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"
        pos = match.end()
    pattern += re.escape(path[pos:])
    return re.compile(f"^{pattern}$")


def _specificity(path: str) -> tuple[int, ...]:
    """Sort key, most specific first: segment by segment from the left, a literal beats a partly literal
    segment ({name}.json), which beats a bare parameter, which beats a greedy one (API Gateway's order)."""
    ranks = []
    for segment in path.strip("/").split("/"):
        if "+}" in segment:
            ranks.append(3)
        elif _PARAM.fullmatch(segment):
            ranks.append(2)
        elif "{" in segment:
            ranks.append(1)
        else:
            ranks.append(0)
    return tuple(ranks)


class Router:
    """Matches (method, path) to a Route; raises NotFound or MethodNotAllowed (with Allow)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._static: dict[str, dict[str, Route]] = {}
        self._dynamic: list[tuple[re.Pattern[str], dict[str, Route]]] = []
        self._rank: dict[str, tuple[int, ...]] = {}  # pattern -> specificity of the path that made it
        self._shapes: dict[str, str] = {}  # path with parameter names erased -> the path declared first

    def add(self, route: Route) -> None:
        if route.method not in HTTP_METHODS:
            raise ValueError(f"{route.method} is not an HTTP method golive routes ({', '.join(HTTP_METHODS)})")
        if not route.path.startswith("/"):
            raise ValueError(f"route path {route.path!r} must start with '/'")
        for existing in self.routes:
            if existing.method == route.method and existing.path == route.path:
                raise ValueError(f"route {route.key} is declared twice")
        shape = _PARAM.sub(lambda m: "{+}" if m.group(2) else "{}", route.path)
        first = self._shapes.setdefault(shape, route.path)
        if first != route.path:
            # Two spellings of one path would split its methods between two patterns (and 405 the other half).
            raise ValueError(f"route {route.key} names its parameters differently from {first}; use the same names")
        self.routes.append(route)
        if _PARAM.search(route.path):
            compiled = _compile(route.path)
            for pattern, methods in self._dynamic:
                if pattern.pattern == compiled.pattern:
                    methods[route.method] = route
                    break
            else:
                self._dynamic.append((compiled, {route.method: route}))
                self._rank[compiled.pattern] = _specificity(route.path)
                self._dynamic.sort(key=lambda item: self._rank[item[0].pattern])
        else:
            self._static.setdefault(route.path, {})[route.method] = route

    def methods_for(self, path: str) -> dict[str, Route]:
        """All routes on a concrete path, by method (empty when no path matches)."""
        found = self._static.get(path)
        if found is not None:
            return found
        for pattern, methods in self._dynamic:
            if pattern.match(path):
                return methods
        return {}

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        methods = self._static.get(path)
        params: dict[str, str] = {}
        if methods is None:
            for pattern, candidate in self._dynamic:
                found = pattern.match(path)
                if found:
                    methods = candidate
                    params = {k: _unquote(v) if "%" in v else v for k, v in found.groupdict().items()}
                    break
            else:
                raise NotFound(f"No route matches {path}")
        route = methods.get(method)
        if route is None and method == "HEAD":
            route = methods.get("GET")
        if route is None:
            raise MethodNotAllowed(allowed_methods(methods))
        return route, params


def allowed_methods(methods: dict[str, Route]) -> list[str]:
    allow = set(methods)
    if "GET" in allow:
        allow.add("HEAD")
    allow.add("OPTIONS")
    return sorted(allow)


def _unquote(value: str) -> str:
    from urllib.parse import unquote  # ~2 ms at import: only for percent-encoded path segments

    return unquote(value)
