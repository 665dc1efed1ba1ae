"""golive dev's telemetry as a user meets it: real requests through `golive dev` (a subprocess) that fail at the
gateway and in the function, then what `golive stats`, `logs`, `errors` and `query` print, while dev runs (through
its /_golive/api/) and after it stopped (the store file, read-only)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import DevServer
from shop_service import APP, RAW

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("telemetry")]

GOLIVE = str(Path(sys.executable).with_name("golive"))

CONFIG = """\
service = "shop"

[api]
type = "rest"
stage = "dev"

[api.route_throttling]
"GET /limited" = { rate = 1, burst = 1 }

[auth]
type = "jwt"
issuer = "https://shop.example.test"
audience = "shop-api"
public_routes = ["GET /malformed", "GET /limited"]

[functions.api]
handler = "app.handler"

[functions.raw]
handler = "raw.handler"
memory = 256
architecture = "x86_64"
routes = ["GET /malformed", "GET /limited"]
"""


class Sent:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


def send(server: DevServer, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> Sent:
    request = urllib.request.Request(server.url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Sent(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as exc:
        return Sent(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


def golive(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    env["NO_COLOR"] = "1"
    return subprocess.run([GOLIVE, *args], capture_output=True, text=True, env=env, timeout=60)


def ok(*args: str) -> str:
    done = golive(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def one_line_error(*args: str) -> str:
    done = golive(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"golive {args[0]}: error: ")
    return done.stderr


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, launch_dev_server: Any) -> Any:
    root = tmp_path_factory.mktemp("telemetry") / "shop"
    root.mkdir()
    (root / "golive.toml").write_text(CONFIG)
    (root / "app.py").write_text(APP)
    (root / "raw.py").write_text(RAW)
    server = launch_dev_server(root)
    sent = {
        "item": send(server, "GET", "/items/1"),
        "correlated": send(server, "GET", "/items/7", headers={"X-Request-ID": "corr-e2e-7"}),
        "unknown": send(server, "GET", "/nowhere"),
        "no_token": send(server, "GET", "/private"),
        "invalid": send(server, "POST", "/items", b'{"nm": 1}', {"Content-Type": "application/json"}),
        "limited": send(server, "GET", "/limited"),
        "throttled": send(server, "GET", "/limited"),
        "throttled_again": send(server, "GET", "/limited"),
        "malformed": send(server, "GET", "/malformed"),
        "boom": send(server, "GET", "/boom"),
        "boom_again": send(server, "GET", "/boom?item=y"),
    }
    statuses = {name: reply.status for name, reply in sent.items()}
    assert statuses == {"item": 200, "correlated": 200, "unknown": 403, "no_token": 401, "invalid": 400,
                        "limited": 200, "throttled": 429, "throttled_again": 429, "malformed": 502, "boom": 500,
                        "boom_again": 500}
    yield server, root, sent
    server.stop()


def test_stats_attributes_each_gateway_failure_to_its_route_and_splits_gateway_from_function(shop: Any) -> None:
    server, root, _ = shop
    stats = json.loads(ok("stats", str(root), "--format", "json"))
    rows = {row["key"]: row for row in stats["rows"]}
    assert rows["GET /private"]["gateway_4xx"] == 1  # 401, the authorizer
    assert rows["POST /items"]["gateway_4xx"] == 1  # 400, request validation
    assert (rows["GET /limited"]["count"], rows["GET /limited"]["throttles"], rows["GET /limited"]["ok"]) == (3, 2, 1)
    assert rows["GET /malformed"]["gateway_5xx"] == 1 and rows["GET /malformed"]["function_5xx"] == 0  # 502
    assert rows["(no route)"]["gateway_4xx"] == 1  # 403 Missing Authentication Token
    boom = rows["GET /boom"]
    assert (boom["function_5xx"], boom["gateway_5xx"], boom["gateway"]) == (2, 0, 0)
    assert rows["GET /items/{id}"]["ok"] == 2 and rows["GET /items/{id}"]["cold_starts"] == 1
    assert stats["total"]["count"] == 11 and stats["total"]["gateway"] == 6 and stats["total"]["function"] == 5
    table = ok("stats", str(root)).splitlines()
    assert table[0].split()[:3] == ["ROUTE", "COUNT", "2XX/3XX"]
    boom_row = next(line for line in table if line.startswith("GET /boom"))
    assert boom_row.split()[2:8] == ["2", "0", "0", "0", "0", "2"]  # count, 2xx, 4xx gw/fn, 5xx gw/fn
    # the telemetry API itself is never a request of the service
    with urllib.request.urlopen(server.url + "/_golive/api/stats?by=status", timeout=10) as response:
        assert response.headers["Content-Type"] == "application/json"
        by_status = {row["key"]: row["count"] for row in json.loads(response.read())["rows"]}
    assert by_status == {"200": 3, "400": 1, "401": 1, "403": 1, "429": 2, "500": 2, "502": 1}


def test_any_of_the_four_ids_finds_the_whole_request(shop: Any) -> None:
    _, root, sent = shop
    api_id = sent["correlated"].headers["x-amzn-requestid"]
    trace = sent["correlated"].headers["x-amzn-trace-id"]
    found = json.loads(ok("logs", str(root), "--request-id", api_id, "--format", "json"))
    lambda_id = found["request"]["lambda_request_id"]
    assert found["request"]["correlation_id"] == "corr-e2e-7"
    outputs = [ok("logs", str(root), "--request-id", any_id) for any_id in (api_id, lambda_id, trace, "corr-e2e-7")]
    assert len(set(outputs)) == 1
    text = outputs[0]
    first = text.splitlines()[0]
    assert " 200 GET /items/7 → GET /items/{id} function " in first and f"id={api_id}" in first
    for expected in (f"START RequestId: {lambda_id}", f"END RequestId: {lambda_id}", f"REPORT RequestId: {lambda_id}",
                     "INFO item read", "item_id=7", "EMF Latency="):
        assert expected in text, text
    assert one_line_error("logs", str(root), "--request-id", "no-such-id")


def test_logs_show_gateway_decisions_and_the_function_stack_trace_filtered(shop: Any) -> None:
    _, root, _ = shop
    text = ok("logs", str(root))
    assert " 401 GET /private → GET /private gateway UNAUTHORIZED " in text
    assert " 400 POST /items → POST /items gateway BAD_REQUEST_BODY " in text and "data must contain" in text
    assert text.count(" 429 GET /limited → GET /limited gateway THROTTLED ") == 2
    assert " 502 GET /malformed → GET /malformed gateway INTEGRATION_FAILURE " in text
    assert "Malformed Lambda proxy response" in text and "raw handler saw /malformed" in text
    errors_only = ok("logs", str(root), "--filter", 'level=ERROR route="GET /boom" status>=500')
    heads = [line for line in errors_only.splitlines() if not line.startswith(" ")]
    assert len(heads) == 2 and all(" 500 GET /boom" in line and " function " in line for line in heads)
    assert 'raise LookupError(f"no price for {item}")' in errors_only and "LookupError: no price for y" in errors_only
    gateway_only = ok("logs", str(root), "--filter", "decided_by=gateway", "--format", "json")
    assert sorted(r["status"] for r in json.loads(gateway_only)["requests"]) == [400, 401, 403, 429, 429, 502]
    assert "unknown field 'colour'" in one_line_error("logs", str(root), "--filter", "colour=red")
    assert "not a duration" in one_line_error("logs", str(root), "--since", "yesterday")


def test_errors_group_the_function_exception_by_type_frames_and_route(shop: Any) -> None:
    _, root, sent = shop
    groups = json.loads(ok("errors", str(root), "--format", "json"))["errors"]
    assert len(groups) == 1
    group = groups[0]
    assert (group["error_type"], group["route"], group["count"]) == ("LookupError", "GET /boom", 2)
    assert group["frames"].startswith("app.py:load_price < app.py:boom")
    assert group["example_request_id"] == sent["boom_again"].headers["x-amzn-requestid"]
    text = ok("errors", str(root))
    assert f"2 x LookupError: no price for y  GET /boom  [{group['fingerprint']}]" in text
    assert f"golive logs --request-id {group['example_request_id']}" in text


def api(server: Any, target: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(server.url + "/_golive/api/" + target, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_board_series_and_invocations_over_golive_devs_api(shop: Any) -> None:
    server, _, sent = shop
    status, board = api(server, "board?since=1h")
    assert status == 200
    rows = {row["route"]: row for row in board["rows"]}
    assert (rows["GET /private"]["gateway_4xx"], rows["GET /private"]["gateway_by_type"]) == (1, {"UNAUTHORIZED": 1})
    assert (rows["POST /items"]["gateway_by_type"], rows["POST /items"]["function_4xx"]) == \
        ({"BAD_REQUEST_BODY": 1}, 0)
    assert (rows["GET /limited"]["throttles"], rows["GET /limited"]["gateway_by_type"]) == (2, {"THROTTLED": 2})
    assert (rows["GET /malformed"]["gateway_5xx"], rows["GET /malformed"]["gateway_by_type"]) == \
        (1, {"INTEGRATION_FAILURE": 1})
    assert (rows["GET /boom"]["function_5xx"], rows["GET /boom"]["gateway_5xx"]) == (2, 0)
    assert rows["(no route)"]["gateway_by_type"] == {"MISSING_AUTHENTICATION_TOKEN": 1}
    assert board["totals"]["requests"] == 11 and sum(board["totals"]["sparkline"]) == 11
    status, series = api(server, "series?since=1h&metric=count&group_by=decided_by&buckets=12")
    assert status == 200 and {g["key"]: sum(g["values"]) for g in series["groups"]} == {"function": 5, "gateway": 6}
    status, listed = api(server, "invocations?since=1h&route=GET%20/boom")
    assert status == 200
    assert [row["request_id"] for row in listed["invocations"]] == [sent[name].headers["x-amzn-requestid"]
                                                                   for name in ("boom_again", "boom")]
    assert {row["exception_type"] for row in listed["invocations"]} == {"LookupError"}
    status, problem = api(server, "series?since=1h&group_by=colour")
    assert status == 400 and problem["detail"].startswith("group_by 'colour': use one of ")


def test_query_runs_read_only_sql_and_refuses_writes(shop: Any) -> None:
    _, root, _ = shop
    out = ok("query", "SELECT error_type, count(*) AS n FROM requests WHERE decided_by = 'gateway' "
                      "GROUP BY ALL ORDER BY n DESC, error_type", str(root))
    assert out.splitlines()[1].split() == ["THROTTLED", "2"]
    assert out.splitlines()[-1] == "(5 rows)"
    assert "read-only: DELETE" in one_line_error("query", "DELETE FROM requests", str(root))
    assert "bad SQL" in one_line_error("query", "SELEC 1", str(root))
    assert "bad SQL" in one_line_error("query", "SELECT nope FROM requests", str(root))


def test_tail_shows_only_new_requests_as_they_arrive(shop: Any) -> None:
    server, root, _ = shop
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    tail = subprocess.Popen([GOLIVE, "logs", str(root), "--tail", "--format", "json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**env, "NO_COLOR": "1"})
    watchdog = threading.Timer(30, tail.kill)  # a tail that never prints must not hang the suite
    watchdog.start()
    try:
        time.sleep(1.0)  # tail has started polling: what is already stored is not replayed
        sent = send(server, "GET", "/items/42")
        assert sent.status == 200
        assert tail.stdout is not None
        first = json.loads(tail.stdout.readline())
        assert (first["path"], first["status"], first["request_id"]) == \
            ("/items/42", 200, sent.headers["x-amzn-requestid"])
        assert any("item read" in (line["message"] or "") for line in first["logs"])
    finally:
        watchdog.cancel()
        tail.terminate()
        tail.wait(10)


MEMORY = {"api": (512, "arm64"), "raw": (256, "x86_64")}  # as CONFIG sets them (api: golive's defaults)


def assert_cost_follows_from_the_store(root: Path) -> dict[str, Any]:
    """`golive stats --cost` against what `golive query` reads from the same store: the REPORT lines and requests."""
    result = json.loads(ok("stats", str(root), "--cost", "--format", "json"))
    reports = json.loads(ok("query", "SELECT function, epoch_ms(ts), line FROM logs WHERE stream = 'platform' AND "
                                     "starts_with(line, 'REPORT ')", str(root), "--format", "json"))["rows"]
    [[count, first, last]] = json.loads(ok("query", "SELECT count(*), epoch_ms(min(ts)), epoch_ms(max(ts)) FROM "
                                                    "requests", str(root), "--format", "json"))["rows"]
    assert result["requests"] == count and result["api_type"] == "rest"
    seconds = max(1.0, (max([last, *(r[1] for r in reports)]) - min([first, *(r[1] for r in reports)])) / 1000)
    assert result["window"]["seconds"] == pytest.approx(seconds, abs=0.002)
    factor = 30 * 86400 / seconds
    per_function: dict[str, list[tuple[int, int]]] = {}
    for function, _, line in reports:
        billed = int(re.search(r"Billed Duration: (\d+) ms", line).group(1))  # type: ignore[union-attr]
        used = int(re.search(r"Max Memory Used: (\d+) MB", line).group(1))  # type: ignore[union-attr]
        per_function.setdefault(function, []).append((billed, used))
    assert set(per_function) == {"api", "raw"}
    prices = result["prices"]
    compute = 0.0
    functions = {f["function"]: f for f in result["functions"]}
    for name, seen in per_function.items():
        memory, architecture = MEMORY[name]
        row = functions[name]
        gb_s = sum(billed for billed, _ in seen) / 1000 * memory / 1024
        assert (row["memory_mb"], row["architecture"], row["invocations"]) == (memory, architecture, len(seen))
        assert row["avg_billed_ms"] == pytest.approx(sum(b for b, _ in seen) / len(seen), abs=0.05)
        assert row["gb_seconds"] == pytest.approx(gb_s, abs=1e-6)
        assert row["max_memory_used_mb"] == max(used for _, used in seen)
        assert row["hint"].startswith(f"max {row['max_memory_used_mb']} MB of {memory} MB used")
        assert row["suggested_memory_mb"] >= row["max_memory_used_mb"]
        compute += gb_s * factor * prices["lambda"]["gb_second_usd"][architecture][0]["usd"]  # the first tier
    assert all(f["invocations"] == 0 for name, f in functions.items() if name not in per_function)
    invocations = sum(len(seen) for seen in per_function.values())
    monthly = result["monthly"]
    assert monthly["lambda_requests_usd"] == pytest.approx(
        invocations * factor * prices["lambda"]["requests_usd_per_million"] / 1e6, rel=1e-3)
    assert monthly["lambda_compute_usd"] == pytest.approx(compute, rel=1e-3)
    assert monthly["api_gateway_usd"] == pytest.approx(
        count * factor * prices["api_gateway"]["requests_usd_per_million"]["rest"][0]["usd"] / 1e6, rel=1e-3)
    assert monthly["dynamodb_usd"] is None and result["dynamodb"]["note"].startswith("not measured")
    assert monthly["total_usd"] == pytest.approx(
        monthly["lambda_requests_usd"] + monthly["lambda_compute_usd"] + monthly["api_gateway_usd"], rel=1e-4)
    assert result["free_tier"]["lambda_requests"] == 1_000_000 and result["free_tier"]["subtracted"] is False
    return result


def test_stats_cost_prices_the_stored_report_lines_and_requests(shop: Any) -> None:
    server, root, _ = shop
    result = assert_cost_follows_from_the_store(root)
    text = ok("stats", str(root), "--cost")
    assert f"{result['requests']:,} requests in " in text.splitlines()[0]
    assert f"(us-east-1, read {result['prices']['date']})" in text.splitlines()[0]
    assert f"${result['monthly']['total_usd']:,.2f}" in next(line for line in text.splitlines()
                                                             if line.startswith("total"))
    for function in result["functions"]:
        assert f"{function['function']}: {function['hint']}" in text
    assert "free tier (not subtracted)" in text and "https://aws.amazon.com/lambda/pricing/" in text
    with urllib.request.urlopen(server.url + "/_golive/api/cost?since=1h", timeout=10) as response:
        assert response.headers["Content-Type"] == "application/json"
        recent = json.loads(response.read())
    assert recent["window"]["seconds"] == pytest.approx(3600, abs=1) and recent["requests"] == result["requests"]
    try:
        urllib.request.urlopen(server.url + "/_golive/api/cost?since=soon", timeout=10)
        raise AssertionError("a bad duration must be refused")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400 and exc.headers["Content-Type"] == "application/problem+json"


def test_after_dev_stops_the_store_is_read_from_the_file(shop: Any) -> None:
    server, root, _ = shop
    server.stop()
    assert not (root / ".golive" / "dev.json").exists()
    assert_cost_follows_from_the_store(root)  # read from the file, golive.toml beside it
    stats = json.loads(ok("stats", str(root), "--format", "json", "--by", "minute"))
    assert stats["total"]["count"] == 12  # the eleven, and the one the tail saw
    assert "read-only" in one_line_error("query", "DROP TABLE requests", str(root))
