"""The dashboard's questions with filters: the endpoints board, time series for the chart explorer, and the
invocation list behind any bar or cell. Each takes a DuckDB cursor and returns plain JSON-able dicts; each reads
the requests table in one scan (plus a read of the ts column when no start is given; an EMF series reads the EMF
lines instead)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from golive.telemetry.queries import QueryError, parse_since, percentiles
from golive.telemetry.values import jsonable

FILTER_KEYS = ("route", "status", "status_class", "decided_by", "function", "error_type", "since", "start", "end")
NO_ROUTE = "(no route)"  # the board's row, series' group key and the route filter for requests no route matched
NONE_KEY = "(none)"  # group key and filter value of a function or error type that is absent
ALL_KEY = "all"  # the one group of group_by=none
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
METRICS = ("count", "p50", "p95", "p99", "cold_starts", "errors")
EMF_PREFIX = "emf:"
GROUP_BY = ("none", "route", "status", "status_class", "decided_by", "function", "error_type")
THROTTLE_TYPES = ("THROTTLED", "QUOTA_EXCEEDED")
MAX_BUCKETS = 1000
MAX_LIMIT = 1000
# bucket widths a person reads at a glance; series picks the narrowest that fits the requested number of buckets
NICE_BUCKETS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
                  172800, 604800)
_QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
# group key expressions over requests r: raw columns, named after grouping (formatting a million values costs more
# than the aggregation); NULLs become the keys the filters accept back
_GROUP_SQL = {"none": "NULL", "route": "r.route", "status": "r.status", "status_class": "r.status // 100",
              "decided_by": "r.decided_by", "function": "r.function", "error_type": "r.error_type"}


def _group_key(group_by: str, value: Any) -> str:
    if group_by == "none":
        return ALL_KEY
    if value is None:
        return NO_ROUTE if group_by == "route" else NONE_KEY
    return f"{value}xx" if group_by == "status_class" else str(value)


_ORDERED_BY_KEY = frozenset({"status", "status_class", "decided_by"})


@dataclass(frozen=True)
class Filters:
    """What a board, chart or invocation list is restricted to; every field None means everything.

    `since` keeps the relative range it was parsed from ('1h'), so a shared view stays relative; start and end are
    epoch seconds either way."""

    route: str | None = None
    status: int | None = None
    status_class: str | None = None
    decided_by: str | None = None
    function: str | None = None
    error_type: str | None = None
    start: float | None = None
    end: float | None = None
    since: str | None = None


def parse_filters(params: Mapping[str, str]) -> Filters:
    """URL query parameters → Filters; keys other than FILTER_KEYS are ignored (limit, metric... belong to the
    caller). Bad values raise QueryError with one line saying what to send."""
    values = {key: str(params[key]).strip() for key in FILTER_KEYS if params.get(key) is not None}
    values = {key: value for key, value in values.items() if value}  # an empty form field filters nothing
    status = None
    if "status" in values:
        try:
            status = int(values["status"])
        except ValueError:
            raise QueryError(f"status {values['status']!r} is not an HTTP status; use a number such as 404") from None
        if not 100 <= status <= 599:
            raise QueryError(f"status {status} is not an HTTP status; use 100 to 599")
    status_class = values.get("status_class", "").lower() or None
    if status_class is not None and status_class not in STATUS_CLASSES:
        raise QueryError(f"status_class {values['status_class']!r}: use one of {', '.join(STATUS_CLASSES)}")
    decided_by = values.get("decided_by", "").lower() or None
    if decided_by is not None and decided_by not in ("gateway", "function"):
        raise QueryError(f"decided_by {values['decided_by']!r}: use gateway or function")
    since = values.get("since")
    if since is not None and ("start" in values or "end" in values):
        raise QueryError("pass either since (a duration such as 1h) or start and end (times), not both")
    start = end = None
    if since is not None:
        seconds = parse_since(since)
        assert seconds is not None
        start = time.time() - seconds
    else:
        start = _parse_time("start", values.get("start"))
        end = _parse_time("end", values.get("end"))
        if start is not None and end is not None and start >= end:
            raise QueryError(f"start {values['start']!r} is not before end {values['end']!r}; swap them")
    route = " ".join(values["route"].split()) if "route" in values else None
    return Filters(route=route, status=status, status_class=status_class, decided_by=decided_by,
                   function=values.get("function"), error_type=values.get("error_type"), start=start, end=end,
                   since=since)


def _parse_time(name: str, text: str | None) -> float | None:
    """An ISO 8601 time (UTC unless it says otherwise) or epoch seconds (milliseconds when it is that large)."""
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number) or number < 0:
            raise QueryError(f"{name} {text!r} is not a time; use ISO 8601 (2026-12-04T12:00:00Z) or epoch seconds")
        return number / 1000 if number > 1e11 else number
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise QueryError(f"{name} {text!r} is not a time; use ISO 8601 (2026-12-04T12:00:00Z) or epoch "
                         f"seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def filters_to_params(f: Filters) -> dict[str, str]:
    """The URL query parameters of a view (only the filters that are set), so it can be shared and bookmarked;
    parse_filters(filters_to_params(f)) gives f back (a relative range is re-anchored to the time it is read)."""
    params: dict[str, str] = {}
    for key in ("route", "status", "status_class", "decided_by", "function", "error_type"):
        value = getattr(f, key)
        if value is not None:
            params[key] = str(value)
    if f.since is not None:
        params["since"] = f.since
    else:
        if f.start is not None:
            params["start"] = _iso(f.start)
        if f.end is not None:
            params["end"] = _iso(f.end)
    return params


def _iso(epoch: float, timespec: str = "milliseconds") -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


def _filters_document(f: Filters) -> dict[str, Any]:
    document = dataclasses.asdict(f)
    document["start"] = None if f.start is None else _iso(f.start)
    document["end"] = None if f.end is None else _iso(f.end)
    return document


def _where(f: Filters) -> tuple[str, list[Any]]:
    """The filters as a SQL condition over requests r, and its parameters."""
    parts: list[str] = []
    params: list[Any] = []
    for key, column in (("route", "r.route"), ("function", "r.function"), ("error_type", "r.error_type")):
        value = getattr(f, key)
        if value is None:
            continue
        if value == (NO_ROUTE if key == "route" else NONE_KEY):
            parts.append(f"{column} IS NULL")
        else:
            parts.append(f"{column} = ?")
            params.append(value)
    if f.status is not None:
        parts.append("r.status = ?")
        params.append(f.status)
    if f.status_class is not None:
        low = int(f.status_class[0]) * 100
        parts.append("r.status BETWEEN ? AND ?")
        params += [low, low + 99]
    if f.decided_by is not None:
        parts.append("r.decided_by = ?")
        params.append(f.decided_by)
    if f.start is not None:
        parts.append("r.ts >= make_timestamp(?::BIGINT)")
        params.append(round(f.start * 1_000_000))
    if f.end is not None:
        parts.append("r.ts < make_timestamp(?::BIGINT)")
        params.append(round(f.end * 1_000_000))
    return " AND ".join(parts) or "TRUE", params


# -- invocations -------------------------------------------------------------------------------------------------

_INVOCATION_COLUMNS = ("ts", "request_id", "lambda_request_id", "route", "method", "path", "status", "latency_ms",
                       "decided_by", "error_type", "error_message", "function", "cold_start")


def invocations(cur: Any, f: Filters, limit: int = 100, before: str | None = None) -> dict[str, Any]:
    """The requests matching the filters, newest first, `limit` at a time; `before` (the previous answer's
    next_before) pages on. Each carries the exception type its invocation's log lines recorded, if any."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    where, params = _where(f)
    if before:
        where += " AND r.ts < make_timestamp(?::BIGINT)"
        params.append(_before_us(before))
    # Top-N on (ts, rowid) first, then the columns of those rows only: sorting whole rows would decompress every
    # string column of every matching request.
    found = cur.execute(f"SELECT r.rowid, epoch_us(r.ts) FROM requests r WHERE {where} ORDER BY r.ts DESC "
                        f"LIMIT ?", [*params, limit + 1]).fetchall()
    next_before = None
    if len(found) > limit:
        # the page ends before the first left-out row's time; rows sharing that time all go to the next page
        boundary = found[limit][1]
        page = [row for row in found[:limit] if row[1] > boundary]
        if not page:  # more than `limit` requests in one microsecond: that microsecond is the page
            tie = cur.execute(f"SELECT r.rowid, epoch_us(r.ts) FROM requests r WHERE {where} AND "
                              f"r.ts = make_timestamp(?::BIGINT)", [*params, boundary]).fetchall()
            page, boundary = tie, boundary - 1
        next_before = (_EPOCH + dt.timedelta(microseconds=boundary + 1)).isoformat(timespec="microseconds") \
            .replace("+00:00", "Z")
        found = page
    rows: list[dict[str, Any]] = []
    if found:
        selected = cur.execute(f"SELECT {', '.join(_INVOCATION_COLUMNS)} FROM requests WHERE rowid = ANY(?) "
                               f"ORDER BY ts DESC, rowid DESC", [[row[0] for row in found]])
        names = [column[0] for column in selected.description]
        rows = [dict(zip(names, (jsonable(value) for value in row), strict=True)) for row in selected.fetchall()]
    exceptions = _exception_types(cur, rows)
    for row in rows:
        row["exception_type"] = exceptions.get(row["lambda_request_id"] or "")
    return {"invocations": rows, "next_before": next_before, "filters": _filters_document(f)}


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _before_us(text: str) -> int:
    """A page boundary in exact microseconds: the ISO time is read as integers, never through a float."""
    _parse_time("before", text)  # refuses what is not a time, in one line
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        value = _parse_time("before", text)
        assert value is not None
        return round(value * 1_000_000)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


# an invocation's lines are written from its request's arrival to Lambda's longest timeout (15 minutes) after; the
# window lets DuckDB skip the logs' other row groups by their min/max timestamps
_LOG_WINDOW_BEFORE_S, _LOG_WINDOW_AFTER_S = 60, 960


def _exception_types(cur: Any, rows: list[dict[str, Any]]) -> dict[str, str]:
    lambda_ids = [row["lambda_request_id"] for row in rows if row["lambda_request_id"]]
    if not lambda_ids:
        return {}
    epochs = [dt.datetime.fromisoformat(row["ts"].replace("Z", "+00:00")).timestamp() for row in rows]
    window = [int((min(epochs) - _LOG_WINDOW_BEFORE_S) * 1_000_000),
              int((max(epochs) + _LOG_WINDOW_AFTER_S) * 1_000_000)]
    found = cur.execute(
        "SELECT lambda_request_id::VARCHAR, arg_min(error_type, ts) FROM logs "
        "WHERE ts BETWEEN make_timestamp(?::BIGINT) AND make_timestamp(?::BIGINT) "
        "AND lambda_request_id = ANY(?::UUID[]) AND error_type IS NOT NULL GROUP BY 1",
        [*window, lambda_ids]).fetchall()
    return {lambda_id: error_type for lambda_id, error_type in found}


# -- the time axis -----------------------------------------------------------------------------------------------

def _time_range(cur: Any, f: Filters) -> tuple[float, float]:
    """The range a chart covers: the filters' start and end; without a start, from the oldest matching request
    (without an end, until now)."""
    end = f.end if f.end is not None else time.time()
    start = f.start
    if start is None:
        where, params = _where(f)
        row = cur.execute(f"SELECT epoch_us(min(r.ts)) FROM requests r WHERE {where}", params).fetchone()
        start = row[0] / 1_000_000 if row and row[0] is not None else end - 3600
        start = min(start, end - 1)
    return start, end


def _timeline(start: float, end: float, buckets: int, nice: bool = True) -> tuple[float, float, int]:
    """(first bucket's start, bucket width in seconds, number of buckets) covering [start, end)."""
    buckets = max(1, min(int(buckets), MAX_BUCKETS))
    span = max(end - start, 1e-3)
    if not nice:
        return start, span / buckets, buckets
    # (a hundredth of a bucket of slack: since=1h read a moment later still gets 60 one-minute buckets)
    width = next((w for w in NICE_BUCKETS_S if math.ceil(span / w - 0.01) <= buckets), None)
    if width is None:
        width = math.ceil(span / buckets / 86400) * 86400
    first = math.floor(start / width) * width
    return first, float(width), max(1, math.ceil((end - first) / width))


def _bucket_sql(first: float, width: float) -> tuple[str, list[Any]]:
    return "((epoch_us(r.ts) - ?) // ?)::INTEGER", [int(first * 1_000_000), max(1, int(width * 1_000_000))]


# -- series ------------------------------------------------------------------------------------------------------

def series(cur: Any, f: Filters, metric: str = "count", group_by: str = "status_class", buckets: int = 60
           ) -> dict[str, Any]:
    """One metric per time bucket and group: count, p50/p95/p99 of latency_ms, cold_starts, errors (5xx), or
    emf:<MetricName> (the sum of a custom EMF metric's values, from the metrics view)."""
    metric = (metric or "count").strip()
    group_by = (group_by or "status_class").strip()
    if metric not in METRICS and not (metric.startswith(EMF_PREFIX) and len(metric) > len(EMF_PREFIX)):
        raise QueryError(f"metric {metric!r}: use one of {', '.join(METRICS)} or emf:<MetricName> (emf:UserCreated)")
    if group_by not in GROUP_BY:
        raise QueryError(f"group_by {group_by!r}: use one of {', '.join(GROUP_BY)}")
    start, end = _time_range(cur, f)
    first, width, count = _timeline(start, end, buckets)
    where, params = _where(f)
    bucket, bucket_params = _bucket_sql(first, width)
    key = _GROUP_SQL[group_by]
    in_range = "b >= 0 AND b < ?"
    if metric.startswith(EMF_PREFIX):
        values = _emf_series(cur, metric[len(EMF_PREFIX):], f, key, first, width, count)
    elif metric in _QUANTILES:
        # exact, interpolated as `golive stats` does (quantile_cont); the quantile is one of three constants
        found = cur.execute(
            f"SELECT * FROM (SELECT {bucket} AS b, {key} AS k, quantile_cont(r.latency_ms, {_QUANTILES[metric]}) "
            f"AS v FROM requests r WHERE {where} AND r.latency_ms IS NOT NULL GROUP BY ALL) WHERE {in_range}",
            [*bucket_params, *params, count]).fetchall()
        values = {}
        for b, k, v in found:
            values.setdefault(k, {})[b] = round(float(v), 1)
    else:
        condition = {"count": "TRUE", "cold_starts": "r.cold_start", "errors": "r.status >= 500"}[metric]
        found = cur.execute(
            f"SELECT * FROM (SELECT {bucket} AS b, {key} AS k, count(*) AS n FROM requests r "
            f"WHERE {where} AND {condition} GROUP BY ALL) WHERE {in_range}",
            [*bucket_params, *params, count]).fetchall()
        values = {}
        for b, k, n in found:
            values.setdefault(k, {})[b] = float(n)
    additive = metric not in _QUANTILES
    groups: list[dict[str, Any]] = []
    for k, by_bucket in values.items():
        empty = 0.0 if additive else None  # no requests: zero of a count, no percentile
        groups.append({"key": _group_key(group_by, k), "values": [by_bucket.get(i, empty) for i in range(count)]})
    if group_by in _ORDERED_BY_KEY:
        groups.sort(key=lambda g: str(g["key"]))
    else:
        groups.sort(key=lambda g: (-sum(v or 0 for v in g["values"]), str(g["key"])))
    return {"metric": metric, "group_by": group_by, "bucket_s": width, "start": _iso(first),
            "end": _iso(first + width * count), "buckets": [_iso(first + width * i) for i in range(count)],
            "groups": groups, "filters": _filters_document(f)}


_EMF_NAMES_PATH = "$._aws.CloudWatchMetrics[*].Metrics[*].Name"
# One row per EMF document in the range that declares the metric: its time (the document's _aws.Timestamp, as the
# metrics view reads it), its invocation, and the sum of its values for the metric (a scalar or an array). Summed
# once per document: the metrics view has a row per dimension set, which would count a value once per set.
_EMF_DOCUMENTS = f"""
    SELECT coalesce(make_timestamp((TRY_CAST(line->>'$._aws.Timestamp' AS DOUBLE) * 1000)::BIGINT), ts) AS ts,
        lambda_request_id,
        CASE WHEN json_type(raw) = 'ARRAY' THEN list_sum(TRY_CAST(from_json(raw, '["VARCHAR"]') AS DOUBLE[]))
             ELSE TRY_CAST(raw::VARCHAR AS DOUBLE) END AS value
    FROM (SELECT ts, lambda_request_id, line, json_extract(line, ?) AS raw FROM logs
          WHERE kind = 'emf' AND ts >= make_timestamp(?::BIGINT) AND ts < make_timestamp(?::BIGINT)
              AND contains(line, ?))
    WHERE raw IS NOT NULL AND list_contains(json_extract_string(line, '{_EMF_NAMES_PATH}'), ?)"""
_EMF_LATE_S = 60  # a document's lines may be stored this much around the range it reports on


def _emf_series(cur: Any, name: str, f: Filters, key: str, first: float, width: float, count: int
                ) -> dict[str, dict[int, float]]:
    """Sums of one EMF metric's values per bucket and group (of the request each document's invocation served)."""
    if any(character in name for character in '"\\') or not name.strip():
        raise QueryError(f"metric emf:{name}: a metric name without quotes or backslashes, such as emf:UserCreated")
    where, params = _where(f)
    bucket = "((epoch_us(m.ts) - ?) // ?)::INTEGER"
    bucket_params = [round(first * 1_000_000), max(1, round(width * 1_000_000))]
    document_params = [f'$."{name}"', round((first - _EMF_LATE_S) * 1_000_000),
                       round((first + width * count + _EMF_LATE_S) * 1_000_000), f'"{name}"', name]
    # the request join is needed only to group or filter by a request's columns
    needs_request = key != "NULL" or where != "TRUE"
    join = "JOIN requests r ON r.lambda_request_id = m.lambda_request_id" if needs_request else ""
    found = cur.execute(
        f"SELECT * FROM (SELECT {bucket} AS b, {key if needs_request else 'NULL'} AS k, sum(m.value) AS v "
        f"FROM ({_EMF_DOCUMENTS}) m {join} WHERE m.value IS NOT NULL AND {where if needs_request else 'TRUE'} "
        f"GROUP BY ALL) WHERE b >= 0 AND b < ?",
        [*bucket_params, *document_params, *(params if needs_request else []), count]).fetchall()
    values: dict[str, dict[int, float]] = {}
    for b, k, v in found:
        values.setdefault(k, {})[b] = float(v)
    return values


def emf_metric_names(cur: Any, f: Filters, limit: int = 100) -> list[str]:
    """The custom metric names EMF documents declared in the filters' time range (the choices for emf:NAME),
    sorted; read from the documents' directives, without expanding their values."""
    parts, params = ["kind = 'emf'"], []
    if f.start is not None:
        parts.append("ts >= make_timestamp(?::BIGINT)")
        params.append(round((f.start - _EMF_LATE_S) * 1_000_000))
    if f.end is not None:
        parts.append("ts < make_timestamp(?::BIGINT)")
        params.append(round((f.end + _EMF_LATE_S) * 1_000_000))
    found = cur.execute(
        f"SELECT DISTINCT unnest(json_extract_string(line, '{_EMF_NAMES_PATH}')) AS name FROM logs "
        f"WHERE {' AND '.join(parts)} ORDER BY name LIMIT ?", [*params, max(1, int(limit))]).fetchall()
    return [row[0] for row in found if row[0]]


# -- the endpoints board -----------------------------------------------------------------------------------------

class _Row:
    """One board row's tally, filled from the grouped histogram."""

    def __init__(self) -> None:
        self.requests = self.ok = self.cold = self.throttles = 0
        self.split = {"gateway_4xx": 0, "function_4xx": 0, "gateway_5xx": 0, "function_5xx": 0}
        self.by_type: dict[str, int] = {}
        self.latencies: dict[int, int] = {}
        self.sparkline: list[int] = []

    def add(self, status: int | None, gateway: bool, error_type: str | None, cold: bool, n: int) -> None:
        self.requests += n
        who = "gateway" if gateway else "function"
        if status is not None:
            if status < 400:
                self.ok += n
            else:
                self.split[f"{who}_{'4xx' if status < 500 else '5xx'}"] += n
            if status == 429 or error_type in THROTTLE_TYPES:
                self.throttles += n
        if gateway and error_type is not None:
            self.by_type[error_type] = self.by_type.get(error_type, 0) + n
        if cold:
            self.cold += n

    def summary(self) -> dict[str, Any]:
        p50, p95, p99 = percentiles(self.latencies, (0.5, 0.95, 0.99))
        return {"requests": self.requests,
                "success_rate": round(self.ok / self.requests, 4) if self.requests else None,
                **self.split, "gateway_by_type": dict(sorted(self.by_type.items(), key=lambda kv: (-kv[1], kv[0]))),
                "p50": p50, "p95": p95, "p99": p99, "cold_starts": self.cold, "throttles": self.throttles,
                "sparkline": self.sparkline}


def board(cur: Any, f: Filters, buckets: int = 30) -> dict[str, Any]:
    """The endpoints board: per route (and a row for requests no route matched) requests, success rate, 4xx and
    5xx each split into gateway-made and function-made, gateway failures by response type, p50/p95/p99 latency,
    cold starts, throttles and request counts per time bucket; and the totals over all rows."""
    start, end = _time_range(cur, f)
    first, width, count = _timeline(start, end, buckets, nice=False)
    where, params = _where(f)
    bucket, bucket_params = _bucket_sql(first, width)
    # One scan, three groupings (DuckDB computes grouping sets in one pass): the outcome histogram per route, the
    # latency histogram per route (exact percentiles), the counts per route and bucket (the sparkline).
    found = cur.execute(f"""
        SELECT grouping(status, gateway, error_type, cold, latency, b) AS g, route, status, gateway, error_type, cold,
               latency, b, count(*) AS n
        FROM (SELECT r.route AS route, r.status AS status, r.decided_by = 'gateway' AS gateway,
                     r.error_type AS error_type, coalesce(r.cold_start, FALSE) AS cold, r.latency_ms AS latency,
                     {bucket} AS b
              FROM requests r WHERE {where})
        GROUP BY GROUPING SETS ((route, status, gateway, error_type, cold), (route, latency), (route, b))""",
                        [*bucket_params, *params]).fetchall()
    rows: dict[str | None, _Row] = {}
    total = _Row()
    total.sparkline = [0] * count
    outcome_mask, latency_mask = 0b000011, 0b111101  # grouping() bits: 1 = the column is not grouped by
    for g, route, status, gateway, error_type, cold, latency, b, n in found:
        row = rows.get(route)
        if row is None:
            row = rows[route] = _Row()
            row.sparkline = [0] * count
        if g == outcome_mask:
            row.add(status, gateway, error_type, cold, n)
            total.add(status, gateway, error_type, cold, n)
        elif g == latency_mask:
            if latency is not None:
                row.latencies[latency] = row.latencies.get(latency, 0) + n
                total.latencies[latency] = total.latencies.get(latency, 0) + n
        elif b is not None and 0 <= b < count:
            row.sparkline[b] += n
            total.sparkline[b] += n
    ordered = sorted(rows.items(), key=lambda item: (item[0] is None, -item[1].requests, item[0] or ""))
    return {"rows": [{"route": NO_ROUTE if route is None else route, **row.summary()} for route, row in ordered],
            "totals": {"route": None, **total.summary()}, "start": _iso(first), "end": _iso(first + width * count),
            "bucket_s": width, "filters": _filters_document(f)}
