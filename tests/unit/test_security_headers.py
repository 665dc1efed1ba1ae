"""Security headers on every response (errors and preflights included) and per-route caching."""

from __future__ import annotations

import pytest

from golive import CORS, App, JWTAuth, Response
from golive.testing import TestClient

EXPECTED = {
    "strict-transport-security": "max-age=63072000; includeSubDomains; preload",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


def make_app(**options) -> App:
    app = App("secure", cors=CORS(allow_origins=["https://app.example.com"]), **options)

    @app.get("/items", public=True)
    def items(req):
        return {"items": []}

    @app.post("/items", public=True, body={"type": "object", "required": ["name"]})
    def create(req):
        return {}, 201

    @app.get("/catalog", public=True, cache_control="public, max-age=300")
    def catalog(req):
        if req.query.get("fail"):
            raise RuntimeError("catalog store unreachable")
        return {"catalog": []}

    @app.get("/own-cache", public=True)
    def own_cache(req):
        return Response({}, headers={"Cache-Control": "private, max-age=5", "X-Frame-Options": "SAMEORIGIN"})

    @app.get("/crash", public=True)
    def crash(req):
        raise RuntimeError("boom")

    @app.get("/private")
    def private(req):
        return {}

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app(auth=JWTAuth(secret="s" * 32)))


PREFLIGHT = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}


@pytest.mark.parametrize("method, path, headers, status", [
    ("GET", "/items", {}, 200),
    ("GET", "/nowhere", {}, 404),
    ("DELETE", "/items", {}, 405),
    ("GET", "/crash", {}, 500),
    ("POST", "/items", {"Content-Type": "application/json"}, 400),
    ("GET", "/private", {}, 401),
    ("GET", "/health", {}, 200),
    ("OPTIONS", "/items", PREFLIGHT, 204),
    ("OPTIONS", "/items", {**PREFLIGHT, "Origin": "https://evil.example.org"}, 403),
    ("OPTIONS", "/items", {}, 204),
])
@pytest.mark.parametrize("kind", ["v1", "v2", "alb"])
def test_security_headers_on_every_response(client, method, path, headers, status, kind):
    response = client.request(method, path, headers=headers, body="{}" if method == "POST" else None, kind=kind)
    assert response.status == status
    for name, value in EXPECTED.items():
        assert response.headers[name] == value, name
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["vary"] == "Origin"
    assert response.headers["x-request-id"]


def test_route_cache_control_overrides_the_default_for_successes_only(client):
    assert client.get("/catalog").headers["cache-control"] == "public, max-age=300"
    failed = client.get("/catalog", query={"fail": "1"})
    assert failed.status == 500
    assert failed.headers["cache-control"] == "no-store"


def test_headers_a_handler_sets_are_kept(client):
    response = client.get("/own-cache")
    assert response.headers["cache-control"] == "private, max-age=5"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_extra_headers_are_added_everywhere():
    client = TestClient(make_app(extra_headers={"Permissions-Policy": "geolocation=()"}))
    assert client.get("/items").headers["permissions-policy"] == "geolocation=()"
    assert client.get("/nowhere").headers["permissions-policy"] == "geolocation=()"
