"""`golive stats`: per route (or status, or minute) counts, 2xx / 4xx / 5xx split into gateway-made and
function-made, latency p50 / p95 / p99, cold starts and throttles, from golive dev or a deployed stage."""

from __future__ import annotations

import argparse
import json

from golive.commands._telemetry import (
    SOURCE_HELP,
    STAGE_COST,
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
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")


def run(args: argparse.Namespace) -> int:
    since = since_seconds(args.since)
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
