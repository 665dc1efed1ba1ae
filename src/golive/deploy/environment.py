"""Function environment for production: secrets become SSM / Secrets Manager references, never inlined values."""

from __future__ import annotations

import re
from typing import Any

from golive.service.config import ConfigError

_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|TOKEN|API_?KEY|ACCESS_KEY", re.IGNORECASE)


def reference(value: str) -> str | None:
    """The CloudFormation dynamic reference for "ssm:/path" or "secretsmanager:name[:json-key]", else None."""
    if value.startswith("{{resolve:"):
        return value
    if value.startswith("ssm:"):
        return "{{resolve:ssm:" + value[4:] + "}}"
    if value.startswith("secretsmanager:"):
        name, _, key = value[len("secretsmanager:"):].partition(":")
        return "{{resolve:secretsmanager:" + name + (f":SecretString:{key}" if key else "") + "}}"
    return None


def production_value(where: str, name: str, value: Any) -> Any:
    """One environment value as the template carries it; a literal secret is an error, not a warning."""
    if isinstance(value, dict):  # an intrinsic golive built itself (a table name)
        return value
    text = str(value)
    resolved = reference(text)
    if resolved is not None:
        return resolved
    if _SECRET_NAME.search(name) and text:
        raise ConfigError(f"{where}.{name} looks like a secret but is written inline; store it in SSM or Secrets "
                          f"Manager and write \"ssm:/path\" or \"secretsmanager:name\" instead")
    return text


def production_environment(where: str, values: dict[str, Any]) -> dict[str, Any]:
    return {name: production_value(where, name, value) for name, value in values.items()}
