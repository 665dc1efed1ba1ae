"""What golive logs, stats, errors and query share: the service folder argument, where telemetry is read from,
one-line errors, tables and colour."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from golive.commands import CLIError

SOURCE_HELP = ("reads the running golive dev's telemetry API (found through SERVICE_DIR/.golive/dev.json), or "
               "SERVICE_DIR/.golive/telemetry.duckdb read-only when dev is not running; with --stage, the deployed "
               "stage's CloudWatch Logs")
# What reading a deployed stage costs on AWS (us-east-1 prices as the AWS pricing page gave them on 2026-12-04).
STAGE_COST = ("AWS cost: FilterLogEvents calls have no per-call charge but count against the account's "
              "FilterLogEvents request quota; golive runs no Logs Insights query ($0.005 per GB scanned), it "
              "aggregates in its own store")
TAIL_COST = ("on AWS `--stage S --tail` uses Live Tail: $0.01 per session minute after the free 1,800 minutes a "
             "month (GOLIVE_NO_LIVE_TAIL=1 polls FilterLogEvents every 2 s instead, free)")


def add_service_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", nargs="?", default=".", metavar="SERVICE_DIR",
                        help="folder holding golive.toml (default: the current folder)")


def add_since(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    parser.add_argument("--since", default=default, metavar="DURATION",
                        help="only what happened in this last span: 90s, 30m, 1h, 2d, 1w"
                             + (f" (default {default})" if default else " (default: everything stored)"))


def add_stage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", metavar="STAGE",
                        help="a deployed stage of golive.toml instead of golive dev: fetches the new events of the "
                             "log groups `golive template` names (the first time the last hour, or --since) into "
                             "SERVICE_DIR/.golive/telemetry-STAGE.duckdb and reads them there; credentials and Region "
                             "as the AWS CLI reads them")


def service_root(service_dir: str) -> Path:
    root = Path(service_dir)
    if not root.is_dir():
        raise CLIError(f"{service_dir} is not a folder; pass the folder holding golive.toml")
    if not (root / "golive.toml").exists():
        raise CLIError(f"no golive.toml in {service_dir}; pass the service folder (the one golive dev serves)")
    return root


@contextmanager
def telemetry(service_dir: str, stage: str | None = None, since_s: float | None = None,
              tail: bool = False) -> Iterator[Any]:
    """The source to read (golive dev's, or a deployed stage's once its new events are fetched), with every store,
    query or AWS problem turned into one CLI line."""
    from golive.telemetry.queries import QueryError
    from golive.telemetry.source import open_source
    from golive.telemetry.store import StoreError

    source: Any = None
    try:
        root = service_root(service_dir)
        if stage is not None:
            from golive.telemetry.deployed import StageSource

            source = StageSource(root, stage, since_s, tail=tail)
        else:
            source = open_source(root)
        yield source
    except (StoreError, QueryError) as exc:
        raise CLIError(str(exc)) from None
    finally:
        if source is not None:
            source.close()


def since_seconds(text: str | None) -> float | None:
    from golive.telemetry.queries import QueryError, parse_since

    try:
        return parse_since(text)
    except QueryError as exc:
        raise CLIError(str(exc)) from None


class Paint:
    """ANSI colour when writing to a terminal (and NO_COLOR is unset)."""

    def __init__(self, stream: Any = None) -> None:
        stream = stream or sys.stdout
        self.on = hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.on else text

    def status(self, status: Any) -> str:
        text = str(status if status is not None else "-")
        code = "32" if isinstance(status, int) and status < 400 else "33" if isinstance(status, int) and \
            status < 500 else "31"
        return self(text, code)

    def level(self, level: str | None) -> str:
        if not level:
            return ""
        return self(level, {"ERROR": "31", "FATAL": "31", "WARN": "33", "DEBUG": "2"}.get(level, "36"))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """A plain text table: columns as wide as their widest cell; `right` aligns those column indexes right."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)
