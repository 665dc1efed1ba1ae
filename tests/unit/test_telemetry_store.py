"""The telemetry collector and store in one process, on a real DuckDB file: parsing the lines a function writes
(golive's JSON records, Lambda's runtime errors, EMF, REPORT), joining a request to its invocation, pruning by
age and size, the filter language, and read-only SQL."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from golive.local.apigw.access_log import AccessLog
from golive.local.invocation import LogRecord
from golive.telemetry import queries
from golive.telemetry.collector import Collector
from golive.telemetry.store import Store, StoreError

LAMBDA_ID = "8f5c3f0e-1b1a-4c1e-9a57-3a3b8d1f2c10"
STACK = ('Traceback (most recent call last):\n  File "/var/task/golive/app.py", line 179, in handler\n'
         '    response = self._dispatch(request)\n  File "/var/task/users/api.py", line 88, in get_user\n'
         '    return store.get(id)\n  File "/var/task/users/store/dynamo.py", line 12, in get\n'
         '    raise TimeoutError("dynamodb timed out")\nTimeoutError: dynamodb timed out\n')


def access_record(**values: object) -> dict:
    """A record exactly as the local gateway's access log builds it (absent text is "-", numbers null)."""
    captured: list[dict] = []
    AccessLog(enabled=False, callback=captured.append).emit({
        "requestId": "api-1", "extendedRequestId": "ext-1", "requestTimeEpoch": int(time.time() * 1000),
        "httpMethod": "GET", "path": "/users/7", "routeKey": "GET /users/{id}", "stage": "dev", "status": 200,
        "responseLatency": 12, "functionName": "api", "xrayTraceId": "1-67000000-0123456789abcdef01234567",
        **values})
    return captured[0]


def line(stream: str, text: str, request_id: str | None = LAMBDA_ID) -> LogRecord:
    return LogRecord("api", request_id, stream, text, time.time())


@pytest.fixture
def store(tmp_path: Path):
    opened = Store(tmp_path / ".golive" / "telemetry.duckdb")
    yield opened
    opened.close()


def stored_lines(store: Store, *lines: LogRecord) -> list[dict]:
    collector = Collector(store)
    for record in lines:
        collector.on_function_log(record)
    collector.flush()
    cursor = store.cursor()
    return queries._records(cursor.execute("SELECT * FROM logs ORDER BY ts"))


def test_golive_exception_record_gives_type_message_stack_and_normalised_frames(store: Store) -> None:
    record = json.dumps({"timestamp": "2026-12-03T10:00:00Z", "level": "ERROR", "message": "unhandled exception",
                         "error": {"type": "TimeoutError", "message": "dynamodb timed out", "stack": STACK}})
    [row] = stored_lines(store, line("stdout", record))
    assert (row["kind"], row["level"], row["message"], row["error_type"], row["error_message"], row["error_stack"]) \
        == ("json", "ERROR", "unhandled exception", "TimeoutError", "dynamodb timed out", STACK)
    assert row["error_frames"] == "dynamo.py:get < api.py:get_user < app.py:handler"
    assert row["lambda_request_id"] == LAMBDA_ID and row["line"] == record


def test_lambda_runtime_error_line_is_one_error_and_frames_ignore_line_numbers_and_folders(store: Store) -> None:
    text = ('[ERROR] KeyError: \'id\'\rTraceback (most recent call last):\r\u00a0\u00a0File "/var/task/h.py", '
            'line 4, in handler\r\u00a0\u00a0\u00a0\u00a0return event["id"]')
    moved = STACK.replace("line 88", "line 91").replace("/var/task", "/home/me/src")
    plain = "a plain print { not json"
    warning = json.dumps({"levelname": "WARNING", "msg": "slow", "exception_name": "Slow", "exception": "Trace"})
    rows = stored_lines(store, line("stdout", text),
                        line("stdout", json.dumps({"level": "ERROR", "error": {"type": "TimeoutError",
                                                                               "stack": moved}})),
                        line("stdout", plain), line("stdout", warning),
                        line("platform", f"RequestId: {LAMBDA_ID} Error: Runtime exited with error: exit status 3"))
    runtime, golive_error, printed, powertools, platform = rows
    assert (runtime["kind"], runtime["level"], runtime["error_type"], runtime["error_message"]) == \
        ("text", "ERROR", "KeyError", "'id'")
    assert runtime["error_frames"] == "h.py:handler" and "\r" not in runtime["error_stack"]
    assert golive_error["error_frames"] == "dynamo.py:get < api.py:get_user < app.py:handler"
    assert (printed["kind"], printed["level"], printed["message"], printed["error_type"]) == \
        ("text", None, plain, None)
    assert (powertools["level"], powertools["message"], powertools["error_type"], powertools["error_stack"]) == \
        ("WARN", "slow", "Slow", "Trace")
    assert (platform["kind"], platform["level"]) == ("platform", "ERROR")


def test_emf_document_becomes_one_metric_row_per_name_dimension_set_and_value(store: Store) -> None:
    document = {"_aws": {"Timestamp": 1796300000000, "CloudWatchMetrics": [{
        "Namespace": "users", "Dimensions": [["Service", "Route"], ["Service"]],
        "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}, {"Name": "Count", "Unit": "Count"}]}]},
        "Service": "users", "Route": "GET /users/{id}", "Latency": [3.5, 4.0], "Count": 1}
    [row] = stored_lines(store, line("stdout", json.dumps(document)))
    assert row["kind"] == "emf"
    metrics = queries._records(store.cursor().execute("SELECT * FROM metrics"))
    assert len(metrics) == 6  # Latency: 2 values x 2 sets; Count: 1 x 2
    latency = [m for m in metrics if m["name"] == "Latency"]
    assert {m["value"] for m in latency} == {3.5, 4.0}
    assert {m["dimensions"] for m in latency} == {'{"Service":"users","Route":"GET /users/{id}"}',
                                                  '{"Service":"users"}'}
    assert all(m["ts"] == "2026-12-03T12:13:20.000Z" and m["namespace"] == "users" and m["unit"] in
               ("Milliseconds", "Count") for m in metrics)


def test_a_request_waits_for_its_report_line_and_is_stored_with_it(store: Store) -> None:
    collector = Collector(store, join_wait=60)
    collector.on_function_log(line("platform", f"START RequestId: {LAMBDA_ID} Version: $LATEST"))
    collector.on_function_log(line("stdout", json.dumps({"level": "INFO", "message": "user read",
                                                         "correlation_id": "corr-9"})))
    collector.on_access_log(access_record(integrationRequestId=LAMBDA_ID, integrationLatency=9))
    collector.flush()
    cursor = store.cursor()
    assert queries.find_request(cursor, "api-1") is None  # no REPORT yet: the request waits
    collector.on_function_log(line("platform", f"END RequestId: {LAMBDA_ID}"))
    collector.on_function_log(line("platform", f"REPORT RequestId: {LAMBDA_ID}\tDuration: 8.25 ms\tBilled Duration: "
                                               f"240 ms\tMemory Size: 512 MB\tMax Memory Used: 61 MB\tInit Duration: "
                                               f"231.40 ms\t"))
    collector.flush()
    for any_id in ("api-1", "ext-1", LAMBDA_ID, "1-67000000-0123456789abcdef01234567", "corr-9"):
        found = queries.find_request(cursor, any_id)
        assert found is not None, any_id
        request = found["request"]
        assert (request["decided_by"], request["cold_start"], request["init_ms"], request["duration_ms"],
                request["billed_ms"], request["max_memory_mb"]) == ("function", True, 231.4, 8.25, 240, 61)
        assert [entry["message"].split()[0] for entry in found["logs"]] == ["START", "user", "END", "REPORT"]


def test_a_request_row_holds_its_start_end_report_and_the_logs_view_gives_them_back_as_written(store: Store) -> None:
    report = (f"REPORT RequestId: {LAMBDA_ID}\tDuration: 3.10 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\t"
              f"Max Memory Used: 40 MB\t")
    written = [line("platform", f"START RequestId: {LAMBDA_ID} Version: $LATEST"), line("stdout", "hello"),
               line("platform", f"END RequestId: {LAMBDA_ID}"), line("platform", report)]
    authorizer_id = "0b6f1d2e-5a4c-4e8f-9d3b-7c2a1e0f9a88"  # an invocation no request names as its integration
    authorizer = [line("platform", f"START RequestId: {authorizer_id} Version: $LATEST", authorizer_id),
                  line("platform", f"END RequestId: {authorizer_id}", authorizer_id)]
    collector = Collector(store, join_wait=60)
    for record in written + authorizer:
        collector.on_function_log(record)
    collector.on_access_log(access_record(integrationRequestId=LAMBDA_ID))
    collector.flush()
    cursor = store.cursor()
    assert cursor.execute("SELECT line FROM log_lines").fetchall() == [("hello",)]  # one row for four lines
    lines = queries._records(cursor.execute("SELECT * FROM logs WHERE lambda_request_id = ?::UUID ORDER BY ts",
                                            [LAMBDA_ID]))
    assert [entry["line"] for entry in lines] == [record.line for record in written]
    assert [(entry["stream"], entry["kind"], entry["function"]) for entry in lines] == \
        [("platform", "platform", "api"), ("stdout", "text", "api"), ("platform", "platform", "api"),
         ("platform", "platform", "api")]
    assert abs(dt_epoch(lines[3]["ts"]) - written[3].timestamp) < 0.001
    # the authorizer's lines wait for a request that never names them, then are stored as they came
    collector.flush(final=True)
    assert cursor.execute("SELECT line FROM logs WHERE lambda_request_id = ?::UUID ORDER BY ts",
                          [authorizer_id]).fetchall() == [(record.line,) for record in authorizer]


def dt_epoch(iso: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_gateway_decisions_are_stored_at_once_and_counted_as_gateway_made(store: Store) -> None:
    collector = Collector(store)
    collector.on_access_log(access_record(requestId="a", status=429, errorResponseType="THROTTLED",
                                          errorMessage="Too Many Requests"))
    collector.on_access_log(access_record(requestId="b", status=502, errorResponseType="INTEGRATION_FAILURE",
                                          integrationRequestId=LAMBDA_ID))
    collector.on_access_log(access_record(requestId="c", status=500, integrationRequestId="other-id"))
    collector.close()  # the last flush stores requests still waiting for a REPORT line
    stats = queries.stats(store.cursor())
    row = stats["rows"][0]
    assert (row["key"], row["count"], row["gateway_4xx"], row["gateway_5xx"], row["function_5xx"],
            row["throttles"]) == ("GET /users/{id}", 3, 1, 1, 1, 1)


def test_prune_drops_what_is_older_than_the_age_limit_then_the_oldest_beyond_the_size_limit(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.duckdb", max_age_s=3600)
    now = time.time()
    collector = Collector(store)
    for i in range(3):
        collector.on_access_log(access_record(requestId=f"old-{i}", requestTimeEpoch=(now - 7200) * 1000))
        collector.on_access_log(access_record(requestId=f"new-{i}", requestTimeEpoch=(now - i) * 1000))
    collector.on_function_log(LogRecord("api", None, "stdout", "old line", now - 7200))
    collector.flush()
    assert store.prune(now) == 3
    cursor = store.cursor()
    assert cursor.execute("SELECT list(request_id ORDER BY request_id) FROM requests").fetchone()[0] == \
        ["new-0", "new-1", "new-2"]
    assert cursor.execute("SELECT count(*) FROM logs").fetchone()[0] == 0
    store.max_bytes = 0  # nothing fits: the oldest go first, a tenth at a time, until none is left
    assert store.prune(now) == 3
    store.close()


def test_filter_language_and_its_one_line_errors() -> None:
    condition, params = queries.parse_filter('level=error route="GET  /users/{id}" status>=500 path~users')
    assert params == ["GET /users/{id}", 500, "users", "ERROR"]
    assert "EXISTS" in condition
    for bad, says in (("colour=red", "unknown field 'colour'"), ("status>=many", "takes a number"),
                      ("route", "is not FIELD=VALUE"), ('route="GET', "quote values")):
        with pytest.raises(queries.QueryError, match=says):
            queries.parse_filter(bad)
    assert queries.parse_since("90s") == 90 and queries.parse_since("2h") == 7200
    with pytest.raises(queries.QueryError, match="not a duration"):
        queries.parse_since("1 fortnight")


def test_sql_is_read_only(store: Store) -> None:
    cursor = store.cursor()
    assert queries.read_only_sql(cursor, "SELECT count(*) AS n FROM requests") == \
        {"columns": ["n"], "rows": [[0]], "truncated": False}
    for sql, says in (("DELETE FROM requests", "DELETE statements are refused"),
                      ("CREATE TABLE x (a INT)", "CREATE statements are refused"),
                      ("SELECT 1; DROP TABLE logs", "exactly one"), ("SELEC 1", "bad SQL")):
        with pytest.raises(queries.QueryError, match=says):
            queries.read_only_sql(cursor, sql)


def test_a_missing_store_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="run `golive dev`"):
        Store(tmp_path / "none.duckdb", read_only=True)


def test_stats_percentiles_are_exact_as_duckdb_computes_them(store: Store) -> None:
    latencies = [1, 2, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 7, 7, 7]
    collector = Collector(store)
    for i, latency in enumerate(latencies):
        collector.on_access_log(access_record(requestId=f"r{i}", responseLatency=latency))
    collector.flush()
    cursor = store.cursor()
    expected = cursor.execute("SELECT quantile_cont(latency_ms, [0.5, 0.95, 0.99]) FROM requests").fetchone()[0]
    total = queries.stats(cursor)["total"]
    assert [total["p50_ms"], total["p95_ms"], total["p99_ms"]] == [round(v, 1) for v in expected]
    assert total["count"] == 15 and total["ok"] == 15 and total["function"] == 15


def test_records_missing_fields_or_with_a_number_for_text_are_stored_not_lost(store: Store) -> None:
    collector = Collector(store)
    collector.on_access_log(access_record(requestId="api-7", principalId=42))  # a Lambda authorizer's number
    collector.on_access_log({"requestId": "api-8", "requestTimeEpoch": int(time.time() * 1000), "status": 204,
                             "routeKey": "GET /x"})  # a record from elsewhere, most fields left out
    assert collector.flush(final=True) == 2
    rows = store.cursor().execute("SELECT request_id, principal, status, route, decided_by FROM requests "
                                  "ORDER BY request_id").fetchall()
    assert rows == [("api-7", "42", 200, "GET /users/{id}", "function"), ("api-8", None, 204, "GET /x", "function")]
