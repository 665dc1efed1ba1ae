"""Exception classes for precompiled validators, so packaged functions never import fastjsonschema."""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

_SPLIT = re.compile(r"[\.\[\]]+")


class JsonSchemaValueException(ValueError):
    """One schema violation (same attributes as fastjsonschema's, which generated the code)."""

    def __init__(self, message: str, value: Any = None, name: str | None = None,
                 definition: Any = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.message, self.value, self.name, self.definition, self.rule = message, value, name, definition, rule

    @property
    def path(self) -> list[str]:
        return [item for item in _SPLIT.split(self.name or "") if item]

    @property
    def rule_definition(self) -> Any:
        return self.definition.get(self.rule) if self.rule and isinstance(self.definition, dict) else None


class JsonSchemaValuesException(ValueError):
    """Every violation found when validating without fast-fail."""

    def __init__(self, errors: list[JsonSchemaValueException]) -> None:
        self.errors = errors
        self.message = "; ".join(error.message for error in errors)
        super().__init__(self.message)
