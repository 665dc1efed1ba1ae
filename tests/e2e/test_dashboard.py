"""The dashboard as a person meets it, in real headless Chromium (Playwright driving Debian's /usr/bin/chromium):
traffic through a real `golive dev` that fails in every way API Gateway does and in the function, then the board's
columns, the click-through board → invocations → one request, the chart explorer, the pages without JavaScript,
keyboard focus, and the README's curl session against `golive dev examples/users` as `make run` serves it.

Every run saves a screenshot of each page under .artifacts/dashboard/ (not committed; docs/dashboard/ holds one of
each)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import REPO, DevServer, clean_env, free_port
from shop_service import APP, RAW

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboard")]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / ".artifacts" / "dashboard"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

CONFIG = """\
service = "shop"

[api]
type = "rest"
stage = "dev"

[api.route_throttling]
"GET /limited" = { rate = 1, burst = 1 }

[api.integration_timeouts]
"GET /slow" = 0.3

[alarms]  # a test's few requests are enough to page: no low-traffic guard, one period decides
min_requests = 1
evaluation_periods = 1
datapoints_to_alarm = 1

[auth]
type = "jwt"
issuer = "https://shop.example.test"
audience = "shop-api"
public_routes = ["GET /malformed", "GET /limited", "GET /slow"]

[functions.api]
handler = "app.handler"
memory = 256

[functions.raw]
handler = "raw.handler"
timeout = 5
routes = ["GET /malformed", "GET /limited", "GET /slow"]
"""

# What the shop's traffic gives, per route, in the board's columns
EXPECTED_BOARD = {
    "GET /items/{id}": {"requests": "2", "gateway_4xx": "0", "function_4xx": "0", "gateway_5xx": "0",
                        "function_5xx": "0"},
    "GET /private": {"requests": "1", "gateway_4xx": "1", "function_4xx": "0", "gateway_5xx": "0",
                     "function_5xx": "0"},
    "POST /items": {"requests": "1", "gateway_4xx": "1", "function_4xx": "0", "gateway_5xx": "0",
                    "function_5xx": "0"},
    "GET /limited": {"requests": "3", "gateway_4xx": "2", "function_4xx": "0", "gateway_5xx": "0",
                     "function_5xx": "0"},
    "GET /malformed": {"requests": "1", "gateway_4xx": "0", "function_4xx": "0", "gateway_5xx": "1",
                       "function_5xx": "0"},
    "GET /slow": {"requests": "1", "gateway_4xx": "0", "function_4xx": "0", "gateway_5xx": "1",
                  "function_5xx": "0"},
    "GET /boom": {"requests": "2", "gateway_4xx": "0", "function_4xx": "0", "gateway_5xx": "0",
                  "function_5xx": "2"},
    "(no route)": {"requests": "1", "gateway_4xx": "1", "function_4xx": "0", "gateway_5xx": "0",
                   "function_5xx": "0"},
}
EXPECTED_KINDS = {"GET /private": "UNAUTHORIZED", "POST /items": "BAD_REQUEST_BODY", "GET /limited": "THROTTLED",
                  "GET /malformed": "INTEGRATION_FAILURE", "GET /slow": "INTEGRATION_TIMEOUT",
                  "(no route)": "MISSING_AUTHENTICATION_TOKEN"}


def send(base: str, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            response.read()
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, launch_dev_server: Any) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("dashboard") / "shop"
    root.mkdir()
    (root / "golive.toml").write_text(CONFIG)
    (root / "app.py").write_text(APP)
    (root / "raw.py").write_text(RAW)
    server = launch_dev_server(root)
    began = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    base = server.url
    sent = {
        "item": send(base, "GET", "/items/1"),
        "item_again": send(base, "GET", "/items/2"),
        "unknown": send(base, "GET", "/nowhere"),
        "no_token": send(base, "GET", "/private"),
        "invalid": send(base, "POST", "/items", b'{"nm": 1}', {"Content-Type": "application/json"}),
        "limited": send(base, "GET", "/limited"),
        "throttled": send(base, "GET", "/limited"),
        "throttled_again": send(base, "GET", "/limited"),
        "malformed": send(base, "GET", "/malformed"),
        "slow": send(base, "GET", "/slow"),
        "boom": send(base, "GET", "/boom"),
        "boom_again": send(base, "GET", "/boom?item=y"),
    }
    statuses = {name: status for name, (status, _) in sent.items()}
    assert statuses == {"item": 200, "item_again": 200, "unknown": 403, "no_token": 401, "invalid": 400,
                        "limited": 200, "throttled": 429, "throttled_again": 429, "malformed": 502, "slow": 504,
                        "boom": 500, "boom_again": 500}
    yield {"server": server, "root": root, "sent": sent, "began": began,
           "ended": dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)}
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def screenshot(page: Any, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def board_cells(page: Any) -> dict[str, dict[str, str]]:
    """The board as the page shows it: route → column → the cell's first line of text."""
    found: dict[str, dict[str, str]] = {}
    for row in page.locator("table.board tbody tr").all():
        route = row.get_attribute("data-route") or ""
        cells = {}
        for cell in row.locator("td[data-col]").all():
            cells[cell.get_attribute("data-col") or ""] = cell.inner_text().split("\n")[0].strip()
        kinds = row.locator("[data-kinds]").all()
        cells["kinds"] = " ".join(k.get_attribute("data-kinds") or "" for k in kinds)
        found[route] = cells
    return found


def test_board_splits_each_routes_failures_between_gateway_and_function(shop: dict[str, Any], page: Any) -> None:
    page.goto(shop["server"].url + "/_golive/")
    assert page.title().startswith("Endpoints")
    cells = board_cells(page)
    for route, expected in EXPECTED_BOARD.items():
        assert route in cells, (route, list(cells))
        shown = {column: cells[route][column] for column in expected}
        assert shown == expected, (route, shown)
    for route, kind in EXPECTED_KINDS.items():
        assert kind in cells[route]["kinds"], (route, cells[route]["kinds"])
    assert cells["GET /boom"]["kinds"] == ""  # the function's own 500s are no gateway kind
    assert cells["GET /items/{id}"]["success_rate"] == "100.0%" and cells["GET /boom"]["success_rate"] == "0.0%"
    assert cells["GET /items/{id}"]["cold_starts"] == "1"
    assert page.locator("table.board tbody tr[data-route='GET /boom'] td[data-col='sparkline'] svg").count() == 1
    total = page.locator("table.board tfoot tr td[data-col='requests']").inner_text().strip()
    assert total == "12"  # the dashboard's own pages and assets are never the service's requests
    screenshot(page, "board")
    # the time range picker: a named range applies at once (the script submits it), the view lives in the URL
    page.select_option("#since", "15m")
    page.wait_for_url(re.compile(r"since=15m"))
    assert board_cells(page)["GET /boom"]["function_5xx"] == "2"
    assert page.locator("#start").is_hidden()  # custom inputs only for a custom range
    page.select_option("#since", "custom")
    assert page.locator("#start").is_visible()


def test_board_to_invocations_to_the_failed_request_shows_its_stack_trace_and_log_lines(
        shop: dict[str, Any], page: Any) -> None:
    page.goto(shop["server"].url + "/_golive/")
    page.locator("table.board tr[data-route='GET /boom'] td[data-col='function_5xx'] a").click()
    page.wait_for_url(re.compile(r"/_golive/invocations\?"))
    assert "decided_by=function" in page.url and "status_class=5xx" in page.url
    rows = page.locator("table.invocations tbody tr")
    assert rows.count() == 2
    assert [rows.nth(i).locator("[data-col='status']").inner_text() for i in range(2)] == ["500", "500"]
    assert {rows.nth(i).locator("[data-col='route']").inner_text() for i in range(2)} == {"GET /boom"}
    assert page.locator("#f-route").input_value() == "GET /boom"  # the filters form shows what the list holds
    screenshot(page, "invocations")
    newest = shop["sent"]["boom_again"][1]["x-amzn-requestid"]
    assert rows.first.get_attribute("data-request-id") == newest
    rows.first.locator("a").click()
    page.wait_for_url(re.compile(r"/_golive/requests/"))
    verdict = page.locator("[data-verdict]").inner_text()
    assert "The function api answered 500" in verdict and "LookupError" in verdict and "no price for y" in verdict
    stack = page.locator("pre[data-stack]").first.inner_text()
    assert "Traceback (most recent call last)" in stack
    assert 'raise LookupError(f"no price for {item}")' in stack and "LookupError: no price for y" in stack
    lines = [line.inner_text() for line in page.locator("ol.log li[data-log-line]").all()]
    pricing = next(line for line in lines if "pricing item" in line)
    assert "INFO" in pricing and "item=y" in pricing and "currency=EUR" in pricing
    gateway = page.locator("section[aria-labelledby='gw']").inner_text()
    assert newest in gateway and "GET /boom" in gateway
    spans = [g.get_attribute("data-span") for g in page.locator("svg.timeline g[data-span]").all()]
    assert "shop/dev" in spans and "shop-api" in spans, spans  # the gateway's segment and the function's
    lambda_view = page.locator("section[aria-labelledby='fn']").inner_text()
    assert "Billed duration" in lambda_view and "MB used of 256 MB" in lambda_view
    screenshot(page, "request")


def test_a_gateway_failure_reads_why_the_gateway_answered(shop: dict[str, Any], page: Any) -> None:
    server = shop["server"]
    invalid = shop["sent"]["invalid"][1]["x-amzn-requestid"]
    page.goto(f"{server.url}/_golive/requests/{invalid}")
    assert "BAD_REQUEST_BODY" in page.locator("[data-verdict]").inner_text()
    assert "data must contain" in page.locator("[data-validation]").inner_text()
    assert "not invoked" in page.locator("section[aria-labelledby='fn']").inner_text()
    throttled = shop["sent"]["throttled"][1]["x-amzn-requestid"]
    page.goto(f"{server.url}/_golive/requests/{throttled}")
    assert "429" in page.locator("[data-throttle]").inner_text()
    slow = shop["sent"]["slow"][1]["x-amzn-requestid"]
    page.goto(f"{server.url}/_golive/requests/{slow}")
    assert "INTEGRATION_TIMEOUT" in page.locator("[data-verdict]").inner_text()
    no_token = shop["sent"]["no_token"][1]["x-amzn-requestid"]
    page.goto(f"{server.url}/_golive/requests/{no_token}")
    verdict = page.locator("[data-verdict]").inner_text()
    assert "401" in verdict and "UNAUTHORIZED" in verdict and "the authorizer refused the request" in verdict
    page.goto(f"{server.url}/_golive/requests/no-such-id")
    assert "no request has the id" in page.locator("[role=alert]").inner_text()


def test_explorer_filtered_to_one_route_and_a_window_shows_its_status_distribution(
        shop: dict[str, Any], page: Any) -> None:
    query = (f"route={quote('GET /limited')}&group_by=status&metric=count&start={iso(shop['began'])}"
             f"&end={iso(shop['ended'])}")
    page.goto(f"{shop['server'].url}/_golive/explore?{query}")
    totals = {row.get_attribute("data-group"): row.locator("[data-col='total']").inner_text()
              for row in page.locator("table.totals tbody tr").all()}
    assert totals == {"200": "1", "429": "2"}
    assert page.locator("figure.chart svg").count() == 1
    assert page.locator("#metric").input_value() == "count" and page.locator("#group_by").input_value() == "status"
    screenshot(page, "explore")
    page.locator("table.totals tr[data-group='429'] a").click()  # a group's total opens exactly its requests
    page.wait_for_url(re.compile(r"/_golive/invocations\?"))
    assert [s.inner_text() for s in page.locator("table.invocations [data-col='status']").all()] == ["429", "429"]
    page.go_back()
    # the same window a minute after it: nothing
    later = shop["ended"] + dt.timedelta(minutes=1)
    page.goto(f"{shop['server'].url}/_golive/explore?route={quote('GET /limited')}&group_by=status"
              f"&start={iso(later)}&end={iso(later + dt.timedelta(minutes=5))}")
    assert page.locator("table.totals tbody tr[data-group]").count() == 0
    # clicking a bar opens the invocation list filtered to that bucket and group
    page.goto(f"{shop['server'].url}/_golive/explore?{query}")
    page.locator("figure.chart svg a").first.click()
    page.wait_for_url(re.compile(r"/_golive/invocations\?"))
    assert "route=GET+%2Flimited" in page.url and "status=" in page.url and "start=" in page.url
    statuses = {row.inner_text() for row in page.locator("table.invocations [data-col='status']").all()}
    assert statuses and statuses <= {"200", "429"} and len(statuses) == 1


def test_errors_page_groups_the_exception_with_its_requests(shop: dict[str, Any], page: Any) -> None:
    page.goto(shop["server"].url + "/_golive/errors")
    rows = page.locator("table.errors tbody tr[data-fingerprint]")
    assert rows.count() == 1
    row = rows.first
    assert "LookupError" in row.inner_text() and "GET /boom" in row.inner_text()
    assert row.locator("[data-col='count']").inner_text() == "2"
    assert row.locator(".badge.new").count() == 1  # first seen inside the last hour
    assert row.locator("a[href*='/_golive/requests/']").count() == 2
    screenshot(page, "errors")


def test_alarms_page_shows_each_alarm_with_its_state_and_the_board_its_route_state(shop: dict[str, Any],
                                                                                   page: Any) -> None:
    page.goto(f"{shop['server'].url}/_golive/alarms")
    states = {row.get_attribute("id"): row.get_attribute("data-state")
              for row in page.locator("table.alarms > tbody > tr").all()}
    assert len(states) > 10 and set(states.values()) <= {"OK", "ALARM", "INSUFFICIENT_DATA"}
    boom = {name: state for name, state in states.items() if name and "GET /boom" in name}
    assert boom and "ALARM" in boom.values(), boom  # every request of GET /boom failed: its 5xx alarm fires
    screenshot(page, "alarms", full_page=False)
    page.goto(f"{shop['server'].url}/_golive/")
    badge = page.locator("table.board tr[data-route='GET /boom'] td[data-col='alarms'] a")
    assert "in ALARM" in badge.inner_text()
    badge.click()
    assert all("GET /boom" in (row.get_attribute("id") or "")
               for row in page.locator("table.alarms > tbody > tr").all())


def test_cost_page_renders(shop: dict[str, Any], page: Any) -> None:
    page.goto(f"{shop['server'].url}/_golive/cost")
    assert page.locator("h1").inner_text() == "Cost"
    assert page.locator("td[data-col='total_usd']").inner_text().startswith("$")
    functions = {row.get_attribute("data-function") for row in page.locator("tr[data-function]").all()}
    assert functions == {"api", "raw"}  # every function that served requests, with its right-sizing
    assert "256 MB" in page.locator("tr[data-function='api']").inner_text()  # the memory golive.toml gives it
    screenshot(page, "cost")


def test_board_and_request_page_work_with_javascript_off(shop: dict[str, Any], browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(shop["server"].url + "/_golive/")
        assert board_cells(page)["GET /boom"]["function_5xx"] == "2"
        assert page.locator("[data-live]").is_hidden()  # live refresh is the script's; nothing offers it here
        page.select_option("#since", "6h")
        page.click("form.range button[type=submit]")
        page.wait_for_url(re.compile(r"since=6h"))
        assert board_cells(page)["GET /limited"]["gateway_4xx"] == "2"
        # a custom range: the form sends since=custom with the datetime-local values, read as UTC
        page.select_option("#since", "custom")
        page.fill("#start", shop["began"].strftime("%Y-%m-%dT%H:%M:%S"))
        page.fill("#end", shop["ended"].strftime("%Y-%m-%dT%H:%M:%S"))
        page.click("form.range button[type=submit]")
        page.wait_for_url(re.compile(r"since=custom"))
        assert board_cells(page)["GET /boom"]["function_5xx"] == "2"
        assert page.locator("#since").input_value() == "custom"
        assert page.locator("#start").input_value().startswith(shop["began"].strftime("%Y-%m-%dT%H:%M"))
        page.locator("table.board tr[data-route='GET /boom'] td[data-col='function_5xx'] a").click()
        page.locator("table.invocations tbody tr").first.locator("a").click()
        assert "LookupError: no price for" in page.locator("pre[data-stack]").first.inner_text()
        assert page.locator("ol.log li[data-log-line]").count() >= 1
    finally:
        context.close()


def test_keyboard_reaches_the_navigation_the_picker_and_the_board_links(shop: dict[str, Any], page: Any) -> None:
    page.goto(shop["server"].url + "/_golive/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    reached: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("(document.activeElement.id || '') + ' ' + "
                                     "(document.activeElement.getAttribute('href') || '')"))
        if "invocations?" in reached[-1] and "route=GET" in reached[-1]:
            break
    assert any(r.startswith("since ") for r in reached), reached  # the picker
    assert any("/_golive/errors" in r for r in reached), reached  # the navigation
    assert "route=GET" in reached[-1], reached  # a board link, by keyboard alone
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible


def test_live_refresh_shows_new_requests_without_a_reload(shop: dict[str, Any], page: Any) -> None:
    server = shop["server"]
    page.goto(server.url + "/_golive/")
    before = int(board_cells(page)["GET /items/{id}"]["requests"])
    page.evaluate("window.__sameDocument = true")
    send(server.url, "GET", "/items/live")
    cell = page.locator("table.board tr[data-route='GET /items/{id}'] td[data-col='requests']")
    cell_text = ""
    for _ in range(24):  # the script refreshes every 5 s: two rounds at most, with room to spare
        cell_text = cell.inner_text().strip()
        if cell_text == str(before + 1):
            break
        page.wait_for_timeout(500)
    assert cell_text == str(before + 1)
    assert page.evaluate("window.__sameDocument") is True  # refreshed in place, not reloaded


def test_the_api_stays_beside_the_dashboard(shop: dict[str, Any]) -> None:
    server: DevServer = shop["server"]
    with urllib.request.urlopen(server.url + "/_golive/api/stats", timeout=10) as response:
        assert response.headers["Content-Type"] == "application/json"
    with urllib.request.urlopen(server.url + "/_golive/static/dashboard.css", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/css")
    with urllib.request.urlopen(server.url + "/_golive/", timeout=10) as response:
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert send(server.url, "GET", "/_golive/nope")[0] == 404
    assert send(server.url, "POST", "/_golive/", b"")[0] == 405  # read-only
    assert send(server.url, "GET", "/_golive/invocations?status_class=6xx")[0] == 400  # a filter it cannot take
    assert f"Dashboard: {server.url}/_golive/" in server.output()  # the banner says where it is


# -- golive dashboard: the same pages over the store once dev has stopped ------------------------------------------

def test_golive_dashboard_serves_the_store_read_only_after_dev_stops(tmp_path: Path, launch_dev_server: Any,
                                                                   browser: Any) -> None:

    root = tmp_path / "shop"
    root.mkdir()
    (root / "golive.toml").write_text(CONFIG)
    (root / "app.py").write_text(APP)
    (root / "raw.py").write_text(RAW)
    dev = launch_dev_server(root)
    assert send(dev.url, "GET", "/boom")[0] == 500
    running = subprocess.run([sys.executable, "-m", "golive.cli", "dashboard", str(root)], capture_output=True,
                             text=True, env=clean_env(), timeout=30)
    assert running.returncode == 0 and f"{dev.url}/_golive/" in running.stdout
    dev.stop()
    port = free_port()
    served = subprocess.Popen([sys.executable, "-m", "golive.cli", "dashboard", str(root), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=clean_env())
    try:
        assert served.stdout is not None
        banner = "".join(served.stdout.readline() for _ in range(2))
        assert f"http://127.0.0.1:{port}/_golive/" in banner and "read-only" in banner
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/_golive/")
        assert board_cells(page)["GET /boom"]["function_5xx"] == "1"
        context.close()
        # between pages it holds nothing: golive dev starts with its telemetry on, and the page then says where to go
        again = launch_dev_server(root)
        assert send(again.url, "GET", "/boom")[0] == 500 and "telemetry off" not in again.output()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_golive/", timeout=10)
            raise AssertionError("the dashboard read a store golive dev owns")
        except urllib.error.HTTPError as exc:
            assert exc.code == 503 and f"{again.url}/_golive/" in exc.read().decode()
        again.stop()
    finally:
        served.terminate()
        served.wait(10)
    unknown = subprocess.run([sys.executable, "-m", "golive.cli", "dashboard", str(root), "--stage", "nope"],
                             capture_output=True, text=True, env=clean_env(), timeout=60)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "Traceback" not in unknown.stderr
    assert unknown.stderr.startswith("golive dashboard: error: --stage nope: ")


@pytest.fixture
def deployed(tmp_path: Path, moto_server: Any) -> dict[str, Any]:
    """A deployed stage's log groups on moto's server, laid out and filled as test_telemetry_aws does (its Stage
    and Traffic helpers), for a service of its own name: the session's moto server is shared."""
    import test_telemetry_aws as aws

    root = tmp_path / "dashshop"
    root.mkdir()
    (root / "golive.toml").write_text(aws.CONFIG.replace('service = "shop"', 'service = "dashshop"'))
    (root / "app.py").write_text(aws.APP)
    (root / "admin.py").write_text(aws.ADMIN)
    stage = aws.Stage(root, "prod", service="dashshop")
    logs = moto_server.client("logs")
    for group in stage.groups.values():
        logs.create_log_group(logGroupName=group)
    traffic = aws.Traffic(stage)
    at = int(time.time() * 1000) - 5 * 60 * 1000
    for n in range(20):
        rid = traffic.invocation("api", at + n * 100 + 1, aws.log_lines(str(n), str(n), lambda lg: lg.info("read")))
        traffic.request(at + n * 100, "GET", "/items/{id}", f"/items/{n}", 200, rid)
    at += 5_000
    for k in range(3):
        rid = traffic.invocation("api", at + k * 1000 + 1, aws.log_lines("x", f"order-{k}", aws.failing))
        traffic.request(at + k * 1000, "GET", "/boom", "/boom", 500, rid, latency=15)
    traffic.request(at + 5_000, "GET", "/private", "/private", 401, error_type="UNAUTHORIZED",
                    error_message="Unauthorized", latency=30)
    traffic.request(at + 6_000, "GET", "/limited", "/limited", 429, error_type="THROTTLED",
                    error_message="Too Many Requests", latency=1)
    for group, events in traffic.events.items():
        aws.put(logs, group, events, "2026/12/04/[7]0a1b2c3d4e5f")
    return {"root": root, "stage": stage, "logs": logs, "traffic": traffic, "put": aws.put,
            "env": aws.aws_env(moto_server.endpoint)}


def test_golive_dashboard_stage_serves_the_deployed_stage_and_syncs_what_arrives(deployed: dict[str, Any],
                                                                                 browser: Any) -> None:
    """The real `golive dashboard --stage prod` over the stage's CloudWatch log groups on moto's server, then one
    more request logged while it serves."""

    port = free_port()
    served = subprocess.Popen([sys.executable, "-m", "golive.cli", "dashboard", str(deployed["root"]), "--stage",
                               "prod", "--port", str(port), "--refresh", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=deployed["env"])
    try:
        assert served.stdout is not None
        banner = "".join(served.stdout.readline() for _ in range(2))
        assert "stage prod" in banner and f"http://127.0.0.1:{port}/_golive/" in banner, banner
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/_golive/")
        cells = board_cells(page)
        assert cells["GET /items/{id}"]["requests"] == "20"
        assert cells["GET /boom"]["function_5xx"] == "3" and cells["GET /boom"]["gateway_5xx"] == "0"
        assert cells["GET /private"]["gateway_4xx"] == "1" and "UNAUTHORIZED" in cells["GET /private"]["kinds"]
        assert cells["GET /limited"]["gateway_4xx"] == "1" and "THROTTLED" in cells["GET /limited"]["kinds"]
        page.locator("table.board tr[data-route='GET /boom'] td[data-col='function_5xx'] a").click()
        page.locator("table.invocations tbody tr").first.locator("a").click()
        assert "Traceback" in page.locator("pre[data-stack]").first.inner_text()
        # a request logged after the dashboard started shows after a sync, without restarting it
        traffic, group = deployed["traffic"], deployed["stage"].access_group
        before = len(traffic.events[group])
        traffic.request(int(time.time() * 1000), "GET", "/limited", "/limited", 429, error_type="THROTTLED",
                        error_message="Too Many Requests", latency=1)
        deployed["put"](deployed["logs"], group, traffic.events[group][before:], "2026/12/04/[7]0a1b2c3d4e5f")
        shown = ""
        for _ in range(40):
            page.goto(f"http://127.0.0.1:{port}/_golive/")
            shown = board_cells(page)["GET /limited"]["gateway_4xx"]
            if shown == "2":
                break
            time.sleep(0.5)
        assert shown == "2"
        context.close()
    finally:
        served.terminate()
        served.wait(10)


# -- the Done-when: make run, open the dashboard, send the README's curl session --------------------------

def _readme_session(base: str) -> str:
    text = (REPO / "README.md").read_text()
    block = next(b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "# in a second terminal" in b)
    return block.replace("http://127.0.0.1:3000", base)


def test_readme_curl_session_shows_on_the_board_and_the_failure_reads_why(tmp_path: Path, launch_dev_server: Any,
                                                                       page: Any) -> None:
    # `make run` is `golive dev examples/users`; a copy keeps the test off the user's own .golive
    service = tmp_path / "examples" / "users"
    shutil.copytree(REPO / "examples" / "users", service, ignore=shutil.ignore_patterns(".golive", "__pycache__"))
    dev = launch_dev_server(service, GOLIVE_STATE_DIR=str(tmp_path / "state"))
    printed = re.search(r"Dashboard: (http://\S+/_golive/)", dev.output())
    assert printed, dev.output()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    session = subprocess.run(["bash", "-c", _readme_session(dev.url)], cwd=tmp_path, capture_output=True, text=True,
                             env=env, timeout=120)
    assert session.returncode == 0, session.stderr
    page.goto(printed.group(1))
    cells = board_cells(page)
    assert cells["GET /health"]["requests"] == "1"
    assert cells["POST /users"]["requests"] == "2" and cells["POST /users"]["gateway_4xx"] == "1"
    assert "BAD_REQUEST_BODY" in cells["POST /users"]["kinds"]
    assert cells["GET /users"]["gateway_4xx"] == "1" and "UNAUTHORIZED" in cells["GET /users"]["kinds"]
    assert cells["DELETE /users/{id}"]["function_4xx"] == "1"  # admin only: the function's own 403
    assert cells["GET /users/{id}"]["requests"] == "2" and cells["PUT /users/{id}"]["requests"] == "1"
    screenshot(page, "readme-board")
    page.locator("table.board tr[data-route='POST /users'] td[data-col='gateway_4xx'] a").click()
    page.locator("table.invocations tbody tr").first.locator("a").click()
    verdict = page.locator("[data-verdict]").inner_text()
    assert "BAD_REQUEST_BODY" in verdict and "request validator refused the body" in verdict
    assert "data.name must be longer than or equal to 1 characters" in page.locator("[data-validation]").inner_text()
    page.go_back()
    page.go_back()
    page.locator("table.board tr[data-route='DELETE /users/{id}'] td[data-col='function_4xx'] a").click()
    page.locator("table.invocations tbody tr").first.locator("a").click()
    assert "The function api answered 403" in page.locator("[data-verdict]").inner_text()
    # the service's own EMF metric, charted by route: alice signed up once
    page.goto(printed.group(1) + "explore?metric=emf:UserCreated&group_by=route")
    assert "emf:UserCreated" in [o.get_attribute("value") for o in page.locator("#metric option").all()]
    totals = {row.get_attribute("data-group"): row.locator("[data-col='total']").inner_text()
              for row in page.locator("table.totals tbody tr[data-group]").all()}
    assert totals == {"POST /users": "1"}
