"""`golive errors`: the function's exceptions grouped by fingerprint (type + innermost frames + route), with
counts, first and last seen, and one request id to drill into with `golive logs --request-id`."""

from __future__ import annotations

import argparse
import json

from golive.commands._telemetry import (
    SOURCE_HELP,
    STAGE_COST,
    Paint,
    add_service_dir,
    add_since,
    add_stage,
    since_seconds,
    telemetry,
)


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = f"{parser.description}. {SOURCE_HELP}. {STAGE_COST}."
    add_service_dir(parser)
    add_stage(parser)
    add_since(parser)
    parser.add_argument("--stack", action="store_true", help="print the latest stack trace of each group")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")


def run(args: argparse.Namespace) -> int:
    since = since_seconds(args.since)
    with telemetry(args.service_dir, args.stage, since) as source:
        result = source.errors(since)
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return 0
    groups = result["errors"]
    if not groups:
        print("no errors recorded" + (f" in the last {args.since}" if args.since else ""))
        return 0
    paint = Paint()
    for group in groups:
        route = group["route"] or "(no request)"
        print(f"{paint(str(group['count']) + ' x', '1')} {paint(group['error_type'], '31')}: "
              f"{group['last_message'] or ''}  {route}  [{group['fingerprint']}]")
        print(f"    first {group['first_seen']}  last {group['last_seen']}  "
              f"e.g. golive logs --request-id {group['example_request_id']}")
        if group.get("frames"):
            print(f"    at {group['frames']}")
        if args.stack and group.get("example_stack"):
            for line in group["example_stack"].rstrip().splitlines():
                print("      " + line)
    return 0
