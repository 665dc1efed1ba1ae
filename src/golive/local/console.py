"""`golive dev`'s console for people: one line per request, the function's log lines beneath it, tracebacks as such.

Fed by the local cloud's callbacks: gateway access-log records (dicts with API Gateway's $context names) and the
functions' log lines (`LogRecord`s). A record's `integrationRequestId` is the Lambda request id of the invocation
behind it, which is how its function lines are found. Lines of one invocation are held until its REPORT line (the
last Lambda writes) and the access record have both arrived, so concurrent requests never interleave; whatever is
still held after `HOLD_S` is printed as it is.

    14:21:07  GET    /users/ada     200    12 ms  function api  ·  cold start 104 ms  a9fdcddc
              INFO   user read  user_id=ada
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

HOLD_S = 1.0  # how long an invocation's lines wait for the other half (its access record or its REPORT line)
INDENT = " " * 10
# Fields every golive log line carries; the console shows only what a handler added.
CONTEXT_FIELDS = frozenset({"timestamp", "level", "message", "service", "function", "request_id", "correlation_id",
                            "trace_id", "cold_start", "method", "path", "route", "principal", "xray_trace_id",
                            "sampled", "error"})
STANDARD_METRICS = frozenset({"Latency", "Count", "4xx", "5xx", "ColdStart"})
_REPORT = re.compile(r"^REPORT RequestId: \S+\s+Duration: ([\d.]+) ms.*?Max Memory Used: (\d+) MB"
                     r"(?:\s+Init Duration: ([\d.]+) ms)?")

RESET, BOLD, DIM = "\033[0m", "\033[1m", "\033[2m"
RED, GREEN, YELLOW, CYAN, MAGENTA = "\033[31m", "\033[32m", "\033[33m", "\033[36m", "\033[35m"
LEVEL_COLOURS = {"ERROR": RED, "CRITICAL": RED, "FATAL": RED, "WARN": YELLOW, "WARNING": YELLOW, "DEBUG": DIM,
                 "LAMBDA": MAGENTA}


def use_colour(stream: TextIO) -> bool:
    """Colours on a terminal, unless NO_COLOR is set (https://no-color.org)."""
    return hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")


@dataclass
class _Held:
    """One invocation's output waiting to be printed."""

    access: dict[str, Any] | None = None
    lines: list[Any] = field(default_factory=list)
    report: str | None = None
    since: float = field(default_factory=time.monotonic)


class Console:
    """Formats the local cloud's records for a person; `access` and `function_log` are the callbacks."""

    def __init__(self, stream: TextIO | None = None, *, colour: bool | None = None, routes: list[Any] | None = None,
                 hold_s: float = HOLD_S) -> None:
        self.stream = stream or sys.stdout
        self.colour = use_colour(self.stream) if colour is None else colour
        self.routes: list[Any] = routes if routes is not None else []
        self.hold_s = hold_s
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    # -- the callbacks ---------------------------------------------------------------------------
    def access(self, record: dict[str, Any]) -> None:
        """A gateway access-log record: the request's line, with its invocation's lines once they are all in."""
        request_id = record.get("integrationRequestId")
        if not request_id or request_id == "-":  # the gateway answered alone: nothing more will come
            self._write(self._request_block(record, None))
            return
        with self._lock:
            held = self._held.setdefault(request_id, _Held())
            held.access = record
            ready = held.report is not None
            if ready:
                del self._held[request_id]
        if ready:
            self._write(self._request_block(record, held))
        else:
            self._schedule()

    def function_log(self, record: Any) -> None:
        """A function's log line (a LogRecord: function, request_id, stream, line, timestamp)."""
        if record.request_id is None:  # init output, INIT_REPORT, a line outside any invocation
            self._write(self._standalone(record))
            return
        with self._lock:
            held = self._held.setdefault(record.request_id, _Held())
            if record.stream == "platform" and record.line.startswith("REPORT "):
                held.report = record.line
                ready = held.access is not None
                if ready:
                    del self._held[record.request_id]
            else:
                held.lines.append(record)
                ready = False
        if ready:
            self._write(self._request_block(held.access, held))  # type: ignore[arg-type]
        else:
            self._schedule()

    def flush(self) -> None:
        """Print everything still held (at shutdown, or when HOLD_S has passed)."""
        self._release(force=True)

    # -- holding -----------------------------------------------------------------------------------
    def _schedule(self) -> None:
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(self.hold_s, self._on_timer)
                self._timer.daemon = True
                self._timer.start()

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
        self._release(force=False)
        with self._lock:
            pending = bool(self._held)
        if pending:
            self._schedule()

    def _release(self, force: bool) -> None:
        now = time.monotonic()
        with self._lock:
            due = [(rid, held) for rid, held in self._held.items() if force or now - held.since >= self.hold_s]
            for rid, _ in due:
                del self._held[rid]
        for _, held in due:
            if held.access is not None:
                self._write(self._request_block(held.access, held))
            else:  # an invocation no request claims (an authorizer's, or a request still running): its lines
                self._write("".join(self._standalone(line) for line in held.lines if not _platform_noise(line)))

    # -- formatting --------------------------------------------------------------------------------
    def _paint(self, text: str, *codes: str) -> str:
        return f"{''.join(codes)}{text}{RESET}" if self.colour and codes else text

    def _request_block(self, record: dict[str, Any], held: _Held | None) -> str:
        status = record.get("status") or 0
        epoch = record.get("requestTimeEpoch")
        when = time.strftime("%H:%M:%S", time.localtime(epoch / 1000 if epoch else time.time()))
        colour = GREEN if status < 300 else CYAN if status < 400 else YELLOW if status < 500 else RED
        latency = record.get("responseLatency")
        parts = [self._paint(when, DIM), f"{record.get('httpMethod', '-'):<6}", f"{record.get('path', '-'):<20}",
                 self._paint(f"{status:>3}", BOLD, colour), f"{latency if latency is not None else '-':>5} ms",
                 self._decided_by(record, held)]
        parts.append(self._paint(str(record.get("requestId", "-"))[:8], DIM))
        lines = ["  ".join(parts) + "\n"]
        hint = unknown_route_hint(record, self.routes)
        if hint:
            lines.append(f"{INDENT}{self._paint('hint', CYAN)}   {hint}\n")
        if held is not None:
            for line in held.lines:
                lines.append(self._function_line(line))
        return "".join(lines)

    def _decided_by(self, record: dict[str, Any], held: _Held | None) -> str:
        response_type = record.get("errorResponseType") or "-"
        if record.get("integrationStatus") is None or response_type != "-":
            why = record.get("validationErrorString") if record.get("validationErrorString") not in (None, "-") \
                else record.get("errorMessage") if record.get("errorMessage") not in (None, "-") else ""
            detail = f"{response_type}" + (f": {why}" if why else "") if response_type != "-" else why
            return self._paint("gateway", MAGENTA) + (f" {detail}" if detail else "")
        text = f"function {record.get('functionName', '-')}"
        if record.get("authorizerLatency") is not None:
            text += f"  ·  authorizer {record['authorizerLatency']} ms"
        report = _REPORT.match(held.report) if held is not None and held.report else None
        if report and report.group(3):
            text += f"  ·  cold start {float(report.group(3)):.0f} ms"
        return text

    def _function_line(self, record: Any) -> str:
        line = record.line.rstrip("\n")
        if record.stream == "platform":
            if _platform_noise(record):
                return ""
            return f"{INDENT}{self._paint('LAMBDA', MAGENTA)} {line}\n"
        try:
            parsed = json.loads(line) if line.startswith("{") else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return f"{INDENT}{'':<6} {line}\n"  # print() output: no level
        if "_aws" in parsed:  # an EMF document: only what the handler counted itself
            custom = [f"{k}={v}" for k, v in parsed.items() if k not in STANDARD_METRICS and k not in
                      ("_aws", "service", "route", "function") and isinstance(v, int | float)]
            return f"{INDENT}{self._paint('METRIC', CYAN)} {' '.join(custom)}\n" if custom else ""
        if parsed.get("message") == "request completed" and "status" in parsed:
            return ""  # the function's own access line: the request's line above says it
        level = str(parsed.get("level", "INFO")).upper()
        extras = " ".join(f"{k}={_short(v)}" for k, v in parsed.items() if k not in CONTEXT_FIELDS)
        label = self._paint(level.ljust(6), LEVEL_COLOURS.get(level, ""))
        text = f"{INDENT}{label} {parsed.get('message', '')}"
        text += f"  {self._paint(extras, DIM)}" if extras else ""
        error = parsed.get("error")
        if isinstance(error, dict):
            summary = f"{error.get('type', 'Error')}: {error.get('message', '')}"
            text += f"  {self._paint(summary, RED)}"
            stack = error.get("stack")
            if stack:
                text += "\n" + "\n".join(f"{INDENT}       {row}" for row in str(stack).rstrip("\n").splitlines())
        return text + "\n"

    def _standalone(self, record: Any) -> str:
        """A line no request claims, under its function's name."""
        line = self._function_line(record).removeprefix(INDENT)
        line = line.removeprefix(" " * 7)  # print() output has no level column to keep
        return f"{self._paint('[' + record.function + ']', DIM)} {line}" if line else ""

    def _write(self, text: str) -> None:
        if text:
            with self._lock:
                self.stream.write(text)
                self.stream.flush()


def _platform_noise(record: Any) -> bool:
    """START, END and REPORT: the request's line already says what they say."""
    return record.stream == "platform" and record.line.startswith(("START ", "END ", "REPORT "))


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def unknown_route_hint(record: dict[str, Any], routes: list[Any]) -> str | None:
    """For a request that matched no route (API Gateway's 403 Missing Authentication Token, or the HTTP API's 404):
    which methods the path does have, or that no route declares it."""
    if record.get("errorResponseType") != "MISSING_AUTHENTICATION_TOKEN" or record.get("routeKey") not in ("-", None):
        return None
    method, path = record.get("httpMethod", "-"), record.get("path", "-")
    methods = sorted({route.method for route in routes if _template_matches(route.path, path)})
    answer = f"{record.get('status')} {record.get('errorMessage', '')}".strip()
    if methods:
        return (f"{method} {path} is not a declared route, but {path} has {', '.join(methods)}; API Gateway "
                f"answers {answer} (golive routes lists the routes)")
    return f"{method} {path} matches no declared route; API Gateway answers {answer} (golive routes lists the routes)"


def _template_matches(template: str, path: str) -> bool:
    pattern = re.sub(r"\\\{[^/]+?\\\+\\\}", ".+", re.escape(template))
    pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", pattern)
    return re.fullmatch(pattern, path) is not None
