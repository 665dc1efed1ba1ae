"""The alarms golive template deploys, evaluated over what golive dev recorded: real requests through `golive dev`
(a subprocess) until a route's 5xx rate breaches, then what `golive stats --alarms` prints while dev runs (its
/_golive/api/alarms) and after it stopped (the store file, with the service's routes read from its folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("telemetry")]

GOLIVE = str(Path(sys.executable).with_name("golive"))

CONFIG = """\
service = "pager"

[functions.api]
handler = "app.handler"

[functions.crasher]
handler = "crash.handler"
routes = ["GET /crash"]

[alarms]
evaluation_periods = 2   # one breaching minute in the last two pages: the test sends one burst
datapoints_to_alarm = 1
"""

APP = '''
from golive import App

app = App("pager")


@app.get("/flaky", public=True)
def flaky(request):
    if request.query.get("fail"):
        return {"error": "the database is down"}, 500  # handled: a 5xx for the route, not a Lambda error
    return {"ok": True}


@app.get("/fine", public=True)
def fine(request):
    return {"ok": True}


@app.get("/never", public=True)
def never(request):
    return {"ok": True}


handler = app.handler
'''

CRASH = '''
def handler(event, context):
    raise RuntimeError("unhandled")  # a Lambda error: the function's Errors metric
'''


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def golive(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    env["NO_COLOR"] = "1"
    return subprocess.run([GOLIVE, *args], capture_output=True, text=True, env=env, timeout=120)


def ok(*args: str) -> str:
    done = golive(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def states(document: dict[str, Any]) -> dict[str, str]:
    return {alarm["name"]: alarm["state"] for alarm in document["alarms"]}


@pytest.fixture(scope="module")
def pager(tmp_path_factory: pytest.TempPathFactory, launch_dev_server: Any) -> Any:
    root = tmp_path_factory.mktemp("alarms") / "pager"
    root.mkdir()
    (root / "golive.toml").write_text(CONFIG)
    (root / "app.py").write_text(APP)
    (root / "crash.py").write_text(CRASH)
    server = launch_dev_server(root)
    sent: dict[str, list[int]] = {"flaky": [], "fine": [], "crash": []}
    left = 60 - time.time() % 60
    if left < 25:  # the burst (a few seconds) falls in one period: the latest datapoint holds all of it
        time.sleep(left + 0.5)
    started = time.monotonic()
    for _ in range(40):
        sent["flaky"].append(get(server.url + "/flaky?fail=1")[0])
        sent["fine"].append(get(server.url + "/fine")[0])
        sent["crash"].append(get(server.url + "/crash")[0])
    assert {name: set(statuses) for name, statuses in sent.items()} == {"flaky": {500}, "fine": {200},
                                                                         "crash": {502}}
    assert time.monotonic() - started < 20, "the burst must fit in one minute's period"
    deadline = time.monotonic() + 10  # a request is stored once its REPORT line is in
    while json.loads(get(server.url + "/_golive/api/stats")[2])["total"]["count"] < 120:
        assert time.monotonic() < deadline, "golive dev did not store the 120 requests"
        time.sleep(0.1)
    yield server, root
    server.stop()


def test_stats_alarms_shows_the_breached_5xx_alarm_in_alarm_and_a_healthy_route_ok(pager: Any) -> None:
    _, root = pager
    text = ok("stats", str(root), "--alarms")
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "VALUE", "vs", "THRESHOLD", "REASON"]
    flaky = next(line for line in lines if line.startswith("GET /flaky 5xx rate "))
    assert " ALARM " in flaky and "100% > 1%" in flaky and "datapoints breached the threshold (> 1%)" in flaky
    fine = next(line for line in lines if line.startswith("GET /fine 5xx rate "))
    assert " OK " in fine and "0% > 1%" in fine
    never = next(line for line in lines if line.startswith("GET /never 5xx rate "))
    assert " INSUFFICIENT_DATA " in never and "no requests to GET /never recorded" in never
    assert "would page for " in lines[-1] and "GET /flaky 5xx rate" in lines[-1]
    document = json.loads(ok("stats", str(root), "--alarms", "--format", "json"))
    found = states(document)
    table = {name: next(line for line in lines if line.startswith(name + " ")) for name in found}
    assert all(f" {state} " in table[name] for name, state in found.items())  # the table says what the JSON says
    assert (found["GET /flaky 5xx rate"], found["GET /flaky success rate"], found["GET /fine 5xx rate"],
            found["GET /fine success rate"]) == ("ALARM", "ALARM", "OK", "OK")
    # a handler's own 500s are no Lambda errors; an unhandled exception is (and API Gateway answers 502)
    assert (found["function api error rate"], found["function crasher error rate"]) == ("OK", "ALARM")
    assert found["GET /crash 5xx rate"] == "ALARM" and found["function api throttles"] == "OK"
    by_name = {alarm["name"]: alarm for alarm in document["alarms"]}
    assert sum(p["samples"] or 0 for p in by_name["function api error rate"]["datapoints"]) == 80
    assert (by_name["function api error rate"]["value"], by_name["function crasher error rate"]["value"]) == (
        0.0, 100.0)


def test_the_alarms_api_answers_the_json_the_dashboard_reads(pager: Any) -> None:
    server, _ = pager
    status, content_type, body = get(server.url + "/_golive/api/alarms?since=1h")
    assert (status, content_type) == (200, "application/json")
    document = json.loads(body)
    assert document["evaluated_at"].endswith("Z")
    flaky = next(a for a in document["alarms"] if a["name"] == "GET /flaky 5xx rate")
    assert {"name", "description", "severity", "route", "function", "metric", "statistic", "comparison", "threshold",
            "period_s", "evaluation_periods", "datapoints_to_alarm", "treat_missing_data", "state", "reason",
            "value", "datapoints"} <= set(flaky)
    assert (flaky["route"], flaky["function"], flaky["severity"], flaky["metric"], flaky["threshold"],
            flaky["period_s"], flaky["evaluation_periods"], flaky["datapoints_to_alarm"],
            flaky["treat_missing_data"]) == ("GET /flaky", "api", "critical", "5xx_rate", 1, 60, 2, 1,
                                             "notBreaching")
    assert len(flaky["datapoints"]) == 4 and {"ts", "value", "breaching"} <= set(flaky["datapoints"][-1])
    assert any(p["breaching"] and p["value"] == 100.0 for p in flaky["datapoints"])
    status, content_type, body = get(server.url + "/_golive/api/alarms?since=soon")
    assert (status, content_type) == (400, "application/problem+json")
    assert "not a duration" in json.loads(body)["detail"]


def test_a_route_added_while_dev_runs_gets_its_alarms_and_a_new_threshold_counts_at_once(pager: Any) -> None:
    server, root = pager
    (root / "app.py").write_text(APP.replace('@app.get("/never"', '@app.get("/added", public=True)\n'
                                             'def added(request):\n    return {}\n\n\n@app.get("/never"'))
    server.wait_for_output(r"golive dev: reloaded \(\d+ routes\)", timeout=30)
    found = states(json.loads(ok("stats", str(root), "--alarms", "--format", "json")))
    assert found["GET /added 5xx rate"] == "INSUFFICIENT_DATA"
    (root / "golive.toml").write_text(CONFIG + "error_5xx_rate = 100\n")  # no rate is above 100%
    document = json.loads(ok("stats", str(root), "--alarms", "--format", "json"))
    flaky = next(a for a in document["alarms"] if a["name"] == "GET /flaky 5xx rate")
    assert (flaky["threshold"], flaky["state"]) == (100, "OK")
    (root / "golive.toml").write_text(CONFIG + "error_5xx_rate = \"high\"\n")
    broken = golive("stats", str(root), "--alarms")
    assert broken.returncode == 2 and "Traceback" not in broken.stderr and broken.stderr.count("\n") == 1
    assert broken.stderr.startswith("golive stats: error: the alarms cannot be read: golive.toml: [alarms] "
                                    "error_5xx_rate must be a number"), broken.stderr
    (root / "golive.toml").write_text(CONFIG)


def test_after_dev_stops_the_store_file_gives_the_same_states(pager: Any) -> None:
    server, root = pager
    running = states(json.loads(ok("stats", str(root), "--alarms", "--format", "json")))
    server.stop()
    stopped = states(json.loads(ok("stats", str(root), "--alarms", "--format", "json")))
    assert stopped == running
    # the template deploys exactly the alarms evaluated
    template = ok("template", str(root))
    assert all(f"${{AWS::StackName}} {name}" in template for name in stopped)
    assert template.count("AWS::CloudWatch::Alarm") == len(stopped)
