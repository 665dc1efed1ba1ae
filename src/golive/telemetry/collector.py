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

FLUSH_INTERVAL_S = 0.05  # a request reaches the store within about this much after its REPORT line
JOIN_WAIT_S = 2.0  # how long a request waits for its invocation's REPORT line before it is stored without one
FORGET_S = 120.0  # REPORT lines of invocations no request named (authorizers) are forgotten after this
PRUNE_EVERY_S = 600.0
TOP_FRAMES = 3  # the innermost frames that identify an error (with its type and route)
JOIN_LOOKBACK_S = 60  # a request's invocation lines are looked for from this long before its arrival

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False, ensure_ascii=False).encode
_REPORT_PREFIX = "REPORT RequestId: "

# Lines Python's tracebacks leave: 'File "/var/task/users/api.py", line 88, in get_user' → 'api.py:get_user'
_FRAME_SQL = r"""nullif(array_to_string(list_reverse(regexp_extract_all(regexp_replace(replace(error_stack, chr(160),
    ' '), 'File "(?:[^"]*[/\\])?([^"/\\]+)", line \d+, in (\S+)', chr(1) || '\1:\2' || chr(1), 'g'),
    chr(1) || '([^' || chr(1) || ']+)' || chr(1), 1)[-TOP:]), ' < '), '')""".replace("TOP", str(TOP_FRAMES))

# One staged row per line: [epoch ms, function, Lambda request id, stream, line]
_STAGED_LINES = """SELECT make_timestamp((j[1]::DOUBLE * 1000)::BIGINT) AS ts, j[2] AS function,
        TRY_CAST(j[3] AS UUID) AS rid, j[4] AS stream, j[5] AS line
    FROM (SELECT from_json(json, '["VARCHAR"]') AS j FROM read_ndjson_objects(?))"""

LOGS_SQL = rf"""INSERT INTO logs
WITH raw AS ({_STAGED_LINES}),
kinds AS (
    SELECT *, CASE WHEN stream = 'platform' THEN 'platform'
                   WHEN starts_with(line, '{{') AND json_valid(line) THEN
                       CASE WHEN json_type(line, '$._aws.CloudWatchMetrics') = 'ARRAY' THEN 'emf' ELSE 'json' END
                   ELSE 'text' END AS kind,
        -- Lambda's Python runtime: '[ERROR] Type: message\rTraceback ...', one event
        regexp_extract(line, '^\[ERROR\] ([\w.]+): ?([^\r]*)', ['type', 'message']) AS text_error
    FROM raw),
fields AS (
    SELECT ts, function, rid, stream, kind, line,
        CASE kind WHEN 'json' THEN upper(coalesce(line->>'$.level', line->>'$.levelname', line->>'$.log_level'))
                  WHEN 'text' THEN CASE WHEN text_error.type <> '' THEN 'ERROR' END
                  WHEN 'platform' THEN CASE WHEN contains(line, ' Error: ') OR starts_with(line, 'Runtime.')
                                                 OR starts_with(line, 'Sandbox.') THEN 'ERROR' END END AS raw_level,
        CASE kind WHEN 'json' THEN coalesce(line->>'$.message', line->>'$.msg') WHEN 'emf' THEN NULL
                  WHEN 'text' THEN CASE WHEN text_error.type <> '' THEN text_error.type || ': ' || text_error.message
                                        ELSE line END
                  ELSE line END AS message,
        -- golive's logger.exception (error.type/message/stack), Powertools (exception_name, exception), Lambda's
        -- error document (errorType, errorMessage, stackTrace), or the runtime's text line
        CASE kind WHEN 'json' THEN coalesce(line->>'$.error.type', line->>'$.exception_name', line->>'$.errorType')
                  WHEN 'text' THEN nullif(text_error.type, '') END AS error_type,
        CASE kind WHEN 'json' THEN coalesce(line->>'$.error.message', line->>'$.errorMessage',
                                            CASE WHEN line->>'$.exception_name' IS NOT NULL THEN line->>'$.message' END)
                  WHEN 'text' THEN CASE WHEN text_error.type <> '' THEN text_error.message END END AS error_message,
        CASE kind WHEN 'json' THEN coalesce(line->>'$.error.stack', line->>'$.exception',
                      CASE WHEN json_type(line, '$.stackTrace') = 'ARRAY'
                           THEN array_to_string(from_json(line->'$.stackTrace', '["VARCHAR"]'), '')
                           ELSE line->>'$.stackTrace' END)
                  WHEN 'text' THEN CASE WHEN text_error.type <> ''
                                        THEN replace(replace(line, chr(13), chr(10)), chr(160), ' ') END
        END AS error_stack
    FROM kinds)
SELECT ts, function, rid, stream, kind,
    CASE raw_level WHEN 'WARNING' THEN 'WARN' WHEN 'CRITICAL' THEN 'FATAL' ELSE raw_level END,
    message, error_type, error_message, error_stack, {_FRAME_SQL}, line
FROM fields"""

# The metric data CloudWatch extracts from each EMF document: one row per metric, dimension set and value.
METRICS_SQL = f"""INSERT INTO metrics
WITH emf AS (SELECT * FROM ({_STAGED_LINES})
             WHERE stream <> 'platform' AND starts_with(line, '{{') AND json_valid(line)
               AND json_type(line, '$._aws.CloudWatchMetrics') = 'ARRAY'),
directives AS (
    SELECT ts, function, rid, line, TRY_CAST(line->>'$._aws.Timestamp' AS DOUBLE) AS stamp,
        unnest(from_json(line->'$._aws.CloudWatchMetrics', '[{{"Namespace": "VARCHAR", "Dimensions": [["VARCHAR"]],
                                                             "Metrics": [{{"Name": "VARCHAR", "Unit": "VARCHAR"}}]}}]'))
            AS directive
    FROM emf),
metrics AS (
    SELECT ts, function, rid, line, stamp, directive.Namespace AS namespace, unnest(directive.Metrics) AS metric,
        directive.Dimensions AS sets
    FROM directives),
per_set AS (
    SELECT *, unnest(CASE WHEN coalesce(len(sets), 0) = 0 THEN [[]::VARCHAR[]] ELSE sets END) AS dimension_set,
        json_extract(line, '$."' || metric.Name || '"') AS raw_value
    FROM metrics WHERE metric.Name IS NOT NULL)
SELECT coalesce(make_timestamp((stamp * 1000)::BIGINT), ts), function, rid, namespace, metric.Name,
    unnest(CASE WHEN json_type(raw_value) = 'ARRAY' THEN TRY_CAST(from_json(raw_value, '["VARCHAR"]') AS DOUBLE[])
                ELSE [TRY_CAST(raw_value::VARCHAR AS DOUBLE)] END) AS value,
    metric.Unit,
    to_json(map_from_entries(list_transform(dimension_set,
        lambda name: {{'k': name, 'v': json_extract_string(line, '$."' || name || '"')}})))::VARCHAR
FROM per_set"""

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
    SELECT lambda_request_id AS rid,
        any_value(TRY_CAST(regexp_extract(line, '\tDuration: ([0-9.]+) ms', 1) AS DOUBLE)) AS duration,
        any_value(TRY_CAST(regexp_extract(line, 'Billed Duration: ([0-9]+) ms', 1) AS INTEGER)) AS billed,
        any_value(TRY_CAST(regexp_extract(line, 'Max Memory Used: ([0-9]+) MB', 1) AS SMALLINT)) AS memory,
        any_value(TRY_CAST(nullif(regexp_extract(line, 'Init Duration: ([0-9.]+) ms', 1), '') AS DOUBLE)) AS init
    FROM logs
    WHERE ts >= make_timestamp($since::BIGINT) AND stream = 'platform' AND starts_with(line, 'REPORT ')
      AND lambda_request_id IN (SELECT rid FROM a)
    GROUP BY 1),
correlations AS (
    SELECT lambda_request_id AS rid, any_value(line->>'$.correlation_id') AS correlation_id
    FROM logs
    WHERE ts >= make_timestamp($since::BIGINT) AND kind = 'json' AND lambda_request_id IN (SELECT rid FROM a)
      AND line->>'$.correlation_id' IS NOT NULL
    GROUP BY 1)
SELECT make_timestamp((a.requestTimeEpoch * 1000)::BIGINT), nullif(a.requestId, '-'), a._key::UINTEGER,
    nullif(a.extendedRequestId, '-'), a.rid, nullif(a.xrayTraceId, '-'),
    CASE WHEN c.correlation_id <> a.requestId THEN c.correlation_id END,  -- golive's default is the request id
    nullif(a.stage, '-'), nullif(a.routeKey, '-'), nullif(a.httpMethod, '-'), nullif(a.path, '-'), a.status,
    -- API Gateway decided when it answered with a gateway response (or matched no route); else the function did
    CASE WHEN a.errorResponseType <> '-' OR a.routeKey = '-' THEN 'gateway' ELSE 'function' END,
    nullif(a.errorResponseType, '-'),
    nullif(concat_ws(': ', coalesce(nullif(a.integrationErrorMessage, '-'), nullif(a.errorMessage, '-')),
                     nullif(a.validationErrorString, '-')), ''),
    a.responseLatency, a.integrationLatency, a.authorizerLatency, nullif(a.authorizerError, '-'),
    nullif(a.principalId, '-'), nullif(a.functionName, '-'),
    CASE WHEN r.rid IS NOT NULL THEN r.init IS NOT NULL END, r.init, r.duration, r.billed, r.memory,
    a.responseLength, nullif(a.sourceIp, '-'), nullif(a.userAgent, '-')
FROM a LEFT JOIN reports r ON r.rid = a.rid LEFT JOIN correlations c ON c.rid = a.rid"""


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
            if staged_lines:
                with self.store.staged(staged_lines) as path:
                    written += self.store.run(LOGS_SQL, [path], self._cursor)
                    written += self.store.run(METRICS_SQL, [path], self._cursor)
            if ready:
                epochs = [r.get("requestTimeEpoch") for r in ready]
                earliest = min((e for e in epochs if isinstance(e, int | float)), default=time.time() * 1000)
                since = int((earliest / 1000 - JOIN_LOOKBACK_S) * 1_000_000)
                with self.store.staged([_staged_access(record) for record in ready]) as path:
                    written += self.store.run(REQUESTS_SQL, {"path": path, "since": since},
                                              self._cursor)
            self.rows_written += written
        if written:
            for listener in list(self.listeners):
                listener()
        return written
