"""`golive stats`: per route (or status, or minute) counts, 2xx / 4xx / 5xx split into gateway-made and
function-made, latency p50 / p95 / p99, cold starts and throttles, from golive dev or a deployed stage; with
--alarms, the state of every alarm `golive template` deploys, evaluated over the same data; `--cost`: what that
traffic would cost a month on AWS, and memory right-sizing per function."""

from __future__ import annotations

import argparse
import json
from typing import Any

from golive.commands._telemetry import (
    SOURCE_HELP,
    STAGE_COST,
    Paint,
    add_service_dir,
    add_since,
    add_stage,
    since_seconds,
    table,
    telemetry,
)

COLUMNS = ("count", "ok", "gateway_4xx", "function_4xx", "gateway_5xx", "function_5xx", "p50_ms", "p95_ms",
           "p99_ms", "cold_starts", "throttles")
HEADERS = ("COUNT", "2XX/3XX", "4XX GW", "4XX FN", "5XX GW", "5XX FN", "P50 MS", "P95 MS", "P99 MS", "COLD",
           "THROTTLED")


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (f"{parser.description}. GW: answered by API Gateway itself (authorizer, validation, "
                          f"throttling, malformed or failed integration); FN: answered by the function. "
                          f"{SOURCE_HELP}. {STAGE_COST}.")
    add_service_dir(parser)
    add_stage(parser)
    add_since(parser)
    parser.add_argument("--by", choices=("route", "status", "minute"), default="route",
                        help="one row per route (default), status or minute")
    parser.add_argument("--alarms", action="store_true",
                        help="instead: every alarm golive template deploys (latency percentiles, 4xx / 5xx / success "
                             "rates, function errors, throttles, duration, concurrency), evaluated over the stored "
                             "requests with the template's periods and thresholds: OK, ALARM or INSUFFICIENT_DATA")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")
    parser.add_argument("--cost", action="store_true",
                        help="what this traffic would cost a month at AWS list prices (us-east-1; Lambda, API "
                             "Gateway, DynamoDB on-demand where reported), the free tier beside it, and memory "
                             "right-sizing per function (max memory used vs configured)")


def run(args: argparse.Namespace) -> int:
    since = since_seconds(args.since)
    if args.alarms:
        return _alarms(args, since)
    if args.cost:
        return _cost(args, since)
    with telemetry(args.service_dir, args.stage, since) as source:
        result = source.stats(since, args.by)
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return 0
    if not result["rows"]:
        print("no requests recorded" + (f" in the last {args.since}" if args.since else "")
              + (f" for stage {args.stage}" if args.stage else "; send golive dev a request first"))
        return 0
    rows = [[row["key"], *(row[c] for c in COLUMNS)] for row in result["rows"]]
    rows.append(["all", *(result["total"][c] for c in COLUMNS)])
    print(table((args.by.upper(), *HEADERS), rows, right=range(1, len(HEADERS) + 1)))
    return 0


_STATE_COLOURS = {"OK": "32", "ALARM": "31", "INSUFFICIENT_DATA": "33"}  # codes of one length: columns align
_SYMBOLS = {"GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": ">=", "LessThanThreshold": "<",
            "LessThanOrEqualToThreshold": "<="}


def _alarms(args: argparse.Namespace, since: float | None) -> int:
    with telemetry(args.service_dir, args.stage, since) as source:
        result = source.alarms(since)
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return 0
    paint = Paint()
    rows = [[alarm["name"], paint(alarm["state"], _STATE_COLOURS[alarm["state"]]), _versus(alarm), alarm["reason"]]
            for alarm in result["alarms"]]
    if not rows:
        print("this service has no alarms")
        return 0
    print(table(("NAME", "STATE", "VALUE vs THRESHOLD", "REASON"), rows))
    counts = {state: sum(1 for a in result["alarms"] if a["state"] == state) for state in _STATE_COLOURS}
    firing = [a["name"] for a in result["alarms"] if a["state"] == "ALARM"]
    summary = f"{counts['ALARM']} ALARM, {counts['OK']} OK, {counts['INSUFFICIENT_DATA']} INSUFFICIENT_DATA"
    print(summary + (f": would page for {', '.join(firing)}" if firing else ""))
    return 0


def _versus(alarm: dict[str, Any]) -> str:
    unit = {"%": "%", "ms": " ms"}.get(alarm["unit"], "")
    value = "-" if alarm["value"] is None else f"{alarm['value']:g}{unit}"
    return f"{value} {_SYMBOLS[alarm['comparison']]} {alarm['threshold']:g}{unit}"
COST_HEADERS = ("FUNCTION", "MEMORY MB", "ARCH", "INVOCATIONS", "AVG BILLED MS", "GB-S", "MAX USED MB",
                "SUGGESTED MB")


def _cost(args: argparse.Namespace, since: float | None) -> int:
    with telemetry(args.service_dir, args.stage, since) as source:
        result = source.cost(since)
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return 0
    if not result["requests"] and not any(f["invocations"] for f in result["functions"]):
        print("no requests recorded" + (f" in the last {args.since}" if args.since else "") + "; send golive dev a "
              "request first")
        return 0
    prices, monthly, usage, window = result["prices"], result["monthly"], result["usage"], result["window"]
    print(f"{result['requests']:,} requests in {window['seconds']:g} s ({window['start']} to {window['end']}), "
          f"as a 30-day month at AWS list prices ({prices['region']}, read {prices['date']}):")
    lines = [
        ("Lambda requests", f"{usage['lambda_invocations']:,} invocations", monthly["lambda_requests_usd"]),
        ("Lambda compute", ", ".join(f"{amount:,.0f} GB-s {arch}" for arch, amount in
                                     usage["lambda_gb_seconds"].items()) or "0 GB-s",
         monthly["lambda_compute_usd"]),
        (f"API Gateway ({result['api_type'].upper()})", f"{usage['api_gateway_metered_requests']:,} requests",
         monthly["api_gateway_usd"]),
        ("DynamoDB on-demand", "not measured" if not result["dynamodb"]["measured"] else
         f"{result['dynamodb']['read_request_units']:,.0f} RRU, {result['dynamodb']['write_request_units']:,.0f} WRU "
         f"recorded", monthly["dynamodb_usd"]),
    ]
    rows = [[name, what, "-" if usd is None else f"${usd:,.2f}"] for name, what, usd in lines]
    rows.append(["total", "", f"${monthly['total_usd']:,.2f}"])
    print(table(("ITEM", "MONTHLY USAGE", "USD"), rows, right=[2]))
    free = result["free_tier"]
    print(f"free tier (not subtracted): Lambda {free['lambda_requests']:,} requests and {free['lambda_gb_s']:,} GB-s "
          f"a month; API Gateway {free['api_gateway_requests']:,} requests a month {free['api_gateway_note']}")
    print()
    rows = [[f["function"], f["memory_mb"], f["architecture"], f["invocations"], f["avg_billed_ms"],
             f"{f['gb_seconds']:.3f}", f["max_memory_used_mb"], f["suggested_memory_mb"]] for f in result["functions"]]
    print(table(COST_HEADERS, rows, right=range(1, len(COST_HEADERS))))
    for f in result["functions"]:
        print(f"{f['function']}: {f['hint']}")
    if not result["dynamodb"]["measured"]:
        print(f"DynamoDB: {result['dynamodb']['note']}")
    print(f"prices: {', '.join(prices['source'].values())} (see docs/telemetry.md, Cost)")
    return 0
