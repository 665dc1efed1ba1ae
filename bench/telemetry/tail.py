"""How soon `golive logs --tail` prints a local request after its response reached the client (target ≤ 100 ms).

    .venv/bin/python bench/telemetry/tail.py [--requests 50] [--gap 0.2] [--json]

Starts `golive dev` on the local-cloud benchmark's trivial handler (GET /hello of bench/localcloud/service, a
scratch copy) and `golive logs --tail --format json` beside it, then sends requests one at a time: the delay is the
time from the moment the client has read the whole response to the moment the tail process wrote the request's
line, both read on this process's monotonic clock (the tail's stdout is read by a thread here, so the figure
includes the pipe)."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "localcloud"))

from peers import SERVICE, base_environment, golive_command
from processes import Processes, free_port

ROOT = Path(__file__).resolve().parents[2]
TARGET_MS = 100.0


def read_tail(process: subprocess.Popen[bytes], seen: dict[str, float]) -> None:
    """Note when each request's JSON line arrives from the tail process."""
    assert process.stdout is not None
    for raw in process.stdout:
        arrived = time.monotonic()
        try:
            request_id = json.loads(raw).get("request_id")
        except ValueError:
            continue
        if request_id:
            seen.setdefault(request_id, arrived)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between requests (a quiet server)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="golive-bench-tail-"))
    load_before = os.getloadavg()[0]
    delays_ms: list[float] = []
    missing = 0
    try:
        with Processes(scratch) as processes:
            env = base_environment(scratch)
            service = scratch / "service"
            shutil.copytree(SERVICE, service, ignore=shutil.ignore_patterns(".golive", "__pycache__"))
            port = free_port()
            peer = processes.start("golive dev", golive_command("dev", service, port), cwd=ROOT, env=env, port=port)
            peer.wait_listening(120)
            golive = [sys.executable, "-m", "golive.cli"]
            tail = subprocess.Popen([*golive, "logs", str(service), "--tail", "--format", "json"], cwd=ROOT,
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            seen: dict[str, float] = {}
            reader = threading.Thread(target=read_tail, args=(tail, seen), daemon=True)
            reader.start()
            time.sleep(2.0)  # the tail process is up and polling
            answered: dict[str, float] = {}
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for _ in range(args.requests):
                connection.request("GET", "/hello")
                response = connection.getresponse()
                response.read()
                answered[response.getheader("x-amzn-RequestId") or ""] = time.monotonic()
                time.sleep(args.gap)
            time.sleep(1.0)
            tail.terminate()
            tail.wait(10)
            processes.stop(peer)
            for request_id, at in answered.items():
                if request_id in seen:
                    delays_ms.append((seen[request_id] - at) * 1000)
                else:
                    missing += 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not delays_ms:
        print("the tail printed none of the requests", file=sys.stderr)
        return 1
    delays_ms.sort()
    results = {"date": time.strftime("%Y-%m-%d"), "requests": args.requests, "shown": len(delays_ms),
               "missing": missing, "median_ms": statistics.median(delays_ms),
               "p95_ms": delays_ms[min(len(delays_ms) - 1, int(0.95 * len(delays_ms)))],
               "max_ms": delays_ms[-1], "load_before": load_before, "load_after": os.getloadavg()[0]}
    results["pass"] = results["median_ms"] <= TARGET_MS and missing == 0
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"golive logs --tail, {results['date']}: {len(delays_ms)} of {args.requests} requests shown, load average "
          f"{load_before:.1f} -> {results['load_after']:.1f}")
    print(f"  response -> tail line: median {results['median_ms']:.1f} ms, p95 {results['p95_ms']:.1f} ms, "
          f"max {results['max_ms']:.1f} ms; {'PASS' if results['pass'] else 'FAIL'} (median ≤ {TARGET_MS:g} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
