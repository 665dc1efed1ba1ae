"""Structured logging: one JSON object per line with invocation context, levels, sampling and redaction."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from golive import App, logger
from golive.synth import LambdaContext, build_event
from golive.testing import TestClient

XRAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def make_app() -> App:
    app = App("users", health_path=None)

    @app.post("/users/{id}")
    def create(req, id):
        logger.info("creating user", user_id=id)
        logger.debug("debug detail", step=1)
        logger.warning("slow dependency", dependency="dynamodb")
        return {"id": id}, 201

    @app.get("/signup")
    def signup(req):
        logger.info("signup from admin@example.com paid with 4111 1111 1111 1111, ssn 123-45-6789",
                    user={"email": "admin@example.com", "password": "hunter2", "name": "Ada",
                          "profile": {"ssn": "123-45-6789", "api_token": "tok_live_123",
                                      "card_number": "4111111111111111",
                                      "contacts": [{"Authorization": "Bearer abc.def.ghi", "client_secret": "s3",
                                                    "note": "write to bo@example.org"}]}},
                    order_id="1234567890123", headers={"X-Api-Key": "k-123", "Accept": "application/json"})
        return {"ok": True}

    @app.get("/fails")
    def fails(req):
        try:
            {}["missing"]
        except KeyError:
            logger.exception("lookup failed", key="missing")
        return {"ok": False}

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app(), function_name="users-api")


def _record(response, message):
    found = [r for r in response.logs if r["message"] == message]
    assert len(found) == 1, response.lines
    return found[0]


def test_every_line_is_one_json_object_with_the_invocation_context(client):
    event = build_event("v2", "POST", "/users/7", headers={"X-Request-ID": "corr-77", "X-Amzn-Trace-Id": XRAY,
                                                           "Content-Type": "application/json"}, body=b"{}")
    response = client.invoke(event, LambdaContext("users-api", request_id="lambda-req-1"))
    for line in response.lines:
        assert isinstance(json.loads(line), dict)
    record = _record(response, "creating user")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
    assert record["level"] == "INFO"
    assert record["service"] == "users"
    assert record["function"] == "users-api"
    assert record["request_id"] == "lambda-req-1"
    assert record["correlation_id"] == "corr-77"
    assert record["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert record["cold_start"] is True
    assert record["route"] == "POST /users/{id}"
    assert record["method"] == "POST"
    assert record["user_id"] == "7"
    assert _record(response, "slow dependency")["level"] == "WARN"
    assert not [r for r in response.logs if r["message"] == "debug detail"]  # INFO is the default level
    access = _record(response, "request completed")
    assert access["status"] == 201 and access["route"] == "POST /users/{id}" and access["latency_ms"] >= 0


def test_correlation_id_is_echoed_or_generated(client):
    response = client.post("/users/1", json={}, headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert _record(response, "creating user")["correlation_id"] == "abc-123"
    generated = client.post("/users/1", json={})
    correlation = generated.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", correlation)
    assert _record(generated, "creating user")["correlation_id"] == correlation
    # A header that could forge log lines is not trusted.
    forged = client.post("/users/1", json={}, headers={"X-Request-ID": "x\n{\"level\":\"ERROR\"}"})
    assert forged.headers["x-request-id"] != "x\n{\"level\":\"ERROR\"}"
    assert all(json.loads(line) for line in forged.lines)


def test_trace_id_from_w3c_traceparent(client):
    response = client.post("/users/1", json={}, headers={"traceparent": TRACEPARENT})
    assert _record(response, "creating user")["trace_id"] == "1-4bf92f35-77b34da6a3ce929d0e0e4736"


def test_trace_id_is_generated_without_incoming_context(client):
    response = client.post("/users/1", json={})
    assert re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{24}", _record(response, "creating user")["trace_id"])


def test_malformed_trace_headers_do_not_break_the_request(client):
    for headers in ({"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz"},
                    {"traceparent": "00-zzzz2f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                    {"X-Amzn-Trace-Id": "Root=garbage;Sampled=banana"}):
        response = client.post("/users/1", json={}, headers=headers)
        assert response.status == 201
        assert re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{24}", _record(response, "creating user")["trace_id"])


def test_cold_start_is_true_only_on_the_first_invocation(client):
    first = client.post("/users/1", json={})
    second = client.post("/users/2", json={})
    assert _record(first, "creating user")["cold_start"] is True
    assert _record(second, "creating user")["cold_start"] is False


def test_exceptions_are_structured_fields(client):
    record = _record(client.get("/fails"), "lookup failed")
    assert record["level"] == "ERROR"
    assert record["error"]["type"] == "KeyError"
    assert record["error"]["message"] == "'missing'"
    assert "Traceback" in record["error"]["stack"] and "in fails" in record["error"]["stack"]
    assert record["key"] == "missing"


def test_secrets_are_removed_and_personal_data_masked(client):
    response = client.get("/signup")
    raw = "\n".join(response.lines)
    for secret in ("hunter2", "tok_live_123", "4111", "123-45-6789", "abc.def.ghi", "s3\"", "k-123",
                   "admin@", "bo@example.org"):
        assert secret not in raw, secret
    record = _record(response, "signup from ad***@example.com paid with [REDACTED], ssn [REDACTED]")
    user = record["user"]
    assert user["email"] == "ad***@example.com"
    assert user["password"] == "[REDACTED]"
    assert user["name"] == "Ada"
    profile = user["profile"]
    assert profile["ssn"] == profile["api_token"] == profile["card_number"] == "[REDACTED]"
    contact = profile["contacts"][0]
    assert contact["Authorization"] == contact["client_secret"] == "[REDACTED]"
    assert contact["note"] == "write to bo***@example.org"
    assert record["order_id"] == "1234567890123"  # not Luhn-valid: an id, not a card
    assert record["headers"] == {"X-Api-Key": "[REDACTED]", "Accept": "application/json"}


def test_a_user_ssn_key_and_other_spellings_are_redacted():
    lines: list[str] = []

    class Sink:
        def write(self, text):
            lines.append(text)

        def flush(self):
            pass

    logger.stream = Sink()
    logger.info("fields", user_ssn="123456789", passwd="x1", accessToken="t", creditCardNumber="5500 0000 0000 0004",
                discard_reason="duplicate", tokens_used=5)
    record = json.loads(lines[0])
    assert record["user_ssn"] == record["passwd"] == record["accessToken"] == "[REDACTED]"
    assert record["creditCardNumber"] == "[REDACTED]"
    assert record["discard_reason"] == "duplicate"


_LEVEL_SCRIPT = textwrap.dedent("""
    import json
    from golive import App, logger
    from golive.testing import TestClient
    app = App("lv", health_path=None)

    @app.get("/x")
    def x(req):
        logger.debug("debug line")
        logger.info("info line")
        logger.warning("warn line")
        return {}

    client = TestClient(app)
    for _ in range(3):
        for record in client.get("/x").logs:
            print(json.dumps(record))
""")


def _levels(run_python, env: dict[str, str]) -> list[dict]:
    result = run_python(_LEVEL_SCRIPT, env=env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_log_level_from_the_environment(run_python):
    records = _levels(run_python, {"LOG_LEVEL": "WARN"})
    assert {r["message"] for r in records} == {"warn line"}
    records = _levels(run_python, {"LOG_LEVEL": "debug"})
    assert {"debug line", "info line", "warn line", "request completed"} <= {r["message"] for r in records}


def test_sampled_debug_logs(run_python):
    records = _levels(run_python, {"GOLIVE_LOG_SAMPLE_RATE": "1"})
    debug = [r for r in records if r["message"] == "debug line"]
    assert len(debug) == 3
    assert all(r["sampled_debug"] is True and r["level"] == "DEBUG" for r in debug)
    records = _levels(run_python, {"GOLIVE_LOG_SAMPLE_RATE": "0"})
    assert not [r for r in records if r["level"] == "DEBUG"]
    assert not [r for r in records if "sampled_debug" in r]


def test_a_bad_sample_rate_does_not_stop_the_function(run_python):
    records = _levels(run_python, {"GOLIVE_LOG_SAMPLE_RATE": "ten percent", "LOG_LEVEL": "LOUD"})
    assert {r["message"] for r in records} == {"info line", "warn line", "request completed"}
