"""The deploy settings golive.toml may set, with their documented defaults and one-line errors for bad values."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from golive.service.config import ConfigError, ServiceConfig
from golive.service.quotas import integration_limit_s

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


# Every [api] key golive knows. Deployed by the template unless listed in LOCAL_ONLY_API_KEYS (docs/deploy.md).
API_KEYS = ("type", "stage", "throttling", "route_throttling", "account_throttling", "integration_timeout",
            "integration_timeouts", "binary_media_types", "stage_variables", "request_validation", "gateway_responses",
            "usage_plan", "api_keys", "cors", "log_retention_days", "log_encryption", "cache", "api_id")
# account_throttling: an account's limits are AWS's, not the stack's; api_keys: AWS creates keys outside the
# template; api_id: the local API's id in events and ARNs.
LOCAL_ONLY_API_KEYS = ("account_throttling", "api_keys", "api_id")
VALIDATION_MODES = {True: "full", "full": "full", "body": "body", "params": "params", False: "off"}


def api_settings(config: ServiceConfig) -> dict[str, Any]:
    """[api], read and checked once for the template, the local gateway and golive dev --in-process."""
    api = dict(config.api)
    unknown = sorted(set(api) - set(API_KEYS))
    if unknown:
        raise ConfigError(f"golive.toml: [api] has unknown key {', '.join(unknown)}; known: {', '.join(API_KEYS)}")
    rest = config.api_type == "rest"
    throttle = api.get("throttling", {})  # load_config renamed the alias "throttle"
    if not isinstance(throttle, dict):
        raise ConfigError("golive.toml: [api.throttling] must be a table, e.g. rate = 100 and burst = 200")
    rate = number("[api.throttling]", throttle, "rate", API_DEFAULTS["throttle_rate"], 1, 1_000_000)
    burst = int(number("[api.throttling]", throttle, "burst", API_DEFAULTS["throttle_burst"], 1, 1_000_000))
    retention = int(number("[api]", api, "log_retention_days", API_DEFAULTS["log_retention_days"], 1, 3653))
    if retention not in RETENTION_DAYS:
        raise ConfigError(f"golive.toml: [api] log_retention_days must be one of CloudWatch's values: "
                          f"{', '.join(map(str, RETENTION_DAYS))}")
    mode = api.get("request_validation", rest)
    if mode not in VALIDATION_MODES or (isinstance(mode, int) and not isinstance(mode, bool)):
        raise ConfigError("golive.toml: [api] request_validation must be true, false, \"body\" or \"params\"")
    if not rest and mode:
        raise ConfigError("golive.toml: [api] request_validation exists only on REST APIs (type = \"rest\"); "
                          "HTTP APIs pass every request to the function")
    responses = api.get("gateway_responses", "golive")
    if responses not in ("golive", "aws"):
        raise ConfigError("golive.toml: [api] gateway_responses must be \"golive\" (as golive template deploys them) "
                          "or \"aws\" (API Gateway's defaults)")
    binary = api.get("binary_media_types") or []
    if not isinstance(binary, list) or not all(isinstance(t, str) and "/" in t for t in binary):
        raise ConfigError("golive.toml: [api] binary_media_types must be a list of media types like "
                          "[\"image/png\", \"*/*\"]")
    if binary and not rest:
        raise ConfigError("golive.toml: [api] binary_media_types exists only on REST APIs; HTTP APIs base64-encode "
                          "binary bodies by themselves")
    variables = api.get("stage_variables") or {}
    if not isinstance(variables, dict):
        raise ConfigError("golive.toml: [api] stage_variables must be a table of names to strings")
    if not rest and (api.get("usage_plan") or api.get("api_keys")):
        raise ConfigError("[api] usage_plan and api_keys need a REST API (type = \"rest\"): HTTP APIs have no API "
                          "keys or usage plans")
    limit = integration_limit_s(config.api_type)
    timeout = api.get("integration_timeout")
    if timeout is not None:
        timeout = _seconds("[api] integration_timeout", timeout, limit, rest)
    timeouts = {" ".join(str(key).split()): _seconds(f"[api.integration_timeouts] {key!r}", value, limit, rest)
                for key, value in (api.get("integration_timeouts") or {}).items()}
    return {
        "type": config.api_type,
        "stage": config.stage,
        "rate": rate,
        "burst": burst,
        "route_throttling": {" ".join(str(key).split()): _limits(f"[api.route_throttling] {key!r}", value, rate, burst)
                             for key, value in (api.get("route_throttling") or {}).items()},
        "account_throttling": (_limits("[api] account_throttling", api["account_throttling"], None, None)
                               if api.get("account_throttling") is not None else None),
        "integration_timeout": timeout,
        "integration_timeouts": timeouts,
        "binary_media_types": [str(t) for t in binary],
        "stage_variables": {str(k): str(v) for k, v in variables.items()},
        "request_validation": VALIDATION_MODES[mode],
        "gateway_responses": responses,
        "usage_plan": _usage_plan(api.get("usage_plan"), rate, burst),
        "api_keys": _api_keys(api.get("api_keys")),
        "log_retention_days": retention,
        "log_encryption": bool(api.get("log_encryption", True)),
        "cors": _cors(api.get("cors")),
        "cache": api.get("cache"),
        "api_id": str(api["api_id"]) if api.get("api_id") else None,
    }


def integration_timeout_s(settings: dict[str, Any], route_key: str, function: Any) -> float:
    """How long the gateway waits for a route's function (timeoutInMillis), one rule for the template and the
    local gateway: [api.integration_timeouts] "METHOD /path", else [api] integration_timeout, else one second past
    the function's own timeout (so a slow function reports its own timeout), capped at API Gateway's maximum."""
    if route_key in settings["integration_timeouts"]:
        return float(settings["integration_timeouts"][route_key])
    if settings["integration_timeout"] is not None:
        return float(settings["integration_timeout"])
    limit = integration_limit_s(settings["type"])
    return min(limit, math.ceil(function.timeout) + 1.0) if function is not None else limit


def _seconds(where: str, value: Any, limit: float, rest: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.05 <= value <= limit:
        raise ConfigError(f"golive.toml: {where} must be between 0.05 and {limit:g} seconds (API Gateway's maximum "
                          f"for {'REST' if rest else 'HTTP'} APIs)")
    return float(value)


def _limits(where: str, value: Any, rate: float | None, burst: int | None) -> dict[str, float]:
    """{rate = N, burst = M} checked; a missing half comes from the stage's limits."""
    if not isinstance(value, dict) or ("rate" not in value and rate is None):
        raise ConfigError(f"golive.toml: {where} must be a table like {{ rate = 100, burst = 200 }} (requests per "
                          f"second)")
    limits = {"rate": value.get("rate", rate), "burst": value.get("burst", burst if burst is not None else max(
        1, int(value.get("rate") or 1)))}
    for amount in limits.values():
        if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
            raise ConfigError(f"golive.toml: {where}: rate must be a number >= 0 and burst a whole number >= 0")
    return {"rate": float(limits["rate"]), "burst": int(limits["burst"])}


def _usage_plan(value: Any, rate: float, burst: int) -> dict[str, Any] | None:
    """[api] usage_plan = { quota = 10000, period = "MONTH", rate = 50, burst = 100 }, checked once."""
    if not value:
        return None
    if not isinstance(value, dict):
        raise ConfigError("golive.toml: [api] usage_plan must be a table, e.g. usage_plan = { quota = 10000, "
                          "period = \"MONTH\" }")
    quota = value.get("quota")
    if quota is not None and (isinstance(quota, bool) or not isinstance(quota, int) or not 1 <= quota <= 10**12):
        raise ConfigError("golive.toml: [api] usage_plan quota must be a whole number of requests >= 1")
    period = str(value.get("period", "MONTH")).upper()
    if period not in ("DAY", "WEEK", "MONTH"):
        raise ConfigError("golive.toml: [api] usage_plan period must be DAY, WEEK or MONTH")
    plan_rate = number("[api] usage_plan", value, "rate", rate, 1, 10**6) if "rate" in value else None
    plan_burst = int(number("[api] usage_plan", value, "burst", plan_rate or burst, 1, 10**6)) \
        if "rate" in value or "burst" in value else None
    return {"quota": quota, "period": period, "rate": plan_rate, "burst": plan_burst}


def _api_keys(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(k, str) and len(k) >= 20 for k in value):
        # API Gateway refuses keys shorter than 20 characters.
        raise ConfigError("golive.toml: [api] api_keys must be a list of strings of at least 20 characters each")
    return list(value)


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
        "methods": [str(m).upper() for m in value.get("allow_methods", value.get("methods", []))],
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
