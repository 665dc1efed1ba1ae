"""Where a request's time goes in golive's local cloud: per-stage costs, CPU per request by process (golive vs
serverless-offline), and a cProfile of the gateway under load. A diagnosis tool beside run.py, never a test.

    .venv/bin/python bench/localcloud/profile_cloud.py [--seconds 8] [--calls 3000] [--top 30]

Stages are timed in this process on the trivial handler of service/ (golive.toml: GET /hello): the gateway pipeline
alone (its Lambda service replaced by one that answers at once), each of its parts, the Lambda service's invoke
(worker process + Runtime API), the worker's own work, and `Gateway.handle` with the real Lambda service; the HTTP
figure is wrk -c1 against `golive dev`. Differences between them attribute the time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import importlib.util
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import GOLIVE, HELLO, SLS, Launcher, clean_python_environment
from processes import HOST, Processes, cpu_ns, descendants, free_port
from run import verify, wrk

from golive.local import gateway as gw
from golive.local.apigw import routes as route_table
from golive.local.apigw.access_log import AccessLog
from golive.local.apigw.proxy import build_event, v1_response
from golive.local.lambda_service import Invocation, LambdaService
from golive.service.config import load_config

HERE = Path(__file__).resolve().parent
SERVICE = HERE / "service"
WRK_HEADERS = [("Host", "127.0.0.1:3000")]  # all wrk sends


def _loop() -> asyncio.AbstractEventLoop:
    return asyncio.new_event_loop()  # what golive dev runs on


def per_call_us(function: Any, calls: int, repeats: int = 7) -> float:
    """Median over `repeats` batches of the mean time of one call, in microseconds."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(samples)


async def per_call_async_us(function: Any, calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await function()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


class _InstantLambdas:
    """A Lambda service that answers every invocation at once with the handler's result, so the gateway's own
    pipeline can be timed without a worker."""

    result = json.dumps({"statusCode": 200, "headers": {"Content-Type": "application/json"},
                         "body": json.dumps({"ok": True})}).encode()

    def submit(self, function: str, payload: bytes, *, on_done: Any = None, **_: Any) -> asyncio.Future[Invocation]:
        """LambdaService.submit's shape: the invocation's future, here already answered (and on_done called)."""
        future = asyncio.get_running_loop().create_future()
        invocation = Invocation(request_id="00000000-0000-4000-8000-000000000000", outcome="ok", payload=self.result)
        future.set_result(invocation)
        if on_done is not None:
            on_done(invocation)
        return future


def _load_worker_module() -> Any:
    """golive's runtime client (a script, not a module of the package), loaded to time its per-invocation work."""
    import golive.local

    path = Path(golive.local.__file__).with_name("worker.py")
    spec = importlib.util.spec_from_file_location("golive_bench_worker", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stages(calls: int) -> dict[str, float]:
    """Microseconds per request for each stage, measured in this process."""
    config = load_config(SERVICE)
    table = route_table.load(config)
    route, params = table.match("GET", HELLO)
    figures: dict[str, float] = {}
    devnull = open(os.devnull, "w")  # noqa: SIM115  (closed below; the access log writes to it meanwhile)
    access = AccessLog(stream=devnull)

    def event() -> bytes:
        built = build_event("rest", "GET", HELLO, "", [], WRK_HEADERS, b"", route_path=route.path,
                            route_key=route.key, params=params, stage="prod", stage_variables={},
                            request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef", extended_id="abcdefghijklmno=",
                            source_ip="127.0.0.1", binary_types=[], api_id="0123456789")
        return json.dumps(built, separators=(",", ":")).encode()

    payload = event()
    figures["event: build_event + json.dumps"] = per_call_us(event, calls)
    result = _InstantLambdas.result
    figures["response: json.loads + v1_response"] = per_call_us(
        lambda: v1_response(json.loads(result), None, []), calls)
    record = {"requestId": "x", "status": 200, "path": HELLO, "routeKey": "GET /hello", "responseLatency": 1}
    figures["access log: one JSON line"] = per_call_us(lambda: access.emit(record), calls)

    worker = _load_worker_module()
    handler_module = importlib.util.spec_from_file_location("bench_hello_handler", SERVICE / "handler.py")
    assert handler_module is not None and handler_module.loader is not None
    hello = importlib.util.module_from_spec(handler_module)
    handler_module.loader.exec_module(hello)

    def worker_work() -> None:
        context = worker.LambdaContext("c6af9ac6-7b61-11e6-9a41-93e8deadbeef", int(time.time() * 1000) + 6000,
                                       "arn:aws:lambda:us-east-1:123456789012:function:x", None, None)
        worker.marshal(hello.hello(json.loads(payload), context))

    figures["worker: unmarshal + context + handler + marshal"] = per_call_us(worker_work, calls)

    loop = _loop()
    try:
        request = gw.GatewayRequest("GET", HELLO, WRK_HEADERS, b"", server_port=3000)
        instant = gw.Gateway(config, _InstantLambdas(), table, access_log=access)
        loop.run_until_complete(per_call_async_us(lambda: instant.handle(request), 200))  # warm-up
        figures["gateway pipeline, no Lambda (Gateway.handle)"] = statistics.median(
            loop.run_until_complete(per_call_async_us(lambda: instant.handle(request), calls)))

        lambdas = LambdaService(config, on_log=lambda record: devnull.write(record.line + "\n"))

        async def with_lambda() -> tuple[list[float], list[float], list[float]]:
            await lambdas.start()
            try:
                durations: list[float] = []

                async def invoke() -> None:
                    invocation = await lambdas.invoke("hello", payload)
                    assert invocation.ok, invocation
                    durations.append(invocation.duration_ms * 1000)

                await per_call_async_us(invoke, 300)  # cold start + warm-up
                durations.clear()
                invokes = await per_call_async_us(invoke, calls)
                real = gw.Gateway(config, lambdas, table, access_log=access)
                await per_call_async_us(lambda: real.handle(request), 200)
                handles = await per_call_async_us(lambda: real.handle(request), calls)
                return invokes, durations, handles
            finally:
                await lambdas.stop()

        invokes, durations, handles = loop.run_until_complete(with_lambda())
        figures["Lambda service: invoke() round trip"] = statistics.median(invokes)
        figures["Lambda service: REPORT Duration (delivery → response)"] = statistics.median(durations)
        figures["Gateway.handle with the real Lambda service"] = statistics.median(handles)
    finally:
        loop.close()
        devnull.close()
    return figures


def _label(pid: int, root: int) -> str:
    if pid == root:
        return "server process"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
    if "worker.py" in command:
        return "Lambda workers (python)"
    if "invoke.py" in command:
        return "handler processes (python invoke.py)"
    if command.startswith(("/bin/sh", "sh ")):
        return "shell wrappers (sh -c)"
    return command.split(" ")[0].rsplit("/", 1)[-1]


def cpu_per_request(seconds: float, rounds: int) -> dict[str, dict[str, float]]:
    """CPU microseconds per request by process at 8 connections, for golive dev and serverless-offline: both
    started once, then `rounds` alternated wrk runs each; the median per process kind."""
    scratch = Path(tempfile.mkdtemp(prefix="golive-bench-profile-"))
    (scratch / "logs").mkdir()
    samples: dict[str, dict[str, list[float]]] = {GOLIVE: {}, SLS: {}}
    try:
        with Processes(scratch / "logs") as processes:
            launcher = Launcher(processes, scratch, "dev")
            peers = {name: launcher.start(name) for name in (GOLIVE, SLS)}
            for peer in peers.values():
                peer.wait_listening(120)
                verify(peer)
            for _ in range(rounds):
                for name, peer in peers.items():
                    wrk(peer, 8, 2, 2)  # warm: every environment started
                    pids = [peer.process.pid] + [pid for pid, _ in descendants(peer.process.pid)]
                    before = cpu_ns(pids)
                    figures = wrk(peer, 8, 2, seconds)
                    after = cpu_ns(pids)
                    by_label: dict[str, float] = {}
                    for pid in pids:
                        if pid in before and pid in after:
                            label = _label(pid, peer.process.pid)
                            spent = (after[pid] - before[pid]) / 1000 / figures["requests"]
                            by_label[label] = by_label.get(label, 0.0) + spent
                    by_label["total"] = sum(by_label.values())
                    by_label["req/s"] = figures["rps"]
                    for label, value in by_label.items():
                        samples[name].setdefault(label, []).append(value)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {name: {label: statistics.median(values) for label, values in labels.items()}
            for name, labels in samples.items()}


def profile_gateway(seconds: float, top: int) -> str:
    """cProfile of the gateway's event loop thread (this process) while wrk -c1 drives GET /hello."""
    config = load_config(SERVICE)
    from golive.local import cloud

    port = free_port()
    profiler = cProfile.Profile()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        holder["loop"] = asyncio.get_running_loop()
        holder["stop"] = stop = asyncio.Event()
        await cloud.serve(config, HOST, port, ready=lambda url: ready.set(), stop=stop, watch=True)

    def serve() -> None:
        loop = _loop()
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    sink = open(os.devnull, "w")  # noqa: SIM115  (the access log and function logs go here, as to a file)
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            if not ready.wait(60):
                raise RuntimeError("the local cloud did not start in 60 s")
            url = f"http://{HOST}:{port}{HELLO}"
            subprocess.run(["wrk", "-t1", "-c1", "-d2s", url], capture_output=True, timeout=60)  # warm-up
            loop = holder["loop"]
            loop.call_soon_threadsafe(profiler.enable)
            result = subprocess.run(["wrk", "-t1", "-c1", f"-d{round(seconds)}s", "--latency", url],
                                    capture_output=True, text=True, timeout=seconds + 60)
            loop.call_soon_threadsafe(profiler.disable)
            time.sleep(0.1)
        finally:
            if "loop" in holder:
                holder["loop"].call_soon_threadsafe(holder["stop"].set)
            thread.join(15)
            sink.close()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    requests = next((line for line in result.stdout.splitlines() if "requests in" in line), "").strip()
    return f"wrk -c1 under cProfile (slower than without): {requests}\n" + out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of each wrk run (default 8)")
    parser.add_argument("--calls", type=int, default=3000, help="calls per in-process stage timing (default 3000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternated CPU measurements per peer (default 3)")
    parser.add_argument("--top", type=int, default=30, help="functions shown from the profile (default 30)")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: stages,cpu,profile")
    args = parser.parse_args(argv)
    clean_python_environment()
    skip = set(filter(None, args.skip.split(",")))
    if "stages" not in skip:
        print("== Stages: microseconds per request (median), measured in this process ==")
        for name, value in stages(args.calls).items():
            print(f"  {value:8.1f} µs  {name}")
    if "cpu" not in skip:
        print(f"\n== CPU time per request by process, wrk -c8 -t2 for {args.seconds:g} s, median of {args.rounds} ==")
        for name, by_label in cpu_per_request(args.seconds, args.rounds).items():
            rps = by_label.pop("req/s")
            print(f"  {name}: {rps:,.0f} req/s")
            for label, value in sorted(by_label.items(), key=lambda item: -item[1]):
                print(f"    {value:8.1f} µs  {label}")
    if "profile" not in skip:
        print(f"\n== cProfile of the gateway process, wrk -c1 for {args.seconds:g} s ==")
        print(profile_gateway(args.seconds, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
