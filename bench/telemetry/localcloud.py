"""golive dev with telemetry on vs off, side by side in one run: p50 at 1 connection and req/s at 8 connections
against the local-cloud benchmark's trivial handler (bench/localcloud/service), trials interleaved.

    .venv/bin/python bench/telemetry/localcloud.py [--duration 5] [--trials 3] [--untraced] [--trace-all] [--json]

Needs wrk (bench/localcloud/setup.sh installs it). Each server gets its own copy of the service, so the
telemetry store lands in a scratch folder."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "localcloud"))

from peers import SERVICE, base_environment, golive_command
from processes import Processes, free_port
from run import verify, wrk

ROOT = Path(__file__).resolve().parents[2]
TARGET = 0.05  # telemetry on: p50 and req/s within 5 % of off
EXTRAS = ("on, untraced", "on, trace-all")  # the optional servers, shown beside the two the target compares


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--untraced", action="store_true",
                        help="also a server with telemetry on and --no-tracing: the collector's share without spans")
    parser.add_argument("--trace-all", action="store_true",
                        help="also a server with telemetry on and --trace-all: every request traced, no sampling")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: run bash bench/localcloud/setup.sh", file=sys.stderr)
        return 1
    scratch = Path(tempfile.mkdtemp(prefix="golive-bench-telemetry-"))
    results: dict = {"date": time.strftime("%Y-%m-%d"), "duration_s": args.duration, "trials": args.trials,
                     "load_before": os.getloadavg()[0]}
    try:
        with Processes(scratch) as processes:
            env = base_environment(scratch)
            (scratch / "state").mkdir(exist_ok=True)
            peers = {}
            variants = [("telemetry off", ["--no-telemetry"]), ("telemetry on", [])]
            if args.untraced:
                variants.append(("on, untraced", ["--no-tracing"]))
            if args.trace_all:
                variants.append(("on, trace-all", ["--trace-all"]))
            for name, extra in variants:
                service = scratch / name.replace(" ", "-")
                shutil.copytree(SERVICE, service, ignore=shutil.ignore_patterns(".golive", "__pycache__"))
                port = free_port()
                peer = processes.start(name, golive_command("dev", service, port) + extra, cwd=ROOT, env=env,
                                       port=port)
                peer.wait_listening(120)
                verify(peer)
                peers[name] = (peer, service)
            samples = {name: {"p50_us": [], "p99_us": [], "rps": []} for name in peers}
            for trial in range(1, args.trials + 1):
                for name, (peer, _) in peers.items():
                    wrk(peer, 1, 1, args.warmup)
                    one = wrk(peer, 1, 1, args.duration)
                    wrk(peer, 8, 2, args.warmup)
                    eight = wrk(peer, 8, 2, args.duration)
                    samples[name]["p50_us"].append(one["p50_us"])
                    samples[name]["p99_us"].append(one["p99_us"])
                    samples[name]["rps"].append(eight["rps"])
                    say(f"  trial {trial}/{args.trials} {name:<14} p50 {one['p50_us'] / 1000:6.3f} ms  "
                        f"p99 {one['p99_us'] / 1000:6.3f} ms  {eight['rps']:8.0f} req/s @8")
            on_service = peers["telemetry on"][1]
            for peer, _ in peers.values():
                verify(peer)
                processes.stop(peer)
            store = on_service / ".golive" / "telemetry.duckdb"
            from golive.telemetry.store import Store

            opened = Store(store, read_only=True)
            results["stored_requests"] = opened.cursor().execute("SELECT count(*) FROM requests").fetchone()[0]
            opened.close()
            for name, figures in samples.items():
                results[name] = {"p50_ms": statistics.median(figures["p50_us"]) / 1000,
                                 "p99_ms": statistics.median(figures["p99_us"]) / 1000,
                                 "rps": statistics.median(figures["rps"]), "samples": figures}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results["load_after"] = os.getloadavg()[0]
    off, on = results["telemetry off"], results["telemetry on"]
    results["p50_ratio"] = on["p50_ms"] / off["p50_ms"]
    results["rps_ratio"] = on["rps"] / off["rps"]
    results["pass"] = results["p50_ratio"] <= 1 + TARGET and results["rps_ratio"] >= 1 - TARGET
    for extra in EXTRAS:
        if extra in results:
            results[extra]["p50_ratio"] = results[extra]["p50_ms"] / off["p50_ms"]
            results[extra]["rps_ratio"] = results[extra]["rps"] / off["rps"]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"golive dev, telemetry on vs off, {results['date']}, {args.trials} trials x {args.duration:g} s, load "
          f"average {results['load_before']:.1f} -> {results['load_after']:.1f}")
    print(f"  {'':<14} {'p50 @1':>9} {'p99 @1':>9} {'req/s @8':>10}")
    for name in [name for name in ("telemetry off", "telemetry on", *EXTRAS) if name in results]:
        row = results[name]
        print(f"  {name:<14} {row['p50_ms']:7.3f} ms {row['p99_ms']:7.3f} ms {row['rps']:10.0f}")
    print(f"  on/off: p50 x{results['p50_ratio']:.3f}, req/s x{results['rps_ratio']:.3f}; "
          f"{results['stored_requests']:,} requests stored; {'PASS' if results['pass'] else 'FAIL'} (within 5 %)")
    for extra in [extra for extra in EXTRAS if extra in results]:
        print(f"  {extra} / off: p50 x{results[extra]['p50_ratio']:.3f}, req/s x{results[extra]['rps_ratio']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
