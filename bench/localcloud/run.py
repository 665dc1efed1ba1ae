"""Local-cloud benchmark: golive's local cloud vs serverless-offline vs a bare uvicorn ASGI app, in one run.

The same trivial Python handler (GET /hello -> {"ok": true} as an API Gateway proxy response) behind golive's gateway
+ Lambda worker processes and behind serverless-offline; the bare ASGI app under uvicorn is the ceiling. Measured:
p50/p99 at 1 connection and req/s at 8 connections with wrk (median of --trials interleaved trials, each after a
warm-up), and the first request after a fresh start (a cold environment), also for the Users function of
examples/users. Every peer is checked (200 and the JSON body) before anything is timed; all traffic stays on
127.0.0.1; every process started is stopped at the end. See README.md beside this file.

    bash bench/localcloud/setup.sh && .venv/bin/python bench/localcloud/run.py [--duration 10] [--trials 3] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import (
    EXPECTED,
    GOLIVE,
    HELLO,
    HERE,
    PEERS,
    SERVERLESS,
    SLS,
    UVICORN,
    Launcher,
    golive_dev_runs_cloud,
    versions,
)
from processes import HOST, Peer, PeerFailed, Processes

REPORT_LUA = HERE / "report.lua"
USERS_PATH = "/health"  # the Users service's public route: no token needed, and it opens the store
TARGET_RPS_RATIO = 1.5  # golive req/s @8 >= 1.5x serverless-offline
TARGET_P50_RATIO = 0.7  # golive p50 @1 <= 0.7x serverless-offline
TARGET_USERS_COLD_MS = 300.0  # first request to a cold Users environment
_BENCH_LINE = re.compile(r"^BENCH (.*)$", re.M)
_INIT = re.compile(r"Init Duration: ([0-9.]+) ms")
X = "\N{MULTIPLICATION SIGN}"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- one request, checked ----------------------------------------------------------------------------------------
def timed_get(port: int, path: str) -> tuple[int, str, bytes, float]:
    """GET path on an open connection; (status, content type, body, ms from sending the request to the last byte)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        connection.connect()
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        return response.status, response.getheader("content-type") or "", body, elapsed
    finally:
        connection.close()


def check_answer(peer: Peer, path: str, status: int, content_type: str, body: bytes,
                 expected: dict[str, Any] | None) -> None:
    """200, a JSON content type and (for /hello) exactly {"ok": true}; PeerFailed otherwise."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    wrong = []
    if status != 200:
        wrong.append(f"status {status}")
    if not content_type.startswith("application/json"):
        wrong.append(f"content type {content_type!r}")
    if expected is not None and document != expected:
        wrong.append(f"body {body[:200]!r}")
    if expected is None and not isinstance(document, dict):
        wrong.append(f"body {body[:200]!r} is not a JSON object")
    if wrong:
        raise PeerFailed(f"{peer.name} answered GET {path} wrongly ({', '.join(wrong)}); expected 200 "
                         f"{json.dumps(expected) if expected else 'a JSON object'}:\n{peer.log_tail()}")


def verify(peer: Peer, path: str = HELLO, expected: dict[str, Any] | None = EXPECTED) -> None:
    for _ in range(3):  # the first answer may come from a cold environment: check warm ones too
        check_answer(peer, path, *timed_get(peer.port, path)[:3], expected)


# -- load with wrk ------------------------------------------------------------------------------------------------
def wrk(peer: Peer, connections: int, threads: int, seconds: float) -> dict[str, float]:
    """One wrk run against GET /hello; every request must have answered 2xx without socket errors."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
            "-s", str(REPORT_LUA), peer.url + HELLO]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    match = _BENCH_LINE.search(result.stdout)
    if result.returncode != 0 or match is None:
        raise PeerFailed(f"wrk against {peer.name} failed (exit {result.returncode}): "
                         f"{(result.stderr or result.stdout).strip()[:500]}")
    figures = {key: float(value) for key, value in (item.split("=") for item in match.group(1).split())}
    errors = sum(figures[key] for key in ("connect_errors", "read_errors", "write_errors", "status_errors",
                                          "timeouts"))
    if errors:
        raise PeerFailed(f"{peer.name}: {int(errors)} failed requests under wrk -c{connections} "
                         f"({match.group(1)}):\n{peer.log_tail()}")
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


def load_trials(launcher: Launcher, order: list[str], trials: int, seconds: float, warmup: float,
                results: dict[str, Any]) -> None:
    """Start every peer once, check it, then interleave trials: each peer's 1-connection run and 8-connection
    run, each after a warm-up at the same concurrency."""
    peers = {}
    for name in order:
        peer = launcher.start(name)
        peer.wait_listening(120)
        verify(peer)
        peers[name] = peer
        say(f"  {name}: answering on {peer.url}{HELLO}")
    samples: dict[str, dict[str, list[float]]] = {name: {"p50_us": [], "p99_us": [], "rps": []} for name in order}
    for trial in range(1, trials + 1):
        for name in order:
            peer = peers[name]
            wrk(peer, 1, 1, warmup)
            one = wrk(peer, 1, 1, seconds)
            wrk(peer, 8, 2, warmup)
            eight = wrk(peer, 8, 2, seconds)
            samples[name]["p50_us"].append(one["p50_us"])
            samples[name]["p99_us"].append(one["p99_us"])
            samples[name]["rps"].append(eight["rps"])
            say(f"  trial {trial}/{trials} {name:<18} p50 {one['p50_us'] / 1000:6.3f} ms  "
                f"p99 {one['p99_us'] / 1000:6.3f} ms  {eight['rps']:8.0f} req/s @8")
    for name in order:
        verify(peers[name])  # still right after the load
        launcher.processes.stop(peers[name])
        results["peers"][name].update(
            p50_ms=statistics.median(samples[name]["p50_us"]) / 1000,
            p99_ms=statistics.median(samples[name]["p99_us"]) / 1000,
            rps=statistics.median(samples[name]["rps"]),
            samples=samples[name])


# -- cold starts -------------------------------------------------------------------------------------------------
def cold_once(launcher: Launcher, name: str, users: bool) -> dict[str, float]:
    """Fresh start, wait until the port listens, then time the first request (a cold environment)."""
    peer = launcher.start(name, users=users)
    try:
        listening = peer.wait_listening(120)
        path, expected = (USERS_PATH, None) if users else (HELLO, EXPECTED)
        status, content_type, body, first = timed_get(peer.port, path)
        check_answer(peer, path, status, content_type, body, expected)
        second = timed_get(peer.port, path)[3]
        figures = {"listening_ms": listening * 1000, "first_ms": first, "second_ms": second}
        if name == GOLIVE:
            time.sleep(0.05)  # the REPORT line is written right after the response
            found = _INIT.search(peer.stderr.read_text(errors="replace"))
            if found:
                figures["init_ms"] = float(found.group(1))
        return figures
    finally:
        launcher.processes.stop(peer)


def cold_starts(launcher: Launcher, order: list[str], runs: int, results: dict[str, Any]) -> None:
    """Interleaved fresh starts of each case; the first (untimed) one primes bytecode and serverless' caches."""
    cases = [(name, False) for name in order]
    if GOLIVE in order:
        cases.insert(order.index(GOLIVE) + 1, (GOLIVE, True))
    samples: dict[str, list[dict[str, float]]] = {}
    for run in range(runs + 1):
        for name, users in cases:
            key = "golive users" if users else name
            figures = cold_once(launcher, name, users)
            if run == 0:
                continue
            samples.setdefault(key, []).append(figures)
            say(f"  cold {run}/{runs} {key:<18} first request {figures['first_ms']:7.1f} ms "
                f"(listening after {figures['listening_ms']:6.0f} ms"
                + (f", init {figures['init_ms']:.1f} ms" if "init_ms" in figures else "") + ")")
    for key, runs_of in samples.items():
        entry = results["peers"].setdefault(key, {})
        for field in ("first_ms", "second_ms", "listening_ms", "init_ms"):
            values = [run[field] for run in runs_of if field in run]
            if values:
                entry[f"cold_{field}"] = statistics.median(values)
        entry["cold_samples"] = runs_of


# -- the report --------------------------------------------------------------------------------------------------
def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _ratio(value: float | None, reference: float | None) -> str:
    return "—" if value is None or not reference else f"{value / reference:.2f}{X}"


def table(results: dict[str, Any]) -> str:
    peers = results["peers"]
    ref = peers.get(SLS, {})
    lines = ["| peer | p50 ms @1 | p99 ms @1 | req/s @8 | cold first request ms | start → listening ms | "
             f"p50 {X}sls | req/s {X}sls | cold {X}sls |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    labels = {GOLIVE: f"golive local cloud ({results['golive_entry']})", "golive users":
              "golive, Users function (examples/users)", SLS: "serverless-offline", UVICORN: "uvicorn (bare ASGI)"}
    for key in (GOLIVE, "golive users", SLS, UVICORN):
        if key not in peers:
            continue
        row = peers[key]
        lines.append(f"| {labels[key]} | {_fmt(row.get('p50_ms'))} | {_fmt(row.get('p99_ms'))} | "
                     f"{_fmt(row.get('rps'), 0)} | {_fmt(row.get('cold_first_ms'), 1)} | "
                     f"{_fmt(row.get('cold_listening_ms'), 0)} | {_ratio(row.get('p50_ms'), ref.get('p50_ms'))} | "
                     f"{_ratio(row.get('rps'), ref.get('rps'))} | "
                     f"{_ratio(row.get('cold_first_ms'), ref.get('cold_first_ms'))} |")
    return "\n".join(lines)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    peers = results["peers"]
    golive, sls, users = peers.get(GOLIVE, {}), peers.get(SLS, {}), peers.get("golive users", {})
    checks = []
    if golive.get("rps") and sls.get("rps"):
        ratio = golive["rps"] / sls["rps"]
        checks.append({"target": f"req/s @8 ≥ {TARGET_RPS_RATIO}{X} serverless-offline", "measured": f"{ratio:.2f}{X}",
                       "pass": ratio >= TARGET_RPS_RATIO})
    if golive.get("p50_ms") and sls.get("p50_ms"):
        ratio = golive["p50_ms"] / sls["p50_ms"]
        checks.append({"target": f"p50 @1 ≤ {TARGET_P50_RATIO}{X} serverless-offline", "measured": f"{ratio:.2f}{X}",
                       "pass": ratio <= TARGET_P50_RATIO})
    if users.get("cold_first_ms") is not None:
        value = users["cold_first_ms"]
        checks.append({"target": f"cold environment, Users function ≤ {TARGET_USERS_COLD_MS:.0f} ms",
                       "measured": f"{value:.0f} ms", "pass": value <= TARGET_USERS_COLD_MS})
    return checks


def render(results: dict[str, Any]) -> str:
    lines = [table(results), "", "| target | measured | |", "|---|---|---|"]
    for check in results["targets"]:
        lines.append(f"| {check['target']} | {check['measured']} | {'PASS' if check['pass'] else 'FAIL'} |")
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------------------------------
def preflight(order: list[str]) -> None:
    missing = []
    if shutil.which("wrk") is None:
        missing.append("wrk")
    if SLS in order and not SERVERLESS.exists():
        missing.append("serverless-offline (bench/localcloud/node_modules)")
    if SLS in order and shutil.which("node") is None:
        missing.append("node")
    if missing:
        raise SystemExit(f"run.py: {', '.join(missing)} not installed; run `bash bench/localcloud/setup.sh` first")


def _on_terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # unwinds through the finally blocks that stop every process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each timed wrk run (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of untimed wrk before each timed run")
    parser.add_argument("--trials", type=int, default=3, help="interleaved load trials per peer (default 3)")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh starts per cold-start case (default 5)")
    parser.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated subset of {','.join(PEERS)}")
    parser.add_argument("--golive", choices=("auto", "dev", "cloud"), default="auto",
                        help="start golive as `golive dev` or `python -m golive.local.cloud`; auto: `golive dev` "
                             "when it runs the local cloud (Lambda worker processes), else the cloud's entry point")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH",
                        help="write every figure as JSON to PATH (no PATH: to stdout, instead of the table)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the peers' logs (their path is printed)")
    args = parser.parse_args(argv)
    order = [name.strip() for name in args.peers.split(",") if name.strip()]
    unknown = set(order) - set(PEERS)
    if unknown or not order:
        parser.error(f"--peers takes names from {', '.join(PEERS)}")
    preflight(order)
    signal.signal(signal.SIGTERM, _on_terminate)
    signal.signal(signal.SIGHUP, _on_terminate)
    scratch = Path(tempfile.mkdtemp(prefix="golive-bench-localcloud-"))
    logs = scratch / "logs"
    logs.mkdir()
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "load_average": list(os.getloadavg()),
        "versions": versions(), "duration_s": args.duration, "trials": args.trials, "cold_runs": args.cold_runs,
        "peers": {name: {} for name in order},
    }
    failed = False
    try:
        with Processes(logs) as processes:
            mode = args.golive
            if GOLIVE in order and mode == "auto":
                mode = "dev" if golive_dev_runs_cloud(processes, scratch) else "cloud"
            results["golive_entry"] = "golive dev" if mode == "dev" else "python -m golive.local.cloud"
            say(f"golive runs as: {results['golive_entry']}")
            launcher = Launcher(processes, scratch, mode)
            say(f"load: {args.trials} interleaved trials of {args.duration:g} s (wrk -c1 -t1 and -c8 -t2), "
                f"each after {args.warmup:g} s of warm-up")
            load_trials(launcher, order, args.trials, args.duration, args.warmup, results)
            say(f"cold starts: {args.cold_runs} fresh starts per case (after one untimed start)")
            cold_starts(launcher, order, args.cold_runs, results)
    except PeerFailed as exc:
        say(f"run.py: {exc}")
        failed = True
    except KeyboardInterrupt:
        say("run.py: interrupted; every process started was stopped")
        return 130
    finally:
        if args.keep_logs or failed:
            say(f"logs kept in {logs}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    if failed:
        return 1
    results["load_average_after"] = list(os.getloadavg())
    results["targets"] = targets(results)
    if args.json == "-":
        print(json.dumps(results, indent=2))
        return 0
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    versions_line = ", ".join(f"{k} {v}" for k, v in results["versions"].items())
    print(f"\nLocal cloud benchmark, {results['date']}, {results['cpus']} CPUs, load average "
          f"{results['load_average'][0]:.1f} → {results['load_average_after'][0]:.1f}; {versions_line}\n")
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
