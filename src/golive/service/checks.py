"""Load-time checks of a golive.App's route table: mistakes become one line when the service loads, not wrong answers
at request time (the same for dev, routes, openapi, template, check, package and invoke)."""

from __future__ import annotations

import inspect
from typing import Any

from golive.service.config import ConfigError

_SLOTS = ("body", "query", "path_params", "headers")


def check_app(app: Any, function: str) -> None:
    """Raise ConfigError (one line naming the route and what to fix) for the first broken route of a golive.App."""
    for route in app.routes:
        where = f"[functions.{function}] route {route.key}"
        for slot in _SLOTS:
            schema = getattr(route, slot)
            if schema is not None:
                check_schema(schema, f"{where}: the {slot} schema")
        for status, schema in route.responses.items():
            if schema is not None:
                check_schema(schema, f"{where}: the response {status} schema")
        check_signature(route, where)


def check_schema(schema: Any, where: str) -> None:
    """A JSON Schema checked against its metaschema (draft 2020-12 unless it names another in $schema)."""
    if not isinstance(schema, dict):
        raise ConfigError(f"{where} must be a JSON Schema object, not {type(schema).__name__}")
    try:
        from jsonschema import validators
        from jsonschema.exceptions import best_match
    except ImportError:  # a runtime-only install: fastjsonschema's compiler still catches unknown keywords' values
        _compile_check(schema, where)
        return
    checker = validators.validator_for(schema, default=validators.Draft202012Validator)
    error = best_match(checker(checker.META_SCHEMA).iter_errors(schema))
    if error is not None:
        location = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        keyword = next((str(part) for part in reversed(error.absolute_path) if isinstance(part, str)), location)
        raise ConfigError(f"{where} is not valid JSON Schema: keyword {keyword!r} at {location}: {error.message}; "
                          f"fix the schema")
    _compile_check(schema, where)


def _compile_check(schema: dict[str, Any], where: str) -> None:
    import fastjsonschema

    try:
        fastjsonschema.compile(schema)
    except fastjsonschema.JsonSchemaDefinitionException as exc:
        raise ConfigError(f"{where} cannot be compiled: {exc}; fix the schema") from None


def check_signature(route: Any, where: str) -> None:
    """Path parameters arrive as keyword arguments: the handler must name each one (or take **params)."""
    params = route.param_names
    try:
        signature = inspect.signature(route.handler)
    except (TypeError, ValueError):
        return  # a builtin or C callable: nothing to compare
    arguments = list(signature.parameters.values())
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in arguments):
        return
    named = [p for p in arguments[1:] if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                     inspect.Parameter.KEYWORD_ONLY)]
    names = {p.name for p in named}
    name = getattr(route.handler, "__name__", "handler")
    missing = [p for p in params if p not in names]
    if missing:
        wanted = ", ".join(["req", *params])
        raise ConfigError(f"{where}: {name}() does not take the path parameter{'s' if len(missing) > 1 else ''} "
                          f"{', '.join(missing)}; declare def {name}({wanted}) or take **params")
    unknown = [p.name for p in named if p.name not in params and p.default is inspect.Parameter.empty]
    if unknown:
        raise ConfigError(f"{where}: {name}() takes {', '.join(unknown)}, which the path does not declare; "
                          f"name it after a {{param}} of the path or give it a default")
