"""Errors grouped by fingerprint over a time window, with their counts per time bucket, the requests that hit each
and whether the group is new (first seen inside the window): what the dashboard's errors page shows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from golive.telemetry.values import jsonable

EXAMPLES = 10  # request ids listed per group, newest first
# the fingerprint golive errors and the errors view use: exception type + innermost frames + route
_FINGERPRINT = "md5(concat_ws('|', l.error_type, l.error_frames, r.route))[:12]"


def error_groups(cur: Any, start_us: int, end_us: int, buckets: int = 30, limit: int = 50) -> dict[str, Any]:
    """Groups seen between start_us and end_us (epoch microseconds, UTC), most frequent first."""
    buckets = max(1, buckets)
    step = max(1, (end_us - start_us) // buckets)
    rows = cur.execute(f"""
        WITH hits AS (
            SELECT {_FINGERPRINT} AS fingerprint, l.ts, l.error_type, l.error_message, l.error_frames, l.error_stack,
                   r.route, coalesce(r.request_id, l.lambda_request_id::VARCHAR) AS any_id,
                   least((epoch_us(l.ts) - $1) // $3, $4 - 1)::INTEGER AS bucket
            FROM logs l LEFT JOIN requests r ON r.lambda_request_id = l.lambda_request_id
            WHERE l.error_type IS NOT NULL AND l.ts BETWEEN make_timestamp($1::BIGINT) AND make_timestamp($2::BIGINT)),
        groups AS (
            SELECT fingerprint, route, any_value(error_type) AS error_type,
                   arg_max(error_message, ts) AS last_message, any_value(error_frames) AS frames, count(*) AS count,
                   min(ts) AS first_in_window, max(ts) AS last_seen, arg_max(error_stack, ts) AS example_stack,
                   list(any_id ORDER BY ts DESC)[:{EXAMPLES}] AS request_ids,
                   histogram(bucket) AS per_bucket
            FROM hits GROUP BY fingerprint, route),
        ever AS (
            SELECT {_FINGERPRINT} AS fingerprint, min(l.ts) AS first_seen
            FROM logs l LEFT JOIN requests r ON r.lambda_request_id = l.lambda_request_id
            WHERE l.error_type IS NOT NULL AND l.ts <= make_timestamp($2::BIGINT)
              AND {_FINGERPRINT} IN (SELECT fingerprint FROM groups)
            GROUP BY ALL)
        SELECT g.*, ever.first_seen FROM groups g JOIN ever USING (fingerprint)
        ORDER BY count DESC, last_seen DESC LIMIT $5""", [start_us, end_us, step, buckets, limit])
    names = [column[0] for column in rows.description]
    groups = []
    for values in rows.fetchall():
        group = dict(zip(names, values, strict=True))
        per_bucket = group.pop("per_bucket") or {}
        group["timeline"] = [int(per_bucket.get(index, 0)) for index in range(buckets)]
        group.pop("first_in_window")
        first = group["first_seen"]
        group["new"] = first is not None and first.replace(tzinfo=dt.UTC).timestamp() * 1_000_000 >= start_us
        groups.append({key: jsonable(value) for key, value in group.items()})
    return {"errors": groups, "start": jsonable(_at(start_us)), "end": jsonable(_at(end_us)),
            "bucket_s": step / 1_000_000, "buckets": buckets}


def _at(epoch_us: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_us / 1_000_000, dt.UTC).replace(tzinfo=None)
