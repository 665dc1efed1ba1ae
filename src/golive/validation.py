"""JSON Schema validation: compiled once per schema (lazily, or precompiled at package time) with field details."""

from __future__ import annotations

import json
from collections.abc import Callable

from golive.schema import EMAIL

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

# Name of the module `golive package` writes beside the handler with every route schema compiled to code.
PRECOMPILED_MODULE = "golive_validators"
_precompiled: dict[str, Callable[..., Any]] | None = None
# fastjsonschema's own "email" regex backtracks: a 16 kB string of dots took 0.5 s and a megabyte minutes, so one
# request could hold a function until its timeout. golive's is linear (golive.schema.EMAIL).
FORMATS = {"email": EMAIL.removesuffix("$") + r"\Z"}


class ValidationFailed(Exception):
    """Input (or output) broke its schema; `errors` lists each field and what is wrong with it."""

    def __init__(self, where: str, errors: list[dict[str, Any]]) -> None:
        self.where = where
        self.errors = errors
        super().__init__(f"{where}: " + "; ".join(f"{e['field'] or where} {e['message']}" for e in errors))


def schema_key(schema: dict) -> str:
    import hashlib  # only when a validator is first built

    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:20]


def _load_precompiled() -> dict[str, Callable[..., Any]]:
    global _precompiled
    if _precompiled is None:
        try:
            module = __import__(PRECOMPILED_MODULE)
            _precompiled = dict(getattr(module, "VALIDATORS", {}))
        except ImportError:
            _precompiled = {}
    return _precompiled


class Validator:
    """A schema's validation function, built on first call and reused for every later one."""

    __slots__ = ("_fn", "schema", "where")

    def __init__(self, schema: dict, where: str) -> None:
        self.schema = schema
        self.where = where
        self._fn: Callable[..., Any] | None = None

    def _build(self) -> Callable[..., Any]:
        key = schema_key(self.schema)
        fn = _load_precompiled().get(key)
        if fn is None:
            import fastjsonschema  # ~17 ms: paid on first validation, never at import

            fn = fastjsonschema.compile(self.schema, formats=FORMATS, fast_fail=False, use_default=True)
        self._fn = fn
        return fn

    def __call__(self, data: Any) -> Any:
        fn = self._fn or self._build()
        try:
            result = fn(data)
        except ValueError as exc:
            raise ValidationFailed(self.where, describe(exc)) from None
        return data if result is None else result


def describe(exc: Exception) -> list[dict[str, Any]]:
    """Field-level details from a fastjsonschema exception (single or collected)."""
    errors = getattr(exc, "errors", None) or [exc]
    details: list[dict[str, Any]] = []
    for error in errors:
        path = list(getattr(error, "path", []))[1:]  # drop the leading "data"
        rule = getattr(error, "rule", None)
        definition = getattr(error, "definition", None) or {}
        rule_value = definition.get(rule) if isinstance(definition, dict) and rule else None
        value = getattr(error, "value", None)
        if rule == "required" and isinstance(value, dict):
            for name in rule_value or []:
                if name not in value:
                    details.append(_detail([*path, name], "is required", rule))
            continue
        if rule == "additionalProperties" and isinstance(value, dict):
            allowed = set((definition.get("properties") or {}).keys())
            for name in value:
                if name not in allowed:
                    details.append(_detail([*path, name], "is not an allowed field", rule))
            continue
        details.append(_detail(path, _message(rule, rule_value, getattr(error, "message", str(error))), rule))
    return details or [_detail([], str(exc), None)]


def _detail(path: list[str], message: str, rule: str | None) -> dict[str, Any]:
    return {"field": ".".join(path), "pointer": "/" + "/".join(path), "message": message, "rule": rule}


def _message(rule: str | None, value: Any, fallback: str) -> str:
    messages = {
        "type": lambda v: f"must be of type {v if isinstance(v, str) else ' or '.join(v)}",
        "format": lambda v: f"must be a valid {v}",
        "minLength": lambda v: f"must be at least {_count(v, 'character')} long",
        "maxLength": lambda v: f"must be at most {_count(v, 'character')} long",
        "minimum": lambda v: f"must be greater than or equal to {v}",
        "maximum": lambda v: f"must be less than or equal to {v}",
        "exclusiveMinimum": lambda v: f"must be greater than {v}",
        "exclusiveMaximum": lambda v: f"must be less than {v}",
        "pattern": lambda v: f"must match the pattern {v}",
        "enum": lambda v: f"must be one of {', '.join(map(str, v))}",
        "const": lambda v: f"must be {v!r}",
        "minItems": lambda v: f"must have at least {_count(v, 'item')}",
        "maxItems": lambda v: f"must have at most {_count(v, 'item')}",
        "uniqueItems": lambda v: "must not contain duplicate items",
    }
    make = messages.get(rule or "")
    if make is not None:
        return make(value)
    # fastjsonschema's own text starts with the field name ("data.x must ..."): keep the predicate.
    return fallback.split(" ", 1)[1] if " " in fallback else fallback


def _count(number: object, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def coerce(schema: dict, values: dict[str, str], multi: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Convert string parameters (query, path, headers) to the types their schema declares."""
    properties = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for name, raw in values.items():
        prop = properties.get(name) or {}
        kind = prop.get("type")
        if kind == "array" or (isinstance(kind, list) and "array" in kind):
            items = (multi or {}).get(name) or [raw]
            item_kind = (prop.get("items") or {}).get("type")
            out[name] = [_scalar(item_kind, v) for v in items]
        else:
            out[name] = _scalar(kind, raw)
    return out


def _scalar(kind: Any, raw: str) -> Any:
    if isinstance(kind, list):  # e.g. ["integer", "null"]: the first type the text converts to
        for option in kind:
            if option == "null" and raw in ("", "null"):
                return None
            value = _scalar(option, raw)
            if value is not raw:
                return value
        return raw
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            value = float(raw)
            return value if value == value and value not in (float("inf"), float("-inf")) else raw
        if kind == "boolean":
            lowered = raw.lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
    except ValueError:
        pass
    return raw  # left as text: the schema reports the type error with the field's name


def precompile(schemas: list[dict]) -> str:
    """Python source of a stdlib-only module with one validator per schema (written by `golive package`)."""
    import fastjsonschema

    lines = ['"""Route schemas compiled to code by golive package; do not edit."""', "", "VALIDATORS = {}", ""]
    seen: set[str] = set()
    for index, schema in enumerate(schemas):
        key = schema_key(schema)
        if key in seen:
            continue
        seen.add(key)
        code = fastjsonschema.compile_to_code(schema, formats=FORMATS, fast_fail=False, use_default=True)
        code = code.replace("from fastjsonschema import", "from golive._schema_errors import")
        namespace = f"_v{index}"
        lines.append(f"def _build{index}():")
        lines.extend("    " + line if line else "" for line in code.splitlines())
        lines.append("    return validate")
        lines.append(f"{namespace} = _build{index}()")
        lines.append(f"VALIDATORS[{key!r}] = {namespace}")
        lines.append("")
    return "\n".join(lines) + "\n"
