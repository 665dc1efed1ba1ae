"""The local Lambda service end to end: real worker processes speaking the Runtime API over loopback HTTP."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import time
from pathlib import Path

import pytest
from lambda_support import REPORT, copy_functions, run, worker_processes

from golive.local.lambda_service import LambdaService, LogRecord
from golive.local.reload import CodeWatcher
from golive.service.config import load_config

TIMED_OUT = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (?P<id>[0-9a-f-]{36}) Task timed out after 1\.00 seconds$")


@pytest.fixture(autouse=True)
def no_worker_left_behind():
    before = worker_processes(b"worker.py", b"awslambdaric")
    yield
    assert worker_processes(b"worker.py", b"awslambdaric") - before == set(), "a worker survived LambdaService.stop()"


@pytest.fixture
def service_dir(tmp_path: Path) -> Path:
    return copy_functions(tmp_path)


def body(invocation) -> dict:
    return json.loads(invocation.payload)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_cold_start_then_warm_reuse_with_start_end_report_lines(service_dir):
    async def scenario(service):
        first = await service.invoke("echo", b'{"n": 1}')
        second = await service.invoke("echo", b'{"n": 2}')
        return first, second, service.stats()["echo"]

    first, second, stats = run(service_dir, scenario)
    assert first.outcome == second.outcome == "ok"
    assert body(first)["event"] == {"n": 1} and body(second)["event"] == {"n": 2}
    assert body(first)["greeting"] == "hello"  # [functions.echo] environment
    assert body(first)["pid"] == body(second)["pid"], "the warm environment is reused"
    assert first.cold_start and first.init_ms and first.init_ms > 0
    assert not second.cold_start and second.init_ms is None
    assert first.memory_mb == 256 and 0 < first.max_memory_mb <= 256
    # the module's init output comes first, then START / END / REPORT in Lambda's exact format
    assert first.logs[0] == "init: handlers module imported"
    assert first.logs[1] == f"START RequestId: {first.request_id} Version: $LATEST"
    assert first.logs[-2] == f"END RequestId: {first.request_id}"
    report = REPORT.match(first.logs[-1])
    assert report and report["id"] == first.request_id and report["size"] == "256"
    assert float(report["init"]) == pytest.approx(first.init_ms, abs=0.01)
    assert int(report["billed"]) == first.billed_ms >= float(report["duration"])
    warm = REPORT.match(second.logs[-1])
    assert warm and warm["init"] is None and int(warm["billed"]) >= 1
    assert second.logs[0] == f"START RequestId: {second.request_id} Version: $LATEST"
    assert stats["invocations"] == 2 and stats["cold_starts"] == 1
    assert stats["environments"]["idle"] == 1 and stats["environments"]["busy"] == 0


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux-only")
def test_workers_run_under_sched_batch_so_their_wake_ups_do_not_preempt_the_gateway(service_dir):
    async def scenario(service):
        invocation = await service.invoke("version", b"{}")
        return os.sched_getscheduler(body(invocation)["pid"])

    assert run(service_dir, scenario) == os.SCHED_BATCH


def test_context_environment_trace_id_and_client_context(service_dir):
    trace = "Root=1-65a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"

    async def scenario(service):
        traced = await service.invoke("context", b"{}", trace_id=trace, client_context='{"custom": {"k": "v"}}')
        untraced = await service.invoke("context", b"{}")
        return traced, untraced

    traced, untraced = run(service_dir, scenario)
    info = body(traced)
    assert info["function_name"] == "fixtures-context"
    assert info["function_version"] == "$LATEST"
    assert info["memory_limit_in_mb"] == "256"  # a string, as Lambda's Python runtime gives it
    region = info["environ"]["AWS_REGION"]
    assert info["invoked_function_arn"] == f"arn:aws:lambda:{region}:123456789012:function:fixtures-context"
    assert info["aws_request_id"] == traced.request_id
    assert info["log_group_name"] == "/aws/lambda/fixtures-context"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", info["log_stream_name"])
    assert 4000 < info["remaining_ms"] <= 5000  # timeout = 5
    assert info["client_custom"] == {"k": "v"}
    environ = info["environ"]
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == "fixtures-context"
    assert environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert environ["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert environ["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fixtures-context"
    assert environ["AWS_LAMBDA_LOG_STREAM_NAME"] == info["log_stream_name"]
    assert environ["AWS_REGION"] and environ["AWS_DEFAULT_REGION"] == environ["AWS_REGION"]
    assert environ["LAMBDA_TASK_ROOT"] == str(service_dir) == info["cwd"]
    assert environ["_HANDLER"] == "handlers.context_info"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", environ["AWS_LAMBDA_RUNTIME_API"])
    assert environ["TZ"] == ":UTC"
    assert environ["GOLIVE_SERVICE"] == "fixtures"  # config.local_environment()
    assert environ["_X_AMZN_TRACE_ID"] == trace
    other = body(untraced)["environ"]["_X_AMZN_TRACE_ID"]
    assert other != trace and re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", other)
    assert body(untraced)["client_custom"] is None


def test_function_error_is_reported_and_environment_stays_warm(service_dir):
    async def scenario(service):
        failed = await service.invoke("fail", b'{"x": 1}')
        again = await service.invoke("fail", b'{"x": 2}')
        return failed, again, service.stats()["fail"]

    failed, again, stats = run(service_dir, scenario)
    assert failed.outcome == "function_error"
    assert failed.error_type == "ValueError" and failed.error_message == 'bad input: {"x": 1}'
    document = body(failed)
    assert document["errorType"] == "ValueError" and document["errorMessage"] == 'bad input: {"x": 1}'
    assert document["requestId"] == failed.request_id
    assert any("in fail" in frame for frame in document["stackTrace"])
    error_log = next(line for line in failed.logs if line.startswith("[ERROR]"))
    assert error_log.startswith('[ERROR] ValueError: bad input: {"x": 1}\nTraceback (most recent call last):')
    assert again.outcome == "function_error" and not again.cold_start  # a function error keeps the environment
    assert stats["function_errors"] == 2 and stats["cold_starts"] == 1


def test_timeout_kills_environment_and_a_new_one_serves_the_next_request(service_dir):
    async def scenario(service):
        slow = await service.invoke("sleep", b'{"seconds": 5}')
        pid = service.stats()["sleep"]["pids"]
        after = await service.invoke("sleep", b'{"seconds": 0}')
        return slow, pid, after

    started = time.monotonic()
    slow, pids_after_timeout, after = run(service_dir, scenario)
    assert time.monotonic() - started < 4, "the timeout (1 s) cut the 5 s sleep short"
    assert slow.outcome == "timeout" and slow.error_type == "Sandbox.Timedout"
    assert slow.error_message == "Task timed out after 1.00 seconds"
    assert body(slow) == {"errorType": "Sandbox.Timedout",
                          "errorMessage": f"RequestId: {slow.request_id} Error: Task timed out after 1.00 seconds"}
    timed_out = [line for line in slow.logs if TIMED_OUT.match(line)]
    assert len(timed_out) == 1 and slow.request_id in timed_out[0]
    assert slow.logs.index(timed_out[0]) < slow.logs.index(f"END RequestId: {slow.request_id}")
    assert REPORT.match(slow.logs[-1]) and 1000 <= slow.duration_ms < 1500
    assert pids_after_timeout == []  # the environment was killed
    assert after.outcome == "ok" and after.cold_start


@pytest.mark.parametrize(("function", "reason"),
                         [("exit", "exit status 3"), ("segfault", "signal: segmentation fault")])
def test_crash_is_reported_and_a_replacement_serves_the_next_request(service_dir, function, reason):
    async def scenario(service):
        crashed = await service.invoke(function, b"{}")
        after = await service.invoke(function, b'{"crash": false}')
        return crashed, after

    crashed, after = run(service_dir, scenario)
    assert crashed.outcome == "crash" and crashed.error_type == "Runtime.ExitError"
    assert crashed.error_message == f"Runtime exited with error: {reason}"
    reported = f"RequestId: {crashed.request_id} Error: Runtime exited with error: {reason}"
    assert body(crashed) == {"errorType": "Runtime.ExitError", "errorMessage": reported}
    assert reported in crashed.logs
    assert "Runtime.ExitError" in crashed.logs
    if function == "exit":
        assert "about to exit" in crashed.logs  # output written just before dying is still attributed
    assert REPORT.match(crashed.logs[-1]) and crashed.max_memory_mb > 0
    assert after.outcome == "ok" and after.cold_start


def test_memory_limit_kills_environment_and_a_replacement_serves_the_next_request(service_dir):
    async def scenario(service):
        gradual = await service.invoke("hog", b'{"mb": 400}')
        small = await service.invoke("hog", b'{"mb": 16}')
        at_once = await service.invoke("hog", b'{"mb": 1024, "at_once": true}')  # refused by RLIMIT_DATA
        after = await service.invoke("hog", b'{"mb": 16, "at_once": true}')
        return gradual, small, at_once, after

    gradual, small, at_once, after = run(service_dir, scenario)
    for hog in (gradual, at_once):
        assert hog.outcome == "crash" and hog.error_type == "Runtime.ExitError"
        assert hog.error_message == "Runtime exited with error: signal: killed"
        assert f"RequestId: {hog.request_id} Error: Runtime exited with error: signal: killed" in hog.logs
        report = REPORT.match(hog.logs[-1])
        assert report and report["size"] == "128" and report["used"] == "128"
    assert small.outcome == "ok" and body(small)["allocated_mb"] == 16 and small.cold_start
    assert after.outcome == "ok" and after.cold_start


def test_init_errors_are_reported_like_lambda_and_fixing_the_code_recovers(service_dir):
    (service_dir / "syntax.py").write_text("def handler(event, context)\n    return 1\n")
    with (service_dir / "golive.toml").open("a") as toml:
        toml.write('\n[functions.syntax]\nhandler = "syntax.handler"\n')

    async def scenario(service):
        broken = await service.invoke("broken", b"{}")
        missing = await service.invoke("missing", b"{}")
        syntax = await service.invoke("syntax", b"{}")
        (service_dir / "syntax.py").write_text("def handler(event, context):\n    return 1\n")
        service.reload()
        fixed = await service.invoke("syntax", b"{}")
        return broken, missing, syntax, fixed, service.stats()

    broken, missing, syntax, fixed, stats = run(service_dir, scenario)
    assert broken.outcome == "init_error" and broken.error_type == "Runtime.ImportModuleError"
    assert broken.error_message == "Unable to import module 'broken': No module named 'does_not_exist'"
    assert body(broken)["errorType"] == "Runtime.ImportModuleError"
    assert broken.cold_start and broken.init_ms is not None
    assert any(line.startswith("[ERROR] Runtime.ImportModuleError: Unable to import module 'broken'")
               for line in broken.logs)
    assert any(line.startswith("INIT_REPORT Init Duration:") and "Status: error" in line for line in broken.logs)
    assert REPORT.match(broken.logs[-1])
    assert missing.outcome == "init_error" and missing.error_type == "Runtime.HandlerNotFound"
    assert missing.error_message == "Handler 'no_such_handler' missing on module 'handlers'"
    assert syntax.outcome == "init_error" and syntax.error_type == "Runtime.UserCodeSyntaxError"
    assert syntax.error_message.startswith("Syntax error in module 'syntax'")
    assert fixed.outcome == "ok" and fixed.payload == b"1"
    assert stats["broken"]["init_errors"] == 1 and stats["broken"]["environments"]["total"] == 0


def test_a_runtime_dying_or_hanging_during_init_is_an_init_error(service_dir, monkeypatch):
    from golive.local import environment

    monkeypatch.setattr(environment, "INIT_LIMIT_S", 0.5)  # each environment's init-phase limit
    (service_dir / "dies.py").write_text("import os\nprint('dying', flush=True)\nos._exit(2)\n")
    (service_dir / "hangs.py").write_text("import time\ntime.sleep(30)\n\ndef handler(event, context):\n    return 1\n")
    with (service_dir / "golive.toml").open("a") as toml:
        toml.write('\n[functions.dies]\nhandler = "dies.handler"\n[functions.hangs]\nhandler = "hangs.handler"\n')

    async def scenario(service):
        return await service.invoke("dies", b"{}"), await service.invoke("hangs", b"{}"), service.stats()

    dies, hangs, stats = run(service_dir, scenario)
    assert dies.outcome == "init_error" and dies.error_type == "Runtime.ExitError"
    assert dies.error_message == "Runtime exited with error: exit status 2"
    assert dies.logs[0] == "dying"
    assert hangs.outcome == "init_error" and hangs.error_type == "Sandbox.Timedout"
    assert stats["dies"]["environments"]["total"] == stats["hangs"]["environments"]["total"] == 0


def test_output_is_attributed_to_each_request_id_and_streamed_to_on_log(service_dir):
    records: list[LogRecord] = []

    async def scenario(service):
        return await asyncio.gather(service.invoke("logs", b'{"marker": "A", "seconds": 0.2}'),
                                    service.invoke("logs", b'{"marker": "B", "seconds": 0.2}'))

    first, second = run(service_dir, scenario, on_log=records.append)
    for invocation, marker, other in ((first, "A", "B"), (second, "B", "A")):
        logs = invocation.logs
        start = logs.index(f"START RequestId: {invocation.request_id} Version: $LATEST")
        end = logs.index(f"END RequestId: {invocation.request_id}")
        inside = logs[start + 1:end]
        for expected in (f"stdout line {marker}", f"stderr line {marker}", f"multi {marker} one",
                         f"multi {marker} two", f"last line {marker}", f"unfinished {marker}"):
            assert expected in inside
        assert any(re.fullmatch(rf"\[WARNING\]\t\d{{4}}-.+Z\t{invocation.request_id}\tlogged {marker}", line)
                   for line in inside)
        assert not any(other in line.split()[-1] for line in inside if line.startswith(("stdout", "last")))
        mine = [record for record in records if record.request_id == invocation.request_id]
        assert {record.stream for record in mine} == {"stdout", "stderr", "platform"}
        assert all(record.function == "logs" and record.timestamp > 0 for record in mine)
        assert [record.line for record in mine if record.stream == "platform"][-1].startswith("REPORT RequestId:")
        assert any(record.stream == "stderr" and record.line == f"stderr line {marker}" for record in mine)
    init = [record for record in records if record.request_id is None]
    assert [record.line for record in init] == ["init: handlers module imported"] * 2


def test_scale_out_to_concurrency_then_throttle(service_dir):
    async def scenario(service):
        slow = [asyncio.ensure_future(service.invoke("sleep", b'{"seconds": 0.6}')) for _ in range(3)]
        while service.stats()["sleep"]["environments"]["total"] < 3:
            await asyncio.sleep(0.01)
        started = time.monotonic()
        throttled = await service.invoke("sleep", b'{"seconds": 0}')
        throttle_ms = (time.monotonic() - started) * 1000
        results = await asyncio.gather(*slow)
        stats = service.stats()["sleep"]
        warm = await service.invoke("sleep", b'{"seconds": 0}')
        return results, throttled, throttle_ms, stats, warm

    results, throttled, throttle_ms, stats, warm = run(service_dir, scenario)
    assert [result.outcome for result in results] == ["ok"] * 3
    assert len({body(result)["pid"] for result in results}) == 3, "one environment per concurrent invocation"
    assert throttled.outcome == "throttled" and throttled.error_type == "TooManyRequestsException"
    assert body(throttled) == {"Reason": "ConcurrentInvocationLimitExceeded", "Type": "User",
                               "message": "Rate Exceeded."}
    assert throttle_ms < 50, "throttling answers at once"
    assert stats["throttles"] == 1 and stats["environments"]["idle"] == 3 and stats["concurrency"] == 3
    assert warm.outcome == "ok" and not warm.cold_start


def test_reserved_concurrency_zero_throttles_everything(service_dir):
    with (service_dir / "golive.toml").open("a") as toml:
        toml.write('\n[functions.off]\nhandler = "handlers.echo"\nreserved_concurrency = 0\n')

    async def scenario(service):
        return await service.invoke("off", b"{}")

    throttled = run(service_dir, scenario)
    assert throttled.outcome == "throttled"
    assert body(throttled)["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_idle_environments_are_reaped(service_dir):
    async def scenario(service):
        first = await service.invoke("echo", b"{}")
        pid = body(first)["pid"]
        await asyncio.sleep(0.6)
        gone = not alive(pid)
        stats = service.stats()["echo"]["environments"]
        second = await service.invoke("echo", b"{}")
        return gone, stats, second

    gone, stats, second = run(service_dir, scenario, idle_timeout=0.3)
    assert gone and stats["total"] == 0
    assert second.outcome == "ok" and second.cold_start


def test_reload_recycles_idle_environments_now_and_busy_ones_after_their_invocation(service_dir):
    async def scenario(service):
        watcher = CodeWatcher(service_dir, lambda paths: None)
        old = await service.invoke("version", b"{}")
        busy = asyncio.ensure_future(service.invoke("sleep", b'{"seconds": 0.4}'))
        while service.stats()["sleep"]["environments"]["busy"] == 0:
            await asyncio.sleep(0.01)
        busy_pid = service.stats()["sleep"]["pids"][0]
        source = service_dir / "version.py"
        source.write_text(source.read_text().replace("VERSION = 1", "VERSION = 2"))
        changed = watcher.poll()
        service.reload()
        await asyncio.sleep(0.1)
        idle_killed = not alive(body(old)["pid"])
        busy_alive = alive(busy_pid)
        finished = await busy
        await asyncio.sleep(0.1)
        busy_retired = not alive(busy_pid)
        new = await service.invoke("version", b"{}")
        return changed, old, idle_killed, busy_alive, finished, busy_retired, new

    changed, old, idle_killed, busy_alive, finished, busy_retired, new = run(service_dir, scenario)
    assert changed == [service_dir / "version.py"]
    assert body(old)["version"] == 1
    assert idle_killed, "idle environments are recycled at once"
    assert busy_alive and finished.outcome == "ok", "an in-flight invocation is not failed by a reload"
    assert busy_retired, "a busy environment is recycled after its invocation"
    assert body(new)["version"] == 2 and new.cold_start and body(new)["pid"] != body(old)["pid"]


def test_code_watcher_reloads_in_the_background(service_dir):
    async def scenario(service):
        watcher = CodeWatcher(service_dir, lambda paths: service.reload(), interval=0.05)
        watcher.start()
        try:
            before = await service.invoke("version", b"{}")
            source = service_dir / "version.py"
            source.write_text(source.read_text().replace("VERSION = 1", "VERSION = 3"))
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                after = await service.invoke("version", b"{}")
                if body(after)["version"] == 3:
                    break
                await asyncio.sleep(0.05)
            (service_dir / "notes.txt").write_text("not code")
            (service_dir / ".golive").mkdir()
            (service_dir / ".golive" / "state.py").write_text("x = 1")
            unchanged = watcher.poll()
            return before, after, unchanged
        finally:
            await watcher.stop()

    before, after, unchanged = run(service_dir, scenario)
    assert body(before)["version"] == 1 and body(after)["version"] == 3
    assert unchanged == []  # other files and state folders are not watched


def test_prewarm_starts_one_ready_environment_per_function(service_dir):
    (service_dir / "golive.toml").write_text(
        'service = "fixtures"\n[functions.echo]\nhandler = "handlers.echo"\n'
        '[functions.version]\nhandler = "version.handler"\n')

    async def scenario(service):
        ready = service.stats()
        first = await service.invoke("echo", b"{}")
        return ready, first

    ready, first = run(service_dir, scenario, prewarm=True)
    assert ready["echo"]["environments"]["idle"] == 1 and ready["version"]["environments"]["idle"] == 1
    assert first.outcome == "ok" and not first.cold_start and first.init_ms is None


def test_response_over_6_mb_is_a_function_error(service_dir):
    async def scenario(service):
        big = await service.invoke("big", json.dumps({"bytes": 6_300_000}).encode())
        fits = await service.invoke("big", json.dumps({"bytes": 6_000_000}).encode())
        return big, fits

    big, fits = run(service_dir, scenario)
    assert big.outcome == "function_error" and big.error_type == "Function.ResponseSizeTooLarge"
    assert fits.outcome == "ok" and len(fits.payload) == 6_000_002


def test_a_caller_giving_up_does_not_lose_the_environment(service_dir):
    async def scenario(service):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(service.invoke("sleep", b'{"seconds": 0.3}'), 0.05)
        deadline = time.monotonic() + 10  # the abandoned invocation runs on: cold start + 0.3 s, slower when busy
        while service.stats()["sleep"]["invocations"] < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        stats = service.stats()["sleep"]
        after = await service.invoke("sleep", b'{"seconds": 0}')
        return stats, after

    stats, after = run(service_dir, scenario)
    assert stats["invocations"] == 1 and stats["environments"]["idle"] == 1
    assert after.outcome == "ok" and not after.cold_start


def test_stop_kills_in_flight_invocations_and_every_process(service_dir):
    async def scenario(service):
        await service.invoke("echo", b"{}")
        in_flight = asyncio.ensure_future(service.invoke("sleep", b'{"seconds": 0.8}'))
        while service.stats()["sleep"]["environments"]["busy"] == 0:
            await asyncio.sleep(0.01)
        pids = [pid for stats in service.stats().values() for pid in stats["pids"]]
        await service.stop()
        return pids, await in_flight

    pids, in_flight = run(service_dir, scenario)
    assert len(pids) == 2 and not any(alive(pid) for pid in pids)
    assert in_flight.outcome == "crash" and in_flight.error_message == "Runtime exited with error: signal: killed"


def test_runtime_api_answers_protocol_errors_like_lambda(service_dir):
    async def scenario(service):
        info = body(await service.invoke("context", b"{}"))
        host, port = info["environ"]["AWS_LAMBDA_RUNTIME_API"].split(":")

        def call(method, path, payload=b""):
            connection = http.client.HTTPConnection(host, int(port), timeout=2)
            connection.request(method, path, payload)
            response = connection.getresponse()
            result = response.status, json.loads(response.read())
            connection.close()
            return result

        unknown = await asyncio.to_thread(call, "POST", "/2018-06-01/runtime/invocation/nope/response", b"{}")
        missing = await asyncio.to_thread(call, "GET", "/2018-06-01/runtime/nothing")
        still_ok = await service.invoke("context", b"{}")
        return unknown, missing, still_ok

    unknown, missing, still_ok = run(service_dir, scenario)
    assert unknown == (400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})
    assert missing[0] == 404
    assert still_ok.outcome == "ok" and not still_ok.cold_start


def test_unknown_function_and_runtime_client_are_refused(service_dir):
    async def scenario(service):
        with pytest.raises(KeyError, match="no function 'nope'"):
            await service.invoke("nope", b"{}")

    run(service_dir, scenario)
    with pytest.raises(ValueError, match="runtime_client"):
        LambdaService(load_config(service_dir), runtime_client="java")


def test_event_and_response_marshalling_errors(service_dir):
    (service_dir / "badreturn.py").write_text("def handler(event, context):\n    return {1, 2}\n")
    with (service_dir / "golive.toml").open("a") as toml:
        toml.write('\n[functions.badreturn]\nhandler = "badreturn.handler"\n')

    async def scenario(service):
        return await service.invoke("echo", b"{not json"), await service.invoke("badreturn", b"{}")

    unreadable, unmarshallable = run(service_dir, scenario)
    assert unreadable.outcome == "function_error" and unreadable.error_type == "Runtime.UnmarshalError"
    assert unreadable.error_message.startswith("Unable to unmarshal input: ")
    assert unmarshallable.error_type == "Runtime.MarshalError"
    assert unmarshallable.error_message == "Unable to marshal response: Object of type set is not JSON serializable"


def test_reload_with_a_new_config_applies_it_to_new_environments(service_dir):
    async def scenario(service):
        before = body(await service.invoke("context", b"{}"))
        toml = service_dir / "golive.toml"
        toml.write_text(toml.read_text().replace("[functions.context]\nhandler = \"handlers.context_info\"\n"
                                                 "memory = 256", "[functions.context]\nhandler = "
                                                 "\"handlers.context_info\"\nmemory = 1024"))
        service.reload(load_config(service_dir))
        after = await service.invoke("context", b"{}")
        return before, after

    before, after = run(service_dir, scenario)
    assert before["memory_limit_in_mb"] == "256"
    assert body(after)["memory_limit_in_mb"] == "1024" and after.memory_mb == 1024 and after.cold_start


ORPHAN_SCRIPT = """
import asyncio, json, sys
from golive.service.config import load_config
from golive.local.lambda_service import LambdaService

async def main():
    service = LambdaService(load_config(sys.argv[1]))
    await service.start()
    idle = json.loads((await service.invoke("echo", b"{}")).payload)["pid"]
    busy = asyncio.ensure_future(service.invoke("sleep", b'{"seconds": 30}'))
    while not service.stats()["sleep"]["environments"]["busy"]:
        await asyncio.sleep(0.01)
    print(idle, service.stats()["sleep"]["pids"][0], flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_workers_die_with_a_killed_service_process(service_dir):
    import signal
    import subprocess
    import sys

    toml = service_dir / "golive.toml"
    toml.write_text(toml.read_text().replace('handler = "handlers.sleep"\ntimeout = 1', 'handler = "handlers.sleep"\n'
                                             'timeout = 60'))
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT, str(service_dir)], stdout=subprocess.PIPE)
    try:
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 3
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(alive(pid) for pid in pids), "an idle or busy worker outlived the service that started it"
