"""Live Tail's session updates (which moto does not serve) become the same rows FilterLogEvents' pages do: the
payload AWS documents for StartLiveTail's sessionUpdate, through LiveTail and the stage ingest, into a real
DuckDB store, read back with the queries the commands use."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from golive.telemetry import queries
from golive.telemetry.cloudwatch import LiveTail, LogEvent
from golive.telemetry.deployed import StageLogs, SyncState, function_lines, ingest
from golive.telemetry.store import Store

ACCESS = "/aws/apigateway/shop-prod-access"
API = "/aws/lambda/shop-prod-api"
ARNS = {ACCESS: f"arn:aws:logs:us-east-1:123456789012:log-group:{ACCESS}",
        API: f"arn:aws:logs:us-east-1:123456789012:log-group:{API}"}
NAMES = StageLogs("prod", "shop-prod", ACCESS, {API: "api"})
TIMED_OUT = "5b0e1f6a-7c1d-4e0b-9a47-2f8d1c3b4a55"


def session_results(lambda_id: str, request_id: str, now_ms: int) -> list[dict[str, object]]:
    """sessionUpdate.sessionResults as StartLiveTail streams them (the group named as ACCOUNT:NAME or ARN)."""
    access = {"requestId": request_id, "requestTimeEpoch": str(now_ms), "httpMethod": "GET",
              "resourcePath": "/items/{id}", "path": "/prod/items/7", "status": "503", "responseLatency": "40",
              "integrationRequestId": lambda_id, "errorResponseType": "-", "stage": "prod"}
    stream = "2026/12/04/[$LATEST]abc"
    lines = [f"START RequestId: {lambda_id} Version: 3\n",
             json.dumps({"level": "ERROR", "message": "dynamodb unavailable"}) + "\n",
             f"END RequestId: {lambda_id}\n",
             f"REPORT RequestId: {lambda_id}\tDuration: 30.00 ms\tBilled Duration: 30 ms\tMemory Size: 512 MB\t"
             f"Max Memory Used: 90 MB\t\n"]
    results: list[dict[str, object]] = [
        {"logStreamName": stream, "logGroupIdentifier": f"123456789012:{API}", "message": text,
         "timestamp": now_ms + offset, "ingestionTime": now_ms + offset + 5} for offset, text in enumerate(lines)]
    results.append({"logStreamName": "access", "logGroupIdentifier": ARNS[ACCESS], "message": json.dumps(access),
                    "timestamp": now_ms + 10, "ingestionTime": now_ms + 12})
    return results


def test_live_tail_updates_become_requests_joined_to_their_invocation(tmp_path: Path) -> None:
    tail = LiveTail(logs=None, arns=ARNS)  # never started: no AWS session, only what a session would hand over
    lambda_id, request_id, now_ms = str(uuid.uuid4()), str(uuid.uuid4()), int(time.time() * 1000)
    tail._take(session_results(lambda_id, request_id, now_ms))
    events = tail.drain()
    assert {event.group for event in events} == {ACCESS, API}
    assert tail.drain() == []  # handed over once

    path = tmp_path / "telemetry-prod.duckdb"
    ingest(path, NAMES, events, SyncState())
    store = Store(path, read_only=True)
    try:
        found = queries.find_request(store.cursor(), request_id)
    finally:
        store.close()
    assert found is not None
    request = found["request"]
    assert (request["route"], request["status"], request["decided_by"], request["function"]) == \
        ("GET /items/{id}", 503, "function", "api")
    assert request["duration_ms"] == 30.0 and request["cold_start"] is False
    assert [line["message"] for line in found["logs"] if line["kind"] == "json"] == ["dynamodb unavailable"]


def test_lines_outside_an_invocation_belong_to_none_and_timeouts_to_theirs() -> None:
    events = [LogEvent(API, "s", 1, "INIT_START Runtime Version: python:3.12.v40\n", "1"),
              LogEvent(API, "s", 2, "loading settings\n", "2"),
              LogEvent(API, "s", 3, "START RequestId: r-1 Version: 1\n", "3"),
              LogEvent(API, "s", 4, "inside\n", "4"),
              LogEvent(API, "s", 5, "END RequestId: r-1\n", "5"),
              LogEvent(API, "s", 6, "after\n", "6"),
              LogEvent(API, "s", 7, f"2026-12-04T18:00:03.004Z {TIMED_OUT} Task timed out after 3.00 seconds\n", "7")]
    lines = function_lines(events, NAMES, open_invocations := {})
    assert [(line.line, line.stream, line.request_id) for line in lines] == [
        ("INIT_START Runtime Version: python:3.12.v40", "platform", None), ("loading settings", "stdout", None),
        ("START RequestId: r-1 Version: 1", "platform", "r-1"), ("inside", "stdout", "r-1"),
        ("END RequestId: r-1", "platform", "r-1"), ("after", "stdout", None),
        (f"2026-12-04T18:00:03.004Z {TIMED_OUT} Task timed out after 3.00 seconds", "platform", TIMED_OUT)]
    assert open_invocations == {}
