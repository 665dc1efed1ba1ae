"""One way to load a service's handlers and their golive.Apps: in this process, or isolated from it."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

from golive.service.checks import check_app
from golive.service.config import ConfigError, FunctionConfig, ServiceConfig


class LoadError(ConfigError):
    """A handler's module failed to import or run its top level; the message names the function and the line."""


def load_function(config: ServiceConfig, function: FunctionConfig) -> tuple[Any, Any]:
    """(handler, golive.App or None) of one function, loaded in this process with its local environment; any
    failure is one ConfigError line (LoadError when the service's own code raised)."""
    try:
        handler = load_handler(config, function)
        app = load_app(config, function)
    except ConfigError:
        raise
    except Exception as exc:
        if os.environ.get("GOLIVE_DEBUG"):
            raise
        raise LoadError(f"[functions.{function.name}] handler {function.handler} failed to load: "
                        f"{type(exc).__name__}: {exc}{failure_location(exc, config)}; fix it and run again "
                        f"(GOLIVE_DEBUG=1 shows the traceback)") from None
    if not callable(handler):
        raise ConfigError(f"[functions.{function.name}] handler {function.handler} is not callable; "
                          f"point it at a function handler(event, context)")
    return handler, app


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


def load_apps_isolated(config: ServiceConfig) -> dict[str, Any]:
    """load_apps, without leaking into the process: several services may share module names (`handler`)."""
    root = config.root.resolve()
    own = {p.stem for p in root.glob("*.py")} | {
        p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}

    def elsewhere(module: Any) -> bool:
        path = getattr(module, "__file__", None)
        if not path:
            return False
        return root not in Path(path).resolve().parents

    # Same-named modules imported from elsewhere step aside while this service imports, then come back.
    displaced = {name: module for name, module in list(sys.modules.items())
                 if name.split(".")[0] in own and elsewhere(module)}
    for name in displaced:
        del sys.modules[name]
    saved_path, saved_env = list(sys.path), dict(os.environ)
    sys.path.insert(0, str(root))
    try:
        return load_apps(config)
    finally:
        sys.path[:] = saved_path
        os.environ.clear()  # importing applied the function's local environment
        os.environ.update(saved_env)
        if displaced:
            tops = {name.split(".")[0] for name in displaced}
            for name in [n for n in sys.modules if n.split(".")[0] in tops]:
                del sys.modules[name]
            sys.modules.update(displaced)
