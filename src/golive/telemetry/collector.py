"""The collector: turns what the local cloud sees (access-log records, function log lines) into telemetry rows.

The local cloud's callbacks only append to a list. A background thread writes each batch as NDJSON and DuckDB
does the parsing in SQL (JSON records, tracebacks, EMF, REPORT lines, the join of a request to its invocation):
parsing in C++ with the GIL released, not in Python beside the event loop, is what keeps the gateway's latency."""

from __future__ import annotations

import json
import sys
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from golive.telemetry.store import Store

FLUSH_INTERVAL_S = 0.05  # a quiet server's request reaches the store within about this much after its REPORT
BUSY_SHARE = 0.05  # under load batches grow instead: the writer works at most this share of the time ...
MAX_INTERVAL_S = 1.0  # ... waiting at most this long between batches (readers flush first anyway)
JOIN_WAIT_S = 2.0  # how long a request waits for its invocation's REPORT line before it is stored without one
FORGET_S = 120.0  # REPORT lines of invocations no request named (authorizers) are forgotten after this
PRUNE_EVERY_S = 600.0
TOP_FRAMES = 3  # the innermost frames that identify an error (with its type and route)

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False, ensure_ascii=False).encode
_REPORT_PREFIX = "REPORT RequestId: "

# Lines Python's tracebacks leave: 'File "/var/task/users/api.py", line 88, in get_user' → 'api.py:get_user'
_FRAME_SQL = r"""nullif(array_to_string(list_reverse(regexp_extract_all(regexp_replace(replace(error_stack, chr(160),
    ' '), 'File "(?:[^"]*[/\\])?([^"/\\]+)", line \d+, in (\S+)', chr(1) || '\1:\2' || chr(1), 'g'),
    chr(1) || '([^' || chr(1) || ']+)' || chr(1), 1)[-TOP:]), ' < '), '')""".replace("TOP", str(TOP_FRAMES))

# The JSON fields a line's record may carry, extracted in one parse (json_extract_string with a list of paths)
_PATHS = ["$.level", "$.levelname", "$.log_level", "$.message", "$.msg", "$.error.type", "$.exception_name",
          "$.errorType", "$.error.message", "$.errorMessage", "$.error.stack", "$.exception", "$.stackTrace",
          "$.correlation_id"]
_V = {path: index for index, path in enumerate(_PATHS, start=1)}


def _v(path: str) -> str:
    return f"v[{_V[path]}]"


# Lambda's own lines that say an invocation failed (level ERROR): runtime exits, error types, timeouts, init
# failures. The locally evaluated Errors alarm counts invocations with such a line.
_PLATFORM_ERROR = ("(contains(line, ' Error: ') OR starts_with(line, 'Runtime.') OR starts_with(line, 'Sandbox.') "
                   "OR contains(line, 'Task timed out after') OR contains(line, 'Status: error') "
                   "OR contains(line, 'Status: timeout'))")

# Each flush stages its lines once, in a temporary table of the collector's connection:
# [epoch ms, function, Lambda request id, stream, line] → typed, classified, its JSON fields extracted.
STAGE_SQL = rf"""CREATE OR REPLACE TEMP TABLE batch AS
WITH raw AS (
    SELECT make_timestamp((j[1]::DOUBLE * 1000)::BIGINT) AS ts, j[2] AS function, TRY_CAST(j[3] AS UUID) AS rid,
        j[4] AS stream, j[5] AS line
    FROM (SELECT from_json(json, '["VARCHAR"]') AS j FROM read_ndjson_objects(?))),
kinds AS (
    SELECT *, CASE WHEN stream = 'platform' THEN 'platform'
                   WHEN starts_with(line, '{{') AND json_valid(line) THEN
                       CASE WHEN json_type(line, '$._aws.CloudWatchMetrics') = 'ARRAY' THEN 'emf' ELSE 'json' END
                   ELSE 'text' END AS kind
    FROM raw)
SELECT *, CASE WHEN kind = 'json' THEN json_extract_string(line, {_PATHS!r}) END AS v FROM kinds"""

# Invocation facts a request row takes: its REPORT line and golive's correlation id. Kept per connection until
# their request arrives (REPORT follows the reply; the function's lines precede it).
FACTS_TABLE = """CREATE TEMP TABLE IF NOT EXISTS facts (rid UUID, seen TIMESTAMP, duration DOUBLE, billed INTEGER,
    memory SMALLINT, init DOUBLE, correlation_id VARCHAR)"""
# A REPORT line's facts, in one regular expression (not four): SELECT regexp_extract(line, REPORT_SQL) AS report
REPORT_SQL = (r"""'\tDuration: ([0-9.]+) ms\tBilled Duration: ([0-9]+) ms\t.*Max Memory Used: ([0-9]+) MB\t"""
              r"""(?:Init Duration: ([0-9.]+) ms)?', ['duration', 'billed', 'memory', 'init']""")
FACTS_SQL = rf"""INSERT INTO facts
WITH reports AS (
    SELECT rid, ts, regexp_extract(line, {REPORT_SQL}) AS report
    FROM batch WHERE rid IS NOT NULL AND stream = 'platform' AND starts_with(line, 'REPORT '))
SELECT rid, ts, TRY_CAST(report.duration AS DOUBLE), TRY_CAST(report.billed AS INTEGER),
    TRY_CAST(report.memory AS SMALLINT), TRY_CAST(nullif(report.init, '') AS DOUBLE), NULL
FROM reports
UNION ALL
SELECT rid, ts, NULL, NULL, NULL, NULL, {_v("$.correlation_id")}
FROM batch WHERE rid IS NOT NULL AND kind = 'json' AND {_v("$.correlation_id")} IS NOT NULL"""
FORGET_FACTS_SQL = "DELETE FROM facts WHERE seen < make_timestamp(?::BIGINT)"

LOGS_SQL = rf"""INSERT INTO logs
WITH parsed AS (
    SELECT *,
        -- Lambda's Python runtime: '[ERROR] Type: message\rTraceback ...', one event
        CASE WHEN kind = 'text' THEN regexp_extract(line, '^\[ERROR\] ([\w.]+): ?([^\r]*)', ['type', 'message'])
        END AS text_error
    FROM batch),
fields AS (
    SELECT ts, function, rid, stream, kind, line,
        CASE kind WHEN 'json' THEN upper(coalesce({_v("$.level")}, {_v("$.levelname")}, {_v("$.log_level")}))
                  WHEN 'text' THEN CASE WHEN text_error.type <> '' THEN 'ERROR' END
                  WHEN 'platform' THEN CASE WHEN {_PLATFORM_ERROR} THEN 'ERROR' END END AS raw_level,
        CASE kind WHEN 'json' THEN coalesce({_v("$.message")}, {_v("$.msg")}) WHEN 'emf' THEN NULL
                  WHEN 'text' THEN CASE WHEN text_error.type <> '' THEN text_error.type || ': ' || text_error.message
                                        ELSE line END
                  ELSE line END AS message,
        -- golive's logger.exception (error.type/message/stack), Powertools (exception_name, exception), Lambda's
        -- error document (errorType, errorMessage, stackTrace), or the runtime's text line
        CASE kind WHEN 'json' THEN coalesce({_v("$.error.type")}, {_v("$.exception_name")}, {_v("$.errorType")})
                  WHEN 'text' THEN nullif(text_error.type, '') END AS error_type,
        CASE kind WHEN 'json' THEN coalesce({_v("$.error.message")}, {_v("$.errorMessage")},
                                            CASE WHEN {_v("$.exception_name")} IS NOT NULL THEN {_v("$.message")} END)
                  WHEN 'text' THEN CASE WHEN text_error.type <> '' THEN text_error.message END END AS error_message,
        CASE kind WHEN 'json' THEN coalesce({_v("$.error.stack")}, {_v("$.exception")},
                      CASE WHEN starts_with({_v("$.stackTrace")}, '[')
                           THEN array_to_string(from_json({_v("$.stackTrace")}, '["VARCHAR"]'), '')
                           ELSE {_v("$.stackTrace")} END)
                  WHEN 'text' THEN CASE WHEN text_error.type <> ''
                                        THEN replace(replace(line, chr(13), chr(10)), chr(160), ' ') END
        END AS error_stack
    FROM parsed)
SELECT ts, function, rid, stream, kind,
    CASE raw_level WHEN 'WARNING' THEN 'WARN' WHEN 'CRITICAL' THEN 'FATAL' ELSE raw_level END,
    message, error_type, error_message, error_stack, {_FRAME_SQL}, line
FROM fields"""

# Access-log records as the gateway writes them ($context names, "-" for absent text), plus _key (crc32 of the
# request id, computed in Python: stable across DuckDB versions).
_ACCESS_COLUMNS = {
    "requestId": "VARCHAR", "_key": "UBIGINT", "extendedRequestId": "VARCHAR", "integrationRequestId": "VARCHAR",
    "xrayTraceId": "VARCHAR", "requestTimeEpoch": "DOUBLE", "stage": "VARCHAR", "routeKey": "VARCHAR",
    "httpMethod": "VARCHAR", "path": "VARCHAR", "status": "INTEGER", "errorResponseType": "VARCHAR",
    "errorMessage": "VARCHAR", "integrationErrorMessage": "VARCHAR", "validationErrorString": "VARCHAR",
    "responseLatency": "INTEGER", "integrationLatency": "INTEGER", "authorizerLatency": "INTEGER",
    "authorizerError": "VARCHAR", "principalId": "VARCHAR", "functionName": "VARCHAR", "responseLength": "INTEGER",
    "sourceIp": "VARCHAR", "userAgent": "VARCHAR",
}
_COLUMNS_SQL = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in _ACCESS_COLUMNS.items()) + "}"

REQUESTS_SQL = rf"""INSERT INTO requests
WITH a AS (
    SELECT *, TRY_CAST(nullif(integrationRequestId, '-') AS UUID) AS rid
    FROM read_json($path, format = 'newline_delimited', columns = {_COLUMNS_SQL})),
reports AS (
    SELECT rid, any_value(duration) AS duration, any_value(billed) AS billed, any_value(memory) AS memory,
        any_value(init) AS init, bool_or(duration IS NOT NULL) AS reported, any_value(correlation_id) AS correlation_id
    FROM facts GROUP BY rid)  -- small: facts leave once their request is stored
SELECT make_timestamp((a.requestTimeEpoch * 1000)::BIGINT), nullif(a.requestId, '-'), a._key::UINTEGER,
    nullif(a.extendedRequestId, '-'), a.rid, nullif(a.xrayTraceId, '-'),
    CASE WHEN r.correlation_id <> a.requestId THEN r.correlation_id END,  -- golive's default is the request id
    nullif(a.stage, '-'), nullif(a.routeKey, '-'), nullif(a.httpMethod, '-'), nullif(a.path, '-'), a.status,
    -- API Gateway decided when it answered with a gateway response (or matched no route); else the function did
    CASE WHEN a.errorResponseType <> '-' OR a.routeKey = '-' THEN 'gateway' ELSE 'function' END,
    nullif(a.errorResponseType, '-'),
    nullif(concat_ws(': ', coalesce(nullif(a.integrationErrorMessage, '-'), nullif(a.errorMessage, '-')),
                     nullif(a.validationErrorString, '-')), ''),
    a.responseLatency, a.integrationLatency, a.authorizerLatency, nullif(a.authorizerError, '-'),
    nullif(a.principalId, '-'), nullif(a.functionName, '-'),
    CASE WHEN r.reported THEN r.init IS NOT NULL END, r.init, r.duration, r.billed, r.memory,
    a.responseLength, nullif(a.sourceIp, '-'), nullif(a.userAgent, '-')
FROM a LEFT JOIN reports r ON r.rid = a.rid"""
CONSUMED_SQL = "DELETE FROM facts WHERE rid IN (SELECT TRY_CAST(unnest(?::VARCHAR[]) AS UUID))"


# A batch in which no line carries an exception (most of them) skips the error columns: their expressions (four
# regular expressions among them) cost a fixed few milliseconds per statement even over NULLs.
LOGS_PLAIN_SQL = rf"""INSERT INTO logs
SELECT ts, function, rid, stream, kind,
    CASE kind WHEN 'json' THEN
        CASE upper(coalesce({_v("$.level")}, {_v("$.levelname")}, {_v("$.log_level")}))
            WHEN 'WARNING' THEN 'WARN' WHEN 'CRITICAL' THEN 'FATAL'
            ELSE upper(coalesce({_v("$.level")}, {_v("$.levelname")}, {_v("$.log_level")})) END
        WHEN 'platform' THEN CASE WHEN {_PLATFORM_ERROR} THEN 'ERROR' END END,
    CASE kind WHEN 'json' THEN coalesce({_v("$.message")}, {_v("$.msg")}) WHEN 'emf' THEN NULL ELSE line END,
    NULL, NULL, NULL, NULL, line
FROM batch"""
_ERROR_MARKS = ('"error"', '"exception', '"errorType"', '"stackTrace"', "[ERROR] ")


def _may_carry_error(line: str) -> bool:
    """False when the line certainly has no exception for the error columns (checked before choosing the SQL)."""
    return any(mark in line for mark in _ERROR_MARKS)


def request_key(request_id: str | None) -> int | None:
    """The 4-byte key a drill-down scans first (comparing 4 bytes per row instead of decompressing strings)."""
    return None if request_id is None else zlib.crc32(request_id.encode())


def _staged_access(record: dict[str, Any]) -> str:
    text = _encode(record)
    request_id = record.get("requestId")
    key = zlib.crc32(request_id.encode()) if isinstance(request_id, str) and request_id != "-" else "null"
    return f'{text[:-1]},"_key":{key}}}'  # the record is the gateway's: never modified, only extended here


class Collector:
    """Buffers the local cloud's records and writes them to `store` from a background thread."""

    def __init__(self, store: Store, *, flush_interval: float = FLUSH_INTERVAL_S,
                 join_wait: float = JOIN_WAIT_S) -> None:
        self.store = store
        self.flush_interval, self.join_wait = flush_interval, join_wait
        self._access: list[dict[str, Any]] = []
        self._lines: list[Any] = []
        self._pending: list[tuple[float, dict[str, Any]]] = []  # requests waiting for their REPORT line
        self._reported: dict[str, float] = {}  # Lambda request ids whose REPORT line was stored, when
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cursor: Any = None
        self._facts = False  # the connection's temporary facts table exists
        self._facts_pruned = time.monotonic()
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
        interval = self.flush_interval
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            try:
                started = time.perf_counter()
                self.flush()
                # each batch has a fixed cost (a few statements and a commit): a busy server gets fewer, larger ones
                took = time.perf_counter() - started
                interval = min(MAX_INTERVAL_S, max(self.flush_interval, took * (1 - BUSY_SHARE) / BUSY_SHARE))
                if time.monotonic() - self._last_prune > PRUNE_EVERY_S:
                    self._last_prune = time.monotonic()
                    with self._flush_lock:
                        self.store.prune(cursor=self._cursor)
            except Exception as exc:  # telemetry must never take the dev server down
                print(f"golive dev: telemetry write failed: {type(exc).__name__}: {exc}", file=sys.stderr)

    def flush(self, final: bool = False) -> int:
        """Store what arrived; returns the rows written."""
        with self._flush_lock:
            if self._cursor is None:
                self._cursor = self.store.cursor()
            lines, self._lines = self._lines, []
            access, self._access = self._access, []
            now = time.monotonic()
            reported = self._reported
            staged_lines = []
            for record in lines:
                staged_lines.append(_encode([record.timestamp * 1000, record.function, record.request_id,
                                             record.stream, record.line]))
                if record.stream == "platform" and record.request_id and record.line.startswith(_REPORT_PREFIX):
                    reported[record.request_id] = now
            self._pending.extend((now, record) for record in access)
            ready, waiting = [], []
            for arrived, record in self._pending:
                lambda_id = record.get("integrationRequestId")
                if not lambda_id or lambda_id == "-" or final or now - arrived >= self.join_wait:
                    ready.append(record)
                elif lambda_id in reported:
                    ready.append(record)
                    del reported[lambda_id]
                else:
                    waiting.append((arrived, record))
            self._pending = waiting
            if len(reported) > 1000:
                for key in [key for key, seen in reported.items() if now - seen > FORGET_S]:
                    del reported[key]
            written = 0
            cursor, run = self._cursor, self.store.run
            if self._facts is False:
                cursor.execute(FACTS_TABLE)
                self._facts = True
            if not (staged_lines or ready):
                return 0
            cursor.execute("BEGIN TRANSACTION")  # one commit per batch
            try:
                written = self._write(cursor, run, lines, staged_lines, ready)
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            self.rows_written += written
        if written:
            for listener in list(self.listeners):
                listener()
        return written

    def _write(self, cursor: Any, run: Callable[..., int], lines: list[Any], staged_lines: list[str],
               ready: list[dict[str, Any]]) -> int:
        written = 0
        if staged_lines:
            with self.store.staged(staged_lines) as path:
                cursor.execute(STAGE_SQL, [path])
            full = any(_may_carry_error(record.line) for record in lines if record.stream != "platform")
            written += run(LOGS_SQL if full else LOGS_PLAIN_SQL, [], cursor)
            cursor.execute(FACTS_SQL)
        if ready:
            with self.store.staged([_staged_access(record) for record in ready]) as path:
                written += run(REQUESTS_SQL, {"path": path}, cursor)
            consumed = [str(r.get("integrationRequestId")) for r in ready
                        if r.get("integrationRequestId") not in (None, "-")]
            if consumed:
                cursor.execute(CONSUMED_SQL, [consumed])
        if time.monotonic() - self._facts_pruned > FORGET_S:
            self._facts_pruned = time.monotonic()
            cursor.execute(FORGET_FACTS_SQL, [int((time.time() - FORGET_S) * 1_000_000)])
        return written
