"""Alarms that page for the right reasons, rendered as CloudWatch alarms from the service's alarm definitions
(service/alarms.py): per method tail latency and error *rates* (with a minimum-traffic guard), per function error
rate, throttles, duration and concurrency, per table throttles and system errors, routed to a critical and a
warning SNS topic."""

from __future__ import annotations

from typing import Any

from golive.deploy.api import API_NAME, HTTP_API
from golive.deploy.builder import CRITICAL_TOPIC, KEY_ID, WARNING_TOPIC, Builder
from golive.deploy.cfn import ref, sub
from golive.deploy.service import DeployRoute, function_id, table_id
from golive.service.alarms import CRITICAL, AlarmDefinition, alarm_definitions
from golive.service.auth import jwt_function_name
from golive.service.settings import AlarmSettings, alarm_settings

REST_METRICS = {"count": "Count", "4xx": "4XXError", "5xx": "5XXError", "latency": "Latency"}
HTTP_METRICS = {"count": "Count", "4xx": "4xx", "5xx": "5xx", "latency": "Latency"}
# the alarm's logical id, after its route's, function's or table's: GetUsersLatencyP99Alarm
_SUFFIXES = {"4xx_rate": "4XXRate", "5xx_rate": "5XXRate", "success_rate": "SuccessRate", "error_rate": "ErrorRate",
             "throttles": "Throttles", "duration": "Duration", "concurrency": "Concurrency",
             "system_errors": "SystemErrors"}


def route_dimensions(b: Builder, route: DeployRoute) -> list[dict[str, Any]]:
    """The per-method dimensions API Gateway publishes once detailed metrics are on."""
    if b.service.api_type == "rest":
        return [{"Name": "ApiName", "Value": sub(API_NAME)}, {"Name": "Stage", "Value": b.service.stage},
                {"Name": "Resource", "Value": route.path}, {"Name": "Method", "Value": route.method}]
    return [{"Name": "ApiId", "Value": ref(HTTP_API)}, {"Name": "Stage", "Value": b.service.stage},
            {"Name": "Route", "Value": route.key}]


def api_metric_names(b: Builder) -> dict[str, str]:
    return REST_METRICS if b.service.api_type == "rest" else HTTP_METRICS


def add_alarms(b: Builder) -> None:
    settings = alarm_settings(b.service.config)
    _topics(b, settings)
    routes = {route.key: route for route in b.service.routes}
    for alarm in alarm_definitions(b.service.config, [(r.key, r.function) for r in b.service.routes]):
        if alarm.scope == "route":
            _add(b, alarm, routes[alarm.route or ""].logical, _route_metrics(b, alarm, routes[alarm.route or ""]))
        elif alarm.scope == "function":
            _add(b, alarm, function_id(alarm.function or ""), _function_metrics(alarm))
        else:
            _add(b, alarm, table_id(alarm.table or ""), _table_metrics(alarm))


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


def _add(b: Builder, alarm: AlarmDefinition, base: str, metric: dict[str, Any]) -> None:
    suffix = f"Latency{alarm.statistic.upper()}" if alarm.metric == "latency" else _SUFFIXES[alarm.metric]
    topic = CRITICAL_TOPIC if alarm.severity == CRITICAL else WARNING_TOPIC
    properties: dict[str, Any] = {
        "AlarmName": sub(f"${{AWS::StackName}} {alarm.name}"),
        "AlarmDescription": alarm.description,
        "ActionsEnabled": True,
        "AlarmActions": [ref(topic)],
        "OKActions": [ref(topic)],
        "Threshold": alarm.threshold,
        "ComparisonOperator": alarm.comparison,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm,
        "TreatMissingData": alarm.treat_missing_data,
        "Tags": b.tag_list,
    }
    if "Metrics" in metric:
        properties["Metrics"] = metric["Metrics"]
    else:
        properties.update(metric)
        properties["Period"] = alarm.period_s
    b.add(f"{base}{suffix}Alarm", "AWS::CloudWatch::Alarm", properties)


def _stat(alarm: AlarmDefinition, ident: str, namespace: str, name: str, dimensions: list[dict[str, Any]],
          stat: str = "Sum") -> dict[str, Any]:
    return {"Id": ident, "ReturnData": False, "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
        "Period": alarm.period_s, "Stat": stat}}


def _guarded_rate(numerator: str, total: str, alarm: AlarmDefinition) -> str:
    # Below `minimum` requests in a period the rate is not computed: 1 error in 3 requests pages nobody.
    return f"IF(FILL({total}, 0) >= {alarm.minimum:g}, 100 * {numerator} / {total}, {alarm.below_minimum:g})"


def _route_metrics(b: Builder, alarm: AlarmDefinition, route: DeployRoute) -> dict[str, Any]:
    dims = route_dimensions(b, route)
    names = api_metric_names(b)
    if alarm.metric == "latency":
        return {"Namespace": "AWS/ApiGateway", "MetricName": names["latency"], "Dimensions": dims,
                "ExtendedStatistic": alarm.statistic, "Unit": "Milliseconds"}
    requests = _stat(alarm, "requests", "AWS/ApiGateway", names["count"], dims)
    if alarm.metric == "success_rate":
        return {"Metrics": [
            requests,
            _stat(alarm, "client", "AWS/ApiGateway", names["4xx"], dims),
            _stat(alarm, "server", "AWS/ApiGateway", names["5xx"], dims),
            {"Id": "success", "Label": "success rate (%)", "ReturnData": True,
             "Expression": _guarded_rate("(requests - FILL(client, 0) - FILL(server, 0))", "requests", alarm)}]}
    kind = alarm.metric.removesuffix("_rate")
    return {"Metrics": [
        requests,
        _stat(alarm, "errors", "AWS/ApiGateway", names[kind], dims),
        {"Id": "rate", "Label": f"{kind} rate (%)", "ReturnData": True,
         "Expression": _guarded_rate("FILL(errors, 0)", "requests", alarm)}]}


def _function_metrics(alarm: AlarmDefinition) -> dict[str, Any]:
    dims = [{"Name": "FunctionName", "Value": ref(function_id(alarm.function or ""))}]
    if alarm.metric == "error_rate":
        return {"Metrics": [
            _stat(alarm, "invocations", "AWS/Lambda", "Invocations", dims),
            _stat(alarm, "errors", "AWS/Lambda", "Errors", dims),
            {"Id": "rate", "Label": "error rate (%)", "ReturnData": True,
             "Expression": _guarded_rate("FILL(errors, 0)", "invocations", alarm)}]}
    if alarm.metric == "throttles":
        return {"Namespace": "AWS/Lambda", "MetricName": "Throttles", "Dimensions": dims, "Statistic": "Sum"}
    if alarm.metric == "duration":
        return {"Namespace": "AWS/Lambda", "MetricName": "Duration", "Dimensions": dims,
                "ExtendedStatistic": alarm.statistic, "Unit": "Milliseconds"}
    return {"Namespace": "AWS/Lambda", "MetricName": "ConcurrentExecutions", "Dimensions": dims,
            "Statistic": alarm.statistic}


def _table_metrics(alarm: AlarmDefinition) -> dict[str, Any]:
    table = [{"Name": "TableName", "Value": ref(table_id(alarm.table or ""))}]
    if alarm.metric == "throttles":
        return {"Metrics": [
            _stat(alarm, "reads", "AWS/DynamoDB", "ReadThrottleEvents", table),
            _stat(alarm, "writes", "AWS/DynamoDB", "WriteThrottleEvents", table),
            {"Id": "throttles", "Label": "throttle events", "ReturnData": True,
             "Expression": "FILL(reads, 0) + FILL(writes, 0)"}]}
    metrics = [_stat(alarm, f"op{i}", "AWS/DynamoDB", "SystemErrors", [*table, {"Name": "Operation", "Value": op}])
               for i, op in enumerate(alarm.operations)]
    metrics.append({"Id": "errors", "Label": "system errors", "ReturnData": True,
                    "Expression": " + ".join(f"FILL(op{i}, 0)" for i in range(len(alarm.operations)))})
    return {"Metrics": metrics}
