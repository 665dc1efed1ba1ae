"""A/B for the local cloud's hot path: `golive dev` from another commit (A) against the working tree (B), side by
side in one run. CPU per request of the gateway process and of its Lambda workers (from /proc schedstat, wrk
excluded) is the steadiest figure on a busy machine; req/s at 8 connections and p50 at 1 connection are shown too.
A diagnosis tool for changes to src/golive/local/, never a test.

    .venv/bin/python bench/localcloud/ab.py COMMIT [--rounds 4] [--seconds 3]

A is checked out with `git worktree` into a temporary folder and run with PYTHONPATH pointing at its src/; both run
service/ (the trivial handler) with the same interpreter and packages. Rounds alternate A and B.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import HELLO, base_environment, clean_python_environment
from processes import HOST, Processes, cpu_ns, descendants, free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SERVICE = HERE / "service"


def wrk(port: int, connections: int, seconds: float) -> tuple[int, float, float]:
    """(requests, req/s, p50 in us) of one wrk run."""
    out = subprocess.run(["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
                          f"http://{HOST}:{port}{HELLO}"], capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r" 50%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return requests, rps, float(value) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]


def measure(pid: int, port: int, connections: int, seconds: float) -> tuple[float, float, float, float]:
    """(gateway us/request, workers us/request, req/s, p50 us) for one wrk run against the cloud in `pid`."""
    workers = [child for child, _ in descendants(pid)]
    before = cpu_ns([pid, *workers])
    requests, rps, p50 = wrk(port, connections, seconds)
    workers = sorted({*workers, *(child for child, _ in descendants(pid))})
    after = cpu_ns([pid, *workers])
    gateway = (after.get(pid, 0) - before.get(pid, 0)) / requests / 1000
    lambdas = sum(after.get(w, 0) - before.get(w, 0) for w in workers) / requests / 1000
    return gateway, lambdas, rps, p50


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commit", help="the commit to compare the working tree with (A)")
    parser.add_argument("--rounds", type=int, default=4, help="alternated measurements per case (default 4)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds of each wrk run (default 3)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("ab.py: wrk is missing; run bash bench/localcloud/setup.sh first", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="golive-ab-"))
    tree = folder / "a"
    added = subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), args.commit],
                           capture_output=True, text=True)
    if added.returncode != 0:
        print(f"ab.py: cannot check out {args.commit}: {added.stderr.strip()}", file=sys.stderr)
        return 2
    try:
        clean_python_environment()
        (folder / "logs").mkdir()
        with Processes(folder / "logs") as processes:
            peers = {}
            for label, source in (("A", tree / "src"), ("B", REPO / "src")):
                port = free_port()
                env = {**base_environment(folder), "PYTHONPATH": str(source)}
                peers[label] = processes.start(label, [sys.executable, "-m", "golive", "dev", str(SERVICE),
                                                       "--port", str(port)], cwd=SERVICE, env=env, port=port)
            for peer in peers.values():
                peer.wait_listening(60)
                wrk(peer.port, 8, 2)  # warm: environments started, code paths hot
            results: dict[tuple[str, int], list[tuple[float, float, float, float]]] = {}
            for connections in (8, 1):
                for _ in range(args.rounds):
                    for label, peer in peers.items():
                        results.setdefault((label, connections), []).append(
                            measure(peer.process.pid, peer.port, connections, args.seconds))
                        time.sleep(0.2)
        print(f"A = {args.commit}, B = working tree; medians of {args.rounds} alternated {args.seconds:g} s runs "
              f"(load average {os.getloadavg()[0]:.2f})")
        print("| case | gateway µs/request | workers µs/request | total | req/s | p50 µs |")
        print("|---|---:|---:|---:|---:|---:|")
        for (label, connections), rows in results.items():
            gateway, lambdas, rps, p50 = (statistics.median(row[i] for row in rows) for i in range(4))
            print(f"| {label} @{connections} | {gateway:.1f} | {lambdas:.1f} | {gateway + lambdas:.1f} | {rps:,.0f} "
                  f"| {p50:.0f} |")
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
