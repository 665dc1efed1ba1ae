"""The dashboard's queries (golive.telemetry.explore) over a real DuckDB store filled through the real collector:
the endpoints board's gateway/function split per route, chart series (buckets, group keys, metrics, EMF), the
filters (and their one-line refusals), the invocation list's paging, and the same answers over the telemetry API."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from golive.local.apigw.access_log import AccessLog
from golive.local.invocation import LogRecord
from golive.telemetry import explore, queries
from golive.telemetry.api import ENDPOINTS, TelemetryAPI
from golive.telemetry.collector import Collector
from golive.telemetry.queries import QueryError
from golive.telemetry.store import Store

GET_USER, POST_USERS = "GET /users/{id}", "POST /users"
# ten minutes, aligned to the minute, ending before now: series with 10 buckets get one minute each
BASE = math.floor(time.time() / 60) * 60 - 900
STACK = ('Traceback (most recent call last):\n  File "/var/task/users/api.py", line 88, in get_user\n'
         '    return store.get(id)\nTimeoutError: dynamodb timed out\n')

# (minute, second, route, status, gateway response type or None, latency ms, cold start, what the function logs)
TRAFFIC: list[tuple[int, float, str | None, int, str | None, int, bool, str]] = [
    (0, 1, GET_USER, 200, None, 10, True, ""),
    (0, 2, GET_USER, 200, None, 20, False, ""),
    (1, 1, GET_USER, 200, None, 30, False, ""),
    (1, 2, GET_USER, 401, "UNAUTHORIZED", 2, False, ""),
    (2, 1, GET_USER, 404, None, 5, False, ""),
    (3, 1, GET_USER, 500, None, 40, False, "exception"),
    (3, 2, GET_USER, 502, "INTEGRATION_FAILURE", 50, False, ""),
    (4, 1, POST_USERS, 400, "BAD_REQUEST_BODY", 1, False, ""),
    (4, 2, POST_USERS, 201, None, 15, False, "emf"),
    (4, 2, POST_USERS, 429, "THROTTLED", 0, False, ""),  # the same millisecond as the request before it
    (5, 1, None, 403, "MISSING_AUTHENTICATION_TOKEN", 1, False, ""),
]


def fill(store: Store) -> list[dict[str, Any]]:
    """Send TRAFFIC through the collector as the local cloud would: access-log records, and for each request the
    function served its invocation's START, log lines and REPORT."""
    collector = Collector(store)
    records: list[dict[str, Any]] = []
    log = AccessLog(enabled=False, callback=records.append)
    for index, (minute, second, route, status, response_type, latency, cold, logs) in enumerate(TRAFFIC):
        at = BASE + minute * 60 + second
        values: dict[str, Any] = {
            "requestId": f"api-{index}", "extendedRequestId": f"ext-{index}", "requestTimeEpoch": int(at * 1000),
            "httpMethod": (route or "GET /nowhere").split()[0], "path": "/users/7" if route == GET_USER else "/users",
            "routeKey": route, "stage": "dev", "status": status, "responseLatency": latency, "functionName":
            None if route is None else "api", "errorResponseType": response_type}
        function_ran = response_type in (None, "INTEGRATION_FAILURE")
        if function_ran:
            rid = str(uuid.uuid4())
            values["integrationRequestId"] = rid
            lines = [("platform", f"START RequestId: {rid} Version: $LATEST")]
            if logs == "exception":
                lines.append(("stdout", json.dumps({"level": "ERROR", "message": "unhandled exception", "error": {
                    "type": "TimeoutError", "message": "dynamodb timed out", "stack": STACK}})))
            if logs == "emf":
                lines.append(("stdout", json.dumps({"_aws": {"Timestamp": int(at * 1000), "CloudWatchMetrics": [{
                    "Namespace": "users", "Dimensions": [["Service"], ["Service", "Route"]],  # two sets
                    "Metrics": [{"Name": "UserCreated", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}]
                    }]}, "Service": "users", "Route": route, "UserCreated": [1, 1], "Latency": 4.5,
                    "NotDeclared": 7})))
            init = "Init Duration: 210.00 ms\t" if cold else ""
            lines.append(("platform", f"REPORT RequestId: {rid}\tDuration: 3.00 ms\tBilled Duration: 4 ms\t"
                                      f"Memory Size: 512 MB\tMax Memory Used: 60 MB\t{init}"))
            for stream, text in lines:
                collector.on_function_log(LogRecord("api", rid, stream, text, at + 0.001))
        log.emit(values)
    for record in records:
        collector.on_access_log(record)
    collector.close()
    return records


@pytest.fixture(scope="module")
def cur(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store = Store(tmp_path_factory.mktemp("explore") / ".golive" / "telemetry.duckdb")
    fill(store)
    cursor = store.cursor()
    yield cursor
    cursor.close()
    store.close()


def window(**params: str) -> explore.Filters:
    """The ten minutes of TRAFFIC, with more filters."""
    return explore.parse_filters({"start": str(BASE), "end": str(BASE + 600), **params})


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- the board ---------------------------------------------------------------------------------------------------

def test_board_splits_each_route_into_gateway_and_function_failures(cur: Any) -> None:
    answer = explore.board(cur, window())
    rows = {row["route"]: row for row in answer["rows"]}
    assert [row["route"] for row in answer["rows"]] == [GET_USER, POST_USERS, "(no route)"]
    get_user = rows[GET_USER]
    assert (get_user["requests"], get_user["gateway_4xx"], get_user["function_4xx"], get_user["gateway_5xx"],
            get_user["function_5xx"]) == (7, 1, 1, 1, 1)
    assert get_user["gateway_by_type"] == {"INTEGRATION_FAILURE": 1, "UNAUTHORIZED": 1}
    assert get_user["success_rate"] == round(3 / 7, 4) and get_user["cold_starts"] == 1
    assert (get_user["p50"], get_user["p99"]) == (20.0, 49.4)  # of 2, 5, 10, 20, 30, 40, 50, interpolated
    post = rows[POST_USERS]
    assert (post["requests"], post["gateway_4xx"], post["function_4xx"], post["throttles"],
            post["success_rate"]) == (3, 2, 0, 1, round(1 / 3, 4))
    assert post["gateway_by_type"] == {"BAD_REQUEST_BODY": 1, "THROTTLED": 1}
    nowhere = rows["(no route)"]
    assert (nowhere["requests"], nowhere["gateway_4xx"], nowhere["gateway_by_type"]) == \
        (1, 1, {"MISSING_AUTHENTICATION_TOKEN": 1})
    totals = answer["totals"]
    assert (totals["requests"], totals["gateway_4xx"], totals["function_4xx"], totals["gateway_5xx"],
            totals["function_5xx"], totals["throttles"]) == (11, 4, 1, 1, 1, 1)


def test_board_agrees_with_golive_stats(cur: Any) -> None:
    stats = {row["key"]: row for row in queries.stats(cur)["rows"]}
    for row in explore.board(cur, window())["rows"]:
        same = stats[row["route"]]
        assert (row["requests"], row["gateway_5xx"], row["p50"], row["p95"], row["p99"]) == \
            (same["count"], same["gateway_5xx"], same["p50_ms"], same["p95_ms"], same["p99_ms"])


def test_board_sparkline_counts_each_routes_requests_per_bucket(cur: Any) -> None:
    answer = explore.board(cur, window(), buckets=10)
    assert answer["bucket_s"] == 60 and (answer["start"], answer["end"]) == (iso(BASE), iso(BASE + 600))
    rows = {row["route"]: row for row in answer["rows"]}
    assert rows[GET_USER]["sparkline"] == [2, 2, 1, 2, 0, 0, 0, 0, 0, 0]
    assert rows[POST_USERS]["sparkline"] == [0, 0, 0, 0, 3, 0, 0, 0, 0, 0]
    assert answer["totals"]["sparkline"] == [2, 2, 1, 2, 3, 1, 0, 0, 0, 0]


def test_board_follows_the_filters(cur: Any) -> None:
    rows = {row["route"]: row for row in explore.board(cur, window(decided_by="function"))["rows"]}
    assert set(rows) == {GET_USER, POST_USERS}
    assert (rows[GET_USER]["requests"], rows[GET_USER]["gateway_4xx"], rows[GET_USER]["function_5xx"]) == (5, 0, 1)
    later = explore.board(cur, explore.parse_filters({"start": str(BASE + 180), "end": str(BASE + 600)}))
    assert {row["route"]: row["requests"] for row in later["rows"]} == {GET_USER: 2, POST_USERS: 3, "(no route)": 1}
    assert explore.board(cur, window(route="GET /nothing"))["rows"] == []


# -- series ------------------------------------------------------------------------------------------------------

def groups(answer: dict[str, Any]) -> dict[str, list[float | None]]:
    return {group["key"]: group["values"] for group in answer["groups"]}


def test_series_counts_status_classes_per_minute(cur: Any) -> None:
    answer = explore.series(cur, window(), "count", "status_class", buckets=10)
    assert (answer["metric"], answer["group_by"], answer["bucket_s"]) == ("count", "status_class", 60)
    assert answer["buckets"] == [iso(BASE + 60 * i) for i in range(10)]
    assert answer["start"] == iso(BASE) and answer["end"] == iso(BASE + 600)
    assert [group["key"] for group in answer["groups"]] == ["2xx", "4xx", "5xx"]
    assert groups(answer) == {"2xx": [2, 1, 0, 0, 1, 0, 0, 0, 0, 0], "4xx": [0, 1, 1, 0, 2, 1, 0, 0, 0, 0],
                              "5xx": [0, 0, 0, 2, 0, 0, 0, 0, 0, 0]}
    assert answer["filters"]["start"] == iso(BASE)


def test_series_group_keys_name_absent_values_as_the_filters_accept_them(cur: Any) -> None:
    by_route = groups(explore.series(cur, window(), "count", "route", buckets=10))
    assert set(by_route) == {GET_USER, POST_USERS, "(no route)"} and sum(by_route["(no route)"]) == 1  # type: ignore
    by_type = groups(explore.series(cur, window(), "count", "error_type", buckets=10))
    assert sum(by_type["(none)"]) == 6 and sum(by_type["THROTTLED"]) == 1  # type: ignore[arg-type]
    everything = explore.series(cur, window(), "count", "none", buckets=10)
    assert groups(everything) == {"all": [2, 2, 1, 2, 3, 1, 0, 0, 0, 0]}
    # every key filters back to its own requests
    for key, values in by_route.items():
        listed = explore.invocations(cur, window(route=key))["invocations"]
        assert len(listed) == sum(values)  # type: ignore[arg-type]
    listed = explore.invocations(cur, window(error_type="(none)"))["invocations"]
    assert len(listed) == 6 and all(row["error_type"] is None for row in listed)


def test_series_metrics_errors_cold_starts_and_latency_percentiles(cur: Any) -> None:
    errors = groups(explore.series(cur, window(), "errors", "decided_by", buckets=10))
    assert errors == {"function": [0, 0, 0, 1, 0, 0, 0, 0, 0, 0], "gateway": [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]}
    cold = groups(explore.series(cur, window(), "cold_starts", "function", buckets=10))
    assert cold == {"api": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]}
    p50 = groups(explore.series(cur, window(route=GET_USER), "p50", "none", buckets=10))
    assert p50 == {"all": [15.0, 16.0, 5.0, 45.0, None, None, None, None, None, None]}  # empty minutes: no value


def test_series_of_a_custom_emf_metric_sums_its_values_per_route(cur: Any) -> None:
    created = groups(explore.series(cur, window(), "emf:UserCreated", "route", buckets=10))
    assert created == {POST_USERS: [0, 0, 0, 0, 2.0, 0, 0, 0, 0, 0]}
    everywhere = groups(explore.series(cur, window(), "emf:UserCreated", "none", buckets=10))
    assert everywhere == {"all": [0, 0, 0, 0, 2.0, 0, 0, 0, 0, 0]}
    assert explore.series(cur, window(), "emf:NoSuchMetric", "route", buckets=10)["groups"] == []
    # a value the document does not declare as a metric is not one (CloudWatch would not extract it)
    assert explore.series(cur, window(), "emf:NotDeclared", "none", buckets=10)["groups"] == []
    latency = groups(explore.series(cur, window(status="201"), "emf:Latency", "status", buckets=10))
    assert latency == {"201": [0, 0, 0, 0, 4.5, 0, 0, 0, 0, 0]}
    assert explore.series(cur, window(status="200"), "emf:Latency", "status", buckets=10)["groups"] == []
    assert explore.emf_metric_names(cur, window()) == ["Latency", "UserCreated"]
    assert explore.emf_metric_names(cur, explore.parse_filters({"start": str(BASE + 400)})) == []
    with pytest.raises(QueryError, match="without quotes"):
        explore.series(cur, window(), 'emf:a"b')


def test_series_picks_readable_bucket_widths(cur: Any) -> None:
    answer = explore.series(cur, explore.parse_filters({"since": "1h"}), buckets=60)
    assert answer["bucket_s"] == 60 and len(answer["buckets"]) in (60, 61)
    answer = explore.series(cur, explore.parse_filters({"since": "7d"}), buckets=60)
    assert answer["bucket_s"] == 10800  # 3 hours: 56 buckets
    assert sum(sum(group["values"]) for group in answer["groups"]) == len(TRAFFIC)


# -- filters -----------------------------------------------------------------------------------------------------

def test_filters_parse_times_and_round_trip_through_the_url(cur: Any) -> None:
    noon = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC).timestamp()
    iso_range = explore.parse_filters({"start": "2026-12-04T12:00:00Z", "end": "2026-12-04T12:30:00"})  # UTC
    assert (iso_range.start, iso_range.end) == (noon, noon + 1800)
    epoch = explore.parse_filters({"start": str(noon), "end": str(int(noon + 3600) * 1000)})  # s, and ms
    assert (epoch.start, epoch.end) == (noon, noon + 3600)
    since = explore.parse_filters({"since": "1h", "route": "GET   /users/{id}", "status_class": "5XX"})
    assert since.start is not None and abs(since.start - (time.time() - 3600)) < 5
    assert (since.route, since.status_class, since.since) == (GET_USER, "5xx", "1h")
    assert explore.filters_to_params(since) == {"route": GET_USER, "status_class": "5xx", "since": "1h"}
    fixed = window(status="401", decided_by="gateway")
    params = explore.filters_to_params(fixed)
    assert params == {"status": "401", "decided_by": "gateway", "start": iso(BASE), "end": iso(BASE + 600)}
    assert explore.parse_filters(params) == fixed
    assert explore.parse_filters({"limit": "5", "metric": "p95", "route": "", "status": "  "}) == explore.Filters()


def test_iso_start_and_end_name_the_same_instant_in_any_offset() -> None:
    f = explore.parse_filters({"start": "2026-12-04T12:00:00Z", "end": "2026-12-04T14:00:00+01:00"})
    assert f.end is not None and f.start is not None and f.end - f.start == 3600


@pytest.mark.parametrize(("params", "says"), [
    ({"status": "abc"}, "status 'abc' is not an HTTP status"),
    ({"status": "700"}, "use 100 to 599"),
    ({"status_class": "6xx"}, "use one of 1xx, 2xx, 3xx, 4xx, 5xx"),
    ({"decided_by": "lambda"}, "use gateway or function"),
    ({"since": "yesterday"}, "not a duration"),
    ({"start": "noon"}, "start 'noon' is not a time"),
    ({"start": "2026-12-04T13:00:00Z", "end": "2026-12-04T12:00:00Z"}, "is not before end"),
    ({"since": "1h", "start": "2026-12-04T12:00:00Z"}, "not both"),
])
def test_bad_filters_are_refused_in_one_line(params: dict[str, str], says: str) -> None:
    with pytest.raises(QueryError) as refused:
        explore.parse_filters(params)
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_bad_metric_group_or_page_is_refused_in_one_line(cur: Any) -> None:
    for call, says in ((lambda: explore.series(cur, window(), metric="p42"), "metric 'p42': use one of count"),
                       (lambda: explore.series(cur, window(), group_by="colour"), "group_by 'colour': use one of"),
                       (lambda: explore.invocations(cur, window(), before="soon"), "before 'soon' is not a time")):
        with pytest.raises(QueryError) as refused:
            call()
        assert says in str(refused.value) and "\n" not in str(refused.value)


# -- invocations -------------------------------------------------------------------------------------------------

def test_invocations_newest_first_with_the_exception_of_each(cur: Any) -> None:
    answer = explore.invocations(cur, window(route=GET_USER))
    listed = answer["invocations"]
    assert [row["request_id"] for row in listed] == [f"api-{i}" for i in (6, 5, 4, 3, 2, 1, 0)]
    assert answer["next_before"] is None and answer["filters"]["route"] == GET_USER
    failed = next(row for row in listed if row["status"] == 500)
    assert (failed["exception_type"], failed["decided_by"], failed["route"], failed["latency_ms"]) == \
        ("TimeoutError", "function", GET_USER, 40)
    assert set(failed) == {"ts", "request_id", "lambda_request_id", "route", "method", "path", "status",
                           "latency_ms", "decided_by", "error_type", "error_message", "function", "cold_start",
                           "exception_type"}
    gateway = next(row for row in listed if row["status"] == 401)
    assert (gateway["decided_by"], gateway["error_type"], gateway["exception_type"], gateway["lambda_request_id"]) \
        == ("gateway", "UNAUTHORIZED", None, None)
    assert listed[-1]["cold_start"] is True and listed[-1]["ts"] == iso(BASE + 1)


def test_invocations_page_through_everything_once_even_across_equal_times(cur: Any) -> None:
    seen: list[str] = []
    before = None
    for _ in range(20):
        page = explore.invocations(cur, window(), limit=3, before=before)
        assert len(page["invocations"]) <= 3
        seen += [row["request_id"] for row in page["invocations"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == [f"api-{i}" for i in range(len(TRAFFIC) - 1, -1, -1)]  # newest first, each once
    times = [explore.invocations(cur, window(), limit=1, before=None)["invocations"][0]["ts"]]
    assert times == [iso(BASE + 301)]


def test_invocations_page_exactly_at_microsecond_times(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.duckdb")
    collector = Collector(store)
    log = AccessLog(enabled=False, callback=collector.on_access_log)
    # sub-millisecond times, microseconds apart, two of them at the same microsecond
    stamps = [BASE * 1000 + 123.457, BASE * 1000 + 123.458, BASE * 1000 + 123.458, BASE * 1000 + 123.459,
              BASE * 1000 + 124.001, BASE * 1000 + 124.002]
    for index, stamp in enumerate(stamps):
        log.emit({"requestId": f"us-{index}", "requestTimeEpoch": stamp, "routeKey": GET_USER, "status": 200,
                  "httpMethod": "GET", "path": "/users/1", "responseLatency": 1})
    collector.close()
    seen: list[str] = []
    before = None
    for _ in range(10):
        page = explore.invocations(store.cursor(), explore.Filters(), limit=2, before=before)
        seen += [row["request_id"] for row in page["invocations"]]
        before = page["next_before"]
        if before is None:
            break
    assert sorted(seen) == sorted(f"us-{i}" for i in range(len(stamps))) and len(seen) == len(stamps)
    store.close()


def test_invocations_filtered_to_a_bar_of_the_chart(cur: Any) -> None:
    chart = explore.series(cur, window(), "count", "status_class", buckets=10)
    minute = chart["buckets"][3]
    bar = explore.parse_filters({"status_class": "5xx", "start": minute,
                                 "end": iso(BASE + 240)})
    listed = explore.invocations(cur, bar)["invocations"]
    assert sorted(row["status"] for row in listed) == [500, 502]
    assert len(listed) == groups(chart)["5xx"][3]


# -- the same answers over the telemetry API -----------------------------------------------------------------------

def test_the_api_answers_board_series_and_invocations_and_refuses_bad_input(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.duckdb")
    fill(store)
    api = TelemetryAPI(store)
    query = f"start={BASE}&end={BASE + 600}"
    status, headers, body = api.answer("GET", f"/_golive/api/board?{query}&buckets=10")
    assert status == 200 and ("Content-Type", "application/json") in headers
    rows = {row["route"]: row for row in json.loads(body)["rows"]}
    assert rows[GET_USER]["gateway_5xx"] == 1 and rows[GET_USER]["function_5xx"] == 1
    status, _, body = api.answer("GET", f"/_golive/api/series?{query}&metric=count&group_by=route&buckets=10")
    assert status == 200 and json.loads(body)["bucket_s"] == 60
    status, _, body = api.answer("GET", f"/_golive/api/invocations?{query}&route=POST%20/users&limit=2")
    page = json.loads(body)
    assert status == 200 and len(page["invocations"]) == 2 and page["next_before"]
    status, _, body = api.answer("GET", f"/_golive/api/invocations?{query}&route=POST%20/users&limit=2"
                                        f"&before={page['next_before']}")
    assert [row["status"] for row in json.loads(body)["invocations"]] == [400]
    for target, says in (("board?status=abc", "not an HTTP status"), ("series?metric=p42", "metric 'p42'"),
                         ("invocations?limit=many", "not a whole number")):
        status, headers, body = api.answer("GET", f"/_golive/api/{target}")
        problem = json.loads(body)
        assert status == 400 and ("Content-Type", "application/problem+json") in headers
        assert says in problem["detail"] and "\n" not in problem["detail"]
    assert {"board", "series", "invocations"} <= set(ENDPOINTS)
    store.close()


def test_an_empty_store_answers_empty_boards_charts_and_lists(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.duckdb")
    cursor = store.cursor()
    answer = explore.board(cursor, explore.Filters(), buckets=5)
    assert answer["rows"] == [] and answer["totals"]["requests"] == 0 and answer["totals"]["p95"] is None
    assert answer["totals"]["sparkline"] == [0] * 5 and answer["totals"]["success_rate"] is None
    chart = explore.series(cursor, explore.parse_filters({"since": "1h"}), "p99", "route")
    assert chart["groups"] == [] and len(chart["buckets"]) >= 60
    assert explore.invocations(cursor, explore.Filters())["invocations"] == []
    assert explore.emf_metric_names(cursor, explore.Filters()) == []
    store.close()
