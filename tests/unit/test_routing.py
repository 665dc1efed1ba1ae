"""Routing as a client sees it: path parameters, greedy paths, 404, 405 + Allow, HEAD, OPTIONS, specificity."""

from __future__ import annotations

import pytest

from golive import App
from golive.testing import TestClient


@pytest.fixture
def client() -> TestClient:
    app = App("shop", health_path=None)

    @app.get("/users")
    def list_users(req):
        return {"users": []}

    @app.post("/users")
    def create_user(req):
        return {"created": True}, 201

    @app.get("/users/me")
    def me(req):
        return {"who": "me"}

    @app.get("/users/{id}")
    def get_user(req, id):
        return {"id": id}

    @app.delete("/users/{id}")
    def delete_user(req, id):
        return None

    @app.get("/users/{user_id}/orders/{order_id}")
    def get_order(req, user_id, order_id):
        return {"user": user_id, "order": order_id}

    @app.get("/files/{proxy+}")
    def files(req, proxy):
        return {"file": proxy}

    @app.get("/{proxy+}")
    def fallback(req, proxy):
        return {"fallback": proxy}

    # Registered in the "wrong" order on purpose: literal segments earlier in the path must still win.
    @app.get("/a/{x}/c")
    def a_x_c(req, x):
        return {"route": "/a/{x}/c"}

    @app.get("/a/b/{y}")
    def a_b_y(req, y):
        return {"route": "/a/b/{y}"}

    @app.get("/docs/{name}.json")
    def doc_json(req, name):
        return {"route": "/docs/{name}.json", "name": name}

    @app.get("/docs/{name}")
    def doc_any(req, name):
        return {"route": "/docs/{name}", "name": name}

    return TestClient(app)


@pytest.mark.parametrize("kind", ["v1", "v2", "url", "alb"])
def test_path_parameters_reach_the_handler_as_keyword_arguments(client, kind):
    response = client.get("/users/42/orders/abc", kind=kind)
    assert response.status == 200
    assert response.json() == {"user": "42", "order": "abc"}


def test_static_path_beats_a_parameter():
    app = App("s", health_path=None)

    @app.get("/users/{id}")
    def by_id(req, id):
        return {"route": "param"}

    @app.get("/users/me")
    def me(req):
        return {"route": "static"}

    client = TestClient(app)
    assert client.get("/users/me").json() == {"route": "static"}
    assert client.get("/users/7").json() == {"route": "param"}


def test_greedy_proxy_captures_the_rest_of_the_path(client):
    assert client.get("/files/a/b/c.txt").json() == {"file": "a/b/c.txt"}
    assert client.get("/anything/else").json() == {"fallback": "anything/else"}


def test_most_specific_route_wins(client):
    assert client.get("/a/b/c").json() == {"route": "/a/b/{y}"}
    assert client.get("/a/z/c").json() == {"route": "/a/{x}/c"}
    # A longer literal prefix beats a shorter greedy route, whatever the registration order.
    assert client.get("/files/x").json() == {"file": "x"}
    # A segment with a literal suffix beats a bare parameter.
    assert client.get("/docs/readme.json").json() == {"route": "/docs/{name}.json", "name": "readme"}
    assert client.get("/docs/readme").json() == {"route": "/docs/{name}", "name": "readme"}


def test_unknown_path_is_404_problem():
    app = App("s", health_path=None)

    @app.get("/users")
    def users(req):
        return []

    response = TestClient(app).get("/nope")
    assert response.status == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and body["title"] == "Not Found"
    assert body["instance"] == "/nope"


def test_wrong_method_is_405_with_allow(client):
    response = client.request("PATCH", "/users/42")
    assert response.status == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    assert response.json()["status"] == 405
    response = client.request("PUT", "/users")
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"


def test_head_answers_with_gets_headers_and_no_body(client):
    get = client.get("/users/42")
    head = client.head("/users/42")
    assert head.status == 200
    assert head.body == b""
    ignore = {"x-request-id"}
    assert {k: v for k, v in head.headers.items() if k not in ignore} == \
        {k: v for k, v in get.headers.items() if k not in ignore}
    assert head.headers["content-type"] == "application/json"


def test_options_lists_the_allowed_methods(client):
    response = client.options("/users")
    assert response.status == 204
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert response.body == b""
    assert client.options("/missing/path/that/only/proxy/matches").status == 204
    app = App("s", health_path=None)

    @app.get("/only")
    def only(req):
        return {}

    assert TestClient(app).options("/other").status == 404


def test_trailing_slash_matches_the_same_route(client):
    assert client.get("/users/").json() == {"users": []}
    assert client.get("/users/42/").json() == {"id": "42"}
    assert client.options("/users/").headers["allow"] == "GET, HEAD, OPTIONS, POST"


def test_percent_encoded_parameters_are_decoded(client):
    assert client.get("/users/jane%20doe").json() == {"id": "jane doe"}
    assert client.get("/users/caf%C3%A9").json() == {"id": "café"}
    # An encoded slash stays inside one parameter instead of splitting the path.
    assert client.get("/users/a%2Fb").json() == {"id": "a/b"}


def test_delete_returning_none_is_204_without_body(client):
    response = client.delete("/users/42")
    assert response.status == 204
    assert response.body == b""
    assert "content-type" not in response.headers


def test_duplicate_and_malformed_routes_are_rejected_at_registration():
    app = App("s", health_path=None)

    @app.get("/x")
    def x(req):
        return {}

    with pytest.raises(ValueError, match="declared twice"):
        app.get("/x")(lambda req: {})
    with pytest.raises(ValueError, match="must start with"):
        app.get("x")(lambda req: {})
    with pytest.raises(ValueError, match="not an HTTP method"):
        app.route("TRACE", "/y")(lambda req: {})


def test_one_path_with_two_parameter_spellings_is_rejected():
    app = App("s", health_path=None)

    @app.get("/users/{id}")
    def get_user(req, id):
        return {}

    with pytest.raises(ValueError, match=r"names its parameters differently from /users/\{id\}"):
        app.delete("/users/{user_id}")(lambda req, user_id: None)


def test_an_explicit_options_route_answers_plain_options_requests():
    app = App("s", health_path=None)

    @app.route("OPTIONS", "/rpc")
    def describe(req):
        return {"methods": ["POST"]}

    @app.post("/rpc")
    def rpc(req):
        return {}

    client = TestClient(app)
    assert client.options("/rpc").json() == {"methods": ["POST"]}
    assert client.get("/rpc").headers["allow"] == "OPTIONS, POST"
