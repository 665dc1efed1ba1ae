"""What the recorded traffic would cost a month on AWS at list prices (Lambda requests and GB-seconds, API Gateway
requests, DynamoDB on-demand request units where something reports them) and memory right-sizing hints.

The prices are data below, with the page each came from and the day it was read: they change, so the answer always
carries them. The free tier is shown beside the figures, never subtracted from them."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from golive.telemetry.collector import report_field
from golive.telemetry.model import metrics_sql

if TYPE_CHECKING:
    from golive.service.config import ServiceConfig

MONTH_S = 30 * 86400  # the observed window is extrapolated to a 30-day month
MIN_WINDOW_S = 1.0  # a single request still has a window to divide by
MILLION = 1_000_000

PRICES: dict[str, Any] = {
    "region": "us-east-1",
    "date": "2026-12-04",  # when these were read from the pages below
    "currency": "USD",
    "source": {
        "lambda": "https://aws.amazon.com/lambda/pricing/",
        "api_gateway": "https://aws.amazon.com/api-gateway/pricing/",
        "dynamodb": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    },
    # Tiers: {"units": how many fall in this tier (None: all above the previous ones), "usd": the price}. Lambda
    # duration tiers apply to the month's total per architecture, API Gateway's to the month's requests.
    "lambda": {
        "requests_usd_per_million": 0.20,
        "gb_second_usd": {
            "x86_64": [{"units": 6_000_000_000, "usd": 0.0000166667}, {"units": 9_000_000_000, "usd": 0.0000150000},
                       {"units": None, "usd": 0.0000133334}],
            "arm64": [{"units": 7_500_000_000, "usd": 0.0000133334}, {"units": 11_250_000_000, "usd": 0.0000120001},
                      {"units": None, "usd": 0.0000106667}],
        },
    },
    "api_gateway": {
        "requests_usd_per_million": {
            "rest": [{"units": 333_000_000, "usd": 3.50}, {"units": 667_000_000, "usd": 2.80},
                     {"units": 19_000_000_000, "usd": 2.38}, {"units": None, "usd": 1.51}],
            "http": [{"units": 300_000_000, "usd": 1.00}, {"units": None, "usd": 0.90}],
        },
        "http_metering_bytes": 512 * 1024,  # an HTTP API request is metered in 512 KB increments
    },
    "dynamodb": {  # on-demand, Standard table class
        "read_request_units_usd_per_million": 0.125,
        "write_request_units_usd_per_million": 0.625,
    },
}

FREE_TIER: dict[str, Any] = {
    "lambda_requests": 1_000_000,  # a month, every account
    "lambda_gb_s": 400_000,  # a month, x86 and Arm together
    "api_gateway_requests": 1_000_000,  # a month, REST and HTTP each
    "api_gateway_note": "for an account's first 12 months (AWS's 12-month free tier)",
    "dynamodb_note": "on-demand request units have no free tier (the always-free 25 RCU / 25 WCU are provisioned "
                     "capacity)",
    "subtracted": False,
}

# CloudWatch's DynamoDB metric names: an EMF document carrying them (a handler logging the ConsumedCapacity
# that ReturnConsumedCapacity gives back) is what the store can report
READ_UNITS_METRIC = "ConsumedReadCapacityUnits"
WRITE_UNITS_METRIC = "ConsumedWriteCapacityUnits"

HEADROOM = 1.5  # a suggested memory size leaves half again the peak the REPORT lines show
MEMORY_STEP_MB = 64
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10240
NEAR_LIMIT = 0.9  # a peak above this share of the configured memory is close to running out


def tiered(quantity: float, tiers: Sequence[Mapping[str, Any]], per: float = 1.0) -> float:
    """The price of `quantity` units through consecutive tiers ({"units": size or None for the rest, "usd": price
    per `per` units})."""
    total, left = 0.0, max(0.0, quantity)
    for tier in tiers:
        size = tier["units"]
        used = left if size is None else min(left, float(size))
        total += used * float(tier["usd"]) / per
        left -= used
        if left <= 0:
            break
    return total


def lambda_compute_usd(gb_seconds: Mapping[str, float], prices: Mapping[str, Any] = PRICES) -> float:
    """A month's Lambda duration charge: tiers apply to each architecture's total across functions."""
    return sum(tiered(amount, prices["lambda"]["gb_second_usd"][architecture])
               for architecture, amount in gb_seconds.items())


def lambda_requests_usd(invocations: float, prices: Mapping[str, Any] = PRICES) -> float:
    return max(0.0, invocations) * float(prices["lambda"]["requests_usd_per_million"]) / MILLION


def api_gateway_usd(requests: float, api_type: str, prices: Mapping[str, Any] = PRICES) -> float:
    return tiered(requests, prices["api_gateway"]["requests_usd_per_million"][api_type], MILLION)


def dynamodb_usd(read_units: float, write_units: float, prices: Mapping[str, Any] = PRICES) -> float:
    dynamodb = prices["dynamodb"]
    return (read_units * float(dynamodb["read_request_units_usd_per_million"])
            + write_units * float(dynamodb["write_request_units_usd_per_million"])) / MILLION


def architecture_of(name: str | None) -> str:
    """golive.toml's architecture as the price table names it (x86_64 or arm64; golive's default is arm64)."""
    return "x86_64" if str(name or "arm64").lower() in ("x86_64", "x86", "amd64") else "arm64"


def right_size(max_used_mb: int | None, memory_mb: int, monthly_gb_s: float = 0.0,
               architecture: str = "arm64") -> tuple[int, str]:
    """The memory size the peak would fit in (with headroom), and a sentence saying so."""
    if max_used_mb is None:
        return memory_mb, "no invocations recorded: nothing to size by"
    fitting = max(MIN_MEMORY_MB, math.ceil(max_used_mb * HEADROOM / MEMORY_STEP_MB) * MEMORY_STEP_MB)
    fitting = min(MAX_MEMORY_MB, fitting)
    used = f"max {max_used_mb} MB of {memory_mb} MB used"
    if max_used_mb >= memory_mb * NEAR_LIMIT:
        larger = max(fitting, memory_mb + MEMORY_STEP_MB)
        return min(MAX_MEMORY_MB, larger), (f"{used}: close to the limit, an invocation that needs more fails; "
                                            f"raise it to {min(MAX_MEMORY_MB, larger)} MB")
    if fitting < memory_mb:
        first_price = float(PRICES["lambda"]["gb_second_usd"][architecture][0]["usd"])
        saving = monthly_gb_s * (1 - fitting / memory_mb) * first_price
        return fitting, (f"{used}: {fitting} MB would do (up to ${saving:,.2f} a month less if duration holds); "
                         f"Lambda CPU scales with memory, so check duration at {fitting} MB")
    return memory_mb, f"{used}: it fits"


def cost(cur: Any, since_s: float | None = None, config: ServiceConfig | None = None,
         now: float | None = None) -> dict[str, Any]:
    """The monthly cost of the traffic stored (in the last `since_s` seconds), extrapolated to 30 days, per service
    and per function, with the prices used and the free tier beside them."""
    now = time.time() if now is None else now
    cutoff = None if since_s is None else int((now - since_s) * 1_000_000)
    where = "TRUE" if cutoff is None else f"ts >= make_timestamp({cutoff}::BIGINT)"
    api_type = config.api_type if config is not None else "rest"
    metering = int(PRICES["api_gateway"]["http_metering_bytes"])
    row = cur.execute(f"""
        SELECT count(*), epoch_ms(min(ts)), epoch_ms(max(ts)),
               sum(greatest(1, ceil(coalesce(response_bytes, 0) / {metering})))::BIGINT
        FROM requests WHERE {where}""").fetchone()
    requests, first_ms, last_ms, metered = int(row[0] or 0), row[1], row[2], int(row[3] or 0)
    # every invocation leaves a REPORT line (authorizers' too, which no request row holds)
    reports = cur.execute(f"""
        SELECT function, count(*), sum({report_field("line", "Billed Duration", "BIGINT")}),
               max({report_field("line", "Memory Size", "INTEGER")}),
               max({report_field("line", "Max Memory Used", "INTEGER")}), epoch_ms(min(ts)), epoch_ms(max(ts))
        FROM logs WHERE {where} AND stream = 'platform' AND starts_with(line, 'REPORT ')
        GROUP BY function ORDER BY function""").fetchall()
    if cutoff is not None:
        start_s, end_s = cutoff / 1_000_000, now
    else:
        starts = [value for value in [first_ms, *(r[5] for r in reports)] if value is not None]
        ends = [value for value in [last_ms, *(r[6] for r in reports)] if value is not None]
        start_s = min(starts) / 1000 if starts else now
        end_s = max(ends) / 1000 if ends else now
    seconds = max(MIN_WINDOW_S, end_s - start_s)
    factor = MONTH_S / seconds

    configured = config.functions if config is not None else {}
    seen = {r[0]: r for r in reports if r[0] is not None}
    functions = []
    gb_s_month: dict[str, float] = {}
    invocations_total = 0
    for name in sorted(set(seen) | set(configured)):
        found = seen.get(name)
        spec = configured.get(name)
        reported_memory = found[3] if found else None
        memory = int(spec.memory if spec is not None else reported_memory or MIN_MEMORY_MB)
        architecture = architecture_of(spec.architecture if spec is not None else None)
        invocations = int(found[1]) if found else 0
        billed_ms = int(found[2] or 0) if found else 0
        gb_seconds = billed_ms / 1000 * memory / 1024
        monthly_gb_s = gb_seconds * factor
        gb_s_month[architecture] = gb_s_month.get(architecture, 0.0) + monthly_gb_s
        invocations_total += invocations
        max_used = int(found[4]) if found and found[4] is not None else None
        suggested, hint = right_size(max_used, memory, monthly_gb_s, architecture)
        functions.append({
            "function": name, "memory_mb": memory, "architecture": architecture, "invocations": invocations,
            "avg_billed_ms": round(billed_ms / invocations, 1) if invocations else None,
            "gb_seconds": round(gb_seconds, 6), "monthly_gb_seconds": round(monthly_gb_s, 3),
            "max_memory_used_mb": max_used, "suggested_memory_mb": suggested, "hint": hint,
        })

    dynamo = _dynamodb_units(cur, where)
    gateway_units = (metered if api_type == "http" else requests) * factor
    monthly = {
        "lambda_requests_usd": lambda_requests_usd(invocations_total * factor),
        "lambda_compute_usd": lambda_compute_usd(gb_s_month),
        "api_gateway_usd": api_gateway_usd(gateway_units, api_type),
        "dynamodb_usd": None if dynamo is None else dynamodb_usd(dynamo[0] * factor, dynamo[1] * factor),
    }
    monthly["total_usd"] = sum(value for value in monthly.values() if value is not None)
    return {
        "window": {"start": _iso(start_s), "end": _iso(end_s), "seconds": round(seconds, 3)},
        "requests": requests,
        "api_type": api_type,
        "prices": PRICES,
        "monthly": {key: None if value is None else round(value, 6) for key, value in monthly.items()},
        "usage": {
            "factor": round(factor, 3),
            "requests": round(requests * factor), "api_gateway_metered_requests": round(gateway_units),
            "lambda_invocations": round(invocations_total * factor),
            "lambda_gb_seconds": {arch: round(amount, 3) for arch, amount in sorted(gb_s_month.items())},
        },
        "dynamodb": {"measured": dynamo is not None,
                     "read_request_units": None if dynamo is None else dynamo[0],
                     "write_request_units": None if dynamo is None else dynamo[1],
                     "note": (f"from EMF metrics {READ_UNITS_METRIC} / {WRITE_UNITS_METRIC}" if dynamo is not None
                              else f"not measured: no EMF metric {READ_UNITS_METRIC} or {WRITE_UNITS_METRIC} "
                                   f"was recorded")},
        "free_tier": FREE_TIER,
        "functions": functions,
    }


def _dynamodb_units(cur: Any, where: str) -> tuple[float, float] | None:
    """Read and write request units the functions' EMF documents reported, or None when none did."""
    # only documents naming the metrics are expanded: every request writes one EMF document of its own
    named = f"{where} AND (contains(line, '{READ_UNITS_METRIC}') OR contains(line, '{WRITE_UNITS_METRIC}'))"
    rows = cur.execute(f"""SELECT name, sum(value) FROM ({metrics_sql(named)})
                           WHERE name IN ('{READ_UNITS_METRIC}', '{WRITE_UNITS_METRIC}') GROUP BY name""").fetchall()
    if not rows:
        return None
    units = {name: float(total or 0.0) for name, total in rows}
    return units.get(READ_UNITS_METRIC, 0.0), units.get(WRITE_UNITS_METRIC, 0.0)


def _iso(epoch_s: float) -> str:
    import datetime as dt

    moment = dt.datetime.fromtimestamp(epoch_s, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
