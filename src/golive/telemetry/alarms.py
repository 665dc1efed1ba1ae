"""The alarms `golive template` deploys, evaluated over golive dev's telemetry as CloudWatch evaluates them: one
datapoint per period (aligned to multiples of the period since the epoch), M of N datapoints to alarm, missing data
treated as the alarm says, percentiles by nearest rank, rates by the template's metric math with its low-traffic
guard. One DuckDB query per alarm family (routes, functions), whatever the number of alarms.

When a state is INSUFFICIENT_DATA (docs/telemetry.md, "Alarms, evaluated locally"): the alarm measures something
golive dev cannot see (DynamoDB's table metrics), or its route or function has no data at all in the span read.
Otherwise the state follows CloudWatch's rules, so an idle route whose alarm treats missing data as not breaching
is OK, as it would be in AWS."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from typing import Any

from golive.service.alarms import AlarmDefinition
from golive.telemetry.values import jsonable

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
# CloudWatch looks further back than N periods when some datapoints are missing (its "evaluation range"), and uses
# the real datapoints it finds there before filling in missing ones. AWS does not publish the range's length;
# golive looks back twice the evaluation periods.
EVALUATION_RANGE = 2
_SYMBOLS = {"GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": ">=", "LessThanThreshold": "<",
            "LessThanOrEqualToThreshold": "<="}
_ROUTE_METRICS = ("latency", "4xx_rate", "5xx_rate", "success_rate")
_FUNCTION_METRICS = ("error_rate", "throttles", "duration", "concurrency")

# A Lambda invocation failed (its Errors metric) when one of its lines is the runtime's "[ERROR] Type: message" for an
# unhandled exception or one of the platform's error lines (timeouts, runtime exits, init failures): the collector
# gives those level ERROR, a cheap filter. A handler's own logger.exception (kind json) is not a Lambda error.
_FAILED_SQL = "level = 'ERROR' AND (stream = 'platform' OR (kind = 'text' AND error_type IS NOT NULL))"
# REPORT's Duration without a regular expression (six times slower over a million lines)
_REPORT_DURATION_SQL = "TRY_CAST(split_part(split_part(message, chr(9) || 'Duration: ', 2), ' ms', 1) AS DOUBLE)"


def evaluate(cursor: Any, definitions: Iterable[AlarmDefinition], since_s: float | None = None,
             now: float | None = None) -> dict[str, Any]:
    """Every alarm's state at `now` (default: this moment) from the data of the last `since_s` seconds (default:
    everything stored), with the datapoints of its evaluation range."""
    now = time.time() if now is None else now
    alarms = list(definitions)
    lower_us = None if since_s is None else int((now - since_s) * 1_000_000)
    # (scope, name, period) -> {period index: facts}; None holds what came before the evaluation range (only
    # counted: it tells an idle alarm from one that never had data)
    series: dict[tuple[str, str, int], dict[int | None, dict[str, Any]]] = {}
    routed = {a.function for a in alarms if a.scope == "route"}
    for period in sorted({a.period_s for a in alarms}):
        of_period = [a for a in alarms if a.period_s == period]
        span = max(_span(a) for a in of_period)
        range_us = (_current(now, period) - span + 1) * period * 1_000_000
        routes = sorted({a.route for a in of_period if a.scope == "route" and a.route})
        functions = sorted({a.function for a in of_period if a.scope == "function" and a.function})
        if routes:
            latency = _quantiles(a for a in of_period if a.scope == "route" and a.metric == "latency")
            for key, bucket, row in _route_facts(cursor, routes, period, latency, lower_us, range_us):
                series.setdefault(("route", key, period), {})[bucket] = row
        if functions:
            duration = _quantiles(a for a in of_period if a.scope == "function" and a.metric == "duration")
            unrouted = [name for name in functions if name not in routed]
            for name, bucket, row in _function_facts(cursor, functions, unrouted, period, duration, lower_us,
                                                     range_us):
                series.setdefault(("function", name, period), {})[bucket] = row
    results = []
    for alarm in alarms:
        scope = alarm.route if alarm.scope == "route" else alarm.function if alarm.scope == "function" else None
        facts = series.get((alarm.scope, scope or "", alarm.period_s), {})
        results.append(_state(alarm, facts, now, since_s))
    return {"evaluated_at": jsonable(_utc(now)), "alarms": results}


def _current(now: float, period_s: int) -> int:
    """The index of the period in progress (it counts: see the docs)."""
    return int(now * 1_000_000) // (period_s * 1_000_000)


def _span(alarm: AlarmDefinition) -> int:
    """The periods of the evaluation range."""
    return max(alarm.evaluation_periods, EVALUATION_RANGE * alarm.evaluation_periods)


def _utc(epoch_s: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).replace(tzinfo=None)


def _quantiles(alarms: Iterable[AlarmDefinition]) -> list[float]:
    """The percentiles the alarms ask for, as fractions: p99 -> 0.99."""
    return sorted({float(a.statistic[1:]) / 100 for a in alarms}) or [0.99]


def _literal(quantiles: list[float]) -> str:
    # DuckDB takes quantiles as constants only, not parameters; these are floats golive computed
    return "[" + ", ".join(repr(float(q)) for q in quantiles) + "]"


def _bucket_sql(column: str, period_s: int) -> str:
    # periods aligned as CloudWatch aligns them: to whole multiples of the period since the epoch
    return f"(epoch_us({column}) // {int(period_s) * 1_000_000})"


def _since_sql(column: str, lower_us: int | None) -> tuple[str, list[Any]]:
    if lower_us is None:
        return "TRUE", []
    return f"{column} >= make_timestamp(?::BIGINT)", [lower_us]


def _route_facts(cursor: Any, routes: list[str], period_s: int, quantiles: list[float], lower_us: int | None,
                 range_us: int) -> list[tuple[str, int | None, dict[str, Any]]]:
    """Per route and period of the evaluation range: Count, 4XXError, 5XXError and the latency percentiles
    (nearest rank); before the range, only the count (bucket None). One scan."""
    since, params = _since_sql("ts", lower_us)
    recent = f"ts >= make_timestamp({int(range_us)})"
    rows = cursor.execute(f"""
        SELECT route, CASE WHEN {recent} THEN {_bucket_sql('ts', period_s)} END AS bucket, count(*) AS requests,
               count(*) FILTER (status BETWEEN 400 AND 499) AS client, count(*) FILTER (status >= 500) AS server,
               quantile_disc(latency_ms, {_literal(quantiles)}) FILTER ({recent}) AS latency
        FROM requests WHERE route = ANY(?::VARCHAR[]) AND {since} GROUP BY ALL""", [routes, *params]).fetchall()
    found = []
    for route, bucket, requests, client, server, latency in rows:
        percentiles = dict(zip(quantiles, latency or [None] * len(quantiles), strict=True))
        found.append((route, None if bucket is None else int(bucket),
                      {"requests": requests, "client": client, "server": server, "latency": percentiles}))
    return found


def _function_facts(cursor: Any, functions: list[str], unrouted: list[str], period_s: int, quantiles: list[float],
                    lower_us: int | None, range_us: int) -> list[tuple[str, int | None, dict[str, Any]]]:
    """Per function and period of the evaluation range: Invocations, Errors, the Duration percentiles, the peak of
    concurrent executions and Throttles; before the range, only the counts (bucket None). One statement.

    An invocation behind a request is its request row (joined to its REPORT line when stored); a function no route
    calls (an authorizer) is read from its REPORT lines; errors are the lines saying an invocation failed;
    throttles are the integrations the gateway saw rejected."""
    since, params = _since_sql("ts", lower_us)
    bucket = period_s * 1_000_000
    recent = f"ts >= make_timestamp({int(range_us)})"
    reports, report_params = "", []
    if unrouted:
        reports = f"""
            UNION ALL
            SELECT function, lambda_request_id, epoch_us(ts) - CAST(coalesce(duration, 0) * 1000 AS BIGINT), duration
            FROM (SELECT function, lambda_request_id, ts, {_REPORT_DURATION_SQL} AS duration FROM logs
                  WHERE function = ANY(?::VARCHAR[]) AND stream = 'platform' AND starts_with(message, 'REPORT ')
                        AND {since})"""
        report_params = [unrouted, *params]
    rows = cursor.execute(f"""
        WITH calls AS (
            SELECT function, lambda_request_id, epoch_us(ts) AS started_us, duration_ms AS duration FROM requests
            WHERE lambda_request_id IS NOT NULL AND function = ANY(?::VARCHAR[]) AND {since}
                  AND error_type IS DISTINCT FROM 'INTEGRATION_REJECTED'{reports}),
        failures AS (
            SELECT DISTINCT lambda_request_id FROM logs
            WHERE {_FAILED_SQL} AND lambda_request_id IS NOT NULL AND function = ANY(?::VARCHAR[]) AND {recent}),
        marked AS (
            SELECT c.*, c.started_us // {bucket} AS bucket, f.lambda_request_id IS NOT NULL AS failed
            FROM calls c LEFT JOIN failures f USING (lambda_request_id) WHERE c.started_us >= {int(range_us)}),
        invocations AS (
            SELECT function, bucket, count(*) AS invocations, count(*) FILTER (failed) AS errors,
                   quantile_disc(duration, {_literal(quantiles)}) AS duration
            FROM marked GROUP BY ALL
            UNION ALL
            SELECT function, NULL, count(*), NULL, NULL FROM calls WHERE started_us < {int(range_us)} GROUP BY ALL),
        edges AS (
            SELECT function, started_us AS t, 1 AS step FROM marked
            UNION ALL
            SELECT function, started_us + CAST(coalesce(duration, 0) * 1000 AS BIGINT), -1 FROM marked),
        running AS (  -- an ending invocation leaves before one starting at the same instant arrives
            SELECT function, t, sum(step) OVER (PARTITION BY function ORDER BY t, step ROWS UNBOUNDED PRECEDING) AS n
            FROM edges),
        peaks AS (SELECT function, t // {bucket} AS bucket, max(n) AS concurrency FROM running GROUP BY ALL),
        throttled AS (
            SELECT function, CASE WHEN {recent} THEN {_bucket_sql('ts', period_s)} END AS bucket,
                   count(*) AS throttles
            FROM requests
            WHERE error_type = 'INTEGRATION_REJECTED' AND starts_with(error_message, 'Rate Exceeded')
                  AND function = ANY(?::VARCHAR[]) AND {since}
            GROUP BY ALL)
        SELECT function, bucket, invocations.invocations, invocations.errors, invocations.duration,
               peaks.concurrency, throttled.throttles
        FROM invocations FULL JOIN peaks USING (function, bucket) FULL JOIN throttled USING (function, bucket)""",
                          [functions, *params, *report_params, functions, functions, *params]).fetchall()
    found = []
    for name, period, invocations, errors, duration, concurrency, throttles in rows:
        percentiles = dict(zip(quantiles, duration or [None] * len(quantiles), strict=True))
        found.append((name, None if period is None else int(period),
                      {"invocations": invocations, "errors": errors, "duration": percentiles,
                       "concurrency": concurrency, "throttles": throttles}))
    return found


def _datapoint(alarm: AlarmDefinition, facts: dict[str, Any] | None) -> tuple[float | None, int | None]:
    """The alarm's value for one period (None: missing, as CloudWatch would have no datapoint) and the number of
    requests or invocations behind it."""
    if facts is None:
        return None, None
    metric = alarm.metric
    if alarm.scope == "route":
        requests = facts["requests"]
        if metric == "latency":
            return _number(facts["latency"].get(float(alarm.statistic[1:]) / 100)), requests
        failed = {"4xx_rate": facts["client"], "5xx_rate": facts["server"],
                  "success_rate": requests - facts["client"] - facts["server"]}[metric]
        return _rate(alarm, failed, requests), requests
    invocations = facts["invocations"]
    if metric == "error_rate":
        if invocations is None:
            return None, None
        return _rate(alarm, facts["errors"] or 0, invocations), invocations
    if metric == "throttles":  # Lambda publishes Throttles beside Invocations, zero when none were refused
        return float(facts["throttles"] or 0), (invocations or 0) + (facts["throttles"] or 0)
    if metric == "duration":
        if invocations is None:
            return None, None
        return _number(facts["duration"].get(float(alarm.statistic[1:]) / 100)), invocations
    if metric == "concurrency":
        return _number(facts["concurrency"]), invocations
    return None, None


def _seen(alarm: AlarmDefinition, facts: dict[str, Any]) -> bool:
    """Whether a period (or everything before the evaluation range) holds data for the alarm's route or function."""
    if alarm.scope == "route":
        return bool(facts["requests"])
    return bool(facts["invocations"] or facts["throttles"] or facts["concurrency"])


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def _rate(alarm: AlarmDefinition, count: int, total: int) -> float:
    """IF(FILL(total, 0) >= minimum, 100 * count / total, below_minimum): the template's expression."""
    if alarm.minimum is not None and total < alarm.minimum:
        return float(alarm.below_minimum or 0)
    return round(100 * count / total, 2) if total else float(alarm.below_minimum or 0)


def _state(alarm: AlarmDefinition, facts: dict[int | None, dict[str, Any]], now: float, since_s: float | None
           ) -> dict[str, Any]:
    period = alarm.period_s
    current = _current(now, period)
    buckets = list(range(current - _span(alarm) + 1, current + 1))
    points = []
    for bucket in buckets:
        value, samples = _datapoint(alarm, facts.get(bucket))
        points.append({"ts": jsonable(_utc(bucket * period)), "value": value,
                       "breaching": value is not None and alarm.breaches(value), "samples": samples})
    document = {**_describe(alarm), "value": None, "datapoints": points}
    unmeasured = _unmeasured(alarm)
    if unmeasured:
        return {**document, "state": INSUFFICIENT_DATA, "reason": unmeasured}
    if not any(_seen(alarm, f) for f in facts.values()):
        return {**document, "state": INSUFFICIENT_DATA, "reason": _no_data(alarm, since_s)}
    state, considered, filled = _decide(alarm, [p for p in reversed(points)])
    latest = next((p for p in considered if p["value"] is not None), None)
    document["value"] = latest["value"] if latest else None
    return {**document, "state": state, "reason": _reason(alarm, considered, filled, points)}


def _decide(alarm: AlarmDefinition, newest_first: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], int]:
    """CloudWatch's rule: the N most recent periods when none is missing; else the N most recent real datapoints in
    the evaluation range; when fewer exist, all of them and missing ones filled in as TreatMissingData says.
    Returns the state, the real datapoints considered (newest first) and how many missing ones were filled in."""
    n, m = alarm.evaluation_periods, alarm.datapoints_to_alarm
    recent = newest_first[:n]
    if all(p["value"] is not None for p in recent):
        considered, filled = recent, 0
    else:
        real = [p for p in newest_first if p["value"] is not None]
        considered, filled = real[:n], max(0, n - len(real))
    breaching = sum(1 for p in considered if p["breaching"])
    treat = alarm.treat_missing_data
    if treat == "breaching":
        breaching += filled
    elif treat in ("missing", "ignore") and not considered:
        return INSUFFICIENT_DATA, considered, filled
    return (ALARM if breaching >= m else OK), considered, filled


def _unmeasured(alarm: AlarmDefinition) -> str | None:
    if alarm.scope == "table":
        return (f"not measured locally: golive dev runs no DynamoDB, so the {alarm.table} table publishes no "
                f"metrics (this alarm is evaluated in AWS only)")
    if alarm.metric not in (_ROUTE_METRICS if alarm.scope == "route" else _FUNCTION_METRICS):
        return f"golive cannot evaluate the {alarm.metric} metric locally"
    return None


def _no_data(alarm: AlarmDefinition, since_s: float | None) -> str:
    when = f" in the last {since_s:g} s" if since_s is not None else ""
    if alarm.scope == "route":
        return f"no requests to {alarm.route} recorded{when}: send some to see whether this alarm would fire"
    if alarm.metric == "throttles":
        return f"no invocations of {alarm.function} recorded{when}, and no throttles"
    return f"no invocations of {alarm.function} recorded{when}"


def _reason(alarm: AlarmDefinition, considered: list[dict[str, Any]], filled: int, points: list[dict[str, Any]]
            ) -> str:
    """CloudWatch's kind of reason: how many of the last N datapoints breached, their values, and what golive
    filled in or guarded."""
    n, m = alarm.evaluation_periods, alarm.datapoints_to_alarm
    unit = "%" if alarm.unit == "%" else f" {alarm.unit}" if alarm.unit != "count" else ""
    rule = f"{_SYMBOLS[alarm.comparison]} {alarm.threshold:g}{unit}"
    breaching = sum(1 for p in considered if p["breaching"])
    values = ", ".join(f"{p['value']:g}" for p in reversed(considered))
    if alarm.treat_missing_data == "breaching":
        breaching += filled
    text = f"{breaching} of the last {n} datapoints breached the threshold ({rule}); {m} make it alarm"
    if values:
        text += f": [{values}]"
    if filled:
        text += (f"; {filled} missing period{'s' if filled != 1 else ''} (no data) treated as "
                 f"{'breaching' if alarm.treat_missing_data == 'breaching' else 'not breaching'}")
    latest = next((p for p in reversed(points) if p["samples"]), None)
    if alarm.minimum is not None and latest is not None and latest["samples"] < alarm.minimum:
        what = "requests" if alarm.scope == "route" else "invocations"
        text += (f"; the latest period had {latest['samples']} {what}, under the low-traffic guard of "
                 f"{alarm.minimum:g}: its rate counts as {alarm.below_minimum:g}%")
    return text


def _describe(alarm: AlarmDefinition) -> dict[str, Any]:
    return {"name": alarm.name, "description": alarm.description, "severity": alarm.severity,
            "scope": alarm.scope, "route": alarm.route, "function": alarm.function, "table": alarm.table,
            "metric": alarm.metric, "statistic": alarm.statistic, "unit": alarm.unit,
            "comparison": alarm.comparison, "threshold": alarm.threshold, "period_s": alarm.period_s,
            "evaluation_periods": alarm.evaluation_periods, "datapoints_to_alarm": alarm.datapoints_to_alarm,
            "treat_missing_data": alarm.treat_missing_data, "minimum": alarm.minimum}
