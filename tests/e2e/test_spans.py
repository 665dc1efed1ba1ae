"""Traces through `golive dev` as a user meets them: a handler reading DynamoDB (moto's server over HTTP) with the
AWS X-Ray SDK patching boto3 and golive's own tracer, then what `golive logs --request-id` and
`golive query "... FROM spans"` print: the gateway's segment, the function's beneath it, the SDK's DynamoDB
subsegment and golive's handler subsegment beneath that, all under the request's trace id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import DevServer, MotoServer, clean_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("telemetry")]
pytest.importorskip("aws_xray_sdk")

GOLIVE = str(Path(sys.executable).with_name("golive"))
TABLE = "spans-items"
UNSAMPLED = "1-5f0d2c3a-0123456789abcdef01234567"  # a caller's trace, not sampled

CONFIG = """\
service = "shop"

[api]
type = "rest"
stage = "dev"

[functions.api]
handler = "app.handler"
"""

APP = f'''
import os

import boto3
from aws_xray_sdk.core import patch

from golive import App, logger

patch(["boto3"])  # the AWS X-Ray SDK, as in Lambda: a subsegment per AWS call, sent to AWS_XRAY_DAEMON_ADDRESS
app = App("shop")
table = boto3.resource("dynamodb").Table("{TABLE}")


@app.get("/items/{{id}}", public=True)
def get_item(request, id):
    found = table.get_item(Key={{"id": id}}).get("Item")
    logger.info("item read", item_id=id)
    return {{"id": id, "name": found["name"] if found else None}}


@app.get("/env", public=True)
def env(request):
    return {{name: os.environ.get(name) for name in ("AWS_XRAY_DAEMON_ADDRESS", "_X_AMZN_TRACE_ID")}}


handler = app.handler
'''


def send(server: DevServer, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    try:
        with urllib.request.urlopen(urllib.request.Request(server.url + path, headers=headers or {}),
                                    timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, json.loads(exc.read())


def golive(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    env["NO_COLOR"] = "1"
    done = subprocess.run([GOLIVE, *args], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _service(root: Path) -> Path:
    root.mkdir()
    (root / "golive.toml").write_text(CONFIG)
    (root / "app.py").write_text(APP)
    return root


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory, launch_dev_server: Any, moto_server: MotoServer) -> Any:
    client = moto_server.client()
    client.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    client.put_item(TableName=TABLE, Item={"id": {"S": "7"}, "name": {"S": "lamp"}})
    root = _service(tmp_path_factory.mktemp("spans") / "shop")
    server = launch_dev_server(root, **moto_server.env)
    sent = {"cold": send(server, "/items/7"), "warm": send(server, "/items/7"), "unknown": send(server, "/nowhere"),
            "env": send(server, "/env"),
            "unsampled": send(server, "/env", {"X-Amzn-Trace-Id": f"Root={UNSAMPLED};Sampled=0"})}
    assert {name: reply[0] for name, reply in sent.items()} == {"cold": 200, "warm": 200, "unknown": 403, "env": 200,
                                                                "unsampled": 200}
    assert sent["warm"][2] == {"id": "7", "name": "lamp"}
    yield server, root, sent
    server.stop()


def test_one_request_id_shows_the_gateway_function_and_dynamodb_spans_beneath_each_other(traced: Any) -> None:
    _, root, sent = traced
    _, headers, _ = sent["warm"]
    request_id, trace = headers["x-amzn-requestid"], headers["x-amzn-trace-id"].removeprefix("Root=")
    found = json.loads(golive("logs", str(root), "--request-id", request_id, "--format", "json"))
    assert found["request"]["trace_id"] == trace
    spans = found["spans"]
    by_name = {span["name"]: span for span in spans}
    gateway, function = by_name["shop/dev"], by_name["shop-api"]
    dynamodb, handler = by_name["dynamodb"], by_name["## shop"]
    assert (gateway["kind"], gateway["parent_id"], gateway["status"], gateway["offset_ms"]) == ("gateway", None,
                                                                                                  200, 0.0)
    assert (function["kind"], function["parent_id"]) == ("function", gateway["id"])
    # the SDK's subsegment and golive's tracer's both hang off the function segment _X_AMZN_TRACE_ID names
    assert (dynamodb["kind"], dynamodb["parent_id"], dynamodb["namespace"]) == ("subsegment", function["id"], "aws")
    assert (dynamodb["operation"], dynamodb["table_name"], dynamodb["status"]) == ("GetItem", TABLE, 200)
    assert handler["parent_id"] == function["id"]
    assert by_name["get_item"]["parent_id"] == handler["id"]
    assert "Initialization" not in by_name  # a warm invocation
    assert [span["depth"] for span in spans[:2]] == [0, 1]
    for span in spans:
        assert span["offset_ms"] >= 0 and span["duration_ms"] >= 0
        assert span["offset_ms"] + span["duration_ms"] <= gateway["duration_ms"] + 1, span
    # the same id on the terminal: the request line, then its trace indented by depth, then its log lines
    text = golive("logs", str(root), "--request-id", request_id).splitlines()
    at = text.index("    trace: 5 spans")
    timeline = text[at + 1:at + 6]
    assert "  shop/dev gateway 200" in timeline[0]
    assert "    shop-api function" in timeline[1]
    assert any("      dynamodb GetItem spans-items aws 200" in line for line in timeline), timeline
    assert any("        get_item" in line for line in timeline), timeline
    lambda_id = found["request"]["lambda_request_id"]
    assert any(f"START RequestId: {lambda_id}" in line for line in text[at + 6:])
    # the trace id finds the same request and the same trace
    assert golive("logs", str(root), "--request-id", trace).splitlines()[:at + 6] == text[:at + 6]


def test_query_selects_from_spans_and_joins_them_to_requests(traced: Any) -> None:
    _, root, sent = traced
    trace = sent["cold"][1]["x-amzn-trace-id"].removeprefix("Root=")
    result = json.loads(golive("query", f"SELECT s.name, s.kind, s.parent_id, s.id, r.status FROM spans s JOIN "
                                        f"requests r ON r.trace_id = s.trace_id WHERE s.trace_id = '{trace}' "
                                        f"ORDER BY s.ts", str(root), "--format", "json"))
    rows = {row[0]: row for row in result["rows"]}
    assert rows["shop/dev"][1:3] == ["gateway", None]
    assert rows["shop-api"][1:3] == ["function", rows["shop/dev"][3]]
    # a cold start: Lambda's Initialization subsegment of the function segment
    assert rows["Initialization"][1:3] == ["subsegment", rows["shop-api"][3]]
    assert rows["dynamodb"][2] == rows["shop-api"][3]
    assert {row[4] for row in result["rows"]} == {200}
    table = golive("query", "SELECT kind, count(*) AS n FROM spans GROUP BY kind ORDER BY kind", str(root))
    counts = {line.split()[0]: int(line.split()[1]) for line in table.splitlines()[1:-1]}
    # four requests through the gateway, three invocations (the unknown route never reached the function)
    assert counts["gateway"] == 4 and counts["function"] == 3


def test_a_gateway_answer_is_a_gateway_segment_alone_with_its_error_flag(traced: Any) -> None:
    _, root, sent = traced
    request_id = sent["unknown"][1]["x-amzn-requestid"]
    spans = json.loads(golive("logs", str(root), "--request-id", request_id, "--format", "json"))["spans"]
    assert [(span["kind"], span["status"], span["error"], span["fault"]) for span in spans] == [
        ("gateway", 403, True, False)]
    assert spans[0]["annotations"]["gateway_response"] == "MISSING_AUTHENTICATION_TOKEN"


def test_the_function_is_invoked_with_its_segment_as_parent_and_the_daemon_address(traced: Any) -> None:
    _, root, sent = traced
    _, headers, seen = sent["env"]
    host, _, port = seen["AWS_XRAY_DAEMON_ADDRESS"].rpartition(":")
    assert host == "127.0.0.1" and int(port) > 0
    trace = headers["x-amzn-trace-id"].removeprefix("Root=")
    spans = json.loads(golive("logs", str(root), "--request-id", headers["x-amzn-requestid"], "--format", "json"))
    function = next(span for span in spans["spans"] if span["kind"] == "function")
    assert seen["_X_AMZN_TRACE_ID"] == f"Root={trace};Parent={function['id']};Sampled=1"


def test_a_caller_that_says_sampled_0_gets_its_request_recorded_without_a_trace(traced: Any) -> None:
    # a traced stage follows the caller's sampling decision, as API Gateway does
    _, root, sent = traced
    _, headers, seen = sent["unsampled"]
    assert headers["x-amzn-trace-id"] == f"Root={UNSAMPLED}"
    assert seen["_X_AMZN_TRACE_ID"].startswith(f"Root={UNSAMPLED};Parent=")
    assert seen["_X_AMZN_TRACE_ID"].endswith(";Sampled=0")
    found = json.loads(golive("logs", str(root), "--request-id", headers["x-amzn-requestid"], "--format", "json"))
    assert (found["request"]["trace_id"], found["request"]["status"], found["spans"]) == (UNSAMPLED, 200, [])


def test_the_spans_are_in_the_store_file_once_dev_has_stopped(traced: Any) -> None:
    server, root, sent = traced
    request_id = sent["warm"][1]["x-amzn-requestid"]
    while_running = json.loads(golive("logs", str(root), "--request-id", request_id, "--format", "json"))["spans"]
    assert server.stop() == 0
    from_file = json.loads(golive("logs", str(root), "--request-id", request_id, "--format", "json"))["spans"]
    assert from_file == while_running and len(from_file) == 5


def test_no_tracing_runs_no_daemon_and_records_no_spans(tmp_path: Path, moto_server: MotoServer) -> None:
    root = _service(tmp_path / "shop")
    server = DevServer(root, clean_env(**moto_server.env), options=("--no-tracing",))
    try:
        status, headers, seen = send(server, "/env")
        assert status == 200
        assert seen["AWS_XRAY_DAEMON_ADDRESS"] is None
        assert seen["_X_AMZN_TRACE_ID"].endswith(";Sampled=0")
        assert send(server, "/items/7")[0] == 200
        found = json.loads(golive("logs", str(root), "--request-id", headers["x-amzn-requestid"], "--format", "json"))
        assert found["request"]["route"] == "GET /env" and found["spans"] == []
        count = json.loads(golive("query", "SELECT count(*) FROM spans", str(root), "--format", "json"))
        assert count["rows"] == [[0]]
        assert json.loads(golive("query", "SELECT count(*) FROM requests", str(root), "--format", "json"))[
            "rows"] == [[2]]
    finally:
        server.stop()
