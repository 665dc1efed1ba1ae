"""Errors grouped for the dashboard (golive.telemetry.error_groups) over a real DuckDB store filled through the real
collector: one group per exception type, frames and route, its counts per time bucket, the requests that hit it,
and "new" only for a group first seen inside the window."""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any

import pytest

from golive.local.apigw.access_log import AccessLog
from golive.local.invocation import LogRecord
from golive.telemetry.collector import Collector
from golive.telemetry.error_groups import error_groups
from golive.telemetry.store import Store

BASE = math.floor(time.time() / 60) * 60 - 3600  # an hour ago, on a minute
WINDOW_START = BASE + 1800  # the window is the last half of that hour
GET_ITEM, PAY = "GET /items/{id}", "POST /pay"


def stack(function: str) -> str:
    return (f'Traceback (most recent call last):\n  File "/var/task/app.py", line 9, in {function}\n'
            f"    raise LookupError('gone')\nLookupError: gone\n")


# (seconds after BASE, route, the function that raised): the GET group starts before the window, POST inside it
FAILURES = [(60, GET_ITEM, "get_item"), (1900, GET_ITEM, "get_item"), (1960, GET_ITEM, "get_item"),
            (2500, PAY, "pay"), (3500, PAY, "pay")]


@pytest.fixture(scope="module")
def cur(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store = Store(tmp_path_factory.mktemp("errors") / ".golive" / "telemetry.duckdb")
    collector = Collector(store)
    records: list[dict[str, Any]] = []
    log = AccessLog(enabled=False, callback=records.append)
    for index, (offset, route, function) in enumerate(FAILURES):
        at = BASE + offset
        rid = str(uuid.uuid4())
        for stream, text in [
                ("platform", f"START RequestId: {rid} Version: $LATEST"),
                ("stdout", json.dumps({"level": "ERROR", "message": "unhandled exception", "error": {
                    "type": "LookupError", "message": f"gone {index}", "stack": stack(function)}})),
                ("platform", f"REPORT RequestId: {rid}\tDuration: 3.00 ms\tBilled Duration: 4 ms\t"
                             f"Memory Size: 512 MB\tMax Memory Used: 60 MB\t")]:
            collector.on_function_log(LogRecord("api", rid, stream, text, at + 0.001))
        log.emit({"requestId": f"api-{index}", "requestTimeEpoch": int(at * 1000), "httpMethod": route.split()[0],
                  "path": "/x", "routeKey": route, "stage": "dev", "status": 500, "responseLatency": 5,
                  "functionName": "api", "integrationRequestId": rid})
    for record in records:
        collector.on_access_log(record)
    collector.close()
    cursor = store.cursor()
    yield cursor
    cursor.close()
    store.close()


def us(epoch: float) -> int:
    return int(epoch * 1_000_000)


def test_groups_count_only_the_window_and_mark_only_groups_first_seen_in_it(cur: Any) -> None:
    found = error_groups(cur, us(WINDOW_START), us(BASE + 3600), buckets=6)
    groups = {group["route"]: group for group in found["errors"]}
    assert set(groups) == {GET_ITEM, PAY}
    get, pay = groups[GET_ITEM], groups[PAY]
    assert (get["count"], get["new"]) == (2, False)  # its first occurrence is older than the window
    assert (pay["count"], pay["new"]) == (2, True)
    assert get["first_seen"].startswith(time.strftime("%Y-%m-%dT%H:%M", time.gmtime(BASE + 60)))
    assert get["error_type"] == "LookupError" and get["frames"] == "app.py:get_item"
    assert get["fingerprint"] != pay["fingerprint"]
    assert "LookupError: gone" in pay["example_stack"] and pay["last_message"] == "gone 4"


def test_each_group_has_its_timeline_and_its_requests_newest_first(cur: Any) -> None:
    found = error_groups(cur, us(WINDOW_START), us(BASE + 3600), buckets=6)  # six buckets of five minutes
    assert found["bucket_s"] == 300 and found["buckets"] == 6
    groups = {group["route"]: group for group in found["errors"]}
    assert groups[GET_ITEM]["timeline"] == [2, 0, 0, 0, 0, 0]  # at 1900 s and 1960 s: the first bucket
    assert groups[PAY]["timeline"] == [0, 0, 1, 0, 0, 1]  # 2500 s, and 3500 s in the last bucket
    assert groups[PAY]["request_ids"] == ["api-4", "api-3"]
    assert groups[GET_ITEM]["request_ids"] == ["api-2", "api-1"]


def test_a_window_before_any_error_is_empty(cur: Any) -> None:
    assert error_groups(cur, us(BASE - 600), us(BASE), buckets=10)["errors"] == []
