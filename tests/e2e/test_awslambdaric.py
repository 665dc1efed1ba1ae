"""Fidelity proof: AWS's own runtime client (awslambdaric, unchanged) runs handlers against golive's Runtime API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lambda_support import REPORT, copy_functions, worker_processes
from lambda_support import run as run_service


@pytest.fixture(autouse=True)
def no_worker_left_behind():
    before = worker_processes(b"awslambdaric")
    yield
    assert worker_processes(b"awslambdaric") - before == set(), "an awslambdaric process survived LambdaService.stop()"


@pytest.fixture
def service_dir(tmp_path: Path) -> Path:
    return copy_functions(tmp_path)


def run(service_dir: Path, scenario, **options):
    return run_service(service_dir, scenario, runtime_client="awslambdaric", **options)


def body(invocation) -> dict:
    return json.loads(invocation.payload)


def test_awslambdaric_runs_a_handler_unchanged_cold_then_warm(service_dir):
    async def scenario(service):
        first = await service.invoke("echo", b'{"hello": "world"}')
        second = await service.invoke("echo", b'{"n": 2}')
        with open(f"/proc/{body(first)['pid']}/cmdline", "rb") as cmdline:
            command = cmdline.read().split(b"\0")
        return first, second, command

    first, second, command = run(service_dir, scenario)
    assert command[1:4] == [b"-m", b"awslambdaric", b"handlers.echo"], "AWS's own client, not golive's worker"
    pid = body(first)["pid"]
    assert first.outcome == second.outcome == "ok"
    assert body(first)["event"] == {"hello": "world"} and body(second)["pid"] == pid
    assert first.cold_start and not second.cold_start
    assert REPORT.match(first.logs[-1])["init"] is not None and REPORT.match(second.logs[-1])["init"] is None
    assert first.logs[0] == "init: handlers module imported"
    assert first.logs[1] == f"START RequestId: {first.request_id} Version: $LATEST"


def test_awslambdaric_sees_lambdas_context_and_environment(service_dir):
    trace = "Root=1-65a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"

    async def scenario(service):
        return await service.invoke("context", b"{}", trace_id=trace, client_context='{"custom": {"k": "v"}}')

    invocation = run(service_dir, scenario)
    info = body(invocation)
    assert info["function_name"] == "fixtures-context"
    assert info["function_version"] == "$LATEST"
    assert info["memory_limit_in_mb"] == "256"
    assert info["invoked_function_arn"].endswith(":123456789012:function:fixtures-context")
    assert info["aws_request_id"] == invocation.request_id
    assert info["log_group_name"] == "/aws/lambda/fixtures-context"
    assert 4000 < info["remaining_ms"] <= 5000
    assert info["client_custom"] == {"k": "v"}
    assert info["environ"]["_X_AMZN_TRACE_ID"] == trace
    assert info["environ"]["_HANDLER"] == "handlers.context_info"


def test_awslambdaric_error_reports_match_lambdas_documents(service_dir):
    async def scenario(service):
        failed = await service.invoke("fail", b'{"x": 1}')
        broken = await service.invoke("broken", b"{}")
        missing = await service.invoke("missing", b"{}")
        return failed, broken, missing

    failed, broken, missing = run(service_dir, scenario)
    document = body(failed)
    assert failed.outcome == "function_error" and failed.error_type == "ValueError"
    assert document["errorMessage"] == 'bad input: {"x": 1}' and document["requestId"] == failed.request_id
    assert any("in fail" in frame for frame in document["stackTrace"])
    assert any(line.startswith('[ERROR] ValueError: bad input: {"x": 1}') for line in failed.logs)
    assert broken.outcome == "init_error" and broken.error_type == "Runtime.ImportModuleError"
    assert broken.error_message == "Unable to import module 'broken': No module named 'does_not_exist'"
    assert missing.outcome == "init_error" and missing.error_type == "Runtime.HandlerNotFound"


def test_awslambdaric_timeout_and_crash_are_followed_by_successful_requests(service_dir):
    async def scenario(service):
        slow = await service.invoke("sleep", b'{"seconds": 5}')
        after_timeout = await service.invoke("sleep", b'{"seconds": 0}')
        crashed = await service.invoke("exit", b'{"status": 7}')
        after_crash = await service.invoke("exit", b'{"crash": false}')
        return slow, after_timeout, crashed, after_crash

    slow, after_timeout, crashed, after_crash = run(service_dir, scenario)
    assert slow.outcome == "timeout" and slow.error_message == "Task timed out after 1.00 seconds"
    assert after_timeout.outcome == "ok" and after_timeout.cold_start
    assert crashed.outcome == "crash" and crashed.error_message == "Runtime exited with error: exit status 7"
    assert after_crash.outcome == "ok"


def test_awslambdaric_output_and_logging_are_attributed_to_the_request(service_dir):
    async def scenario(service):
        return await service.invoke("logs", b'{"marker": "Q"}')

    invocation = run(service_dir, scenario)
    start = invocation.logs.index(f"START RequestId: {invocation.request_id} Version: $LATEST")
    inside = invocation.logs[start + 1:invocation.logs.index(f"END RequestId: {invocation.request_id}")]
    assert "stdout line Q" in inside and "stderr line Q" in inside and "last line Q" in inside
    assert any(re.fullmatch(rf"\[WARNING\]\t\S+Z\t{invocation.request_id}\tlogged Q", line) for line in inside)


def test_awslambdaric_large_response_round_trips(service_dir):
    async def scenario(service):
        return await service.invoke("big", json.dumps({"bytes": 3_000_000}).encode())

    invocation = run(service_dir, scenario)
    assert invocation.outcome == "ok" and len(invocation.payload) == 3_000_002
