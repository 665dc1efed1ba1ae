"""Health: a public /health that runs dependency checks with timeouts and reports version, uptime and memory."""

from __future__ import annotations

import threading
import time

from golive import App, JWTAuth
from golive.testing import TestClient


def make_app(**options) -> App:
    return App("users", auth=JWTAuth(secret="health-secret-long-enough-for-hs256"), version="1.4.2", **options)


def test_health_is_public_and_reports_the_service():
    response = TestClient(make_app()).get("/health")
    assert response.status == 200
    report = response.json()
    assert report["status"] == "ok"
    assert (report["service"], report["version"]) == ("users", "1.4.2")
    assert report["uptime_s"] >= 0
    assert report["memory"]["max_rss_mb"] > 1
    assert report["checks"] == {}
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_passing_checks_are_listed_with_their_latency():
    app = make_app()
    app.health.add("dynamodb", lambda: True)

    @app.health.check("config")
    def config_loaded():
        return None  # no exception and not False: a pass

    report = TestClient(app).get("/health").json()
    assert report["status"] == "ok"
    assert report["checks"]["dynamodb"]["status"] == "ok"
    assert report["checks"]["config"]["status"] == "ok"
    assert report["checks"]["dynamodb"]["latency_ms"] >= 0


def test_a_failing_check_makes_the_service_degraded():
    app = make_app()
    app.health.add("dynamodb", lambda: True)

    def cache():
        raise ConnectionError("redis refused the connection")

    app.health.add("cache", cache)
    app.health.add("queue", lambda: False)
    response = TestClient(app).get("/health")
    assert response.status == 503
    report = response.json()
    assert report["status"] == "degraded"
    assert report["checks"]["cache"] == {"status": "fail", "error": "ConnectionError: redis refused the connection",
                                         "latency_ms": report["checks"]["cache"]["latency_ms"]}
    assert report["checks"]["queue"]["status"] == "fail"
    assert report["checks"]["dynamodb"]["status"] == "ok"


def test_a_slow_check_times_out_without_holding_the_request():
    app = make_app()
    release = threading.Event()
    app.health.add("search", lambda: release.wait(5), timeout=0.1)
    app.health.add("dynamodb", lambda: True, timeout=0.1)
    started = time.monotonic()
    response = TestClient(app).get("/health")
    elapsed = time.monotonic() - started
    try:
        assert elapsed < 1.0
        assert response.status == 503
        report = response.json()
        assert report["status"] == "degraded"
        assert report["checks"]["search"] == {"status": "timeout", "error": "did not answer within 0.1 s"}
        assert report["checks"]["dynamodb"]["status"] == "ok"
        # A check still stuck from the last call is reported, not started a second time.
        again = TestClient(app).get("/health").json()
        assert again["checks"]["search"]["error"] == "still running since an earlier health check"
    finally:
        release.set()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and TestClient(app).get("/health").status != 200:
        time.sleep(0.02)
    assert TestClient(app).get("/health").json()["checks"]["search"]["status"] == "ok"


def test_a_non_critical_check_does_not_degrade_the_service():
    app = make_app()
    app.health.add("recommendations", lambda: False, critical=False)
    response = TestClient(app).get("/health")
    assert response.status == 200
    assert response.json()["checks"]["recommendations"]["status"] == "fail"


def test_health_path_can_be_moved_or_removed():
    assert TestClient(make_app(health_path="/_status")).get("/_status").status == 200
    assert TestClient(make_app(health_path=None)).get("/health").status == 404
