"""What-if runs for the local cloud's hot path: how p50 @1 and req/s @8 move when one cost is removed, measured in
one run against the unchanged cloud. Every variant patches golive only inside this process (src/ is untouched);
they size the suggestions in docs/benchmarks.md, they are not how golive should be changed. CPU per request (this
process, which runs the gateway, plus its Lambda workers; wrk excluded) is the steadiest figure on a busy machine.

    .venv/bin/python bench/localcloud/what_if.py [--seconds 6] [--trials 2]

Variants (cumulative): baseline; + pipelined worker (GET /next sent with the response, pipelined_worker.py);
+ the Runtime API holds its 202 for a pipelined /next and sends it with the next event (one write and one wake-up
per invocation); + the Runtime API on a Unix socket instead of loopback TCP; + peak memory read at most every
100 ms instead of from /proc on every response; + no log output (access log and START/END/REPORT lines not
written: the most that batching or cheapening them could save). Also: the cost of one request/response round trip
between two processes over loopback TCP versus a Unix socket.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import clean_python_environment
from processes import HOST, command_lines, cpu_ns, descendants, free_port

import golive.local
from golive.local import lambda_service, runtime_api
from golive.local.config import load_config

HERE = Path(__file__).resolve().parent
SERVICE = HERE / "service"
REPORT_LUA = HERE / "report.lua"
GOLIVE_WORKER = str(Path(golive.local.__file__).with_name("worker.py"))


@contextlib.contextmanager
def pipelined_worker() -> Iterator[None]:
    saved = lambda_service.WORKER_SCRIPT
    lambda_service.WORKER_SCRIPT = str(HERE / "pipelined_worker.py")
    os.environ["GOLIVE_BENCH_WORKER"] = GOLIVE_WORKER
    try:
        yield
    finally:
        lambda_service.WORKER_SCRIPT = saved


@contextlib.contextmanager
def cached_peak_memory() -> Iterator[None]:
    environment = lambda_service._Environment
    saved = environment._peak_mb

    def peak(self: Any) -> int:
        now = time.monotonic()
        if now - getattr(self, "_bench_peak_at", 0.0) > 0.1:
            self._bench_peak_at = now
            return saved(self)
        return self.peak_mb

    environment._peak_mb = peak
    try:
        yield
    finally:
        environment._peak_mb = saved


@contextlib.contextmanager
def coalesced_accept() -> Iterator[None]:
    """A 202 answering a response whose GET /next is already buffered waits and leaves with the next write."""
    connection = runtime_api._Connection
    saved = connection.send
    accepted = runtime_api._response(202, runtime_api._BODIES[202])
    next_request = b"GET " + runtime_api.NEXT_PATH.encode()

    def send(self: Any, payload: bytes) -> None:
        held = getattr(self, "_bench_held", b"")
        if payload == accepted and self.buffer.startswith(next_request):
            self._bench_held = held + payload
            return
        self._bench_held = b""
        saved(self, held + payload)

    connection.send = send
    try:
        yield
    finally:
        connection.send = saved


@contextlib.contextmanager
def unix_socket() -> Iterator[None]:
    """Each environment's Runtime API listens on a Unix socket (AWS_LAMBDA_RUNTIME_API=unix:/path)."""
    import shutil
    import tempfile

    api = runtime_api.RuntimeAPI
    saved = api.start
    folder = tempfile.mkdtemp(prefix="golive-bench-rapi-")
    count = iter(range(1_000_000))

    async def start(self: Any) -> str:
        path = os.path.join(folder, f"{next(count)}.sock")
        self.server = await asyncio.get_running_loop().create_unix_server(lambda: runtime_api._Connection(self), path)
        self.address = "unix:" + path
        return self.address

    api.start = start
    try:
        yield
    finally:
        api.start = saved
        shutil.rmtree(folder, ignore_errors=True)


VARIANTS: list[tuple[str, list[Callable[[], contextlib.AbstractContextManager[None]]], dict[str, Any]]] = [
    ("baseline (golive dev as it is)", [], {}),
    ("+ pipelined worker", [pipelined_worker], {}),
    ("+ 202 sent with the next event", [pipelined_worker, coalesced_accept], {}),
    ("+ Unix socket", [pipelined_worker, coalesced_accept, unix_socket], {}),
    ("+ peak memory cached", [pipelined_worker, coalesced_accept, unix_socket, cached_peak_memory], {}),
    ("+ no log output", [pipelined_worker, coalesced_accept, unix_socket, cached_peak_memory],
     {"print_access_log": False, "on_function_log": None}),
]


def _uvloop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _wrk(url: str, connections: int, threads: int, seconds: float) -> dict[str, float]:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(REPORT_LUA), url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    figures = {key: float(value) for key, value in (item.split("=") for item in line.split()[1:])}
    if figures["status_errors"] or figures["read_errors"] or figures["connect_errors"]:
        raise RuntimeError(f"failed requests: {line}")
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


def _cloud_pids() -> list[int]:
    """This process (the gateway) and its Lambda workers, not wrk."""
    below = [(pid, started) for pid, started in descendants(os.getpid())]
    workers = [pid for (pid, started), line in zip(below, command_lines(below), strict=False) if "worker.py" in line]
    return [os.getpid(), *workers]


def measure(options: dict[str, Any], seconds: float) -> tuple[float, float, float]:
    """Serve the bench service in this process (as golive dev does) and drive it with wrk: (p50 µs @1, req/s @8,
    CPU µs per request @8 of the gateway and its workers together)."""
    from golive.local import cloud

    config = load_config(SERVICE)
    port = free_port()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        holder["loop"] = asyncio.get_running_loop()
        holder["stop"] = stop = asyncio.Event()
        await cloud.serve(config, HOST, port, ready=lambda url: ready.set(), stop=stop, **options)

    def serve() -> None:
        loop = _uvloop()
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        thread.start()
        try:
            if not ready.wait(60):
                raise RuntimeError("the local cloud did not start in 60 s")
            url = f"http://{HOST}:{port}/hello"
            _wrk(url, 1, 1, 2)
            one = _wrk(url, 1, 1, seconds)
            _wrk(url, 8, 2, 2)
            pids = _cloud_pids()
            before = cpu_ns(pids)
            eight = _wrk(url, 8, 2, seconds)
            after = cpu_ns(pids)
        finally:
            if "loop" in holder:
                holder["loop"].call_soon_threadsafe(holder["stop"].set)
            thread.join(15)
    cpu = sum(after[pid] - before[pid] for pid in pids if pid in before and pid in after) / 1000
    return one["p50_us"], eight["rps"], cpu / eight["requests"]


def _echo_server(family: int, address: Any, ready: Any) -> None:
    """Child process: answer every 64-byte message with 64 bytes until the peer closes."""
    with socket.socket(family, socket.SOCK_STREAM) as server:
        server.bind(address)
        server.listen(1)
        ready.set()
        connection, _ = server.accept()
        with connection:
            if family == socket.AF_INET:
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while data := connection.recv(65536):
                connection.sendall(data)


def round_trip_us(family: int, rounds: int = 20000) -> float:
    """Median µs of one 64-byte request/response between two processes."""
    import multiprocessing
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="golive-bench-uds-")
    address: Any = (HOST, free_port()) if family == socket.AF_INET else os.path.join(folder, "s")
    ready = multiprocessing.Event()
    child = multiprocessing.Process(target=_echo_server, args=(family, address, ready), daemon=True)
    child.start()
    try:
        ready.wait(10)
        with socket.socket(family, socket.SOCK_STREAM) as client:
            client.connect(address)
            if family == socket.AF_INET:
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            message = b"x" * 64
            samples = []
            for _ in range(5):
                started = time.perf_counter()
                for _ in range(rounds // 5):
                    client.sendall(message)
                    client.recv(65536)
                samples.append((time.perf_counter() - started) / (rounds // 5) * 1e6)
        return statistics.median(samples)
    finally:
        child.join(5)
        if child.is_alive():
            child.kill()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds of each timed wrk run (default 6)")
    parser.add_argument("--trials", type=int, default=2, help="interleaved trials per variant (default 2)")
    args = parser.parse_args(argv)
    clean_python_environment()
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _, _ in VARIANTS}
    for _ in range(args.trials):
        for name, patches, options in VARIANTS:
            with contextlib.ExitStack() as stack:
                for patch in patches:
                    stack.enter_context(patch())
                results[name].append(measure(options, args.seconds))
    print(f"{'variant':<34} {'p50 µs @1':>10} {'req/s @8':>10} {'CPU µs/request @8':>18}")
    for name, samples in results.items():
        p50 = statistics.median(s[0] for s in samples)
        rps = statistics.median(s[1] for s in samples)
        cpu = statistics.median(s[2] for s in samples)
        print(f"{name:<34} {p50:10.0f} {rps:10,.0f} {cpu:18.0f}")
    tcp, uds = round_trip_us(socket.AF_INET), round_trip_us(socket.AF_UNIX)
    print(f"\none 64-byte round trip between two processes: loopback TCP {tcp:.1f} µs, Unix socket {uds:.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
