"""The deploy settings golive.toml may set, with their documented defaults and one-line errors for bad values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from golive.service.config import ConfigError, ServiceConfig

# Defaults, documented in docs/deploy.md: change both together.
API_DEFAULTS = {"throttle_rate": 100, "throttle_burst": 200, "log_retention_days": 365}
ALARM_DEFAULTS: dict[str, float] = {
    "period": 60,  # seconds per datapoint
    "evaluation_periods": 5,  # look at the last 5 datapoints...
    "datapoints_to_alarm": 3,  # ...and alarm when 3 of them breach
    "latency_p90_ms": 1000,
    "latency_p95_ms": 1500,
    "latency_p99_ms": 2500,
    "error_4xx_rate": 10,  # percent of requests
    "error_5xx_rate": 1,  # percent of requests
    "success_rate": 95,  # percent of requests answered 2xx/3xx
    "min_requests": 20,  # per period: below this, rates are not computed (nobody is paged for 1 error in 3)
    "function_error_rate": 1,  # percent of invocations
    "min_invocations": 20,
    "function_throttles": 0,  # throttled invocations per period
    "duration_ratio": 0.8,  # p99 duration above this share of the timeout
    "concurrency_ratio": 0.8,  # concurrent executions above this share of the reserve
    "dynamodb_throttles": 0,
    "dynamodb_system_errors": 0,
}
ROUTE_ALARM_KEYS = ("latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "error_4xx_rate", "error_5xx_rate",
                    "success_rate", "min_requests")
WAF_DEFAULTS = {"rate_limit": 1000, "rate_window": 300}
TABLE_ACCESS = {
    "read-only": ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
                  "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"],
    "read-write": ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
                   "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                   "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"],
}
INDEX_ACTIONS = {"dynamodb:Query", "dynamodb:Scan"}  # the only actions that apply to an index ARN


def section(config: ServiceConfig, name: str) -> dict[str, Any]:
    """A free-form section ([waf], [dashboard], [package], [check]) as a dict, {} when absent."""
    value = config.raw.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"golive.toml: [{name}] must be a table")
    return value


def number(where: str, values: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"golive.toml: {where} {key} must be a number between {low:g} and {high:g}, got {value!r}")
    return value


@dataclass
class AlarmSettings:
    values: dict[str, float]
    emails: list[str]
    warning_emails: list[str]
    routes: dict[str, dict[str, float]] = field(default_factory=dict)

    def for_route(self, key: str) -> dict[str, float]:
        return {**self.values, **self.routes.get(key, {})}


def alarm_settings(config: ServiceConfig) -> AlarmSettings:
    raw = dict(config.alarms)
    values: dict[str, float] = {}
    for key, default in ALARM_DEFAULTS.items():
        high = 1 if key.endswith("_ratio") else 100 if key.endswith("_rate") else 900_000
        values[key] = number("[alarms]", raw, key, default, 0, high)
    if values["period"] not in (10, 30) and values["period"] % 60:
        raise ConfigError("golive.toml: [alarms] period must be 10, 30 or a multiple of 60 seconds")
    if values["datapoints_to_alarm"] > values["evaluation_periods"]:
        raise ConfigError("golive.toml: [alarms] datapoints_to_alarm cannot exceed evaluation_periods")
    routes: dict[str, dict[str, float]] = {}
    for key, override in (raw.get("routes") or {}).items():
        if not isinstance(override, dict):
            raise ConfigError(f'golive.toml: [alarms.routes."{key}"] must be a table of thresholds')
        unknown = set(override) - set(ROUTE_ALARM_KEYS)
        if unknown:
            raise ConfigError(f'golive.toml: [alarms.routes."{key}"] has unknown key {", ".join(sorted(unknown))}; '
                              f"known: {', '.join(ROUTE_ALARM_KEYS)}")
        routes[key] = {k: number(f'[alarms.routes."{key}"]', override, k, values[k], 0, 900_000) for k in override}
    emails = _emails(raw.get("email"), "email")
    warning = _emails(raw.get("warning_email"), "warning_email") or emails
    return AlarmSettings(values, emails, warning, routes)


def _emails(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and "@" in v for v in items):
        raise ConfigError(f"golive.toml: [alarms] {key} must be an e-mail address or a list of them")
    return items


def api_settings(config: ServiceConfig) -> dict[str, Any]:
    api = dict(config.api)
    throttle = api.get("throttling", {})  # load_config renamed the alias "throttle"
    if not isinstance(throttle, dict):
        raise ConfigError("golive.toml: [api.throttling] must be a table, e.g. rate = 100 and burst = 200")
    retention = int(number("[api]", api, "log_retention_days", API_DEFAULTS["log_retention_days"], 1, 3653))
    if retention not in RETENTION_DAYS:
        raise ConfigError(f"golive.toml: [api] log_retention_days must be one of CloudWatch's values: "
                          f"{', '.join(map(str, RETENTION_DAYS))}")
    return {
        "rate": number("[api.throttling]", throttle, "rate", API_DEFAULTS["throttle_rate"], 1, 1_000_000),
        "burst": int(number("[api.throttling]", throttle, "burst", API_DEFAULTS["throttle_burst"], 1, 1_000_000)),
        "log_retention_days": retention,
        "log_encryption": bool(api.get("log_encryption", True)),
        "cors": _cors(api.get("cors")),
        "usage_plan": api.get("usage_plan"),
        "cache": api.get("cache"),
    }


RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653)


def _cors(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    origins = value.get("allow_origins") if isinstance(value, dict) else None
    if not isinstance(origins, list) or not origins:
        raise ConfigError('golive.toml: [api.cors] needs allow_origins = ["https://app.example.com"]')
    from golive.security.cors import DEFAULT_ALLOW_HEADERS, DEFAULT_EXPOSE_HEADERS

    return {
        "origins": [str(o) for o in origins],
        "headers": list(value.get("allow_headers", DEFAULT_ALLOW_HEADERS)),
        "expose": list(value.get("expose_headers", DEFAULT_EXPOSE_HEADERS)),
        "max_age": int(number("[api.cors]", value, "max_age", 600, 0, 86400)),
        "credentials": bool(value.get("allow_credentials", False)),
    }


def waf_settings(config: ServiceConfig) -> dict[str, Any]:
    waf = section(config, "waf")
    window = int(number("[waf]", waf, "rate_window", WAF_DEFAULTS["rate_window"], 60, 600))
    if window not in (60, 120, 300, 600):
        raise ConfigError("golive.toml: [waf] rate_window must be 60, 120, 300 or 600 seconds")
    count_rules = waf.get("count_rules") or []
    if not isinstance(count_rules, list):
        raise ConfigError('golive.toml: [waf] count_rules must be a list of rule names, e.g. ["SizeRestrictions_BODY"]')
    return {
        "enabled": bool(waf.get("enabled", True)),
        "rate_limit": int(number("[waf]", waf, "rate_limit", WAF_DEFAULTS["rate_limit"], 10, 2_000_000_000)),
        "rate_window": window,
        "logging": bool(waf.get("logging", True)),
        "count_rules": [str(r) for r in count_rules],
    }


def table_settings(config: ServiceConfig, name: str) -> dict[str, Any]:
    spec = config.tables[name] or {}
    where = f"[tables.{name}]"
    if not isinstance(spec, dict):
        raise ConfigError(f"golive.toml: {where} must be a table")
    access = spec.get("access", "read-write")
    if isinstance(access, str):
        if access not in TABLE_ACCESS:
            raise ConfigError(f"golive.toml: {where} access must be read-write, read-only or a list of dynamodb "
                              f"actions")
        actions = list(TABLE_ACCESS[access])
    elif isinstance(access, list) and all(isinstance(a, str) for a in access):
        actions = sorted({a if a.startswith("dynamodb:") else f"dynamodb:{a}" for a in access})
        if any("*" in a for a in actions):
            raise ConfigError(f"golive.toml: {where} access lists a wildcard; name each dynamodb action it needs")
    else:
        raise ConfigError(f"golive.toml: {where} access must be read-write, read-only or a list of dynamodb actions")
    functions = spec.get("functions") or list(config.functions)
    unknown = [f for f in functions if f not in config.functions]
    if unknown:
        raise ConfigError(f"golive.toml: {where} functions names {', '.join(unknown)}, which [functions] does not "
                          f"define")
    indexes = {}
    for index_name, index in (spec.get("indexes") or {}).items():
        key = index.get("partition_key") if isinstance(index, dict) else None
        if not key:
            raise ConfigError(f'golive.toml: [tables.{name}.indexes.{index_name}] needs partition_key = "attribute"')
        indexes[index_name] = {
            "partition_key": str(key),
            "partition_key_type": _key_type(where, index.get("partition_key_type", "S")),
            "sort_key": index.get("sort_key"),
            "sort_key_type": _key_type(where, index.get("sort_key_type", "S")),
            "projection": str(index.get("projection", "ALL")),
        }
    billing = spec.get("billing_mode", "PAY_PER_REQUEST")
    if billing != "PAY_PER_REQUEST":
        raise ConfigError(f"golive.toml: {where} billing_mode: golive deploys on-demand tables (PAY_PER_REQUEST)")
    env = spec.get("env") or f"{name.upper().replace('-', '_')}_TABLE"
    if not isinstance(env, str) or not env.replace("_", "").isalnum():
        raise ConfigError(f"golive.toml: {where} env must be an environment variable name, e.g. env = \"USERS_TABLE\"")
    return {
        "partition_key": str(spec.get("partition_key", "id")),
        "partition_key_type": _key_type(where, spec.get("partition_key_type", "S")),
        "sort_key": spec.get("sort_key"),
        "sort_key_type": _key_type(where, spec.get("sort_key_type", "S")),
        "indexes": indexes,
        "functions": functions,
        "actions": actions,
        "ttl_attribute": spec.get("ttl_attribute"),
        "env": env,
    }


def _key_type(where: str, value: Any) -> str:
    if value not in ("S", "N", "B"):
        raise ConfigError(f"golive.toml: {where} key types must be S, N or B")
    return value
