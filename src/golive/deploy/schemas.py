"""JSON Schema 2020-12 (the route table's dialect) to the draft-04 subset API Gateway models accept.

The gateway must never reject what the function accepts, so a keyword draft-04 cannot express is dropped (the
gateway check gets looser, the function still enforces it) and every drop is reported. Local $refs are inlined:
API Gateway models cannot point inside themselves.
"""

from __future__ import annotations

import copy
from typing import Any

DRAFT4 = "http://json-schema.org/draft-04/schema#"
_SAME = ("type", "enum", "multipleOf", "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems",
         "maxProperties", "minProperties", "title", "description", "default")
_FORMATS = {"date-time", "email", "hostname", "ipv4", "ipv6", "uri"}  # the formats draft-04 defines
_SILENT = {"$schema", "$id", "$comment", "$defs", "definitions", "examples", "deprecated", "readOnly", "writeOnly",
           "$anchor"}  # annotations: dropping them changes nothing a validator does
MAX_DEPTH = 32


class Conversion:
    """One schema's conversion; `dropped` lists 'path: keyword (why)' for each constraint the gateway will not check."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.dropped: list[str] = []

    def convert(self, schema: Any, path: str = "#", depth: int = 0, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        if schema is True or schema == {}:
            return {}
        if schema is False:
            return {"not": {}}
        if not isinstance(schema, dict):
            self.dropped.append(f"{path}: not a schema ({type(schema).__name__})")
            return {}
        if depth > MAX_DEPTH:
            self.dropped.append(f"{path}: nested deeper than {MAX_DEPTH} levels (accepted as is)")
            return {}
        if "$ref" in schema:
            target = schema["$ref"]
            if target in seen:
                self.dropped.append(f"{path}: recursive $ref {target} (accepted as is)")
                return {}
            resolved = self._resolve(target)
            if resolved is None:
                self.dropped.append(f"{path}: $ref {target} (only local #/$defs refs are inlined)")
                return {}
            rest = {k: v for k, v in schema.items() if k != "$ref" and k not in _SILENT}
            inlined = self.convert(resolved, path, depth + 1, (*seen, target))
            if not rest:
                return inlined
            # 2020-12 allows keywords beside $ref; both must hold.
            return {"allOf": [inlined, self.convert(rest, path, depth + 1, seen)]}
        out: dict[str, Any] = {}
        for key in _SAME:
            if key in schema:
                out[key] = copy.deepcopy(schema[key])
        if "const" in schema:
            out["enum"] = [copy.deepcopy(schema["const"])]
        if schema.get("required"):
            out["required"] = list(schema["required"])  # draft-04 forbids an empty list
        if "format" in schema:
            if schema["format"] in _FORMATS:
                out["format"] = schema["format"]
            else:
                self.dropped.append(f"{path}: format {schema['format']} (not a draft-04 format)")
        self._bounds(schema, out)
        for key in ("properties", "patternProperties"):
            if key in schema:
                out[key] = {name: self.convert(sub, f"{path}/{key}/{name}", depth + 1, seen)
                            for name, sub in schema[key].items()}
        for key in ("additionalProperties", "not"):
            if key in schema:
                value = schema[key]
                out[key] = value if key == "additionalProperties" and isinstance(value, bool) else self.convert(
                    value, f"{path}/{key}", depth + 1, seen)
        if "prefixItems" in schema:
            out["items"] = [self.convert(s, f"{path}/prefixItems/{i}", depth + 1, seen)
                            for i, s in enumerate(schema["prefixItems"])]
            if "items" in schema:
                rest = schema["items"]
                out["additionalItems"] = rest if isinstance(rest, bool) else self.convert(
                    rest, f"{path}/items", depth + 1, seen)
        elif "items" in schema:
            out["items"] = self.convert(schema["items"], f"{path}/items", depth + 1, seen)
        for key in ("allOf", "anyOf", "oneOf"):
            if key in schema:
                out[key] = [self.convert(s, f"{path}/{key}/{i}", depth + 1, seen) for i, s in enumerate(schema[key])]
        dependencies: dict[str, Any] = {}
        for name, needed in (schema.get("dependentRequired") or {}).items():
            if needed:
                dependencies[name] = list(needed)
        for name, sub in (schema.get("dependentSchemas") or {}).items():
            dependencies[name] = self.convert(sub, f"{path}/dependentSchemas/{name}", depth + 1, seen)
        if dependencies:
            out["dependencies"] = dependencies
        if "if" in schema:
            # if/then/else is exactly (if AND then) OR (NOT if AND else), which draft-04 can say.
            condition = self.convert(schema["if"], f"{path}/if", depth + 1, seen)
            then = self.convert(schema.get("then", True), f"{path}/then", depth + 1, seen)
            otherwise = self.convert(schema.get("else", True), f"{path}/else", depth + 1, seen)
            out.setdefault("allOf", []).append({"anyOf": [{"allOf": [condition, then]},
                                                           {"allOf": [{"not": condition}, otherwise]}]})
        handled = {*_SAME, *_SILENT, "const", "required", "format", "exclusiveMinimum", "exclusiveMaximum", "minimum",
                   "maximum", "properties", "patternProperties", "additionalProperties", "not", "prefixItems", "items",
                   "allOf", "anyOf", "oneOf", "dependentRequired", "dependentSchemas", "if", "then", "else"}
        for key in schema:
            if key not in handled:
                self.dropped.append(f"{path}: {key} (no draft-04 equivalent)")
        return out

    def _bounds(self, schema: dict[str, Any], out: dict[str, Any]) -> None:
        # 2020-12 exclusive bounds are numbers; draft-04's are booleans qualifying minimum/maximum.
        for bound, exclusive, stricter in (("minimum", "exclusiveMinimum", max), ("maximum", "exclusiveMaximum", min)):
            inclusive_value = schema.get(bound)
            exclusive_value = schema.get(exclusive)
            if isinstance(exclusive_value, bool):  # already draft-04 style
                exclusive_value = inclusive_value if exclusive_value else None
                inclusive_value = None if exclusive_value is not None else inclusive_value
            if exclusive_value is not None and (inclusive_value is None
                                                or stricter(exclusive_value, inclusive_value) == exclusive_value):
                out[bound] = exclusive_value
                out[exclusive] = True
            elif inclusive_value is not None:
                out[bound] = inclusive_value

    def _resolve(self, target: str) -> Any:
        if not target.startswith("#"):
            return None
        node: Any = self.root
        for part in target[1:].split("/")[1:] if target != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node


def to_draft4(schema: dict[str, Any], title: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """(API Gateway model schema, the constraints it leaves to the function)."""
    conversion = Conversion(schema)
    converted = conversion.convert(schema)
    model = {"$schema": DRAFT4, **({"title": title} if title else {}), **converted}
    return model, conversion.dropped
