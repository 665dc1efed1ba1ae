"""Errors: RFC 9457 problem+json with requestId, typed HTTP errors, and unhandled exceptions that leak nothing."""

from __future__ import annotations

import pytest

from golive import App, Conflict, HTTPError, NotFound, Response, TooManyRequests, Unauthorized
from golive.testing import TestClient


class InsufficientFunds(Exception):
    pass


def make_app() -> App:
    app = App("errors", health_path=None)

    @app.get("/conflict")
    def conflict(req):
        raise Conflict("A user with this email exists", code="duplicate_email")

    @app.get("/missing")
    def missing(req):
        raise NotFound("No user 7")

    @app.get("/slow-down")
    def slow_down(req):
        raise TooManyRequests("Quota used up", headers={"Retry-After": "30"})

    @app.get("/teapot")
    def teapot(req):
        raise HTTPError("Short and stout", status=418, title="I'm a teapot", type="https://example.com/teapot")

    @app.get("/crash")
    def crash(req):
        secret_state = "connection to db-prod-7.internal:5432 refused"
        raise RuntimeError(secret_state)

    @app.get("/pay")
    def pay(req):
        raise InsufficientFunds("balance too low")

    @app.errorhandler(InsufficientFunds)
    def on_funds(req, exc):
        return Response({"error": "insufficient funds"}, 402)

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app())


@pytest.mark.parametrize("path, status", [("/conflict", 409), ("/missing", 404), ("/slow-down", 429),
                                          ("/teapot", 418), ("/crash", 500), ("/nowhere", 404)])
def test_every_error_is_problem_json_with_the_request_id(client, path, status):
    response = client.get(path, headers={"X-Request-ID": "req-abc-123"})
    assert response.status == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "req-abc-123"
    problem = response.json()
    assert problem["status"] == status
    assert problem["requestId"] == "req-abc-123"
    assert problem["type"] and problem["title"]
    assert problem["instance"] == path


def test_typed_errors_carry_their_detail_and_extra_members(client):
    problem = client.get("/conflict").json()
    assert problem == {"type": "about:blank", "title": "Conflict", "status": 409,
                       "detail": "A user with this email exists", "instance": "/conflict",
                       "requestId": problem["requestId"], "code": "duplicate_email"}
    teapot = client.get("/teapot").json()
    assert (teapot["title"], teapot["type"], teapot["detail"]) == ("I'm a teapot", "https://example.com/teapot",
                                                                   "Short and stout")


def test_error_headers_reach_the_client(client):
    assert client.get("/slow-down").headers["retry-after"] == "30"


def test_request_id_is_generated_when_the_client_sends_none(client):
    response = client.get("/missing")
    assert response.json()["requestId"] == response.headers["x-request-id"]
    assert len(response.headers["x-request-id"]) >= 16


def test_unhandled_exception_leaks_nothing_and_logs_everything(client):
    response = client.get("/crash", headers={"X-Request-ID": "req-crash-1"})
    assert response.status == 500
    assert response.json() == {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                               "detail": "An unexpected error occurred", "instance": "/crash",
                               "requestId": "req-crash-1"}
    for leak in ("db-prod-7", "RuntimeError", "Traceback", "secret_state", ".py"):
        assert leak not in response.text
    [record] = [r for r in response.logs if r["message"] == "unhandled exception"]
    assert record["level"] == "ERROR"
    assert record["correlation_id"] == "req-crash-1"
    assert record["route"] == "GET /crash"
    assert record["error"]["type"] == "RuntimeError"
    assert record["error"]["message"] == "connection to db-prod-7.internal:5432 refused"
    assert "Traceback (most recent call last)" in record["error"]["stack"]
    assert "in crash" in record["error"]["stack"]
    access = [r for r in response.logs if r["message"] == "request completed"]
    assert access[0]["level"] == "ERROR" and access[0]["status"] == 500


def test_error_handlers_turn_exceptions_into_responses(client):
    response = client.get("/pay")
    assert response.status == 402
    assert response.json() == {"error": "insufficient funds"}


def test_unauthorized_asks_for_credentials():
    app = App("e", health_path=None)

    @app.get("/private")
    def private(req):
        raise Unauthorized()

    response = TestClient(app).get("/private")
    assert response.status == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_middleware_wraps_every_route_and_can_answer_itself():
    app = App("e", health_path=None)
    seen = []

    @app.middleware
    def timing(req, call_next):
        seen.append(req.path)
        if req.headers.get("x-maintenance"):
            return Response({"maintenance": True}, 503)
        response = call_next(req)
        response.headers["X-Served-By"] = "golive"
        return response

    @app.get("/ok")
    def ok(req):
        return {"ok": True}

    client = TestClient(app)
    response = client.get("/ok")
    assert response.headers["x-served-by"] == "golive"
    assert client.get("/ok", headers={"X-Maintenance": "1"}).status == 503
    assert seen == ["/ok", "/ok"]


def test_a_body_that_cannot_be_serialised_is_a_500_not_a_crash():
    app = App("e", health_path=None)

    @app.get("/odd")
    def odd(req):
        return {"handle": object()}

    response = TestClient(app).get("/odd")
    assert response.status == 500
    assert response.json()["detail"] == "An unexpected error occurred"
    [record] = [r for r in response.logs if r["message"] == "unhandled exception"]
    assert record["error"]["type"] == "TypeError"
    assert response.emf[0]["5xx"] == 1


def test_an_error_handler_may_answer_with_a_typed_error():
    app = App("e", health_path=None)

    @app.errorhandler(KeyError)
    def on_key(req, exc):
        return NotFound(f"No such key: {exc.args[0]}")

    @app.get("/lookup")
    def lookup(req):
        return {}["nope"]

    response = TestClient(app).get("/lookup")
    assert response.status == 404
    assert response.json()["detail"] == "No such key: nope"


def test_a_body_that_is_not_json_is_a_400_even_without_a_schema():
    app = App("e", health_path=None)

    @app.post("/raw")
    def raw(req):
        return {"got": req.json}

    client = TestClient(app)
    assert client.post("/raw", json={"a": 1}).json() == {"got": {"a": 1}}
    response = client.post("/raw", body="{oops", headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert response.json()["detail"].startswith("The body is not valid JSON")


def test_methods_and_keyword_catch_alls_receive_path_parameters():
    app = App("e", health_path=None)

    class Orders:
        def get(self, req, id):
            return {"id": id, "via": "method"}

        def ping(self, req):
            return {"via": "method without params"}

    def catch_all(req, **params):
        return {"params": params}

    orders = Orders()
    app.get("/orders/{id}")(orders.get)
    app.get("/ping")(orders.ping)
    app.get("/things/{a}/{b}")(catch_all)
    client = TestClient(app)
    assert client.get("/orders/3").json() == {"id": "3", "via": "method"}
    assert client.get("/ping").json() == {"via": "method without params"}
    assert client.get("/things/x/y").json() == {"params": {"a": "x", "b": "y"}}
