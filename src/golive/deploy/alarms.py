"""Alarms that page for the right reasons: per method tail latency and error *rates* (with a minimum-traffic guard),
per function error rate, throttles, duration and concurrency, per table throttles and system errors, routed to a
critical and a warning SNS topic."""

from __future__ import annotations

from typing import Any

from golive.deploy.api import API_NAME, HTTP_API
from golive.deploy.builder import CRITICAL_TOPIC, KEY_ID, WARNING_TOPIC, Builder
from golive.deploy.cfn import logical_id, ref, sub
from golive.deploy.service import DeployRoute, function_id, table_id
from golive.service.auth import jwt_function_name
from golive.service.settings import AlarmSettings, alarm_settings, table_settings

REST_METRICS = {"count": "Count", "4xx": "4XXError", "5xx": "5XXError", "latency": "Latency"}
HTTP_METRICS = {"count": "Count", "4xx": "4xx", "5xx": "5xx", "latency": "Latency"}
LATENCY_PERCENTILES = ("p90", "p95", "p99")
_OPERATIONS = {  # IAM action -> the Operation dimension DynamoDB reports SystemErrors under
    "dynamodb:GetItem": "GetItem", "dynamodb:PutItem": "PutItem", "dynamodb:UpdateItem": "UpdateItem",
    "dynamodb:DeleteItem": "DeleteItem", "dynamodb:Query": "Query", "dynamodb:Scan": "Scan",
    "dynamodb:BatchGetItem": "BatchGetItem", "dynamodb:BatchWriteItem": "BatchWriteItem",
    "dynamodb:ConditionCheckItem": "TransactWriteItems",
}


def route_dimensions(b: Builder, route: DeployRoute) -> list[dict[str, Any]]:
    """The per-method dimensions API Gateway publishes once detailed metrics are on."""
    if b.service.api_type == "rest":
        return [{"Name": "ApiName", "Value": sub(API_NAME)}, {"Name": "Stage", "Value": b.service.stage},
                {"Name": "Resource", "Value": route.path}, {"Name": "Method", "Value": route.method}]
    return [{"Name": "ApiId", "Value": ref(HTTP_API)}, {"Name": "Stage", "Value": b.service.stage},
            {"Name": "Route", "Value": route.key}]


def api_metric_names(b: Builder) -> dict[str, str]:
    return REST_METRICS if b.service.api_type == "rest" else HTTP_METRICS


class _Alarms:
    def __init__(self, b: Builder, settings: AlarmSettings) -> None:
        self.b, self.settings = b, settings

    def add(self, logical: str, name: str, description: str, topic: str, threshold: float, comparison: str,
            metric: dict[str, Any] | None = None, metrics: list[dict[str, Any]] | None = None,
            values: dict[str, float] | None = None) -> None:
        values = values or self.settings.values
        properties: dict[str, Any] = {
            "AlarmName": sub(f"${{AWS::StackName}} {name}"),
            "AlarmDescription": description,
            "ActionsEnabled": True,
            "AlarmActions": [ref(topic)],
            "OKActions": [ref(topic)],
            "Threshold": threshold,
            "ComparisonOperator": comparison,
            "EvaluationPeriods": int(values["evaluation_periods"]),
            "DatapointsToAlarm": int(values["datapoints_to_alarm"]),
            "TreatMissingData": "notBreaching",  # no traffic is not an outage; the rate guards need this too
            "Tags": self.b.tag_list,
        }
        if metric is not None:
            properties.update(metric)
            properties["Period"] = int(values["period"])
        else:
            properties["Metrics"] = metrics
        self.b.add(logical, "AWS::CloudWatch::Alarm", properties)

    def stat(self, ident: str, namespace: str, name: str, dimensions: list[dict[str, Any]], stat: str = "Sum",
             values: dict[str, float] | None = None) -> dict[str, Any]:
        values = values or self.settings.values
        return {"Id": ident, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
            "Period": int(values["period"]), "Stat": stat}}


def _guarded_rate(numerator: str, total: str, minimum: float, otherwise: int) -> str:
    # Below `minimum` requests in a period the rate is not computed: 1 error in 3 requests pages nobody.
    return f"IF(FILL({total}, 0) >= {minimum:g}, 100 * {numerator} / {total}, {otherwise})"


def add_alarms(b: Builder) -> None:
    settings = alarm_settings(b.service.config)
    _topics(b, settings)
    alarms = _Alarms(b, settings)
    for route in b.service.routes:
        _route_alarms(b, alarms, route, settings.for_route(route.key))
    for name in deployed_functions(b):
        _function_alarms(b, alarms, name)
    for name in b.service.config.tables:
        _table_alarms(b, alarms, name)


def deployed_functions(b: Builder) -> list[str]:
    """Every function in the template: the service's, plus golive's JWT authorizer when it is there."""
    names = list(b.service.functions)
    authorizer = jwt_function_name(b.service.config)
    if authorizer not in names and function_id(authorizer) in b.resources:
        names.append(authorizer)
    return names


def _topics(b: Builder, settings: AlarmSettings) -> None:
    for logical, level, emails in ((CRITICAL_TOPIC, "critical", settings.emails),
                                   (WARNING_TOPIC, "warning", settings.warning_emails)):
        b.add(logical, "AWS::SNS::Topic", {"DisplayName": sub(f"${{AWS::StackName}} {level} alarms"),
                                           "KmsMasterKeyId": ref(KEY_ID), "Tags": b.tag_list})
        for index, email in enumerate(emails):
            b.add(f"{logical}Email{index + 1 if index else ''}", "AWS::SNS::Subscription",
                  {"TopicArn": ref(logical), "Protocol": "email", "Endpoint": email})
        b.output(logical, ref(logical), f"SNS topic for {level} alarms (subscribe pagers and chat here)")
    if not settings.emails:
        b.notes.append("no [alarms] email: alarms publish to the SNS topics, but nobody is subscribed yet")


def _route_alarms(b: Builder, alarms: _Alarms, route: DeployRoute, values: dict[str, float]) -> None:
    dims = route_dimensions(b, route)
    names = api_metric_names(b)
    key = route.key
    base = route.logical
    for percentile in LATENCY_PERCENTILES:
        threshold = values[f"latency_{percentile}_ms"]
        topic = CRITICAL_TOPIC if percentile == "p99" else WARNING_TOPIC
        alarms.add(f"{base}Latency{percentile.upper()}Alarm", f"{key} latency {percentile}",
                   f"{percentile} latency of {key} (gateway Latency, not IntegrationLatency) above {threshold:g} ms "
                   f"in {values['datapoints_to_alarm']:g} of {values['evaluation_periods']:g} periods.",
                   topic, threshold, "GreaterThanThreshold",
                   metric={"Namespace": "AWS/ApiGateway", "MetricName": names["latency"], "Dimensions": dims,
                           "ExtendedStatistic": percentile, "Unit": "Milliseconds"}, values=values)
    minimum = values["min_requests"]
    for kind, topic in (("4xx", WARNING_TOPIC), ("5xx", CRITICAL_TOPIC)):
        threshold = values[f"error_{kind}_rate"]
        alarms.add(f"{base}{kind.upper()}RateAlarm", f"{key} {kind} rate",
                   f"More than {threshold:g}% of {key} requests answered {kind} (only counted when the period has "
                   f"at least {minimum:g} requests).", topic, threshold, "GreaterThanThreshold", metrics=[
                       alarms.stat("requests", "AWS/ApiGateway", names["count"], dims, values=values),
                       alarms.stat("errors", "AWS/ApiGateway", names[kind], dims, values=values),
                       {"Id": "rate", "Label": f"{kind} rate (%)", "ReturnData": True,
                        "Expression": _guarded_rate("FILL(errors, 0)", "requests", minimum, 0)},
                   ], values=values)
    threshold = values["success_rate"]
    alarms.add(f"{base}SuccessRateAlarm", f"{key} success rate",
               f"Fewer than {threshold:g}% of {key} requests succeeded (2xx/3xx), when the period has at least "
               f"{minimum:g} requests.", CRITICAL_TOPIC, threshold, "LessThanThreshold", metrics=[
                   alarms.stat("requests", "AWS/ApiGateway", names["count"], dims, values=values),
                   alarms.stat("client", "AWS/ApiGateway", names["4xx"], dims, values=values),
                   alarms.stat("server", "AWS/ApiGateway", names["5xx"], dims, values=values),
                   {"Id": "success", "Label": "success rate (%)", "ReturnData": True,
                    "Expression": _guarded_rate("(requests - FILL(client, 0) - FILL(server, 0))", "requests",
                                                minimum, 100)},
               ], values=values)


def _function_alarms(b: Builder, alarms: _Alarms, name: str) -> None:
    logical = function_id(name)
    properties = b.resources[logical]["Properties"]
    dims = [{"Name": "FunctionName", "Value": ref(logical)}]
    values = alarms.settings.values
    base = logical_id(name, "Function")
    minimum = values["min_invocations"]
    rate = values["function_error_rate"]
    alarms.add(f"{base}ErrorRateAlarm", f"function {name} error rate",
               f"More than {rate:g}% of {name} invocations failed (at least {minimum:g} invocations per period).",
               CRITICAL_TOPIC, rate, "GreaterThanThreshold", metrics=[
                   alarms.stat("invocations", "AWS/Lambda", "Invocations", dims),
                   alarms.stat("errors", "AWS/Lambda", "Errors", dims),
                   {"Id": "rate", "Label": "error rate (%)", "ReturnData": True,
                    "Expression": _guarded_rate("FILL(errors, 0)", "invocations", minimum, 0)},
               ])
    alarms.add(f"{base}ThrottlesAlarm", f"function {name} throttles",
               f"{name} invocations were throttled: requests fail while the reserve "
               f"({properties['ReservedConcurrentExecutions']}) is exhausted.", CRITICAL_TOPIC,
               values["function_throttles"], "GreaterThanThreshold",
               metric={"Namespace": "AWS/Lambda", "MetricName": "Throttles", "Dimensions": dims, "Statistic": "Sum"})
    limit = round(properties["Timeout"] * 1000 * values["duration_ratio"])
    alarms.add(f"{base}DurationAlarm", f"function {name} duration p99",
               f"p99 duration of {name} above {values['duration_ratio']:.0%} of its {properties['Timeout']} s "
               f"timeout ({limit} ms): timeouts are next.", WARNING_TOPIC, limit, "GreaterThanThreshold",
               metric={"Namespace": "AWS/Lambda", "MetricName": "Duration", "Dimensions": dims,
                       "ExtendedStatistic": "p99", "Unit": "Milliseconds"})
    reserve = properties["ReservedConcurrentExecutions"]
    near = max(1, round(reserve * values["concurrency_ratio"]))
    alarms.add(f"{base}ConcurrencyAlarm", f"function {name} concurrency",
               f"{name} ran {near}+ concurrent executions, {values['concurrency_ratio']:.0%} of its reserve of "
               f"{reserve}: raise the reserve or expect throttles.", WARNING_TOPIC, near,
               "GreaterThanOrEqualToThreshold",
               metric={"Namespace": "AWS/Lambda", "MetricName": "ConcurrentExecutions", "Dimensions": dims,
                       "Statistic": "Maximum"})


def _table_alarms(b: Builder, alarms: _Alarms, name: str) -> None:
    logical = table_id(name)
    values = alarms.settings.values
    table = [{"Name": "TableName", "Value": ref(logical)}]
    alarms.add(f"{logical}ThrottlesAlarm", f"table {name} throttles",
               f"Requests to the {name} table were throttled (hot partition or account limit).", WARNING_TOPIC,
               values["dynamodb_throttles"], "GreaterThanThreshold", metrics=[
                   alarms.stat("reads", "AWS/DynamoDB", "ReadThrottleEvents", table),
                   alarms.stat("writes", "AWS/DynamoDB", "WriteThrottleEvents", table),
                   {"Id": "throttles", "Label": "throttle events", "ReturnData": True,
                    "Expression": "FILL(reads, 0) + FILL(writes, 0)"},
               ])
    operations = sorted({_OPERATIONS[a] for a in table_settings(b.service.config, name)["actions"]
                         if a in _OPERATIONS})[:9]  # an alarm holds at most 10 metrics, the expression included
    if not operations:
        return
    metrics = [alarms.stat(f"op{i}", "AWS/DynamoDB", "SystemErrors",
                           [*table, {"Name": "Operation", "Value": op}]) for i, op in enumerate(operations)]
    metrics.append({"Id": "errors", "Label": "system errors", "ReturnData": True,
                    "Expression": " + ".join(f"FILL(op{i}, 0)" for i in range(len(operations)))})
    alarms.add(f"{logical}SystemErrorsAlarm", f"table {name} system errors",
               f"DynamoDB answered {name} requests with 500s ({', '.join(operations)}).", CRITICAL_TOPIC,
               values["dynamodb_system_errors"], "GreaterThanThreshold", metrics=metrics)
