"""`golive logs`: one line per request (what API Gateway decided, status, latency, ids) with its function's log
lines beneath; `--request-id` takes any of a request's ids; `--tail` follows new requests."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from typing import Any

from golive.commands import CLIError
from golive.commands._telemetry import (
    SOURCE_HELP,
    STAGE_COST,
    TAIL_COST,
    Paint,
    add_service_dir,
    add_since,
    add_stage,
    since_seconds,
    telemetry,
)

TAIL_POLL_S = 0.05
TAIL_OVERLAP_S = 5.0  # a request is stored once its REPORT line arrives: look back this far, skip what was shown
_SKIP_FIELDS = frozenset({"timestamp", "level", "message", "service", "function", "request_id", "cold_start",
                          "xray_trace_id", "trace_id", "correlation_id", "error"})


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (f"{parser.description}. Filter fields: route, status, method, path, function, decided_by "
                          f"(gateway|function), error_type, stage, principal, latency_ms, cold_start, level, message; "
                          f"operators = != > >= < <= ~ (contains). {SOURCE_HELP}. {STAGE_COST}; {TAIL_COST}.")
    add_service_dir(parser)
    add_stage(parser)
    add_since(parser)
    parser.add_argument("--filter", metavar="CONDITIONS",
                        help="e.g. 'level=ERROR route=\"GET /users/{id}\" status>=500' (all must hold)")
    parser.add_argument("--request-id", metavar="ID",
                        help="one request: its API Gateway request id, Lambda request id, trace id or correlation id")
    parser.add_argument("--tail", action="store_true", help="follow new requests as they arrive (Ctrl+C stops)")
    parser.add_argument("--limit", type=int, default=100, help="the latest N requests (default 100)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")


def run(args: argparse.Namespace) -> int:
    since = since_seconds(args.since)
    paint = Paint()
    with telemetry(args.service_dir, args.stage, since, tail=args.tail) as source:
        if args.request_id:
            found = source.request(args.request_id)
            if found is None:
                further = "; fetch further back with --since 1d" if args.stage and not args.since else ""
                raise CLIError(f"no request has the id {args.request_id!r} (API Gateway request id, Lambda request "
                               f"id, trace id or correlation id); `golive logs` lists recent ones{further}")
            if args.format == "json":
                print(json.dumps(found, indent=2))
            else:
                _print_request(found["request"], found["logs"], paint, found.get("metrics") or [],
                               found.get("spans") or [])
            return 0
        if args.tail:
            return _tail(source, args, paint)
        result = source.logs(since, args.filter, args.limit)
        if args.format == "json":
            print(json.dumps(result, indent=2))
            return 0
        for request in result["requests"]:
            _print_request(request, request["logs"], paint)
        if not result["requests"]:
            print("no requests recorded" + (f" in the last {args.since}" if args.since else "")
                  + (" matching the filter" if args.filter else ""), file=sys.stderr)
    return 0


def _tail(source: Any, args: argparse.Namespace, paint: Paint) -> int:
    """Only new requests (unless --since asks for a look back), each printed once, as JSON lines with --format."""
    start = time.time() - (since_seconds(args.since) or 0.0)
    after = _iso(start)
    shown: dict[str, float] = {}
    try:
        while True:
            result = source.logs(None, args.filter, 1000, after)
            for request in result["requests"]:
                key = request["request_id"] or request["lambda_request_id"] or request["ts"]
                if key in shown:
                    continue
                shown[key] = time.monotonic()
                if args.format == "json":
                    print(json.dumps(request), flush=True)
                else:
                    _print_request(request, request["logs"], paint)
                    sys.stdout.flush()
            newest = max((_epoch(r["ts"]) for r in result["requests"]), default=None)
            if newest is not None:
                after = _iso(max(start, newest - TAIL_OVERLAP_S))
            cutoff = time.monotonic() - 4 * TAIL_OVERLAP_S
            for key in [k for k, seen in shown.items() if seen < cutoff]:
                del shown[key]
            time.sleep(TAIL_POLL_S)
            source.refresh()
    except KeyboardInterrupt:
        return 0


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def request_line(request: dict[str, Any], paint: Paint) -> str:
    """`14:03:07.412 500 GET /notes/7 → GET /notes/{id} function 12 ms [cold 231 ms] id=... lambda=...`"""
    decided = request["decided_by"]
    who = paint(decided, "35") if decided == "gateway" else decided
    parts = [request["ts"][11:23], paint.status(request["status"]), request["method"] or "-", request["path"] or "-"]
    if request["route"]:
        parts.append(f"→ {request['route']}")
    parts.append(who)
    if request["error_type"]:
        parts.append(paint(request["error_type"], "33"))
    parts.append(f"{request['latency_ms']} ms" if request["latency_ms"] is not None else "- ms")
    if request["cold_start"]:
        parts.append(paint(f"[cold, init {request['init_ms']:.0f} ms]", "36"))
    parts.append(f"id={request['request_id']}")
    if request["lambda_request_id"]:
        parts.append(f"lambda={request['lambda_request_id']}")
    if request["error_message"] and decided == "gateway":
        parts.append(paint(f"— {request['error_message']}", "2"))
    return " ".join(parts)


def log_line(line: dict[str, Any], paint: Paint) -> list[str]:
    """A function line as a person reads it: level and message with the record's own fields, stacks unfolded."""
    prefix = f"    {line['ts'][11:23]} [{line['function']}] "
    if line["kind"] == "json":
        try:
            record = json.loads(line["line"])
        except ValueError:
            record = {}
        fields = " ".join(f"{key}={json.dumps(value) if not isinstance(value, str) else value}"
                          for key, value in record.items() if key not in _SKIP_FIELDS)
        text = f"{paint.level(line['level'])} {line['message'] or ''}" + (f"  {paint(fields, '2')}" if fields else "")
    elif line["kind"] == "emf":
        text = paint("EMF " + _emf_summary(line["line"]), "2")
    elif line["error_type"] and line["error_stack"]:
        text = paint.level("ERROR") + f" {line['message']}"
    else:
        text = paint(line["line"], "2") if line["kind"] == "platform" else line["line"]
    lines = [prefix + text]
    if line["error_stack"]:
        stack = line["error_stack"].rstrip().splitlines()
        if line["kind"] == "text" and stack and stack[0].startswith("[ERROR]"):
            stack = stack[1:]
        lines += ["        " + paint(item, "31") for item in stack]
    return lines


def _emf_summary(raw: str) -> str:
    try:
        document = json.loads(raw)
        names = [m["Name"] for d in document["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
        return " ".join(f"{name}={document.get(name)}" for name in names)
    except (ValueError, KeyError, TypeError):
        return raw


def span_line(span: dict[str, Any], paint: Paint) -> str:
    """`    +0.4 ms   3.1 ms  ··dynamodb GetItem users aws 200 FAULT` (indented by its depth in the trace)."""
    parts = [("  " * span["depth"]) + (span["name"] or "-")]
    if span["kind"] in ("gateway", "function"):
        parts.append(paint(span["kind"], "35" if span["kind"] == "gateway" else "36"))
    parts += [str(span[key]) for key in ("operation", "table_name", "namespace") if span.get(key)]
    if span.get("status") is not None:
        parts.append(paint.status(span["status"]))
    flags = [flag.upper() for flag in ("fault", "error", "throttle") if span.get(flag)]
    if flags:
        parts.append(paint(" ".join(flags), "31" if "FAULT" in flags else "33"))
    if span.get("exception"):
        parts.append(paint(f"— {span['exception']}", "2"))
    duration = span["duration_ms"]
    timing = f"+{span['offset_ms']:.1f} ms {duration:7.1f} ms" if duration is not None else \
        f"+{span['offset_ms']:.1f} ms       - ms"
    return f"      {paint(timing, '2')}  " + " ".join(parts) + paint(f"  id={span['id']}", "2")


def _print_request(request: dict[str, Any] | None, lines: list[dict[str, Any]], paint: Paint,
                   metrics: list[dict[str, Any]] | None = None, spans: list[dict[str, Any]] | None = None) -> None:
    if request is not None:
        print(request_line(request, paint))
        ids = [f"{name}={request[name]}" for name in ("trace_id", "correlation_id") if request.get(name)]
        if metrics is not None and ids:  # the single-request view shows every id
            print("    " + " ".join(ids))
        if spans:  # the single-request view: its trace as a timeline, each span beneath the one it ran in
            print(f"    trace: {len(spans)} span{'s' if len(spans) != 1 else ''}")
            for span in spans:
                print(span_line(span, paint))
    for line in lines:
        for text in log_line(line, paint):
            print(text)
