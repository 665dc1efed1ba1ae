"""Telemetry store benchmark: collector ingest (records/s, parsing included), `golive stats` over 1,000,000 requests,
request-id drill-down at 1M rows, bytes per request row on disk.

    .venv/bin/python bench/telemetry/store.py [--requests 1000000] [--json]

Everything runs in a scratch folder on real DuckDB files; figures are medians of several runs."""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from golive.local.apigw.access_log import AccessLog
from golive.local.invocation import LogRecord
from golive.telemetry import queries
from golive.telemetry.collector import Collector
from golive.telemetry.store import Store

ROUTES = ["GET /users/{id}", "GET /users", "POST /users", "PATCH /users/{id}", "DELETE /users/{id}", "GET /health"]
GATEWAY_ERRORS = [(401, "UNAUTHORIZED"), (400, "BAD_REQUEST_BODY"), (429, "THROTTLED"), (403, "ACCESS_DENIED"),
                  (502, "INTEGRATION_FAILURE")]
TARGETS = {"ingest_records_per_s": 200_000, "stats_ms": 150, "lookup_ms": 10, "bytes_per_request": 100}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def access_records(count: int, start_ms: float, rng: random.Random) -> list[dict]:
    records: list[dict] = []
    log = AccessLog(enabled=False, callback=records.append)
    for i in range(count):
        route = rng.choice(ROUTES)
        values = {"requestId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                  "extendedRequestId": f"{rng.getrandbits(64):x}=", "requestTimeEpoch": int(start_ms + i * 2),
                  "httpMethod": route.split()[0], "path": route.split()[1].replace("{id}", str(rng.randint(1, 9999))),
                  "routeKey": route, "stage": "prod", "responseLatency": int(rng.lognormvariate(2.3, 0.6)),
                  "functionName": "api", "sourceIp": "127.0.0.1", "userAgent": "loadtest/1.0",
                  "xrayTraceId": f"1-{int(start_ms / 1000) + i // 500:08x}-{rng.getrandbits(96):024x}",
                  "responseLength": 120}
        if rng.random() < 0.08:
            status, kind = rng.choice(GATEWAY_ERRORS)
            values.update(status=status, errorResponseType=kind, errorMessage="gateway said no")
        else:
            values.update(status=500 if rng.random() < 0.02 else 200, integrationLatency=values["responseLatency"] - 1,
                          integrationRequestId=str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        log.emit(values)
    return records


def function_lines(record: dict, now: float) -> list[LogRecord]:
    """What an invocation writes: START, a JSON record, golive's access line, EMF, END, REPORT."""
    rid = record["integrationRequestId"]
    if rid == "-":
        return []
    emf = json.dumps({"_aws": {"Timestamp": int(now * 1000), "CloudWatchMetrics": [{
        "Namespace": "users", "Dimensions": [["Service", "Route"]],
        "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}, {"Name": "Count", "Unit": "Count"}]}]},
        "Service": "users", "Route": record["routeKey"], "Latency": 3.2, "Count": 1})
    return [LogRecord("api", rid, "platform", f"START RequestId: {rid} Version: $LATEST", now),
            LogRecord("api", rid, "stdout", json.dumps({"timestamp": "2026-12-03T10:00:00Z", "level": "INFO",
                                                        "message": "user read", "request_id": rid,
                                                        "correlation_id": record["requestId"]}), now),
            LogRecord("api", rid, "stdout", json.dumps({"level": "INFO", "message": "request completed",
                                                        "status": record["status"]}), now),
            LogRecord("api", rid, "stdout", emf, now),
            LogRecord("api", rid, "platform", f"END RequestId: {rid}", now),
            LogRecord("api", rid, "platform", f"REPORT RequestId: {rid}\tDuration: 3.10 ms\tBilled Duration: 4 ms\t"
                                              f"Memory Size: 512 MB\tMax Memory Used: 61 MB\t", now)]


def bench_ingest(scratch: Path, requests: int, runs: int = 3) -> dict:
    """One batch of `requests` requests and their lines through Collector.flush, on a fresh store each run (the
    collector made first: what golive dev loads once is not part of a batch); the median run."""
    rng = random.Random(7)
    now = time.time()
    records = access_records(requests, now * 1000 - requests * 2, rng)
    lines = [line for record in records for line in function_lines(record, now)]
    timings = []
    for run in range(runs):
        store = Store(scratch / f"ingest-{run}.duckdb")
        collector = Collector(store)
        for line in lines:
            collector.on_function_log(line)
        for record in records:
            collector.on_access_log(record)
        started, started_cpu = time.perf_counter(), time.process_time()
        written = collector.flush(final=True)
        timings.append((time.perf_counter() - started, time.process_time() - started_cpu))
        store.close()
    seconds, cpu = (statistics.median(t[i] for t in timings) for i in (0, 1))
    count = len(records) + len(lines)
    return {"records": count, "rows": written, "runs": runs, "seconds": seconds, "cpu_seconds": cpu,
            "records_per_s": count / seconds, "records_per_cpu_s": count / cpu}


def build_million(scratch: Path, requests: int) -> tuple[Path, dict, list[str], list[str]]:
    rng = random.Random(11)
    path = scratch / "million.duckdb"
    store = Store(path)
    batch = 100_000
    now_ms = time.time() * 1000
    api_ids: list[str] = []
    lambda_ids: list[str] = []
    insert_s = 0.0
    for offset in range(0, requests, batch):
        records = access_records(min(batch, requests - offset), now_ms - (requests - offset) * 2, rng)
        collector = Collector(store)  # the real path: staged access records, parsed and joined by DuckDB
        for record in records:
            collector.on_access_log(record)
        started = time.perf_counter()
        collector.flush(final=True)
        insert_s += time.perf_counter() - started
        api_ids += [r["requestId"] for r in records[::997]]
        lambda_ids += [r["integrationRequestId"] for r in records[::991] if r["integrationRequestId"] != "-"]
        say(f"  {offset + batch:,} requests stored")
    store.close()  # checkpoint: the size on disk is the compressed size
    return path, {"insert_rows_per_s": requests / insert_s}, api_ids, lambda_ids


CPU: dict[str, float] = {}  # name -> median CPU ms (all of this process's threads), beside the wall-clock medians


def median_ms(function, runs: int, name: str = "") -> float:
    """Median wall-clock ms; the median CPU ms goes to CPU[name] (on a shared, loaded machine wall time includes
    waiting for a core, CPU time does not)."""
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    if name:
        CPU[name] = statistics.median(cpu)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--ingest-requests", type=int, default=20_000, help="requests (x7 records) for ingest")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results: dict = {"date": time.strftime("%Y-%m-%d"), "requests": args.requests, "cpus": os.cpu_count(),
                     "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="golive-bench-telemetry-") as tmp:
        scratch = Path(tmp)
        say("ingest through the collector (parse + join + NDJSON batch) ...")
        results["ingest"] = bench_ingest(scratch, args.ingest_requests)
        say(f"building a store of {args.requests:,} requests ...")
        path, built, api_ids, lambda_ids = build_million(scratch, args.requests)
        results.update(built)
        results["bytes_per_request"] = path.stat().st_size / args.requests
        store = Store(path, read_only=True)
        cursor = store.cursor()
        results["stats_ms"] = median_ms(lambda: queries.stats(cursor), 7, "stats_ms")
        results["stats_by_minute_ms"] = median_ms(lambda: queries.stats(cursor, by="minute"), 5, "stats_by_minute_ms")
        ids = iter(api_ids * 3)
        results["lookup_api_id_ms"] = median_ms(lambda: queries.find_request(cursor, next(ids)), 25,
                                                "lookup_api_id_ms")
        lids = iter(lambda_ids * 3)
        results["lookup_lambda_id_ms"] = median_ms(lambda: queries.find_request(cursor, next(lids)), 25,
                                                   "lookup_lambda_id_ms")
        results["errors_ms"] = median_ms(lambda: queries.errors(cursor), 5, "errors_ms")
        results["cpu_ms"] = dict(CPU)
        store.close()
        # the command as a person runs it: process start, imports, open, query, table
        service = scratch / "svc"
        (service / ".golive").mkdir(parents=True)
        (service / "golive.toml").write_text('service = "bench"\n')
        path.rename(service / ".golive" / "telemetry.duckdb")
        golive = str(Path(sys.executable).with_name("golive"))
        cli = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([golive, "stats", str(service)], check=True, capture_output=True)
            cli.append((time.perf_counter() - started) * 1000)
        results["golive_stats_cli_ms"] = statistics.median(cli)
    results["load_after"] = os.getloadavg()[0]
    results["targets"] = {
        "ingest >= 200k records/s": results["ingest"]["records_per_s"] >= TARGETS["ingest_records_per_s"],
        "stats <= 150 ms": results["stats_ms"] <= TARGETS["stats_ms"],
        "lookup <= 10 ms": max(results["lookup_api_id_ms"], results["lookup_lambda_id_ms"]) <= TARGETS["lookup_ms"],
        "<= 100 bytes per request": results["bytes_per_request"] <= TARGETS["bytes_per_request"],
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    cpu = results["cpu_ms"]
    print(f"telemetry store, {args.requests:,} requests, {results['cpus']} CPUs, {results['date']}, load average "
          f"{results['load_before']:.1f} -> {results['load_after']:.1f}; wall ms (CPU ms)")
    print(f"  ingest via collector: {results['ingest']['records_per_s']:,.0f} records/s "
          f"({results['ingest']['records_per_cpu_s']:,.0f} per CPU-second; {results['ingest']['records']:,} records "
          f"-> {results['ingest']['rows']:,} rows, median of {results['ingest']['runs']})")
    print(f"  access-log records alone, batches of 100k: {results['insert_rows_per_s']:,.0f} records/s")
    print(f"  stats by route: {results['stats_ms']:.1f} ({cpu['stats_ms']:.1f})   by minute: "
          f"{results['stats_by_minute_ms']:.1f} ({cpu['stats_by_minute_ms']:.1f})   errors: "
          f"{results['errors_ms']:.1f} ({cpu['errors_ms']:.1f})")
    print(f"  drill-down by API request id: {results['lookup_api_id_ms']:.2f} ({cpu['lookup_api_id_ms']:.2f})   "
          f"by Lambda request id: {results['lookup_lambda_id_ms']:.2f} ({cpu['lookup_lambda_id_ms']:.2f})")
    print(f"  bytes per request row on disk: {results['bytes_per_request']:.1f}")
    print(f"  `golive stats` command end to end: {results['golive_stats_cli_ms']:.0f} ms")
    for name, passed in results["targets"].items():
        print(f"  {'PASS' if passed else 'FAIL'}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
