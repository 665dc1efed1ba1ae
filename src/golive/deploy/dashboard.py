"""The service's CloudWatch dashboard: per-route latency percentiles, error rates, traffic and cold starts, then
functions, custom EMF metrics, tables and the WAF."""

from __future__ import annotations

import json
from typing import Any

from golive.deploy.alarms import api_metric_names, deployed_functions, route_dimensions
from golive.deploy.builder import Builder
from golive.deploy.service import function_id, table_id
from golive.deploy.waf import WEB_ACL, WEB_ACL_NAME

WIDTH = 24
PERIOD = 60


def _dims(dimensions: list[dict[str, Any]]) -> list[str]:
    """Alarm-style dimensions as a dashboard metric row's flat name/value list (intrinsics become ${...})."""
    flat: list[str] = []
    for dimension in dimensions:
        value = dimension["Value"]
        if isinstance(value, dict) and "Ref" in value:
            value = "${" + value["Ref"] + "}"
        elif isinstance(value, dict) and "Fn::Sub" in value:
            value = value["Fn::Sub"]
        flat.extend([dimension["Name"], value])
    return flat


class _Layout:
    def __init__(self) -> None:
        self.widgets: list[dict[str, Any]] = []
        self.x = self.y = 0
        self.row_height = 0

    def place(self, widget: dict[str, Any], width: int, height: int = 6) -> None:
        if self.x + width > WIDTH:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        self.widgets.append({**widget, "x": self.x, "y": self.y, "width": width, "height": height})
        self.x += width
        self.row_height = max(self.row_height, height)

    def newline(self) -> None:
        if self.x:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0


def _metric(title: str, metrics: list[list[Any]], stat: str = "Sum", **extra: Any) -> dict[str, Any]:
    return {"type": "metric", "properties": {"title": title, "metrics": metrics, "view": "timeSeries",
                                             "region": "${AWS::Region}", "period": PERIOD, "stat": stat, **extra}}


def add_dashboard(b: Builder) -> None:
    service = b.service
    layout = _Layout()
    names = api_metric_names(b)
    critical = [logical for logical, resource in b.resources.items()
                if resource["Type"] == "AWS::CloudWatch::Alarm"
                and resource["Properties"]["AlarmActions"][0].get("Ref") == "CriticalAlarmTopic"][:100]
    layout.place({"type": "text", "properties": {"markdown": (
        f"# {service.name} ({service.stage})\n{len(service.routes)} routes, {len(deployed_functions(b))} functions. "
        "Latency is the gateway's (what callers wait); error and success rates are shares of requests; cold "
        f"starts and business metrics come from golive's EMF in the `{service.name}` namespace.")}}, 12, 3)
    if critical:
        layout.place({"type": "alarm", "properties": {"title": "Critical alarms",
                                                      "alarms": ["${" + a + ".Arn}" for a in critical]}}, 12, 3)
    layout.newline()
    for route in service.routes:
        dims = _dims(route_dimensions(b, route))
        latency = [["AWS/ApiGateway", names["latency"], *dims, {"stat": p, "label": p}]
                   for p in ("p50", "p90", "p95", "p99")]
        layout.place(_metric(f"{route.key}: latency (ms)", latency, stat="p99"), 8)
        rates: list[list[Any]] = [
            ["AWS/ApiGateway", names["count"], *dims, {"id": "requests", "visible": False}],
            ["AWS/ApiGateway", names["4xx"], *dims, {"id": "client", "visible": False}],
            ["AWS/ApiGateway", names["5xx"], *dims, {"id": "server", "visible": False}],
            [{"expression": "100 * FILL(client, 0) / requests", "label": "4xx %", "id": "rate4"}],
            [{"expression": "100 * FILL(server, 0) / requests", "label": "5xx %", "id": "rate5"}],
        ]
        layout.place(_metric(f"{route.key}: error rates (%)", rates), 8)
        traffic = [["AWS/ApiGateway", names["count"], *dims, {"label": "requests"}],
                   [service.name, "ColdStart", "service", service.name, "route", route.key,
                    {"label": "cold starts", "yAxis": "right"}]]
        layout.place(_metric(f"{route.key}: requests and cold starts", traffic), 8)
    functions = deployed_functions(b)

    def per_function(metric: str, stat: str = "Sum") -> list[list[Any]]:
        return [["AWS/Lambda", metric, "FunctionName", "${" + function_id(f) + "}", {"label": f"{f} {metric}",
                                                                                      "stat": stat}]
                for f in functions]

    layout.place(_metric("Functions: invocations, errors, throttles",
                         per_function("Invocations") + per_function("Errors") + per_function("Throttles")), 8)
    layout.place(_metric("Functions: duration p99 (ms)", per_function("Duration", "p99"), stat="p99"), 8)
    layout.place(_metric("Functions: concurrent executions", per_function("ConcurrentExecutions", "Maximum"),
                         stat="Maximum"), 8)
    if service.custom_metrics:
        custom = [[service.name, name, "service", service.name, {"label": name}] for name in service.custom_metrics]
        layout.place(_metric(f"Business metrics ({service.name} namespace)", custom), 12)
    for name in service.config.tables:
        table = ["TableName", "${" + table_id(name) + "}"]
        layout.place(_metric(f"Table {name}: capacity and throttles", [
            ["AWS/DynamoDB", "ConsumedReadCapacityUnits", *table],
            ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", *table],
            ["AWS/DynamoDB", "ReadThrottleEvents", *table, {"yAxis": "right"}],
            ["AWS/DynamoDB", "WriteThrottleEvents", *table, {"yAxis": "right"}]]), 12)
    if WEB_ACL in b.resources:
        acl = ["WebACL", WEB_ACL_NAME, "Region", "${AWS::Region}", "Rule", "ALL"]
        layout.place(_metric("WAF: allowed and blocked requests", [
            ["AWS/WAFV2", "AllowedRequests", *acl], ["AWS/WAFV2", "BlockedRequests", *acl]]), 12)
    body = json.dumps({"widgets": layout.widgets}, separators=(",", ":"))
    b.add("Dashboard", "AWS::CloudWatch::Dashboard", {
        "DashboardName": {"Fn::Sub": "${AWS::StackName}"},
        "DashboardBody": {"Fn::Sub": body},
        "Tags": b.tag_list,
    })
    b.output("DashboardUrl", {"Fn::Sub": "https://console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
                                         "#dashboards:name=${Dashboard}"}, "CloudWatch dashboard")
