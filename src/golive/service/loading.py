"""One way to load a service's handlers and their golive.Apps: in this process, or isolated from it."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from golive.service.checks import check_app
from golive.service.config import ConfigError, FunctionConfig, ServiceConfig


def load_handler(config: ServiceConfig, function: FunctionConfig, apply_env: bool = True) -> Any:
    """Import a function's handler from the service directory (with its local environment applied)."""
    if apply_env:
        for key, value in config.local_environment(function).items():
            os.environ.setdefault(key, value)
    root = str(config.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(function.module)
    except ModuleNotFoundError as exc:
        if exc.name and function.module.startswith(exc.name):
            raise ConfigError(f"[functions.{function.name}] handler module {function.module!r} not found in "
                              f"{config.root}; check the handler setting in golive.toml") from None
        raise
    target = getattr(module, function.attribute, None)
    if target is None:
        raise ConfigError(f"{function.module}.py has no {function.attribute!r}; "
                          f"expose it or change [functions.{function.name}] handler")
    return target


def load_app(config: ServiceConfig, function: FunctionConfig) -> Any:
    """The golive.App behind a function's handler, or None for handlers not written with golive."""
    from golive.app import App

    target = load_handler(config, function)
    owner = getattr(target, "__self__", None)
    app = owner if isinstance(owner, App) else target if isinstance(target, App) else None
    if app is None:
        module = sys.modules[function.module]
        app = next((value for value in vars(module).values() if isinstance(value, App)), None)
    if app is not None:
        check_app(app, function.name)
    return app


def load_apps(config: ServiceConfig) -> dict[str, Any]:
    """Function name -> golive.App for every function written with golive."""
    apps = {}
    for name, function in config.functions.items():
        app = load_app(config, function)
        if app is not None:
            apps[name] = app
    return apps


def failure_location(exc: BaseException, config: ServiceConfig) -> str:
    """' (file:line)' of the service's own line that raised exc while importing, or '' when unknown."""
    import traceback

    if isinstance(exc, SyntaxError) and exc.filename:
        return f" ({exc.filename}:{exc.lineno})"
    root = str(config.root)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(root)]
    return f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
