"""Questions asked of the telemetry store: stats per route, a request and everything it left, logs, grouped errors,
read-only SQL. Each takes a DuckDB cursor and returns plain JSON-able dicts (the CLI, the dev server's HTTP API and
the dashboard share them)."""

from __future__ import annotations

import datetime as dt
import re
import shlex
import time
import uuid
from typing import Any

from golive.telemetry.collector import lambda_key, request_key
from golive.telemetry.model import metrics_sql
from golive.telemetry.spans import request_spans
from golive.telemetry.values import jsonable

BY = ("route", "status", "minute")
_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_CONDITION = re.compile(r"^([A-Za-z_]+)\s*(>=|<=|!=|=|>|<|~)(.*)$", re.S)
# filter field -> (SQL over requests r, numeric); `level` and `message` look at the request's log lines
FILTER_FIELDS: dict[str, tuple[str, bool]] = {
    "route": ("r.route", False), "status": ("r.status", True), "method": ("r.method", False),
    "path": ("r.path", False), "function": ("r.function", False), "decided_by": ("r.decided_by", False),
    "error_type": ("r.error_type", False), "stage": ("r.stage", False), "principal": ("r.principal", False),
    "latency_ms": ("r.latency_ms", True), "cold_start": ("r.cold_start", False),
    "level": ("l.level", False), "message": ("l.message", False),
}
_LOG_FIELDS = frozenset({"level", "message"})
_OPERATORS = {"=": "=", "!=": "<>", ">=": ">=", "<=": "<=", ">": ">", "<": "<"}


class QueryError(ValueError):
    """Bad input to a query (a filter, a duration, SQL): the message is one line saying what to fix."""


def parse_since(text: str | None) -> float | None:
    """'90s', '30m', '1h', '2d', '1w' → seconds (None for no limit)."""
    if text is None or text == "":
        return None
    found = _SINCE.match(str(text))
    if not found:
        raise QueryError(f"--since {text!r} is not a duration; use a number and a unit: 90s, 30m, 1h, 2d, 1w")
    return float(found.group(1)) * _UNITS[found.group(2)]


def parse_filter(text: str | None) -> tuple[str, list[Any]]:
    """'level=ERROR route="GET /users/{id}" status>=500' → a SQL condition over requests r and its parameters.
    Conditions are ANDed; `~` means contains; level and message match any of the request's log lines."""
    if not text or not text.strip():
        return "TRUE", []
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise QueryError(f"--filter {text!r}: {exc}; quote values with spaces: route=\"GET /users/{{id}}\"") from None
    request_parts: list[str] = []
    log_parts: list[str] = []
    request_params: list[Any] = []
    log_params: list[Any] = []
    for token in tokens:
        found = _CONDITION.match(token)
        if not found:
            raise QueryError(f"--filter: {token!r} is not FIELD=VALUE; fields: {', '.join(FILTER_FIELDS)}; "
                             f"operators: = != > >= < <= ~ (contains)")
        field, operator, value = found.group(1).lower(), found.group(2), found.group(3)
        if field not in FILTER_FIELDS:
            raise QueryError(f"--filter: unknown field {field!r}; use one of {', '.join(FILTER_FIELDS)}")
        column, numeric = FILTER_FIELDS[field]
        parts, params = (log_parts, log_params) if field in _LOG_FIELDS else (request_parts, request_params)
        if operator == "~":
            parts.append(f"contains(lower({column}::VARCHAR), lower(?))")
            params.append(value)
            continue
        if numeric:
            try:
                number: Any = float(value) if "." in value else int(value)
            except ValueError:
                raise QueryError(f"--filter: {field} takes a number, not {value!r}") from None
            parts.append(f"{column} {_OPERATORS[operator]} ?")
            params.append(number)
        elif field == "cold_start":
            if value.lower() not in ("true", "false") or operator not in ("=", "!="):
                raise QueryError("--filter: cold_start=true or cold_start=false")
            parts.append(f"{column} {_OPERATORS[operator]} ?")
            params.append(value.lower() == "true")
        else:
            if field == "level":
                value = {"WARNING": "WARN"}.get(value.upper(), value.upper())
            if field == "route":
                value = " ".join(value.split())
            parts.append(f"{column} {_OPERATORS[operator]} ?")
            params.append(value)
    condition = " AND ".join(request_parts) or "TRUE"
    if log_parts:
        condition += (" AND EXISTS (SELECT 1 FROM logs l WHERE l.lambda_request_id = r.lambda_request_id AND "
                      + " AND ".join(log_parts) + ")")
    return condition, request_params + log_params


def _since_condition(since_s: float | None, column: str = "ts") -> tuple[str, list[Any]]:
    if since_s is None:
        return "TRUE", []
    return f"{column} >= make_timestamp(?::BIGINT)", [int((time.time() - since_s) * 1_000_000)]


def _records(cursor: Any) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, (jsonable(value) for value in row), strict=True)) for row in cursor.fetchall()]


def stats(cur: Any, since_s: float | None = None, by: str = "route") -> dict[str, Any]:
    """Per route (or status, or minute): count, 2xx, 4xx and 5xx split into gateway-made and function-made,
    latency p50/p95/p99, cold starts, throttles; and the same over everything."""
    if by not in BY:
        raise QueryError(f"--by {by!r}: use one of {', '.join(BY)}")
    # keys are formatted after grouping: formatting a million timestamps costs more than the whole aggregation
    key = {"route": "coalesce(route, '(no route)')", "status": "status", "minute": "date_trunc('minute', ts)"}[by]
    where, params = _since_condition(since_s)
    # One scan into a histogram (key, status, who decided, cold, throttled, latency → count): a few thousand rows
    # at most, from which every count and the exact percentiles follow. Eleven FILTER aggregates and three
    # percentiles over the rows themselves cost three times as much.
    histogram = cur.execute(f"""
        SELECT {key} AS key, status, decided_by = 'gateway' AS gateway, coalesce(cold_start, FALSE) AS cold,
               error_type IN ('THROTTLED', 'QUOTA_EXCEEDED') OR status = 429 AS throttled, latency_ms, count(*) AS n
        FROM requests WHERE {where} GROUP BY ALL""", params).fetchall()
    groups: dict[str, _Tally] = {}
    total = _Tally()
    for row in histogram:
        groups.setdefault(row[0], _Tally()).add(*row[1:])
        total.add(*row[1:])
    rows = [{"key": _stats_key(name), **tally.summary()} for name, tally in groups.items()]
    rows.sort(key=(lambda r: (-r["count"], r["key"])) if by == "route" else (lambda r: r["key"]))
    return {"by": by, "since_s": since_s, "rows": rows, "total": total.summary() if total.count else {"count": 0}}


def _stats_key(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%MZ")
    return "-" if value is None else str(value)


class _Tally:
    """Counts and a latency histogram for one stats row."""

    __slots__ = ("cold", "count", "counts", "latencies", "throttled")

    def __init__(self) -> None:
        self.count = self.cold = self.throttled = 0
        self.counts = {"ok": 0, "gateway_4xx": 0, "function_4xx": 0, "gateway_5xx": 0, "function_5xx": 0,
                       "gateway": 0, "function": 0}
        self.latencies: dict[int, int] = {}

    def add(self, status: int | None, gateway: bool, cold: bool, throttled: bool, latency: int | None,
            n: int) -> None:
        self.count += n
        who = "gateway" if gateway else "function"
        self.counts[who] += n
        if status is not None:
            if status < 400:
                self.counts["ok"] += n
            elif status < 500:
                self.counts[f"{who}_4xx"] += n
            else:
                self.counts[f"{who}_5xx"] += n
        if cold:
            self.cold += n
        if throttled:
            self.throttled += n
        if latency is not None:
            self.latencies[latency] = self.latencies.get(latency, 0) + n

    def summary(self) -> dict[str, Any]:
        p50, p95, p99 = _percentiles(self.latencies, (0.5, 0.95, 0.99))
        return {"count": self.count, **self.counts, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
                "cold_starts": self.cold, "throttles": self.throttled}


def _percentiles(histogram: dict[int, int], quantiles: tuple[float, ...]) -> list[float | None]:
    """Exact percentiles of a value → count histogram, interpolated as quantile_cont (and numpy's default) are."""
    total = sum(histogram.values())
    if total == 0:
        return [None for _ in quantiles]
    values = sorted(histogram.items())
    results: list[float | None] = []
    for q in quantiles:
        position = (total - 1) * q
        low_rank, fraction = int(position), position - int(position)
        low = high = None
        seen = 0
        for value, n in values:
            if low is None and seen + n > low_rank:
                low = value
            if seen + n > low_rank + (1 if fraction else 0):
                high = value
                break
            seen += n
        assert low is not None and high is not None
        results.append(round(low + (high - low) * fraction, 1))
    return results


percentiles = _percentiles  # public: the dashboard's board interpolates exactly as `golive stats` does


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def find_request(cur: Any, any_id: str) -> dict[str, Any] | None:
    """The request any of its ids names (API Gateway's request id or extended id, the Lambda request id, the trace
    id, the correlation id), with its log lines and metrics; None when no request has it.

    Cheapest first: the 4-byte request_key, then lambda_key (CRC-32s of the two request ids), the trace id within
    the minutes its own timestamp names; only then a scan of the correlation and extended ids (and of trace ids a
    client sent)."""
    any_id = any_id.strip()
    if any_id.startswith("Root="):
        any_id = any_id[5:].split(";", 1)[0]
    as_uuid = _uuid(any_id)
    key = request_key(any_id)
    # two queries, not one with OR: each is a filter DuckDB pushes into the scan (an OR across columns is not, and
    # decompressed every request id: three times slower)
    rowids = [rowid for rowid, request_id in cur.execute(
        "SELECT rowid, request_id FROM requests WHERE request_key = ?", [key]).fetchall()
        if request_id == any_id]  # crc32 can collide
    if not rowids and as_uuid is not None:
        rowids = [rowid for rowid, lambda_id in cur.execute(
            "SELECT rowid, lambda_request_id FROM requests WHERE lambda_key = ?", [lambda_key(as_uuid)]).fetchall()
            if str(lambda_id) == as_uuid][:1]
    trace = _TRACE.match(any_id)
    if not rowids and trace:
        epoch = int(trace.group(1), 16)
        rowids = [row[0] for row in cur.execute(
            "SELECT rowid FROM requests WHERE ts BETWEEN make_timestamp(?::BIGINT) AND make_timestamp(?::BIGINT) "
            "AND trace_id = ? LIMIT 1", [(epoch - 600) * 1_000_000, (epoch + 3600) * 1_000_000, any_id]).fetchall()]
    if not rowids:  # a client's own trace root, a correlation id it sent, the extended id
        rowids = [row[0] for row in cur.execute(
            "SELECT rowid FROM requests WHERE correlation_id = $1 OR extended_request_id = $1 OR trace_id = $1 "
            "LIMIT 1", [any_id]).fetchall()]
    if not rowids:
        if as_uuid is None:
            return None
        lines = _lines_for(cur, [as_uuid])
        return {"request": None, "logs": lines, "metrics": _metrics_for(cur, [as_uuid]), "spans": []} \
            if lines else None
    # fetching one row by rowid reads one row; `SELECT * ... WHERE <filter>` decompresses every string column
    request = _records(cur.execute("SELECT * FROM requests WHERE rowid = ?", [rowids[0]]))[0]
    if request["correlation_id"] is None:
        request["correlation_id"] = request["request_id"]
    lambda_id = request["lambda_request_id"]
    window = _window([request["ts"]])
    lines = _lines_for(cur, [lambda_id], window) if lambda_id else []
    has_emf = any(line["kind"] == "emf" for line in lines)
    trace_id = request["trace_id"]
    found = {"request": request, "logs": lines,
             "metrics": _metrics_for(cur, [lambda_id], window) if has_emf else [],
             "spans": request_spans(cur, trace_id, request["request_id"], request["ts"], window) if trace_id else []}
    return found


_TRACE = re.compile(r"^1-([0-9a-f]{8})-[0-9a-f]{24}$")


def _uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


# An invocation's lines are written between its request's arrival and Lambda's longest timeout (15 minutes) after:
# a time window lets DuckDB skip every other row group of the logs table by its min/max timestamps.
_BEFORE_S, _AFTER_S = 60, 960


def _window(iso_times: list[str]) -> tuple[int, int]:
    epochs = [dt.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() for t in iso_times]
    return int((min(epochs) - _BEFORE_S) * 1_000_000), int((max(epochs) + _AFTER_S) * 1_000_000)


def _lines_for(cur: Any, lambda_ids: list[str], window: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    where, params = _invocations(lambda_ids, window)
    return _records(cur.execute(f"SELECT * FROM logs WHERE {where} ORDER BY ts", params))


def _metrics_for(cur: Any, lambda_ids: list[str], window: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    where, params = _invocations(lambda_ids, window)
    return _records(cur.execute(f"SELECT * FROM ({metrics_sql(where)}) ORDER BY ts", params))


def _invocations(lambda_ids: list[str], window: tuple[int, int] | None) -> tuple[str, list[Any]]:
    # one id (a drill-down) compares with = : half the cost of binding a one-element list for ANY
    match, ids = ("lambda_request_id = ?::UUID", lambda_ids[0]) if len(lambda_ids) == 1 else \
        ("lambda_request_id = ANY(?::UUID[])", lambda_ids)
    if window is None:
        return match, [ids]
    return f"ts BETWEEN make_timestamp(?::BIGINT) AND make_timestamp(?::BIGINT) AND {match}", [*window, ids]


def logs(cur: Any, since_s: float | None = None, filter_text: str | None = None, limit: int = 200,
         after: str | None = None) -> dict[str, Any]:
    """The latest `limit` requests matching the filter (oldest first), each with its log lines beneath.
    `after` (an ISO time from a previous answer) returns only requests stored later, for --tail."""
    condition, params = parse_filter(filter_text)
    since, since_params = _since_condition(since_s, "r.ts")
    extra, extra_params = "TRUE", []
    if after:
        extra, extra_params = "r.ts > ?::TIMESTAMP", [after.rstrip("Z")]
    requests = _records(cur.execute(
        f"SELECT * FROM (SELECT r.* FROM requests r WHERE {since} AND {extra} AND {condition} "
        f"ORDER BY r.ts DESC LIMIT ?) ORDER BY ts", since_params + extra_params + params + [max(1, int(limit))]))
    lambda_ids = [r["lambda_request_id"] for r in requests if r["lambda_request_id"]]
    by_id: dict[str, list[dict[str, Any]]] = {}
    if lambda_ids:
        for line in _lines_for(cur, lambda_ids, _window([r["ts"] for r in requests])):
            by_id.setdefault(line["lambda_request_id"], []).append(line)
    for request in requests:
        if request["correlation_id"] is None:
            request["correlation_id"] = request["request_id"]
        request["logs"] = by_id.get(request["lambda_request_id"] or "", [])
    return {"requests": requests}


def errors(cur: Any, since_s: float | None = None, limit: int = 50) -> dict[str, Any]:
    """Errors grouped by fingerprint (exception type + normalised innermost frames + route), most frequent first."""
    where, params = _since_condition(since_s, "l.ts")
    rows = _records(cur.execute(
        f"""SELECT md5(concat_ws('|', l.error_type, l.error_frames, r.route))[:12] AS fingerprint,
               any_value(l.error_type) AS error_type, arg_max(l.error_message, l.ts) AS last_message,
               r.route AS route, any_value(l.error_frames) AS frames, count(*) AS count,
               min(l.ts) AS first_seen, max(l.ts) AS last_seen,
               arg_max(coalesce(r.request_id, l.lambda_request_id::VARCHAR), l.ts) AS example_request_id,
               arg_max(l.error_stack, l.ts) AS example_stack
        FROM logs l LEFT JOIN requests r ON r.lambda_request_id = l.lambda_request_id
        WHERE l.error_type IS NOT NULL AND {where}
        GROUP BY fingerprint, r.route ORDER BY count DESC, last_seen DESC LIMIT ?""", [*params, limit]))
    return {"errors": rows}


def read_only_sql(cur: Any, sql: str, limit: int = 10_000) -> dict[str, Any]:
    """Run one read-only statement (SELECT, WITH ... SELECT, DESCRIBE, SHOW, EXPLAIN); writes are refused."""
    import duckdb

    try:
        statements = cur.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"bad SQL: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise QueryError("pass exactly one SQL statement")
    statement = statements[0]
    if statement.type not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):  # DESCRIBE, SHOW too
        raise QueryError(f"golive query is read-only: {statement.type.name} statements are refused; use SELECT")
    try:
        result = cur.execute(sql)
        names = [column[0] for column in result.description or []]
        rows = [[jsonable(value) for value in row] for row in result.fetchmany(limit + 1)]
    except duckdb.Error as exc:
        raise QueryError(f"bad SQL: {_first_line(exc)}") from None
    return {"columns": names, "rows": rows[:limit], "truncated": len(rows) > limit}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
