"""CORS: exact and wildcard-subdomain origins, preflight grants, Vary: Origin, and no '*' with credentials."""

from __future__ import annotations

import pytest

from golive import CORS, App, JWTAuth
from golive.testing import TestClient


def make_app(cors: CORS) -> App:
    app = App("cors", cors=cors, auth=JWTAuth(secret="k" * 32))

    @app.get("/items", public=True)
    def items(req):
        return {"items": []}

    @app.post("/items")
    def create(req):
        return {}, 201

    @app.get("/crash", public=True)
    def crash(req):
        raise RuntimeError("boom")

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app(CORS(allow_origins=["https://myapp.com", "https://*.example.com"])))


@pytest.mark.parametrize("origin", ["https://myapp.com", "https://app.example.com", "https://a.b.example.com",
                                    "https://app.example.com:8443", "HTTPS://App.Example.com"])
def test_allowed_origins_are_echoed(client, origin):
    response = client.get("/items", headers={"Origin": origin})
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["vary"] == "Origin"
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("origin", ["https://evil.com", "https://example.com", "http://app.example.com",
                                    "https://evil-example.com", "https://app.example.com.evil.io",
                                    "https://myapp.com.evil.io", "null", "https://xexample.com"])
def test_other_origins_get_no_grant(client, origin):
    response = client.get("/items", headers={"Origin": origin})
    assert response.status == 200
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"


def test_vary_origin_on_every_response_even_without_origin(client):
    for path, status in (("/items", 200), ("/nowhere", 404), ("/crash", 500)):
        response = client.get(path)
        assert response.status == status
        assert response.headers["vary"] == "Origin"


def test_errors_are_readable_by_allowed_origins(client):
    response = client.get("/crash", headers={"Origin": "https://myapp.com"})
    assert response.status == 500
    assert response.headers["access-control-allow-origin"] == "https://myapp.com"


def test_preflight_grants_method_headers_and_max_age(client):
    response = client.options("/items", headers={"Origin": "https://app.example.com",
                                                 "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "content-type, Authorization"})
    assert response.status == 204  # no credentials needed: browsers never send them on a preflight
    assert response.body == b""
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert response.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS, POST"
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "authorization"} <= allowed
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["vary"] == "Origin"
    assert "access-control-expose-headers" not in response.headers


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.com", "Access-Control-Request-Method": "POST"},
    {"Origin": "https://myapp.com", "Access-Control-Request-Method": "DELETE"},
    {"Origin": "https://myapp.com", "Access-Control-Request-Method": "POST",
     "Access-Control-Request-Headers": "X-Not-Allowed"},
])
def test_refused_preflights_get_no_grant(client, headers):
    response = client.options("/items", headers=headers)
    assert response.status == 403
    assert not [h for h in response.headers if h.startswith("access-control-")]
    assert response.headers["vary"] == "Origin"


def test_credentials_are_granted_to_listed_origins_only():
    client = TestClient(make_app(CORS(allow_origins=["https://myapp.com"], allow_credentials=True)))
    response = client.get("/items", headers={"Origin": "https://myapp.com"})
    assert response.headers["access-control-allow-origin"] == "https://myapp.com"
    assert response.headers["access-control-allow-credentials"] == "true"
    preflight = client.options("/items", headers={"Origin": "https://myapp.com",
                                                  "Access-Control-Request-Method": "GET"})
    assert preflight.headers["access-control-allow-credentials"] == "true"


def test_star_is_never_combined_with_credentials():
    with pytest.raises(ValueError, match="cannot be combined with allow_credentials"):
        CORS(allow_origins=["*"], allow_credentials=True)


def test_star_without_credentials_allows_any_origin():
    client = TestClient(make_app(CORS(allow_origins=["*"])))
    response = client.get("/items", headers={"Origin": "https://anyone.io"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["vary"] == "Origin"
