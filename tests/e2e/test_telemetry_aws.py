"""A deployed stage's telemetry as a user meets it: a moto server (over HTTP) holds the log groups `golive template`
creates, named as the template names them, with access-log lines in the template's own format and the functions'
START / JSON / END / REPORT lines; then what `golive stats`, `logs`, `errors` and `query --stage prod` print (the
real CLI, in a subprocess), a second fetch that adds only what is new, `logs --tail` that shows only what arrives
after it started, and the one-line refusals."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from golive.deploy.template import build
from golive.observability.logging import Logger
from golive.observability.metrics import Metrics
from golive.service.config import load_config
from golive.service.names import STACK_VARIABLE, stack_name

# one worker with the local telemetry tests: both run CLI subprocesses against timers, and side by side on two
# shared cores the local tail test has missed its 30 s watchdog
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("telemetry")]

GOLIVE = str(Path(sys.executable).with_name("golive"))
OK_REQUESTS = 2_600  # 4 lines each in the api function's group: more than FilterLogEvents' 10,000-event page

CONFIG = """\
service = "shop"

[api]
type = "rest"

[api.route_throttling]
"GET /limited" = { rate = 1, burst = 1 }

[auth]
type = "jwt"
issuer = "https://shop.example.test"
audience = "shop-api"
jwks_url = "https://shop.example.test/.well-known/jwks.json"
public_routes = ["GET /items/{id}", "GET /boom", "GET /limited"]

[functions.api]
handler = "app.handler"

[functions.admin]
handler = "admin.handler"
routes = ["GET /report"]

[stages.dev]

[stages.prod]
"""

APP = '''
from golive import App
from golive.security.auth import jwt_from_env

app = App("shop", auth=jwt_from_env())


@app.get("/items/{id}")
def get_item(request, id):
    return {"id": id}


@app.get("/boom")
def boom(request):
    return {"boom": True}


@app.get("/limited")
def limited(request):
    return {}


@app.get("/private")
def private(request):
    return {"who": request.principal}


handler = app.handler
'''

ADMIN = '''
from golive import App
from golive.security.auth import jwt_from_env

app = App("shop", auth=jwt_from_env())


@app.get("/report")
def report(request):
    return {"report": []}


handler = app.handler
'''


# -- the deployed stage, as the template describes it ---------------------------------------------------------------
class Stage:
    """The log groups and access-log format of `golive template --stage prod`, with the stack filled in."""

    def __init__(self, root: Path, stage: str, service: str = "shop") -> None:
        template, _ = build(load_config(root, stage), stage=stage)
        stack = stack_name(service, stage)
        resources = template["Resources"]
        self.groups: dict[str, str] = {}  # logical id -> name
        for logical, resource in resources.items():
            if resource["Type"] == "AWS::Logs::LogGroup":
                self.groups[logical] = resource["Properties"]["LogGroupName"]["Fn::Sub"].replace(STACK_VARIABLE, stack)
        # a REST API's stage has AccessLogSetting, an HTTP API (AWS::Serverless::HttpApi) AccessLogSettings
        setting = next(r["Properties"].get("AccessLogSetting") or r["Properties"]["AccessLogSettings"]
                       for r in resources.values()
                       if {"AccessLogSetting", "AccessLogSettings"} & set(r.get("Properties", {})))
        self.access_group = self.groups[setting["DestinationArn"]["Fn::GetAtt"][0]]
        self.access_format: dict[str, str] = json.loads(setting["Format"])
        functions = {logical: r["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for logical, r in resources.items()
                     if r["Type"] == "AWS::Serverless::Function" and "Hook" not in logical}
        self.function_groups = {logical: self.groups[group] for logical, group in functions.items()}

    def group_of(self, function: str) -> str:
        """The log group of the function whose logical id starts with the golive.toml name ('api' -> 'ApiFunction')."""
        wanted = function.replace("-", "").lower()
        return next(group for logical, group in self.function_groups.items() if logical.lower().startswith(wanted))

    def access_line(self, **context: Any) -> str:
        """One access-log line in the template's format: each "$context.x" replaced by its value, "-" when absent
        (API Gateway quotes every value, as the format does)."""
        record = {}
        for key, variable in self.access_format.items():
            value = context.get(variable.removeprefix("$context."), "-")
            record[key] = str(value)
        return json.dumps(record, separators=(",", ":"))


class Traffic:
    """Realistic CloudWatch events: what API Gateway and Lambda write for each kind of request."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.events: dict[str, list[dict[str, Any]]] = {}  # group -> events
        self.streams: dict[str, str] = {}
        self.cold: set[str] = set()

    def _put(self, group: str, timestamp_ms: int, message: str) -> None:
        self.events.setdefault(group, []).append({"timestamp": timestamp_ms, "message": message})

    def invocation(self, function: str, at_ms: int, lines: list[str], duration_ms: float = 3.2) -> str:
        """START, the function's lines, END, REPORT (Init Duration on the environment's first invocation)."""
        group = self.stage.group_of(function)
        rid = str(uuid.uuid4())
        self._put(group, at_ms, f"START RequestId: {rid} Version: 7\n")
        for offset, line in enumerate(lines, start=1):
            self._put(group, at_ms + offset, line + "\n")
        self._put(group, at_ms + len(lines) + 1, f"END RequestId: {rid}\n")
        init = "" if group in self.cold else "Init Duration: 412.37 ms\t"
        self.cold.add(group)
        self._put(group, at_ms + len(lines) + 2,
                  f"REPORT RequestId: {rid}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {int(duration_ms) + 1} "
                  f"ms\tMemory Size: 512 MB\tMax Memory Used: 81 MB\t{init}\n")
        return rid

    def request(self, at_ms: int, method: str, resource: str, path: str, status: int, lambda_id: str = "-",
                error_type: str = "-", error_message: str = "-", latency: int = 12, **context: Any) -> str:
        request_id = str(uuid.uuid4())
        self._put(self.stage.access_group, at_ms + 20, self.stage.access_line(**context, **{
            "requestId": request_id, "extendedRequestId": request_id[:8] + "=", "requestTimeEpoch": at_ms,
            "httpMethod": method, "resourcePath": resource, "path": f"/prod{path}", "status": status,
            "responseLatency": latency, "integrationLatency": latency - 2 if lambda_id != "-" else "-",
            "integration.requestId": lambda_id, "error.responseType": error_type, "error.message": error_message,
            "identity.sourceIp": "203.0.113.9", "identity.userAgent": "curl/8.5", "stage": "prod",
            "xrayTraceId": f"1-{at_ms // 1000:08x}-{uuid.uuid4().hex[:24]}"}))
        return request_id


def log_lines(request_id: str, correlation_id: str, do: Any) -> list[str]:
    """What golive's logger writes for one invocation (the real Logger, not hand-made JSON)."""
    out = io.StringIO()
    logger = Logger(service="shop", stream=out)
    logger.start_invocation(request_id=request_id, correlation_id=correlation_id, cold_start=False)
    do(logger)
    logger.end_invocation()
    return out.getvalue().splitlines()


def load_price(item: str) -> float:
    raise LookupError(f"no price for {item}")


def failing(logger: Logger) -> None:
    try:
        load_price("x")
    except LookupError as exc:
        logger.exception("price lookup failed", exc)


def emf(route: str, status: int) -> str:
    """The EMF document golive's Metrics writes at the end of an invocation (the real one)."""
    metrics = Metrics(namespace="Shop", service="shop")
    metrics.stream = io.StringIO()
    metrics.add("PriceLookupFailed", 1)
    metrics.flush(route=route, status=status, latency_ms=8)
    return str(metrics.stream.getvalue()).strip()


# -- moto and the CLI --------------------------------------------------------------------------------------------------
def aws_env(endpoint: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "NO_COLOR": "1",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    env.update(extra)
    return env


def golive(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GOLIVE, *args], capture_output=True, text=True, env=env, timeout=120)


def ok(env: dict[str, str], *args: str) -> str:
    done = golive(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def one_line_error(env: dict[str, str], *args: str) -> str:
    done = golive(env, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"golive {args[0]}: error: ")
    return done.stderr


def put(logs: Any, group: str, events: list[dict[str, Any]], stream: str) -> None:
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    events = sorted(events, key=lambda e: e["timestamp"])
    for start in range(0, len(events), 2_000):  # PutLogEvents takes up to 10,000 events or 1 MB per call
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events[start:start + 2_000])


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, moto_server: Any) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("deployed") / "shop"
    root.mkdir()
    (root / "golive.toml").write_text(CONFIG)
    (root / "app.py").write_text(APP)
    (root / "admin.py").write_text(ADMIN)
    stage = Stage(root, "prod")
    logs = moto_server.client("logs")
    for group in stage.groups.values():
        logs.create_log_group(logGroupName=group)

    traffic = Traffic(stage)
    now = int(time.time() * 1000)
    t0 = now - 20 * 60 * 1000  # the last 20 minutes
    sent: dict[str, Any] = {}
    for n in range(OK_REQUESTS):
        at = t0 + n * 300
        api_request = str(uuid.uuid4())
        rid = traffic.invocation("api", at + 1, log_lines(api_request, api_request,
                                                          lambda lg, n=n: lg.info("item read", item_id=n)))
        request_id = traffic.request(at, "GET", "/items/{id}", f"/items/{n}", 200, rid)
        sent.setdefault("ok", request_id)
    at = t0 + OK_REQUESTS * 300
    # a function that catches an exception and answers 500: function-made, its stack trace grouped
    failed = {}
    for k in range(3):
        correlation = f"order-{42 + k}"
        rid = traffic.invocation("api", at + k * 1000 + 1, [*log_lines("x", correlation, failing),
                                                            emf("GET /boom", 500)], duration_ms=8.5)
        failed[correlation] = (traffic.request(at + k * 1000, "GET", "/boom", "/boom", 500, rid, latency=15), rid)
    sent["failed"] = failed
    # the authorizer refuses: 401 made by the gateway, never reaching the api function
    # (golive's JWT authorizer function ran and refused: its own invocation, in its own log group)
    traffic.invocation("authorizer", at + 5_000, ['{"level":"WARN","message":"token rejected: expired"}'])
    sent["unauthorized"] = traffic.request(at + 5_000, "GET", "/private", "/private", 401, error_type="UNAUTHORIZED",
                                           error_message="Unauthorized", latency=30)
    sent["throttled"] = traffic.request(at + 6_000, "GET", "/limited", "/limited", 429, error_type="THROTTLED",
                                        error_message="Too Many Requests", latency=1)
    rid = traffic.invocation("admin", at + 7_001, log_lines("y", "y", lambda lg: lg.info("report built", rows=0)))
    sent["admin"] = traffic.request(at + 7_000, "GET", "/report", "/report", 200, rid)
    for group, events in traffic.events.items():
        put(logs, group, events, "2026/12/04/[7]0a1b2c3d4e5f")
    return {"root": root, "stage": stage, "logs": logs, "sent": sent, "env": aws_env(moto_server.endpoint),
            "traffic": traffic}


def test_the_template_names_the_groups_the_reader_reads(deployed: dict[str, Any]) -> None:
    from golive.telemetry.deployed import stage_logs

    names = stage_logs(deployed["root"], "prod")
    stage = deployed["stage"]
    assert names.access_group == stage.access_group == "/aws/apigateway/shop-prod-access"
    assert set(names.function_groups) == set(stage.function_groups.values())
    assert len(deployed["traffic"].events[stage.group_of("api")]) > 10_000  # more than one FilterLogEvents page


def test_stats_for_the_deployed_stage(deployed: dict[str, Any]) -> None:
    out = ok(deployed["env"], "stats", str(deployed["root"]), "--stage", "prod", "--format", "json")
    result = json.loads(out)
    rows = {row["key"]: row for row in result["rows"]}
    items = rows["GET /items/{id}"]
    assert items["count"] == OK_REQUESTS and items["ok"] == OK_REQUESTS  # every page was fetched
    assert items["p50_ms"] == 12 and items["cold_starts"] == 1
    boom = rows["GET /boom"]
    assert (boom["count"], boom["function_5xx"], boom["gateway_5xx"]) == (3, 3, 0)
    assert rows["GET /private"]["gateway_4xx"] == 1 and rows["GET /private"]["function_4xx"] == 0
    assert rows["GET /limited"]["throttles"] == 1 and rows["GET /limited"]["gateway_4xx"] == 1
    assert rows["GET /report"]["ok"] == 1
    table = ok(deployed["env"], "stats", str(deployed["root"]), "--stage", "prod")
    assert re.search(r"^GET /boom\s+3\s+0\s+0\s+0\s+0\s+3\b", table, re.M), table
    alarms = json.loads(ok(deployed["env"], "stats", str(deployed["root"]), "--stage", "prod", "--alarms",
                           "--format", "json"))["alarms"]
    by_name = {alarm["name"]: alarm for alarm in alarms}  # the template's alarms, evaluated over the stage's data
    assert by_name["GET /items/{id} latency p99"]["state"] == "OK"
    assert by_name["GET /health latency p99"]["state"] == "INSUFFICIENT_DATA"  # golive's route, never requested here
    assert "8.5" in by_name["function api duration p99"]["reason"]  # from the REPORT lines of the 500s
    assert (deployed["root"] / ".golive" / "telemetry-prod.duckdb").exists()
    assert not (deployed["root"] / ".golive" / "telemetry.duckdb").exists()  # the local store is not touched


def test_one_id_finds_the_whole_deployed_request(deployed: dict[str, Any]) -> None:
    request_id, lambda_id = deployed["sent"]["failed"]["order-43"]
    for any_id in (request_id, lambda_id, "order-43"):
        out = ok(deployed["env"], "logs", str(deployed["root"]), "--stage", "prod", "--request-id", any_id)
        lines = out.splitlines()
        assert lines[0].startswith(lines[0][:12]) and " 500 GET /prod/boom → GET /boom function 15 ms" in lines[0]
        assert f"id={request_id}" in lines[0] and f"lambda={lambda_id}" in lines[0]
        assert f"START RequestId: {lambda_id}" in out and f"REPORT RequestId: {lambda_id}" in out
        assert "ERROR price lookup failed" in out and "LookupError: no price for x" in out
        assert "correlation_id=order-43" in out
    unauthorized = ok(deployed["env"], "logs", str(deployed["root"]), "--stage", "prod", "--request-id",
                      deployed["sent"]["unauthorized"])
    assert "401 GET /prod/private → GET /private gateway UNAUTHORIZED 30 ms" in unauthorized


def test_errors_of_the_deployed_stage_are_grouped(deployed: dict[str, Any]) -> None:
    out = ok(deployed["env"], "errors", str(deployed["root"]), "--stage", "prod")
    first = out.splitlines()[0]
    assert first.startswith("3 x LookupError: no price for x  GET /boom")
    assert "at test_telemetry_aws.py:load_price < test_telemetry_aws.py:failing" in out
    example = re.search(r"--request-id (\S+)", out)
    assert example and example.group(1) in {request for request, _ in deployed["sent"]["failed"].values()}


def test_query_and_filters_over_the_deployed_stage(deployed: dict[str, Any]) -> None:
    out = ok(deployed["env"], "query", "SELECT decided_by, status, count(*) AS n FROM requests "
             "WHERE status >= 400 GROUP BY ALL ORDER BY status", str(deployed["root"]), "--stage", "prod",
             "--format", "json")
    assert json.loads(out)["rows"] == [["gateway", 401, 1], ["gateway", 429, 1], ["function", 500, 3]]
    out = ok(deployed["env"], "query", "SELECT function, count(*) FROM requests GROUP BY ALL ORDER BY 1",
             str(deployed["root"]), "--stage", "prod", "--format", "json")
    assert json.loads(out)["rows"] == [["admin", 1], ["api", OK_REQUESTS + 3], [None, 2]]
    out = ok(deployed["env"], "query", "SELECT function, count(*) FROM logs WHERE level = 'WARN' GROUP BY ALL",
             str(deployed["root"]), "--stage", "prod", "--format", "json")
    assert json.loads(out)["rows"] == [["authorizer", 1]]  # golive's JWT authorizer function's own log group
    out = ok(deployed["env"], "query", "SELECT namespace, sum(value) FROM metrics WHERE name = 'PriceLookupFailed' "
             "GROUP BY ALL", str(deployed["root"]), "--stage", "prod", "--format", "json")
    assert json.loads(out)["rows"] == [["Shop", 3.0]]  # EMF documents, expanded as CloudWatch extracts them
    filtered = ok(deployed["env"], "logs", str(deployed["root"]), "--stage", "prod", "--filter", "level=ERROR")
    assert filtered.count(" 500 GET /prod/boom") == 3 and " 200 " not in filtered
    refused = one_line_error(deployed["env"], "query", "DELETE FROM requests", str(deployed["root"]),
                             "--stage", "prod")
    assert "read-only" in refused


def test_a_second_fetch_adds_only_new_events(deployed: dict[str, Any]) -> None:
    env, root = deployed["env"], deployed["root"]
    before = json.loads(ok(env, "stats", str(root), "--stage", "prod", "--format", "json"))["total"]["count"]
    stage: Stage = deployed["stage"]
    traffic = Traffic(stage)
    traffic.cold.update(stage.function_groups.values())
    now = int(time.time() * 1000) - 2_000
    rid = traffic.invocation("api", now + 1, ['{"level":"INFO","message":"late item"}'], duration_ms=6.4)
    new_request = traffic.request(now, "GET", "/items/{id}", "/items/late", 200, rid)
    # the access-log line reaches CloudWatch first; the function's lines only after the next fetch
    put(deployed["logs"], stage.access_group, traffic.events.pop(stage.access_group), "2026/12/04/[7]0a1b2c3d4e5f")
    after = json.loads(ok(env, "stats", str(root), "--stage", "prod", "--format", "json"))["total"]["count"]
    assert after == before + 1
    for group, events in traffic.events.items():
        put(deployed["logs"], group, events, "2026/12/04/[8]late")
    again = json.loads(ok(env, "stats", str(root), "--stage", "prod", "--format", "json"))["total"]["count"]
    assert again == after  # the overlap is read again, its events are not stored twice
    out = ok(env, "query", f"SELECT function, duration_ms, billed_ms FROM requests WHERE request_id = '{new_request}'",
             str(root), "--stage", "prod", "--format", "json")
    assert json.loads(out)["rows"] == [["api", 6.4, 7]]  # joined to its REPORT line a fetch later
    assert "late item" in ok(env, "logs", str(root), "--stage", "prod", "--request-id", new_request)
    sync = json.loads((root / ".golive" / "telemetry-prod.sync.json").read_text())
    assert set(sync["groups"]) >= {stage.access_group, stage.group_of("api")}


def test_an_invocation_split_across_fetches_keeps_its_lines(deployed: dict[str, Any]) -> None:
    env, root, stage = deployed["env"], deployed["root"], deployed["stage"]
    traffic = Traffic(stage)
    traffic.cold.update(stage.function_groups.values())
    now = int(time.time() * 1000) - 3_000
    rid = traffic.invocation("api", now + 1, ['{"level":"INFO","message":"before the fetch"}',
                                             '{"level":"WARN","message":"after the fetch"}'])
    request_id = traffic.request(now, "GET", "/items/{id}", "/items/split", 200, rid)
    lines = traffic.events[stage.group_of("api")]
    stream = "2026/12/04/[7]split"
    put(deployed["logs"], stage.group_of("api"), lines[:2], stream)  # START and the first line only
    ok(env, "stats", str(root), "--stage", "prod")
    put(deployed["logs"], stage.group_of("api"), lines[2:], stream)  # the rest of the invocation, in the same stream
    put(deployed["logs"], stage.access_group, traffic.events[stage.access_group], stream)
    out = ok(env, "logs", str(root), "--stage", "prod", "--request-id", request_id)
    assert "INFO before the fetch" in out and "WARN after the fetch" in out and f"END RequestId: {rid}" in out


def test_tail_shows_only_what_arrives_after_it_started(deployed: dict[str, Any]) -> None:
    env, root, stage = deployed["env"], deployed["root"], deployed["stage"]
    process = subprocess.Popen([GOLIVE, "logs", str(root), "--stage", "prod", "--tail"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True).start()
    try:
        time.sleep(3)  # it has fetched once and found nothing new
        assert lines == [], lines
        traffic = Traffic(stage)
        traffic.cold.update(stage.function_groups.values())
        now = int(time.time() * 1000)
        rid = traffic.invocation("api", now + 1, ['{"level":"INFO","message":"tailed item"}'])
        tailed = traffic.request(now, "GET", "/items/{id}", "/items/tailed", 200, rid)
        for group, events in traffic.events.items():
            put(deployed["logs"], group, events, "2026/12/04/[9]tail")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any("tailed item" in line for line in lines):
            time.sleep(0.1)
        text = "".join(lines)
        assert f"id={tailed}" in text and "INFO tailed item" in text, (text, process.stderr)
        assert text.count(" 200 GET ") == 1  # nothing older than the tail's start
    finally:
        process.terminate()
        process.wait(10)


def test_deleting_the_stage_store_starts_over(deployed: dict[str, Any]) -> None:
    env, root = deployed["env"], deployed["root"]
    before = json.loads(ok(env, "stats", str(root), "--stage", "prod", "--format", "json"))["total"]
    (root / ".golive" / "telemetry-prod.duckdb").unlink()
    again = json.loads(ok(env, "stats", str(root), "--stage", "prod", "--format", "json"))["total"]
    assert again == before  # fetched again from CloudWatch: the same requests, none lost, none twice


def test_bad_input_is_one_line(deployed: dict[str, Any], moto_server: Any, tmp_path: Path) -> None:
    env, root = deployed["env"], deployed["root"]
    unknown = one_line_error(env, "stats", str(root), "--stage", "qa")
    assert "stage 'qa' is not in" in unknown and "dev, prod" in unknown
    never_deployed = one_line_error(env, "logs", str(root), "--stage", "dev")
    assert "no log groups for stage dev: has it been deployed?" in never_deployed
    assert "/aws/apigateway/shop-dev-access" in never_deployed and "/aws/lambda/shop-dev-api" in never_deployed
    anonymous = aws_env(moto_server.endpoint)
    del anonymous["AWS_ACCESS_KEY_ID"], anonymous["AWS_SECRET_ACCESS_KEY"]
    missing = one_line_error(anonymous, "errors", str(root), "--stage", "prod")
    assert "no AWS credentials" in missing and "aws configure" in missing
    unreachable = one_line_error(aws_env("http://127.0.0.1:9"), "stats", str(root), "--stage", "prod")
    assert "cannot reach CloudWatch Logs" in unreachable


HTTP_CONFIG = """\
service = "notes"

[api]
type = "http"

[auth]
type = "none"

[functions.api]
handler = "app.handler"

[stages.prod]
"""

HTTP_APP = '''
from golive import App

app = App("notes")


@app.get("/notes/{id}", public=True)
def get_note(request, id):
    return {"id": id}


handler = app.handler
'''


def test_an_http_api_stage_reads_its_route_keys(tmp_path: Path, moto_server: Any) -> None:
    root = tmp_path / "notes"
    root.mkdir()
    (root / "golive.toml").write_text(HTTP_CONFIG)
    (root / "app.py").write_text(HTTP_APP)
    stage = Stage(root, "prod", service="notes")
    assert "routeKey" in stage.access_format and "resourcePath" not in stage.access_format
    logs = moto_server.client("logs")
    for group in stage.groups.values():
        logs.create_log_group(logGroupName=group)
    traffic = Traffic(stage)
    now = int(time.time() * 1000) - 60_000
    rid = traffic.invocation("api", now + 1, ['{"level":"INFO","message":"note read"}'])
    found = traffic.request(now, "GET", "-", "/notes/1", 200, rid, routeKey="GET /notes/{id}")
    traffic.request(now + 100, "GET", "-", "/nowhere", 404, routeKey="-", error_message="Not Found")
    for group, events in traffic.events.items():
        put(logs, group, events, "2026/12/04/[1]http")
    env = aws_env(moto_server.endpoint)
    rows = {row["key"]: row for row in json.loads(ok(env, "stats", str(root), "--stage", "prod", "--format",
                                                      "json"))["rows"]}
    assert rows["GET /notes/{id}"]["ok"] == 1 and rows["GET /notes/{id}"]["cold_starts"] == 1
    assert rows["(no route)"]["gateway_4xx"] == 1  # no route matched: API Gateway answered it
    assert "INFO note read" in ok(env, "logs", str(root), "--stage", "prod", "--request-id", found)
