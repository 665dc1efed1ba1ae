"""Audit records: who did what to which resource, as one structured log line, whatever the log level."""

from __future__ import annotations

import jwt

from golive import App, JWTAuth, audit, logger
from golive.testing import TestClient

SECRET = "audit-secret-long-enough-for-hs256-signing"


def make_app() -> App:
    app = App("users", auth=JWTAuth(secret=SECRET))

    @app.delete("/users/{id}")
    def delete(req, id):
        record = audit("user.delete", f"users/{id}", reason="requested by owner")
        return {"record": record}

    @app.post("/users/{id}/impersonate")
    def impersonate(req, id):
        audit("user.impersonate", f"users/{id}", actor="support-bot", outcome="denied")
        return {}

    @app.get("/open", public=True)
    def open_route(req):
        audit("catalog.view", "catalog")
        return {}

    return app


def token(sub: str) -> str:
    return jwt.encode({"sub": sub, "exp": 4102444800}, SECRET, algorithm="HS256")


def _audit_lines(response):
    return [r for r in response.logs if r.get("audit") is True]


def test_audit_record_names_the_authenticated_principal():
    response = TestClient(make_app()).delete("/users/7", token=token("admin-1"),
                                             headers={"X-Request-ID": "req-audit-1"})
    assert response.status == 200
    [line] = _audit_lines(response)
    assert line["level"] == "INFO"
    assert line["message"] == "audit: admin-1 user.delete users/7 (success)"
    assert (line["action"], line["resource"], line["actor"], line["outcome"]) == (
        "user.delete", "users/7", "admin-1", "success")
    assert line["details"] == {"reason": "requested by owner"}
    assert line["correlation_id"] == "req-audit-1"
    assert line["at"].endswith("Z")
    assert response.json()["record"]["actor"] == "admin-1"


def test_explicit_actor_and_outcome():
    response = TestClient(make_app()).post("/users/7/impersonate", json={}, token=token("admin-1"))
    [line] = _audit_lines(response)
    assert (line["actor"], line["outcome"]) == ("support-bot", "denied")


def test_anonymous_actor_on_public_routes():
    [line] = _audit_lines(TestClient(make_app()).get("/open"))
    assert line["actor"] == "anonymous"


def test_audit_records_survive_a_quiet_log_level():
    logger.set_level("ERROR")
    response = TestClient(make_app()).delete("/users/8", token=token("admin-2"))
    assert [r["message"] for r in response.logs] == ["audit: admin-2 user.delete users/8 (success)"]
