"""The alarms a service has, as plain data: one definition per alarm, derived from its routes, functions, tables and
[alarms] settings. `golive template` renders them as CloudWatch alarms; `golive stats --alarms` evaluates the same
definitions over golive dev's telemetry, so what pages in production is what turns red locally."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from golive.service.auth import jwt_function
from golive.service.config import FunctionConfig, ServiceConfig
from golive.service.settings import alarm_settings, table_settings

CRITICAL, WARNING = "critical", "warning"
LATENCY_PERCENTILES = ("p90", "p95", "p99")
# Every golive alarm treats a period without data as fine: no traffic is not an outage (the rate guards need it too).
TREAT_MISSING_DATA = "notBreaching"
# IAM action -> the Operation dimension DynamoDB reports SystemErrors under
TABLE_OPERATIONS = {
    "dynamodb:GetItem": "GetItem", "dynamodb:PutItem": "PutItem", "dynamodb:UpdateItem": "UpdateItem",
    "dynamodb:DeleteItem": "DeleteItem", "dynamodb:Query": "Query", "dynamodb:Scan": "Scan",
    "dynamodb:BatchGetItem": "BatchGetItem", "dynamodb:BatchWriteItem": "BatchWriteItem",
    "dynamodb:ConditionCheckItem": "TransactWriteItems",
}
MAX_OPERATIONS = 9  # an alarm holds at most 10 metrics, the expression included


@dataclass(frozen=True)
class AlarmDefinition:
    """One alarm, as deployed and as evaluated locally.

    metric: what is measured in a scope — routes: latency, 4xx_rate, 5xx_rate, success_rate; functions:
    error_rate, throttles, duration, concurrency; tables: throttles, system_errors. Rates are percentages of
    `minimum_of` (requests or invocations) per period, computed only when the period has at least `minimum` of
    them (below it the rate is `below_minimum`: nobody is paged for 1 error in 3 requests)."""

    name: str  # without the stack's name, which the template puts in front
    description: str
    severity: str  # critical | warning: the SNS topic it publishes to
    scope: str  # route | function | table
    metric: str
    statistic: str  # p90 / p95 / p99, Sum or Maximum (rates: Sum of each component, then the expression)
    unit: str  # ms, %, count
    comparison: str  # CloudWatch's ComparisonOperator
    threshold: float
    period_s: int
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str = TREAT_MISSING_DATA
    route: str | None = None  # the route key, for route alarms
    function: str | None = None  # the function alarmed on, or the one serving the route
    table: str | None = None
    minimum: float | None = None  # the low-traffic guard of a rate
    below_minimum: float | None = None  # the rate's value in a period under the guard
    operations: tuple[str, ...] = ()  # table system errors: the DynamoDB operations summed

    def breaches(self, value: float) -> bool:
        """Whether one datapoint is on the wrong side of the threshold."""
        return {
            "GreaterThanThreshold": value > self.threshold,
            "GreaterThanOrEqualToThreshold": value >= self.threshold,
            "LessThanThreshold": value < self.threshold,
            "LessThanOrEqualToThreshold": value <= self.threshold,
        }[self.comparison]


def alarm_functions(config: ServiceConfig) -> list[FunctionConfig]:
    """Every function that gets alarms: the service's, then golive's JWT authorizer when the auth plan adds it."""
    functions = list(config.functions.values())
    authorizer = jwt_function(config)
    if authorizer is not None and authorizer.name not in config.functions:
        functions.append(authorizer)
    return functions


def reserve(function: FunctionConfig) -> int:
    """The reserved concurrency a function deploys with."""
    return function.reserved_concurrency or function.concurrency


def alarm_definitions(config: ServiceConfig, routes: Iterable[tuple[str, str]]) -> list[AlarmDefinition]:
    """Every alarm of the service: per route (routes as (route key, function) pairs, in the template's order), per
    function and per table."""
    settings = alarm_settings(config)
    found: list[AlarmDefinition] = []
    for key, function in routes:
        found.extend(_route_alarms(key, function, settings.for_route(key)))
    for function_config in alarm_functions(config):
        found.extend(_function_alarms(function_config, settings.values))
    for table in config.tables:
        found.extend(_table_alarms(config, table, settings.values))
    return found


def _window(values: dict[str, float]) -> tuple[int, int, int]:
    """period_s, evaluation_periods, datapoints_to_alarm"""
    return int(values["period"]), int(values["evaluation_periods"]), int(values["datapoints_to_alarm"])


def _route_alarms(key: str, function: str, values: dict[str, float]) -> list[AlarmDefinition]:
    window = _window(values)
    found = []
    for percentile in LATENCY_PERCENTILES:
        threshold = values[f"latency_{percentile}_ms"]
        found.append(AlarmDefinition(
            f"{key} latency {percentile}",
            f"{percentile} latency of {key} (gateway Latency, not IntegrationLatency) above {threshold:g} ms "
            f"in {values['datapoints_to_alarm']:g} of {values['evaluation_periods']:g} periods.",
            CRITICAL if percentile == "p99" else WARNING, "route", "latency", percentile, "ms",
            "GreaterThanThreshold", threshold, *window, route=key, function=function))
    minimum = values["min_requests"]
    for kind, severity in (("4xx", WARNING), ("5xx", CRITICAL)):
        threshold = values[f"error_{kind}_rate"]
        found.append(AlarmDefinition(
            f"{key} {kind} rate",
            f"More than {threshold:g}% of {key} requests answered {kind} (only counted when the period has "
            f"at least {minimum:g} requests).", severity, "route", f"{kind}_rate", "Sum", "%",
            "GreaterThanThreshold", threshold, *window, route=key, function=function, minimum=minimum,
            below_minimum=0))
    threshold = values["success_rate"]
    found.append(AlarmDefinition(
        f"{key} success rate",
        f"Fewer than {threshold:g}% of {key} requests succeeded (2xx/3xx), when the period has at least "
        f"{minimum:g} requests.", CRITICAL, "route", "success_rate", "Sum", "%", "LessThanThreshold", threshold,
        *window, route=key, function=function, minimum=minimum, below_minimum=100))
    return found


def _function_alarms(function: FunctionConfig, values: dict[str, float]) -> list[AlarmDefinition]:
    window = _window(values)
    name = function.name
    minimum = values["min_invocations"]
    rate = values["function_error_rate"]
    timeout = math.ceil(function.timeout)
    reserved = reserve(function)
    limit = round(timeout * 1000 * values["duration_ratio"])
    near = max(1, round(reserved * values["concurrency_ratio"]))
    return [
        AlarmDefinition(
            f"function {name} error rate",
            f"More than {rate:g}% of {name} invocations failed (at least {minimum:g} invocations per period).",
            CRITICAL, "function", "error_rate", "Sum", "%", "GreaterThanThreshold", rate, *window, function=name,
            minimum=minimum, below_minimum=0),
        AlarmDefinition(
            f"function {name} throttles",
            f"{name} invocations were throttled: requests fail while the reserve ({reserved}) is exhausted.",
            CRITICAL, "function", "throttles", "Sum", "count", "GreaterThanThreshold", values["function_throttles"],
            *window, function=name),
        AlarmDefinition(
            f"function {name} duration p99",
            f"p99 duration of {name} above {values['duration_ratio']:.0%} of its {timeout} s timeout ({limit} ms): "
            f"timeouts are next.", WARNING, "function", "duration", "p99", "ms", "GreaterThanThreshold", limit,
            *window, function=name),
        AlarmDefinition(
            f"function {name} concurrency",
            f"{name} ran {near}+ concurrent executions, {values['concurrency_ratio']:.0%} of its reserve of "
            f"{reserved}: raise the reserve or expect throttles.", WARNING, "function", "concurrency", "Maximum",
            "count", "GreaterThanOrEqualToThreshold", near, *window, function=name),
    ]


def _table_alarms(config: ServiceConfig, name: str, values: dict[str, float]) -> list[AlarmDefinition]:
    window = _window(values)
    found = [AlarmDefinition(
        f"table {name} throttles",
        f"Requests to the {name} table were throttled (hot partition or account limit).", WARNING, "table",
        "throttles", "Sum", "count", "GreaterThanThreshold", values["dynamodb_throttles"], *window, table=name)]
    operations = sorted({TABLE_OPERATIONS[a] for a in table_settings(config, name)["actions"]
                         if a in TABLE_OPERATIONS})[:MAX_OPERATIONS]
    if operations:
        found.append(AlarmDefinition(
            f"table {name} system errors",
            f"DynamoDB answered {name} requests with 500s ({', '.join(operations)}).", CRITICAL, "table",
            "system_errors", "Sum", "count", "GreaterThanThreshold", values["dynamodb_system_errors"], *window,
            table=name, operations=tuple(operations)))
    return found


def service_alarms(config: ServiceConfig) -> list[AlarmDefinition]:
    """The alarms of a service read from its folder: every function's route table imported (isolated from this
    process's modules) and assigned as the template assigns it."""
    from golive.service.assignment import assign_routes
    from golive.service.loading import load_apps_isolated

    assigned = assign_routes(config, load_apps_isolated(config))
    return alarm_definitions(config, [(item.key, item.function) for item in assigned])
