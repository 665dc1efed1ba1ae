"""The cost arithmetic against examples worked by hand from AWS's published us-east-1 prices (Lambda GB-s tiers per
architecture, API Gateway REST and HTTP tiers, DynamoDB on-demand units), right-sizing hints, and the monthly
extrapolation over a real DuckDB store fed through the collector."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from golive.local.apigw.access_log import AccessLog
from golive.local.invocation import LogRecord
from golive.service.config import load_config
from golive.telemetry import cost
from golive.telemetry.collector import Collector
from golive.telemetry.store import Store


def test_lambda_request_and_duration_price_of_a_first_tier_month() -> None:
    # 12 million invocations of 120 ms at 1536 MB on Arm: 12e6 x 0.120 s x 1.5 GB = 2,160,000 GB-s
    gb_s = 12_000_000 * 0.120 * 1536 / 1024
    assert gb_s == pytest.approx(2_160_000)
    assert cost.lambda_compute_usd({"arm64": gb_s}) == pytest.approx(2_160_000 * 0.0000133334)  # $28.80
    assert round(cost.lambda_compute_usd({"arm64": gb_s}), 2) == 28.80
    assert cost.lambda_requests_usd(12_000_000) == pytest.approx(2.40)  # $0.20 per million
    # the same duration on x86 costs the x86 first-tier price
    assert round(cost.lambda_compute_usd({"x86_64": gb_s}), 2) == 36.00


def test_lambda_duration_tiers_apply_to_each_architectures_monthly_total() -> None:
    # x86: 10 billion GB-s = 6e9 at $0.0000166667 + 4e9 at $0.000015 = $100,000.20 + $60,000
    assert cost.lambda_compute_usd({"x86_64": 10e9}) == pytest.approx(160_000.20)
    # Arm: 20 billion GB-s = 7.5e9 x $0.0000133334 + 11.25e9 x $0.0000120001 + 1.25e9 x $0.0000106667
    assert cost.lambda_compute_usd({"arm64": 20e9}) == pytest.approx(100_000.50 + 135_001.125 + 13_333.375)
    # two architectures never share a tier: 6e9 GB-s of each stays in each one's first tier
    both = cost.lambda_compute_usd({"x86_64": 6e9, "arm64": 6e9})
    assert both == pytest.approx(6e9 * 0.0000166667 + 6e9 * 0.0000133334)


def test_api_gateway_rest_and_http_tiers() -> None:
    assert cost.api_gateway_usd(5_000_000, "rest") == pytest.approx(17.50)  # 5M x $3.50 per million
    # REST: 400M = 333M x $3.50 + 67M x $2.80 = $1,165.50 + $187.60
    assert cost.api_gateway_usd(400_000_000, "rest") == pytest.approx(1_353.10)
    # REST past a billion: 333M x 3.50 + 667M x 2.80 + 19e9 x 2.38 + 1e9 x 1.51 (per million)
    assert cost.api_gateway_usd(21e9, "rest") == pytest.approx(1_165.5 + 1_867.6 + 45_220 + 1_510)
    # HTTP: 400M = 300M x $1.00 + 100M x $0.90
    assert cost.api_gateway_usd(400_000_000, "http") == pytest.approx(390.00)
    assert cost.api_gateway_usd(0, "http") == 0


def test_dynamodb_on_demand_units() -> None:
    # 1M writes at $0.625 per million WRU + 4M reads at $0.125 per million RRU
    assert cost.dynamodb_usd(4_000_000, 1_000_000) == pytest.approx(1.125)


def test_right_sizing_hints() -> None:
    suggested, hint = cost.right_size(61, 512, monthly_gb_s=100_000, architecture="arm64")
    assert suggested == 128  # 61 MB x 1.5 headroom, rounded up to 64 MB steps, at least 128 MB
    assert hint.startswith("max 61 MB of 512 MB used: 128 MB would do")
    assert "CPU scales with memory, so check duration" in hint
    assert f"${100_000 * (1 - 128 / 512) * 0.0000133334:,.2f} a month less" in hint
    assert cost.right_size(470, 512) == (768, "max 470 MB of 512 MB used: close to the limit, an invocation that "
                                              "needs more fails; raise it to 768 MB")
    assert cost.right_size(200, 256) == (256, "max 200 MB of 256 MB used: it fits")
    assert cost.right_size(None, 256)[0] == 256


CONFIG = """\
service = "shop"
[api]
type = "http"
[functions.api]
handler = "app.handler"
memory = 1024
architecture = "x86_64"
[functions.idle]
handler = "idle.handler"
"""


def test_cost_extrapolates_the_stored_window_to_a_month(tmp_path: Path) -> None:
    (tmp_path / "golive.toml").write_text(CONFIG)
    config = load_config(tmp_path)
    store = Store(tmp_path / ".golive" / "telemetry.duckdb")
    try:
        collector = Collector(store)
        start = time.time() - 100
        billed = [3, 5, 10, 2]
        for index, ms in enumerate(billed):
            lambda_id = f"8f5c3f0e-1b1a-4c1e-9a57-3a3b8d1f2c1{index}"
            captured: list[dict] = []
            AccessLog(enabled=False, callback=captured.append).emit({
                "requestId": f"api-{index}", "requestTimeEpoch": int((start + index * 10) * 1000),
                "httpMethod": "GET", "path": "/x", "routeKey": "GET /x", "stage": "$default", "status": 200,
                "responseLatency": 5, "functionName": "api", "integrationRequestId": lambda_id,
                "responseLength": 700 * 1024 if index == 0 else 10})  # the first meters as two HTTP requests
            collector.on_access_log(captured[0])
            collector.on_function_log(LogRecord(
                "api", lambda_id, "platform", f"REPORT RequestId: {lambda_id}\tDuration: {ms - 0.5} ms\tBilled "
                f"Duration: {ms} ms\tMemory Size: 1024 MB\tMax Memory Used: {40 + index} MB\t", start + index * 10))
        # an EMF document reporting DynamoDB's consumed units
        collector.on_function_log(LogRecord("api", "8f5c3f0e-1b1a-4c1e-9a57-3a3b8d1f2c10", "stdout", json.dumps({
            "_aws": {"Timestamp": int(start * 1000), "CloudWatchMetrics": [{"Namespace": "shop", "Dimensions": [[]],
                     "Metrics": [{"Name": "ConsumedReadCapacityUnits"}, {"Name": "ConsumedWriteCapacityUnits"}]}]},
            "ConsumedReadCapacityUnits": 3, "ConsumedWriteCapacityUnits": 2}), start + 1))
        collector.flush(final=True)
        result = cost.cost(store.cursor(), None, config)
    finally:
        store.close()
    assert result["window"]["seconds"] == pytest.approx(30, abs=0.01)  # first to last request
    factor = 30 * 86400 / result["window"]["seconds"]
    assert result["usage"]["factor"] == pytest.approx(factor, rel=1e-6)
    api, idle = result["functions"]
    assert (api["function"], api["memory_mb"], api["architecture"], api["invocations"]) == \
        ("api", 1024, "x86_64", 4)
    assert api["avg_billed_ms"] == 5.0 and api["max_memory_used_mb"] == 43
    assert api["gb_seconds"] == pytest.approx(sum(billed) / 1000 * 1.0)
    assert (idle["function"], idle["invocations"], idle["memory_mb"], idle["architecture"]) == \
        ("idle", 0, 512, "arm64")
    monthly = result["monthly"]
    assert monthly["lambda_requests_usd"] == pytest.approx(4 * factor * 0.20 / 1e6, rel=1e-4)
    assert monthly["lambda_compute_usd"] == pytest.approx(0.020 * factor * 0.0000166667, rel=1e-4)
    assert monthly["api_gateway_usd"] == pytest.approx(5 * factor * 1.00 / 1e6, rel=1e-4)  # 5 metered
    assert monthly["dynamodb_usd"] == pytest.approx((3 * 0.125 + 2 * 0.625) / 1e6 * factor, rel=1e-4)
    assert monthly["total_usd"] == pytest.approx(sum(v for k, v in monthly.items() if k != "total_usd"), rel=1e-4)
    assert result["dynamodb"]["measured"] is True and result["free_tier"]["subtracted"] is False
    assert result["prices"]["date"] == "2026-12-04" and result["prices"]["region"] == "us-east-1"
