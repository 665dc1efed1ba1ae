"""The deployable view of a service: golive.toml joined with each function's route table, under stable names."""

from __future__ import annotations

import ast
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from golive.deploy.cfn import logical_id
from golive.routing import Route
from golive.service.assignment import PROXY_ROUTE, assign_routes
from golive.service.config import ConfigError, FunctionConfig, ServiceConfig
from golive.service.loading import load_apps_isolated
from golive.service.quotas import integration_limit_s

SKIP_DIRS = {"tests", "test", ".golive", ".venv", "venv", "dist", "build", "node_modules", "__pycache__", ".git"}


@dataclass
class DeployRoute:
    """One route as deployed: the function serving it and its name in the template."""

    route: Route
    function: str
    logical: str

    @property
    def key(self) -> str:
        return self.route.key

    @property
    def method(self) -> str:
        return self.route.method

    @property
    def path(self) -> str:
        return self.route.path


@dataclass
class Service:
    config: ServiceConfig
    stage: str
    routes: list[DeployRoute]
    custom_metrics: list[str] = field(default_factory=list)
    validate_responses: bool = True

    @property
    def name(self) -> str:
        return self.config.service

    @property
    def api_type(self) -> str:
        return self.config.api_type

    @property
    def functions(self) -> dict[str, FunctionConfig]:
        return self.config.functions

    def routes_of(self, function: str) -> list[DeployRoute]:
        return [r for r in self.routes if r.function == function]


def function_id(name: str) -> str:
    return logical_id(name, "Function")


def table_id(name: str) -> str:
    return logical_id(name, "Table")


def load_service(config: ServiceConfig, stage: str | None = None) -> Service:
    """Import every function's app and assign each route to exactly one function."""
    apps = load_apps_isolated(config)
    owner: dict[str, str] = {}
    chosen: dict[str, Route] = {}
    for item in assign_routes(config, apps):
        # A handler not written with golive has no route table: it gets the routes golive.toml lists for it,
        # else every path (ANY /{proxy+}).
        route = item.route or Route(item.method, item.path, handler=_no_route_table,
                                    name="proxy" if (item.method, item.path) == PROXY_ROUTE else "",
                                    function=item.function)
        owner[item.key] = item.function
        chosen[item.key] = route
    deploy_routes: list[DeployRoute] = []
    used: set[str] = set()
    for key, route in chosen.items():
        base = logical_id(route.method, route.path)
        name, n = base, 2
        while name in used:
            name, n = f"{base}{n}", n + 1
        used.add(name)
        deploy_routes.append(DeployRoute(route, owner[key], name))
    for name, function in config.functions.items():
        limit = integration_limit_s(config.api_type)
        if any(r.function == name for r in deploy_routes) and math.ceil(function.timeout) >= limit:
            raise ConfigError(f"[functions.{name}] timeout is {function.timeout:g} s, but API Gateway gives up at "
                              f"{limit:g} s; set timeout below {limit:g} (3 for user-facing routes)")
    metrics = sorted(set(find_custom_metrics(config.root)) | set(_listed_metrics(config)))
    validate = all(getattr(app, "validate_responses", True) for app in apps.values())
    return Service(config, stage or config.stage, deploy_routes, metrics, validate)


def _no_route_table(request: Any) -> None:
    """Stands for a handler golive cannot see into (it serves whatever API Gateway sends it)."""


def is_proxy(route: Route) -> bool:
    return route.handler is _no_route_table


def _listed_metrics(config: ServiceConfig) -> list[str]:
    listed = (config.raw.get("dashboard") or {}).get("metrics") or []
    if not isinstance(listed, list) or not all(isinstance(m, str) for m in listed):
        raise ConfigError('golive.toml: [dashboard] metrics must be a list of metric names, e.g. ["UserCreated"]')
    return listed


def service_sources(root: Path) -> list[Path]:
    """The service's own Python files (not its tests, virtualenvs or build output)."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        found.extend(Path(folder) / f for f in sorted(files) if f.endswith(".py"))
    return found


def find_custom_metrics(root: Path) -> list[str]:
    """Names passed to metrics.add("Name") (golive) or add_metric(name="Name") (Powertools) in the service code."""
    names: list[str] = []
    for path in service_sources(root):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(
                owner, ast.Attribute) else ""
            if node.func.attr == "add" and owner_name == "metrics" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.append(first.value)
            elif node.func.attr == "add_metric":
                for keyword in node.keywords:
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                        names.append(str(keyword.value.value))
    return names
