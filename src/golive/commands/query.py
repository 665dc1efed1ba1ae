"""`golive query "SQL"`: read-only SQL over the telemetry tables (requests, logs, spans, metrics, errors) of golive
dev or a deployed stage."""

from __future__ import annotations

import argparse
import json

from golive.commands._telemetry import (
    SOURCE_HELP,
    STAGE_COST,
    add_service_dir,
    add_stage,
    since_seconds,
    table,
    telemetry,
)


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (f"{parser.description}. Tables: requests, logs, spans, metrics and the view errors "
                          f"(docs/telemetry.md lists every column). Only SELECT (and DESCRIBE, SHOW, EXPLAIN) runs. "
                          f"{SOURCE_HELP}. {STAGE_COST}.")
    parser.add_argument("sql", metavar="SQL", help="one SELECT statement, e.g. \"SELECT route, count(*) FROM "
                                                   "requests GROUP BY route\"")
    add_service_dir(parser)
    add_stage(parser)
    parser.add_argument("--since", metavar="DURATION",
                        help="with --stage: fetch at least this last span (90s, 30m, 1h, 2d, 1w) before the SQL runs; "
                             "the SQL's own WHERE chooses what it reads")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")


def run(args: argparse.Namespace) -> int:
    with telemetry(args.service_dir, args.stage, since_seconds(args.since)) as source:
        result = source.query(args.sql)
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return 0
    print(table(result["columns"], [[_cell(v) for v in row] for row in result["rows"]]))
    count = len(result["rows"])
    print(f"({count} row{'s' if count != 1 else ''}{', truncated' if result.get('truncated') else ''})")
    return 0


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value).replace("\n", "\\n")
