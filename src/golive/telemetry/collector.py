"""The collector: turns what the local cloud sees (access-log records, function log lines) into telemetry rows.

The local cloud's callbacks only append to a list. A background thread hands each batch to DuckDB as NumPy columns
(the strings as they are, never re-encoded) and DuckDB does the parsing in SQL (JSON records, tracebacks, EMF,
REPORT lines, the join of a request to its invocation): parsing in C++, not in Python beside the event loop, is
what keeps the gateway's latency. Three statements and a commit per batch (four when correlation ids were used)."""

from __future__ import annotations

import re
import threading
import time
import zlib
from collections.abc import Callable
from operator import attrgetter, itemgetter
from typing import Any

from golive.telemetry.store import Store
from golive.telemetry.writer import BatchWriter

FLUSH_INTERVAL_S = 0.05  # a quiet server's request reaches the store within about this much after its REPORT
BUSY_SHARE = 0.05  # under load batches grow instead: the writer works at most this share of the time ...
MAX_INTERVAL_S = 1.0  # ... waiting at most this long between batches (readers flush first anyway)
JOIN_WAIT_S = 2.0  # how long a request waits for its invocation's REPORT line before it is stored without one
FORGET_S = 120.0  # REPORT lines of invocations no request named (authorizers) are forgotten after this
PRUNE_EVERY_S = 600.0
IDLE_CHECKPOINT_S = 1.0  # a server that stored nothing for this long checkpoints the store's write-ahead log
TOP_FRAMES = 3  # the innermost frames that identify an error (with its type and route)

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

# A batch's lines arrive as columns registered under LINES (epoch seconds, function, Lambda request id, stream,
# line): typed, classified and their JSON fields extracted in one parse; the logs statement reads it as a CTE.
LINES = "golive_batch_lines"
ACCESS = "golive_batch_access"
BATCH_SQL = rf"""WITH raw AS (
    SELECT make_timestamp((ts * 1000000)::BIGINT) AS ts, function, TRY_CAST(rid AS UUID) AS rid, stream, line
    FROM {LINES}),
kinds AS (
    SELECT *, CASE WHEN stream = 'platform' THEN 'platform'
                   WHEN starts_with(line, '{{') AND json_valid(line) THEN
                       CASE WHEN json_type(line, '$._aws.CloudWatchMetrics') = 'ARRAY' THEN 'emf' ELSE 'json' END
                   ELSE 'text' END AS kind
    FROM raw)
SELECT *, CASE WHEN kind = 'json' THEN json_extract_string(line, {_PATHS!r}) END AS v FROM kinds"""

# golive's correlation id is in the function's JSON records, which precede the access record: kept per connection
# until its request arrives. (REPORT lines follow the reply: the collector keeps each one in Python until its
# request is ready, and the request's row is built with it.)
FACTS_TABLE = "CREATE TEMP TABLE IF NOT EXISTS facts (rid UUID, seen TIMESTAMP, correlation_id VARCHAR)"
FACTS_SQL = rf"""INSERT INTO facts
SELECT rid, ts, correlation_id FROM (
    SELECT TRY_CAST(rid AS UUID) AS rid, make_timestamp((ts * 1000000)::BIGINT) AS ts,
        try(json_extract_string(line, '$.correlation_id')) AS correlation_id  -- NULL for a line that is not JSON
    FROM {LINES}
    WHERE rid IS NOT NULL AND stream <> 'platform' AND starts_with(line, '{{') AND contains(line, '"correlation_id"'))
WHERE correlation_id IS NOT NULL"""
# A REPORT line's facts in one regular expression, for SQL over stored lines (a deployed stage's late REPORT lines):
# SELECT regexp_extract(line, REPORT_SQL) AS report
REPORT_SQL = (r"""'\tDuration: ([0-9.]+) ms\tBilled Duration: ([0-9]+) ms\t.*Max Memory Used: ([0-9]+) MB\t"""
              r"""(?:Init Duration: ([0-9.]+) ms)?', ['duration', 'billed', 'memory', 'init']""")
FORGET_FACTS_SQL = "DELETE FROM facts WHERE seen < make_timestamp(?::BIGINT)"

LOGS_SQL = rf"""INSERT INTO log_lines
WITH batch AS ({BATCH_SQL}),
parsed AS (
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

# Access-log records as the gateway writes them ($context names, "-" for absent text, numbers as float64 with NaN
# for null), plus three columns the collector adds: key and lambda_key (CRC-32s of the two request ids, computed in
# Python: stable across DuckDB versions) and report (the invocation's REPORT line, when it came).
ACCESS_TEXT = ("requestId", "extendedRequestId", "integrationRequestId", "xrayTraceId", "stage", "routeKey",
               "httpMethod", "path", "errorResponseType", "errorMessage", "integrationErrorMessage",
               "validationErrorString", "authorizerError", "principalId", "functionName", "sourceIp", "userAgent")
_CALLER_SET = frozenset({"principalId", "authorizerError", "errorMessage", "integrationErrorMessage"})
ACCESS_NUMBERS = ("requestTimeEpoch", "status", "responseLatency", "integrationLatency", "authorizerLatency",
                  "responseLength")


def report_field(column: str, name: str, cast: str) -> str:
    """SQL for one field of a REPORT line ('...<tab>Billed Duration: 3 ms<tab>...'; NULL when absent): split_part
    costs half a regular expression. The tab before the name tells Duration from Billed and Init Duration."""
    return f"TRY_CAST(nullif(split_part(split_part({column}, chr(9) || '{name}: ', 2), ' ', 1), '') AS {cast})"


def _report_part(position: int, name: str, word: int, cast: str) -> str:
    """One field of a REPORT line split at its tabs (a.rp): Lambda writes them in a fixed order, which is checked."""
    return (f"CASE WHEN starts_with(a.rp[{position}], '{name}: ') "
            f"THEN TRY_CAST(split_part(a.rp[{position}], ' ', {word}) AS {cast}) END")


# 'REPORT RequestId: id<tab>Duration: 3.10 ms<tab>Billed Duration: 4 ms<tab>Memory Size: 512 MB<tab>Max Memory Used:
# 61 MB<tab>Init Duration: 120.50 ms<tab>': one split at the tabs, then each field at its place (a regular
# expression costs three times as much per row; split_part by name has a high fixed cost per statement)
_REPORT_COLUMNS = ", ".join((
    _report_part(6, "Init Duration", 3, "DOUBLE"), _report_part(2, "Duration", 2, "DOUBLE"),
    _report_part(3, "Billed Duration", 3, "INTEGER"), _report_part(5, "Max Memory Used", 4, "SMALLINT")))


REQUESTS_SQL = rf"""INSERT INTO requests
WITH a AS (
    SELECT *, TRY_CAST(nullif(integrationRequestId, '-') AS UUID) AS rid, string_split(report, chr(9)) AS rp
    FROM {ACCESS}),
facts AS (
    SELECT rid, any_value(correlation_id) AS correlation_id FROM facts GROUP BY rid)  -- small: facts leave once used
SELECT make_timestamp(TRY_CAST(a.requestTimeEpoch AS BIGINT) * 1000), nullif(a.requestId, '-'), a.key::UINTEGER,
    nullif(a.extendedRequestId, '-'), a.rid, a.lambda_key::UINTEGER, nullif(a.xrayTraceId, '-'),
    CASE WHEN f.correlation_id <> a.requestId THEN f.correlation_id END,  -- golive's default is the request id
    nullif(a.stage, '-'), nullif(a.routeKey, '-'), nullif(a.httpMethod, '-'), nullif(a.path, '-'),
    TRY_CAST(a.status AS SMALLINT),
    -- API Gateway decided when it answered with a gateway response (or matched no route); else the function did
    CASE WHEN a.errorResponseType <> '-' OR a.routeKey = '-' THEN 'gateway' ELSE 'function' END,
    nullif(a.errorResponseType, '-'),
    nullif(concat_ws(': ', coalesce(nullif(a.integrationErrorMessage, '-'), nullif(a.errorMessage, '-')),
                     nullif(a.validationErrorString, '-')), ''),
    TRY_CAST(a.responseLatency AS INTEGER), TRY_CAST(a.integrationLatency AS INTEGER),
    TRY_CAST(a.authorizerLatency AS INTEGER),
    nullif(a.authorizerError, '-'), nullif(a.principalId, '-'), nullif(a.functionName, '-'),
    CASE WHEN a.report IS NOT NULL THEN coalesce(starts_with(a.rp[6], 'Init Duration: '), FALSE) END,
    {_REPORT_COLUMNS},
    TRY_CAST(a.responseLength AS INTEGER), nullif(a.sourceIp, '-'), nullif(a.userAgent, '-'),
    -- the invocation's START, END and REPORT lines, when the row holds them (the logs view shows them)
    make_timestamp((a.ended * 1000000)::BIGINT),
    CASE WHEN a.ended IS NOT NULL THEN TRY_CAST(split_part(a.rp[4], ' ', 3) AS SMALLINT) END
FROM a LEFT JOIN facts f ON f.rid = a.rid"""
CONSUMED_SQL = f"DELETE FROM facts WHERE rid IN (SELECT TRY_CAST(integrationRequestId AS UUID) FROM {ACCESS})"


# A batch in which no line carries an exception (most of them) skips the error columns: their expressions (four
# regular expressions among them) cost a fixed few milliseconds per statement even over NULLs.
LOGS_PLAIN_SQL = rf"""INSERT INTO log_lines
WITH batch AS ({BATCH_SQL})
SELECT ts, function, rid, stream, kind,
    CASE kind WHEN 'json' THEN
        CASE upper(coalesce({_v("$.level")}, {_v("$.levelname")}, {_v("$.log_level")}))
            WHEN 'WARNING' THEN 'WARN' WHEN 'CRITICAL' THEN 'FATAL'
            ELSE upper(coalesce({_v("$.level")}, {_v("$.levelname")}, {_v("$.log_level")})) END
        WHEN 'platform' THEN CASE WHEN {_PLATFORM_ERROR} THEN 'ERROR' END END,
    CASE kind WHEN 'json' THEN coalesce({_v("$.message")}, {_v("$.msg")}) WHEN 'emf' THEN NULL ELSE line END,
    NULL, NULL, NULL, NULL, line
FROM batch"""
_ERROR_MARKS = ('"error', '"exception', '"stackTrace"', "[ERROR] ")  # '"error' covers "error" and "errorType"


def _function_text(lines: list[Any]) -> str:
    """The batch's function lines as one text, searched once per mark (not once per line) before choosing SQL."""
    return "\0".join([record.line for record in lines if record.stream != "platform"])


def _may_carry_error(text: str) -> bool:
    """False when no line certainly has an exception for the error columns."""
    return any(mark in text for mark in _ERROR_MARKS)


# The REPORT lines the logs view writes back byte for byte from a request row (the local Lambda service's; a
# deployed REPORT with other fields, XRAY TraceId for one, is stored as a line)
_HELD_REPORT = re.compile(r"REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
                          r"Memory Size: \d+ MB\tMax Memory Used: \d+ MB\t(?:Init Duration: \d+\.\d\d ms\t)?")


def _holdable(record: Any, is_report: bool) -> bool:
    """A START, END or REPORT line that a request row can hold: the logs view writes it back exactly."""
    lambda_id, line = record.request_id, record.line
    if len(lambda_id) != 36 or lambda_id != lambda_id.lower():  # the view writes the UUID in its canonical form
        return False
    if is_report:
        return _HELD_REPORT.fullmatch(line) is not None and line[18:54] == lambda_id
    return line == f"START RequestId: {lambda_id} Version: $LATEST" or line == "END RequestId: " + lambda_id


def _whole(group: list[Any], report: Any, record: dict[str, Any]) -> bool:
    """The held lines are exactly START, END and this REPORT, of the function the request names."""
    return (len(group) == 3 and group[2] is report and group[0].line.startswith("START ")
            and group[1].line.startswith("END ") and report.function == record.get("functionName"))


def request_key(request_id: str | None) -> int | None:
    """The 4-byte key a drill-down scans first (comparing 4 bytes per row instead of decompressing strings)."""
    return None if request_id is None else zlib.crc32(request_id.encode())


def lambda_key(lambda_id: str | None) -> int | None:
    """The 4-byte key a drill-down by Lambda request id scans: the CRC-32 of the UUID in its canonical text."""
    if lambda_id is None or lambda_id == "-":
        return None
    return zlib.crc32(lambda_id.lower().encode())


def _text_key(value: Any) -> int | None:
    return zlib.crc32(value.encode()) if isinstance(value, str) and value != "-" else None


def line_columns(lines: list[Any]) -> dict[str, Any]:
    """A batch of LogRecords as the columns DuckDB scans (the strings themselves: no copy, no encoding)."""
    import numpy as np  # CLI side only (golive dev): the runtime never imports it

    count = len(lines)
    columns = {"ts": np.fromiter(map(attrgetter("timestamp"), lines), dtype=np.float64, count=count)}
    for column, field in (("function", "function"), ("rid", "request_id"), ("stream", "stream"), ("line", "line")):
        columns[column] = np.fromiter(map(attrgetter(field), lines), dtype=object, count=count)
    return columns


def access_columns(records: list[dict[str, Any]], reports: list[str | None],
                   ended: list[float | None]) -> dict[str, Any]:
    """Access-log records (never modified: they are the gateway's), their REPORT lines and, for a row that holds
    its invocation's START/END/REPORT lines, when they were written (epoch seconds) as columns."""
    import numpy as np

    count = len(records)
    try:  # the gateway's records carry every field: each column filled in C, no tuple per record
        text = {name: np.fromiter(map(itemgetter(name), records), dtype=object, count=count) for name in ACCESS_TEXT}
        numbers = {name: list(map(itemgetter(name), records)) for name in ACCESS_NUMBERS}
    except KeyError:  # records from elsewhere may leave fields out: NULL
        text = {name: np.array([record.get(name) for record in records], dtype=object) for name in ACCESS_TEXT}
        numbers = {name: [record.get(name) for record in records] for name in ACCESS_NUMBERS}
    columns: dict[str, Any] = text
    for name in _CALLER_SET:  # an authorizer's principalId may be a number: stored as its text
        column = text[name]
        if any(value is not None and value.__class__ is not str for value in column):
            columns[name] = np.array([v if v is None or v.__class__ is str else str(v) for v in column], dtype=object)
    for name, values in numbers.items():
        try:
            columns[name] = np.array(values, dtype=np.float64)  # None is NaN, which DuckDB reads as NULL
        except (TypeError, ValueError):  # not a number: NULL
            columns[name] = np.array([v if isinstance(v, int | float) else None for v in values], dtype=np.float64)
    request_ids = text["requestId"]
    columns["key"] = np.array([_text_key(value) for value in request_ids], dtype=np.float64)
    columns["lambda_key"] = np.array([lambda_key(value) for value in text["integrationRequestId"]], dtype=np.float64)
    columns["report"] = np.array(reports, dtype=object)
    columns["ended"] = np.array(ended, dtype=np.float64)
    return columns


class Collector(BatchWriter):
    """Buffers the local cloud's records and writes them to `store` from a background thread."""

    def __init__(self, store: Store, *, flush_interval: float = FLUSH_INTERVAL_S,
                 join_wait: float = JOIN_WAIT_S) -> None:
        import numpy  # noqa: F401  (the batches' columns; loaded as dev starts, not by the first batch beside a request)

        super().__init__(flush_interval, BUSY_SHARE, MAX_INTERVAL_S)
        self.store = store
        self.join_wait = join_wait
        self._access: list[dict[str, Any]] = []
        self._lines: list[Any] = []
        # requests waiting for their REPORT line, and when each arrived (parallel lists: no tuple per request for the
        # garbage collector to count)
        self._pending: list[dict[str, Any]] = []
        self._pending_since: list[float] = []
        self._reports: dict[str, Any] = {}  # Lambda request id -> its REPORT line's record, until its request is stored
        self._reported_at: dict[str, float] = {}  # ... and when it came
        # an invocation's START, END and REPORT lines, until its request's row takes them (or join_wait passes), and
        # invocations whose lines are stored as lines (their request came late or never)
        self._held: dict[str, list[Any]] = {}
        self._held_since: dict[str, float] = {}
        self._spilled: dict[str, float] = {}
        self._flush_lock = threading.Lock()
        self._cursor: Any = None
        self._facts = False  # the connection's temporary facts table exists
        self._facts_rows = 0  # rows in it (a DELETE on an empty table still costs a statement)
        self._facts_pruned = time.monotonic()
        self._last_prune = 0.0
        self._wrote_at = time.monotonic()  # when a batch last stored rows (an idle server checkpoints)
        self.rows_written = 0
        self.listeners: list[Callable[[], None]] = []  # told after each batch is stored (tail followers)

    # -- the hot path: appends only (list.append is atomic) ---------------------------------------------------
    def on_access_log(self, record: dict[str, Any]) -> None:
        self._access.append(record)

    def on_function_log(self, record: Any) -> None:
        self._lines.append(record)

    # -- the background thread (BatchWriter) --------------------------------------------------------------------
    thread_name = "golive-telemetry"

    def close(self) -> None:
        """Store everything still buffered (requests without a REPORT line too), then stop."""
        self.stop()
        self.flush(final=True)

    def after_flush(self) -> None:
        now = time.monotonic()
        if now - self._last_prune > PRUNE_EVERY_S:
            self._last_prune = now
            with self._flush_lock:
                self.store.prune(cursor=self._cursor)
        elif now - self._wrote_at >= IDLE_CHECKPOINT_S and self.store.wal_bytes():
            # idle: the write-ahead log's rows go into the file now, not inside a commit beside requests
            with self._flush_lock:
                self.store.checkpoint(self._cursor)

    def flush(self, final: bool = False) -> int:
        """Store what arrived; returns the rows written."""
        with self._flush_lock:
            if self._cursor is None:
                self._cursor = self.store.cursor()
            lines, self._lines = self._lines, []
            access, self._access = self._access, []
            now = time.monotonic()
            stored = self._hold(lines, now)
            self._pending += access
            self._pending_since += [now] * len(access)
            ready: list[dict[str, Any]] = []
            reports: list[str | None] = []
            ended: list[float | None] = []
            waiting: list[dict[str, Any]] = []
            waiting_since: list[float] = []
            reports_by_id, reported_at, held = self._reports, self._reported_at, self._held
            for arrived, record in zip(self._pending_since, self._pending, strict=True):
                lambda_id: str | None = record.get("integrationRequestId")
                if lambda_id == "-":
                    lambda_id = None
                report = reports_by_id.pop(lambda_id, None) if lambda_id else None
                if report is not None:
                    del reported_at[str(lambda_id)]
                elif lambda_id and not final and now - arrived < self.join_wait:
                    waiting.append(record)
                    waiting_since.append(arrived)
                    continue
                ready.append(record)
                reports.append(report.line if report is not None else None)
                group = held.pop(lambda_id, None) if lambda_id else None
                if group is not None:
                    del self._held_since[str(lambda_id)]
                if group is not None and report is not None and _whole(group, report, record):
                    ended.append(report.timestamp)  # the row holds START, END and REPORT
                    continue
                ended.append(None)
                if group is not None:  # an invocation cut short (no REPORT yet): its lines as lines
                    stored += group
                    self._spilled[str(lambda_id)] = now
            self._pending, self._pending_since = waiting, waiting_since
            stored += self._spill(now, final)
            if len(reported_at) > 1000:  # REPORT lines of invocations no request named (authorizers) are forgotten
                for key in [key for key, seen in reported_at.items() if now - seen > FORGET_S]:
                    del reported_at[key], reports_by_id[key]
            cursor = self._cursor
            if self._facts is False:
                cursor.execute(FACTS_TABLE)
                self._facts = True
            if not (stored or ready):
                return 0
            cursor.execute("BEGIN TRANSACTION")  # one commit per batch
            try:
                written = self._write(cursor, stored, ready, reports, ended)
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            finally:
                for name in (LINES, ACCESS):
                    cursor.unregister(name)  # the arrays go with the batch
            self.rows_written += written
        if written:
            self._wrote_at = time.monotonic()
            for listener in list(self.listeners):
                listener()
        return written

    def _hold(self, lines: list[Any], now: float) -> list[Any]:
        """The lines to store as rows; an invocation's START, END and REPORT lines wait in `_held` for its request
        (whose row will hold them), and each REPORT line in `_reports` (its row takes Duration, Billed, ...)."""
        stored = []
        held, held_since, spilled = self._held, self._held_since, self._spilled
        reports_by_id, reported_at = self._reports, self._reported_at
        for record in lines:
            lambda_id = record.request_id
            if record.stream == "platform" and lambda_id:
                is_report = record.line.startswith(_REPORT_PREFIX)
                if is_report:
                    reports_by_id[lambda_id] = record
                    reported_at[lambda_id] = now
                if lambda_id not in spilled and _holdable(record, is_report):
                    group = held.get(lambda_id)
                    if group is None:
                        held[lambda_id] = [record]
                        held_since[lambda_id] = now
                    else:
                        group.append(record)
                    continue
            stored.append(record)
        return stored

    def _spill(self, now: float, final: bool) -> list[Any]:
        """Held lines no request claimed within join_wait (an authorizer's, a direct invocation's), as lines; later
        lines of those invocations are stored as lines too (`_spilled`)."""
        held, held_since, spilled = self._held, self._held_since, self._spilled
        stored: list[Any] = []
        while held_since:
            lambda_id, since = next(iter(held_since.items()))  # oldest first: dicts keep insertion order
            if not final and now - since < self.join_wait:
                break
            del held_since[lambda_id]
            stored += held.pop(lambda_id)
            spilled[lambda_id] = now
        while spilled:
            lambda_id, since = next(iter(spilled.items()))
            if now - since < FORGET_S:
                break
            del spilled[lambda_id]
        return stored

    def _write(self, cursor: Any, lines: list[Any], ready: list[dict[str, Any]], reports: list[str | None],
               ended: list[float | None]) -> int:
        written = 0
        run = self.store.run
        if lines:
            cursor.register(LINES, line_columns(lines))
            text = _function_text(lines)
            written += run(LOGS_SQL if _may_carry_error(text) else LOGS_PLAIN_SQL, [], cursor)
            if '"correlation_id"' in text:  # a batch of platform lines and plain logs has no facts
                self._facts_rows += run(FACTS_SQL, [], cursor)
        if ready:
            cursor.register(ACCESS, access_columns(ready, reports, ended))
            written += run(REQUESTS_SQL, [], cursor)
            # a service whose functions log no correlation id has no facts to delete
            if self._facts_rows and any(record.get("integrationRequestId") not in (None, "-") for record in ready):
                self._facts_rows = max(0, self._facts_rows - run(CONSUMED_SQL, [], cursor))
        if time.monotonic() - self._facts_pruned > FORGET_S:
            self._facts_pruned = time.monotonic()
            self._facts_rows = max(0, self._facts_rows - run(FORGET_FACTS_SQL,
                                                              [int((time.time() - FORGET_S) * 1_000_000)], cursor))
        return written
