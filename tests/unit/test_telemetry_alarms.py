"""Alarms evaluated over the telemetry store as CloudWatch evaluates them: M of N datapoints, the low-traffic guard,
missing data, CloudWatch's evaluation range, nearest-rank percentiles, function errors from the runtime's lines."""

from __future__ import annotations

import itertools
import time
import uuid
from pathlib import Path

import pytest

from golive.local.apigw.access_log import AccessLog
from golive.local.invocation import LogRecord
from golive.service.alarms import AlarmDefinition, alarm_definitions
from golive.service.config import load_config
from golive.telemetry.alarms import evaluate
from golive.telemetry.collector import Collector
from golive.telemetry.store import Store

CONFIG = """\
service = "shop"

[functions.api]
handler = "app.handler"

[functions.guard]
handler = "guard.handler"

[tables.items]

[alarms]
period = 60
evaluation_periods = 3
datapoints_to_alarm = 2
min_requests = 10
min_invocations = 10
"""
ROUTES = [("GET /items", "api"), ("GET /other", "api"), ("GET /never", "api")]
PERIOD = 60
# 30 s into a period, an hour ago: the period in progress is NOW's, earlier ones are NOW - k * PERIOD
NOW = (int(time.time()) // PERIOD) * PERIOD - 3600 + 30
_ids = itertools.count()


@pytest.fixture
def store(tmp_path: Path):
    opened = Store(tmp_path / ".golive" / "telemetry.duckdb")
    yield opened
    opened.close()


@pytest.fixture
def alarms(tmp_path: Path) -> dict[str, AlarmDefinition]:
    (tmp_path / "golive.toml").write_text(CONFIG)
    return {alarm.name: alarm for alarm in alarm_definitions(load_config(tmp_path), ROUTES)}


def requests(collector: Collector, periods_ago: int, route: str, statuses: list[int],
             latencies: list[int] | None = None) -> None:
    """Requests the gateway answered in the period `periods_ago` before NOW's."""
    start = (NOW - NOW % PERIOD - periods_ago * PERIOD) * 1000
    for index, status in enumerate(statuses):
        AccessLog(enabled=False, callback=collector.on_access_log).emit({
            "requestId": f"api-{next(_ids)}", "requestTimeEpoch": start + index * 10, "httpMethod": "GET",
            "path": route.split()[1], "routeKey": route, "stage": "dev", "status": status,
            "responseLatency": latencies[index] if latencies else 12, "functionName": "api"})


def results(store: Store, alarms: dict[str, AlarmDefinition], collector: Collector) -> dict[str, dict]:
    collector.close()
    evaluated = evaluate(store.cursor(), alarms.values(), now=NOW)
    return {alarm["name"]: alarm for alarm in evaluated["alarms"]}


def test_an_error_rate_alarms_when_m_of_n_periods_breach_and_a_healthy_route_stays_ok(
        store: Store, alarms: dict[str, AlarmDefinition]) -> None:
    collector = Collector(store)
    for periods_ago, errors in ((2, 0), (1, 3), (0, 4)):
        requests(collector, periods_ago, "GET /items", [500] * errors + [200] * (20 - errors))
        requests(collector, periods_ago, "GET /other", [200] * 20)
    found = results(store, alarms, collector)
    five = found["GET /items 5xx rate"]
    assert (five["state"], five["value"], five["threshold"], five["severity"]) == ("ALARM", 20.0, 1, "critical")
    assert [(p["value"], p["breaching"], p["samples"]) for p in five["datapoints"][-3:]] == [
        (0.0, False, 20), (15.0, True, 20), (20.0, True, 20)]
    assert len(five["datapoints"]) == 6  # the evaluation range: twice the evaluation periods
    assert five["reason"].startswith("2 of the last 3 datapoints breached the threshold (> 1%); 2 make it alarm")
    assert found["GET /items success rate"]["state"] == "ALARM"  # 85% and 80% are under 95%
    assert found["GET /items 4xx rate"]["state"] == "OK"
    assert {found[f"GET /other {kind}"]["state"] for kind in ("5xx rate", "4xx rate", "success rate")} == {"OK"}


def test_one_breaching_period_in_three_does_not_alarm(store: Store, alarms: dict[str, AlarmDefinition]) -> None:
    collector = Collector(store)
    for periods_ago, errors in ((2, 0), (1, 0), (0, 10)):
        requests(collector, periods_ago, "GET /items", [500] * errors + [200] * (20 - errors))
    five = results(store, alarms, collector)["GET /items 5xx rate"]
    assert (five["state"], five["value"]) == ("OK", 50.0)
    assert five["reason"].startswith("1 of the last 3 datapoints breached")


def test_under_the_low_traffic_guard_a_period_of_errors_pages_nobody(
        store: Store, alarms: dict[str, AlarmDefinition]) -> None:
    collector = Collector(store)
    for periods_ago in (2, 1, 0):
        requests(collector, periods_ago, "GET /items", [500] * 5)  # every request fails, but only 5 per period
    found = results(store, alarms, collector)
    five, success = found["GET /items 5xx rate"], found["GET /items success rate"]
    assert (five["state"], five["value"], success["state"], success["value"]) == ("OK", 0.0, "OK", 100.0)
    assert "the latest period had 5 requests, under the low-traffic guard of 10: its rate counts as 0%" in \
        five["reason"]


def test_no_data_at_all_is_insufficient_but_an_idle_evaluation_range_is_ok_as_in_cloudwatch(
        store: Store, alarms: dict[str, AlarmDefinition]) -> None:
    collector = Collector(store)
    requests(collector, 30, "GET /other", [500] * 20)  # half an hour ago: outside the evaluation range
    found = results(store, alarms, collector)
    never = found["GET /never 5xx rate"]
    assert (never["state"], never["value"]) == ("INSUFFICIENT_DATA", None)
    assert never["reason"].startswith("no requests to GET /never recorded")
    idle = found["GET /other 5xx rate"]
    assert idle["state"] == "OK" and all(p["value"] is None for p in idle["datapoints"])
    assert "3 missing periods (no data) treated as not breaching" in idle["reason"]
    table = found["table items system errors"]
    assert table["state"] == "INSUFFICIENT_DATA" and "golive dev runs no DynamoDB" in table["reason"]
    # a shorter --since leaves the old burst out: nothing recorded in that span
    evaluated = evaluate(store.cursor(), alarms.values(), since_s=600, now=NOW)
    assert {a["name"]: a["state"] for a in evaluated["alarms"]}["GET /other 5xx rate"] == "INSUFFICIENT_DATA"


def test_real_datapoints_further_back_count_when_the_latest_periods_are_missing(
        store: Store, alarms: dict[str, AlarmDefinition]) -> None:
    collector = Collector(store)
    for periods_ago in (4, 3):  # two breaching periods, then silence: fewer real datapoints than 3
        requests(collector, periods_ago, "GET /items", [500] * 20)
    five = results(store, alarms, collector)["GET /items 5xx rate"]
    # CloudWatch takes both real datapoints of its evaluation range and fills one missing as not breaching
    assert (five["state"], five["value"]) == ("ALARM", 100.0)
    assert "1 missing period (no data) treated as not breaching" in five["reason"]


def test_latency_percentiles_are_nearest_rank_values_of_the_period(
        store: Store, alarms: dict[str, AlarmDefinition]) -> None:
    collector = Collector(store)
    requests(collector, 0, "GET /items", [200] * 100, latencies=list(range(100, 0, -1)))
    found = results(store, alarms, collector)
    assert [found[f"GET /items latency {p}"]["value"] for p in ("p90", "p95", "p99")] == [90.0, 95.0, 99.0]
    p99 = found["GET /items latency p99"]
    assert (p99["metric"], p99["statistic"], p99["unit"], p99["state"]) == ("latency", "p99", "ms", "OK")


def invocation(collector: Collector, periods_ago: int, offset_ms: int, duration_ms: float, failed: bool,
               function: str = "api") -> None:
    """One invocation's lines; the api function's is behind a request to GET /items, the guard's is not."""
    rid = str(uuid.uuid4())
    started = NOW - NOW % PERIOD - periods_ago * PERIOD + offset_ms / 1000
    lines = [("platform", f"START RequestId: {rid} Version: $LATEST")]
    if failed:  # what Lambda's Python runtime prints for an unhandled exception
        lines.append(("stdout", "[ERROR] LookupError: no price\rTraceback (most recent call last):\r  File "
                                "\"/var/task/app.py\", line 3, in handler"))
    lines += [("platform", f"END RequestId: {rid}"),
              ("platform", f"REPORT RequestId: {rid}\tDuration: {duration_ms:.2f} ms\tBilled Duration: "
                           f"{int(duration_ms) + 1} ms\tMemory Size: 512 MB\tMax Memory Used: 60 MB\t")]
    for stream, text in lines:
        collector.on_function_log(LogRecord(function, rid, stream, text, started + duration_ms / 1000))
    if function == "api":
        record = {"requestId": f"api-{next(_ids)}", "requestTimeEpoch": int(started * 1000), "httpMethod": "GET",
                  "path": "/items", "routeKey": "GET /items", "stage": "dev", "status": 200, "responseLatency": 1,
                  "functionName": "api", "integrationRequestId": rid}
        if failed:
            record.update(status=502, errorResponseType="INTEGRATION_FAILURE", integrationErrorMessage=(
                "Lambda execution failed with status 200 due to customer function error: no price"))
        AccessLog(enabled=False, callback=collector.on_access_log).emit(record)


def test_function_errors_duration_concurrency_and_throttles_come_from_invocations_and_the_gateway(
        store: Store, alarms: dict[str, AlarmDefinition]) -> None:
    collector = Collector(store)
    for periods_ago in (1, 0):
        for index in range(20):  # 2 of 20 fail: 10%; one at a time, 100 ms apart
            invocation(collector, periods_ago, 1000 + index * 100, 50.0 + index, failed=index < 2)
    for offset in range(3):  # three invocations overlap at 20 s into the current period
        invocation(collector, 0, 20_000 + offset, 500.0, failed=False)
    for periods_ago in (1, 0):
        AccessLog(enabled=False, callback=collector.on_access_log).emit({
            "requestId": f"api-{next(_ids)}", "requestTimeEpoch": (NOW - NOW % PERIOD - periods_ago * PERIOD) * 1000,
            "httpMethod": "GET", "path": "/items", "routeKey": "GET /items", "stage": "dev", "status": 500,
            "responseLatency": 1, "functionName": "api", "errorResponseType": "INTEGRATION_REJECTED",
            "integrationErrorMessage": "Rate Exceeded.", "integrationRequestId": str(uuid.uuid4())})
    for index in range(12):  # a function no route calls (an authorizer): its REPORT lines are its invocations
        invocation(collector, 0, 5000 + index * 100, 2900.0 if index < 3 else 10.0, failed=index < 6,
                   function="guard")
    found = results(store, alarms, collector)
    errors = found["function api error rate"]
    assert (errors["state"], [p["value"] for p in errors["datapoints"][-2:]]) == ("ALARM", [10.0, 8.7])  # 2 in 23
    throttles = found["function api throttles"]
    assert (throttles["state"], throttles["value"]) == ("ALARM", 1.0)
    duration = found["function api duration p99"]
    assert (duration["state"], duration["value"], duration["threshold"]) == ("OK", 500.0, 2400)  # 80% of 3 s
    concurrency = found["function api concurrency"]
    assert (concurrency["value"], concurrency["threshold"], concurrency["state"]) == (3.0, 8, "OK")
    guard = {metric: found[f"function guard {metric}"] for metric in ("error rate", "duration p99", "throttles")}
    assert [guard[m]["value"] for m in guard] == [50.0, 2900.0, 0.0]  # 6 of 12 failed; 12 invocations >= 10
    assert guard["error rate"]["datapoints"][-1]["samples"] == 12
