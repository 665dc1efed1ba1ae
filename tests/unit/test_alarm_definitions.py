"""One definition of each alarm feeds both `golive template` and the local evaluator: a threshold changed in
golive.toml's [alarms] changes the deployed alarm and the locally evaluated one alike."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from golive.deploy.template import build
from golive.local.apigw.access_log import AccessLog
from golive.service.alarms import service_alarms
from golive.service.config import load_config
from golive.telemetry.alarms import evaluate
from golive.telemetry.collector import Collector
from golive.telemetry.store import Store

APP = '''
from golive import App

app = App("shop")


@app.get("/items", public=True)
def items(request):
    return {"items": []}


@app.get("/boom", public=True)
def boom(request):
    return {"ok": False}, 500


handler = app.handler
'''
CONFIG = """\
service = "shop"

[functions.api]
handler = "app.handler"

[alarms]
error_5xx_rate = {threshold}
latency_p99_ms = 900
"""
NOW = (int(time.time()) // 60) * 60 - 1800 + 30
_ids = itertools.count()


def service(root: Path, threshold: float) -> Path:
    root.mkdir(exist_ok=True)
    (root / "app.py").write_text(APP)
    (root / "golive.toml").write_text(CONFIG.format(threshold=threshold))
    return root


def deployed(root: Path, logical: str) -> dict:
    template, _ = build(load_config(root))
    return template["Resources"][logical]["Properties"]


def evaluated(root: Path, store: Store, name: str) -> dict:
    found = evaluate(store.cursor(), service_alarms(load_config(root)), now=NOW)
    return next(alarm for alarm in found["alarms"] if alarm["name"] == name)


def test_a_threshold_in_golive_toml_changes_the_template_and_the_local_evaluation_alike(tmp_path: Path) -> None:
    root = service(tmp_path / "shop", 7)
    store = Store(root / ".golive" / "telemetry.duckdb")
    collector = Collector(store)
    for periods_ago in (2, 1, 0):  # 1 request in 20 answers 500: a 5% rate in each of three periods
        start = (NOW - NOW % 60 - periods_ago * 60) * 1000
        for index in range(20):
            AccessLog(enabled=False, callback=collector.on_access_log).emit({
                "requestId": f"api-{next(_ids)}", "requestTimeEpoch": start + index, "httpMethod": "GET",
                "path": "/boom", "routeKey": "GET /boom", "stage": "prod", "status": 500 if index == 0 else 200,
                "responseLatency": 950, "functionName": "api"})
    collector.close()
    try:
        alarm = deployed(root, "GetBoom5XXRateAlarm")
        local = evaluated(root, store, "GET /boom 5xx rate")
        assert (alarm["Threshold"], local["threshold"], local["state"], local["value"]) == (7, 7, "OK", 5.0)
        assert "IF(FILL(requests, 0) >= 20, 100 * FILL(errors, 0) / requests, 0)" in str(alarm["Metrics"])
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["TreatMissingData"]) == (
            local["evaluation_periods"], local["datapoints_to_alarm"], local["treat_missing_data"])
        assert alarm["AlarmDescription"] == local["description"]
        assert alarm["AlarmName"] == {"Fn::Sub": f"${{AWS::StackName}} {local['name']}"}

        service(root, 3)  # the same data, a lower threshold: both sides follow golive.toml
        alarm = deployed(root, "GetBoom5XXRateAlarm")
        local = evaluated(root, store, "GET /boom 5xx rate")
        assert (alarm["Threshold"], local["threshold"], local["state"]) == (3, 3, "ALARM")
        latency = deployed(root, "GetBoomLatencyP99Alarm")
        local_latency = evaluated(root, store, "GET /boom latency p99")
        assert (latency["Threshold"], latency["ExtendedStatistic"], latency["Period"]) == (
            local_latency["threshold"], local_latency["statistic"], local_latency["period_s"])
        assert (local_latency["state"], local_latency["value"]) == ("ALARM", 950.0)
        items = evaluated(root, store, "GET /items 5xx rate")
        assert items["state"] == "INSUFFICIENT_DATA"  # deployed too, never requested locally
        assert "GetItems5XXRateAlarm" in build(load_config(root))[0]["Resources"]
    finally:
        store.close()
