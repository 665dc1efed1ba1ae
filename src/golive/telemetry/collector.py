"""The collector: turns what the local cloud sees (access-log records, function log lines) into telemetry rows.

The local cloud's callbacks only append to a list (no parsing on the request path); a background thread parses,
joins each request to its invocation's REPORT line and log records, and writes batches to the store."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from golive.telemetry.store import Store

FLUSH_INTERVAL_S = 0.05  # a request reaches the store within about this much after its REPORT line
JOIN_WAIT_S = 2.0  # how long a request waits for its invocation's REPORT line before it is stored without one
FORGET_S = 120.0  # invocation facts nobody asked for (authorizer invocations, init lines) are dropped after this
PRUNE_EVERY_S = 600.0
TOP_FRAMES = 3  # the innermost frames that identify an error (with its type and route)

_REPORT = re.compile(r"REPORT RequestId: (\S+)\tDuration: ([\d.]+) ms\tBilled Duration: (\d+) ms\t"
                     r"Memory Size: \d+ MB\tMax Memory Used: (\d+) MB\t(?:Init Duration: ([\d.]+) ms)?")
_FRAME = re.compile(r'File "([^"]+)", line \d+, in (\S+)')
_TEXT_ERROR = re.compile(r"^\[ERROR\] ([\w.]+): ?(.*?)(?:\r|$)")
_LEVELS = {"WARNING": "WARN", "CRITICAL": "FATAL", "FATAL": "FATAL"}


def _text(value: Any) -> str | None:
    if value is None or value == "-":
        return None
    return value if isinstance(value, str) else str(value)


def _number(value: Any) -> Any:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def normalise_frames(stack: str | None) -> str | None:
    """The innermost frames as 'file.py:function' (no directories, no line numbers: an edit above the failing
    line, or another checkout, is the same error)."""
    if not stack:
        return None
    frames = _FRAME.findall(stack.replace("\u00a0", " "))
    if not frames:
        return None
    return " < ".join(f"{path.replace(chr(92), '/').rsplit('/', 1)[-1]}:{name}"
                      for path, name in reversed(frames[-TOP_FRAMES:]))


def request_key(request_id: str | None) -> int | None:
    """The 4-byte key a drill-down scans first (comparing 4 bytes per row instead of decompressing strings)."""
    return None if request_id is None else zlib.crc32(request_id.encode())


def request_row(record: dict[str, Any], report: tuple[Any, ...] | None, correlation_id: str | None) -> tuple:
    """One `requests` row from an access-log record (and the invocation's REPORT facts when it had one)."""
    lambda_id = _text(record.get("integrationRequestId"))
    error_type = _text(record.get("errorResponseType"))
    # API Gateway decided when it answered with a gateway response; the function when its answer went through
    decided_by = "gateway" if error_type is not None else "function"
    route = _text(record.get("routeKey"))
    if route is None and decided_by == "function" and record.get("status") is not None:
        decided_by = "gateway"  # CORS preflights and the like: answered without an integration
    duration = billed = memory = init = None
    if report is not None:
        duration, billed, memory, init = report
    message = _text(record.get("integrationErrorMessage")) or _text(record.get("errorMessage"))
    validation = _text(record.get("validationErrorString"))
    if validation:  # what BAD_REQUEST_BODY / BAD_REQUEST_PARAMETERS found wrong
        message = f"{message}: {validation}" if message else validation
    trace = _text(record.get("xrayTraceId"))
    request_id = _text(record.get("requestId"))
    if correlation_id == request_id:
        correlation_id = None  # golive's default; stored once
    return (record.get("requestTimeEpoch") or time.time() * 1000, request_id, request_key(request_id),
            _text(record.get("extendedRequestId")), lambda_id, trace, correlation_id,
            _text(record.get("stage")), route, _text(record.get("httpMethod")), _text(record.get("path")),
            _number(record.get("status")), decided_by, error_type, message, _number(record.get("responseLatency")),
            _number(record.get("integrationLatency")), _number(record.get("authorizerLatency")),
            _text(record.get("authorizerError")), _text(record.get("principalId")),
            _text(record.get("functionName")), init is not None if report is not None else None, init, duration,
            billed, memory, _number(record.get("responseLength")), _text(record.get("sourceIp")),
            _text(record.get("userAgent")))


def parse_line(function: str, request_id: str | None, stream: str, line: str, timestamp: float
               ) -> tuple[tuple, list[tuple], dict[str, Any] | None]:
    """One log line → (its `logs` row, its `metrics` rows, the parsed JSON record when it was one)."""
    ts = timestamp * 1000
    kind, level = "text", None
    message: str | None = line
    error_type = error_message = error_stack = None
    metrics: list[tuple] = []
    parsed: dict[str, Any] | None = None
    if stream == "platform":
        kind = "platform"
        if " Error: " in line or line.startswith(("Runtime.", "Sandbox.")):
            level = "ERROR"
    elif line.startswith("{"):
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if isinstance(value, dict):
            parsed = value
            aws = value.get("_aws")
            if isinstance(aws, dict) and isinstance(aws.get("CloudWatchMetrics"), list):
                kind = "emf"
                metrics = emf_rows(function, request_id, value, ts)
                message = None
            else:
                kind = "json"
                raw_level = value.get("level") or value.get("levelname") or value.get("log_level")
                level = _LEVELS.get(str(raw_level).upper(), str(raw_level).upper()) if raw_level else None
                raw_message = value.get("message", value.get("msg"))
                message = raw_message if isinstance(raw_message, str) else None if raw_message is None \
                    else json.dumps(raw_message)
                error = value.get("error") if isinstance(value.get("error"), dict) else None
                if error is not None and error.get("type"):  # golive's logger.exception
                    error_type, error_message, error_stack = (_text(error.get("type")), _text(error.get("message")),
                                                              _text(error.get("stack")))
                elif value.get("exception_name") or value.get("errorType"):  # Powertools; Lambda's error JSON
                    error_type = _text(value.get("exception_name") or value.get("errorType"))
                    error_message = _text(value.get("errorMessage")) or message
                    stack = value.get("exception") or value.get("stackTrace")
                    error_stack = "".join(stack) if isinstance(stack, list) else _text(stack)
    else:
        found = _TEXT_ERROR.match(line)
        if found:  # Lambda's Python runtime: "[ERROR] Type: message\rTraceback...", one event
            level, error_type, error_message = "ERROR", found.group(1), found.group(2)
            error_stack = line.replace("\r", "\n").replace("\u00a0", " ")
            message = f"{error_type}: {error_message}"
    row = (ts, function, request_id, stream, kind, level, message, error_type, error_message, error_stack,
           normalise_frames(error_stack), line)
    return row, metrics, parsed


def emf_rows(function: str, request_id: str | None, document: dict[str, Any], ts: float) -> list[tuple]:
    """The metric data CloudWatch extracts from one EMF document: one row per metric, dimension set and value."""
    aws = document["_aws"]
    stamp = aws.get("Timestamp")
    when = float(stamp) if isinstance(stamp, int | float) else ts
    rows = []
    for directive in aws.get("CloudWatchMetrics") or []:
        if not isinstance(directive, dict):
            continue
        namespace = _text(directive.get("Namespace"))
        sets = directive.get("Dimensions") or [[]]
        for metric in directive.get("Metrics") or []:
            if not isinstance(metric, dict) or "Name" not in metric:
                continue
            name = str(metric["Name"])
            values = document.get(name)
            values = values if isinstance(values, list) else [values]
            for dimension_set in sets:
                dimensions = json.dumps({key: document.get(key) for key in dimension_set if isinstance(key, str)},
                                        separators=(",", ":"))
                for value in values:
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        rows.append((when, function, request_id, namespace, name, float(value),
                                     _text(metric.get("Unit")), dimensions))
    return rows


class Collector:
    """Buffers the local cloud's records and writes them to `store` from a background thread."""

    def __init__(self, store: Store, *, flush_interval: float = FLUSH_INTERVAL_S,
                 join_wait: float = JOIN_WAIT_S) -> None:
        self.store = store
        self.flush_interval, self.join_wait = flush_interval, join_wait
        self._access: list[dict[str, Any]] = []
        self._lines: list[Any] = []
        self._pending: list[tuple[float, dict[str, Any]]] = []  # requests waiting for their REPORT line
        self._reports: dict[str, tuple[float, tuple[Any, ...]]] = {}
        self._correlation: dict[str, tuple[float, str]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cursor: Any = None
        self._last_prune = 0.0
        self.rows_written = 0
        self.listeners: list[Callable[[], None]] = []  # told after each batch is stored (tail followers)

    # -- the hot path: appends only (list.append is atomic) ---------------------------------------------------
    def on_access_log(self, record: dict[str, Any]) -> None:
        self._access.append(record)

    def on_function_log(self, record: Any) -> None:
        self._lines.append(record)

    # -- the background thread --------------------------------------------------------------------------------
    def start(self) -> Collector:
        self._thread = threading.Thread(target=self._run, name="golive-telemetry", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Store everything still buffered (requests without a REPORT line too), then stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)
        self.flush(final=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self.flush()
                if time.monotonic() - self._last_prune > PRUNE_EVERY_S:
                    self._last_prune = time.monotonic()
                    self.store.prune(cursor=self._cursor)
            except Exception as exc:  # telemetry must never take the dev server down
                print(f"golive dev: telemetry write failed: {type(exc).__name__}: {exc}", file=sys.stderr)

    def flush(self, final: bool = False) -> int:
        """Parse and store what arrived; returns the rows written."""
        with self._flush_lock:
            if self._cursor is None:
                self._cursor = self.store.cursor()
            lines, self._lines = self._lines, []
            access, self._access = self._access, []
            now = time.monotonic()
            log_rows: list[tuple] = []
            metric_rows: list[tuple] = []
            for record in lines:
                row, metrics, parsed = parse_line(record.function, record.request_id, record.stream, record.line,
                                                  record.timestamp)
                log_rows.append(row)
                if metrics:
                    metric_rows.extend(metrics)
                request_id = record.request_id
                if request_id is None:
                    continue
                if record.stream == "platform" and record.line.startswith("REPORT "):
                    found = _REPORT.match(record.line)
                    if found:
                        init = found.group(5)
                        self._reports[request_id] = (now, (float(found.group(2)), int(found.group(3)),
                                                           int(found.group(4)), float(init) if init else None))
                elif parsed is not None and request_id not in self._correlation:
                    correlation = parsed.get("correlation_id")
                    if isinstance(correlation, str):
                        self._correlation[request_id] = (now, correlation)
            self._pending.extend((now, record) for record in access)
            request_rows, waiting = [], []
            for arrived, record in self._pending:
                lambda_id = str(record.get("integrationRequestId") or "-")
                has_lambda = lambda_id != "-"
                if has_lambda and lambda_id not in self._reports and not final and now - arrived < self.join_wait:
                    waiting.append((arrived, record))
                    continue
                report = self._reports.pop(lambda_id, None) if has_lambda else None
                correlation = self._correlation.pop(lambda_id, None) if has_lambda else None
                request_rows.append(request_row(record, report[1] if report else None,
                                                correlation[1] if correlation else None))
            self._pending = waiting
            for facts in (self._reports, self._correlation):
                stale = [key for key, (seen, _) in facts.items() if now - seen > FORGET_S]
                for key in stale:
                    del facts[key]
            written = (self.store.insert("logs", log_rows, self._cursor)
                       + self.store.insert("metrics", metric_rows, self._cursor)
                       + self.store.insert("requests", request_rows, self._cursor))
            self.rows_written += written
        if written:
            for listener in list(self.listeners):
                listener()
        return written
