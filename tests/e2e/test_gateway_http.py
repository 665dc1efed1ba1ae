"""The local API Gateway as an HTTP API (payload v2): its own failure answers (404, 500, 503, 413), a JWT authorizer
verifying RS256 signatures against a JWKS served on loopback, a Lambda REQUEST authorizer with simple responses and
caching, CORS, and a configuration error reported in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from test_gateway_support import REPO, Cloud, Reply, request_id, write_service

ISSUER = "https://issuer.golive.test"
AUDIENCE = "golive-tests"
DEV_SECRET = "http-api-dev-secret-for-tests-only"
ORIGIN = "https://app.example.com"

JWT_CONFIG = """\
service = "notes-http"

[api]
type = "http"

[api.integration_timeouts]
"GET /wait" = 0.5

[api.cors]
allow_origins = ["%(origin)s"]
allow_methods = ["GET", "POST"]

[auth]
type = "jwt"
issuer = "%(issuer)s"
audience = "%(audience)s"
jwks_url = "%(jwks)s"
dev_secret = "%(secret)s"
routes = ["GET /me", "GET /admin"]
dev_verify_identity_provider = true   # the JWKS on loopback stands for the identity provider

[functions.api]
handler = "app.handler"

[functions.misc]
handler = "misc.handler"
routes = ["GET /error", "GET /ok", "GET /wait", "GET /malformed", "POST /upload"]
"""

APP = '''
from golive import App
from golive.security.auth import GatewayAuth

app = App("notes-http", auth=GatewayAuth())


@app.get("/me")
def me(request):
    return {"principal": request.principal, "claims": request.request_context["authorizer"]["jwt"]["claims"]}


@app.get("/admin", scopes=["admin"])
def admin(request):
    return {"admin": True}


handler = app.handler
'''

MISC = '''
import json
import time


def handler(event, context):
    route = event["routeKey"]
    if route == "GET /error":
        raise RuntimeError("boom")
    if route == "GET /wait":
        time.sleep(float(event["queryStringParameters"]["s"]))
    if route == "GET /malformed":
        return {"statusCode": "two hundred", "body": "x"}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "cookies": ["a=1", "b=2"], "body": json.dumps({"event": event})}
'''

REQUEST_CONFIG = """\
service = "request-auth"

[api]
type = "http"

[auth]
type = "lambda-request"
function = "authorizer"
identity_source = "$request.header.x-token"
ttl = 300

[functions.api]
handler = "echo.handler"
routes = ["GET /whoami", "GET /other"]

[functions.authorizer]
handler = "authorizer.handler"

[functions.authorizer.environment]
AUTH_LOG = "%(auth_log)s"
"""

ECHO = '''
import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["authorizer"])}
'''

REQUEST_AUTHORIZER = '''
import json
import os


def handler(event, context):
    with open(os.environ["AUTH_LOG"], "a") as log:
        log.write(json.dumps({"type": event["type"], "routeArn": event["routeArn"],
                              "identitySource": event["identitySource"], "routeKey": event["routeKey"]}) + "\\n")
    token = event["headers"]["x-token"]
    if token.startswith("good-"):
        return {"isAuthorized": True, "context": {"user": token[5:], "level": 2}}
    return {"isAuthorized": False}
'''


class JWKS:
    """A JWKS endpoint on loopback with one RSA signing key, like an identity provider's."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        document = json.dumps({"keys": [{**public, "kid": "test-key", "use": "sig", "alg": "RS256"}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(document)))
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key: Any = None, kid: str = "test-key", **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300, **claims}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def jwks() -> Iterator[JWKS]:
    provider = JWKS()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def clouds(tmp_path_factory: pytest.TempPathFactory, jwks: JWKS) -> Iterator[dict[str, Cloud]]:
    root = tmp_path_factory.mktemp("http")
    auth_log = root / "auth.log"
    notes = write_service(root / "notes", {
        "golive.toml": JWT_CONFIG % {"origin": ORIGIN, "issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks.url,
                                     "secret": DEV_SECRET},
        "app.py": APP, "misc.py": MISC})
    requests = write_service(root / "requests", {"golive.toml": REQUEST_CONFIG % {"auth_log": auth_log},
                                                 "echo.py": ECHO, "authorizer.py": REQUEST_AUTHORIZER})
    started = {"notes": Cloud(notes), "requests": Cloud(requests)}  # both start at once
    try:
        for cloud in started.values():
            cloud.wait_ready()
        started["requests"].auth_log = auth_log  # type: ignore[attr-defined]
        yield started
    finally:
        for cloud in started.values():
            cloud.stop()


@pytest.fixture
def notes(clouds: dict[str, Cloud]) -> Cloud:
    return clouds["notes"]


def assert_http_error(reply: Reply, status: int, body: bytes) -> None:
    assert (reply.status, reply.body) == (status, body), reply
    assert "x-amzn-errortype" not in reply.headers and "x-amzn-requestid" not in reply.headers
    assert len(reply.headers["apigw-requestid"]) == 16


def test_unknown_route_is_404_not_found(notes: Cloud) -> None:
    assert_http_error(notes.get("/nowhere"), 404, b'{"message":"Not Found"}')
    assert_http_error(notes.request("DELETE", "/ok"), 404, b'{"message":"Not Found"}')


def test_function_error_is_500_then_the_function_serves_again(notes: Cloud) -> None:
    failed = notes.get("/error")
    assert_http_error(failed, 500, b'{"message":"Internal Server Error"}')
    assert notes.access_record(request_id(failed))["errorResponseType"] == "INTEGRATION_FAILURE"
    assert notes.get("/ok").status == 200


def test_malformed_response_is_500(notes: Cloud) -> None:
    assert_http_error(notes.get("/malformed"), 500, b'{"message":"Internal Server Error"}')


def test_integration_timeout_is_503_service_unavailable(notes: Cloud) -> None:
    started = time.monotonic()
    reply = notes.get("/wait?s=1")
    assert time.monotonic() - started > 0.45  # the route's 0.5 s timeout fired: the function would answer 200
    assert_http_error(reply, 503, b'{"message":"Service Unavailable"}')
    assert notes.access_record(request_id(reply))["errorResponseType"] == "INTEGRATION_TIMEOUT"
    assert notes.get("/wait?s=0").status == 200


def test_request_over_10_mb_is_413(notes: Cloud) -> None:
    assert_http_error(notes.request("POST", "/upload", body=b"x" * (10 * 1024 * 1024 + 1)), 413,
                      b'{"message":"Request Entity Too Large"}')


def test_payload_v2_event_and_response(notes: Cloud) -> None:
    reply = notes.get("/ok?a=1&a=2&b=%20x", headers={"Cookie": "c1=v1; c2=v2", "X-Custom": "yes"})
    event = reply.json()["event"]
    assert event["version"] == "2.0" and event["routeKey"] == "GET /ok"
    assert event["rawPath"] == "/ok" and event["rawQueryString"] == "a=1&a=2&b=%20x"
    assert event["queryStringParameters"] == {"a": "1,2", "b": " x"}
    assert event["cookies"] == ["c1=v1", "c2=v2"] and event["headers"]["x-custom"] == "yes"
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["requestId"] == reply.headers["apigw-requestid"]
    assert reply.headers["set-cookie"] == "a=1, b=2"  # two Set-Cookie headers


def test_jwt_authorizer_verifies_signatures_against_the_jwks(notes: Cloud, jwks: JWKS) -> None:
    missing = notes.get("/me")
    assert_http_error(missing, 401, b'{"message":"Unauthorized"}')
    good = notes.get("/me", headers={"Authorization": f"Bearer {jwks.token(email='ada@example.com')}"})
    assert good.status == 200, good
    assert good.json()["principal"] == "user-1" and good.json()["claims"]["email"] == "ada@example.com"
    record = notes.access_record(request_id(good))
    assert record["authorizerStatus"] == 200 and record["principalId"] == "user-1"
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for token in (jwks.token(exp=int(time.time()) - 3600), jwks.token(aud="someone-else"),
                  jwks.token(key=other_key), "not-a-jwt"):
        reply = notes.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert_http_error(reply, 401, b'{"message":"Unauthorized"}')
        assert 'error="invalid_token"' in reply.headers["www-authenticate"]
    dev = jwt.encode({"sub": "dev-user", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}, DEV_SECRET,
                     algorithm="HS256")
    assert notes.get("/me", headers={"Authorization": f"Bearer {dev}"}).json()["principal"] == "dev-user"
    assert notes.get("/health").status == 200  # public route: no authorizer


def test_jwt_authorizer_checks_route_scopes(notes: Cloud, jwks: JWKS) -> None:
    reader = notes.get("/admin", headers={"Authorization": f"Bearer {jwks.token(scope='notes.read')}"})
    assert_http_error(reader, 403, b'{"message":"Forbidden"}')
    assert 'error="insufficient_scope"' in reader.headers["www-authenticate"]
    admin = notes.get("/admin", headers={"Authorization": f"Bearer {jwks.token(scope='notes.read admin')}"})
    assert (admin.status, admin.json()) == (200, {"admin": True})


def test_cors_on_an_http_api(notes: Cloud) -> None:
    preflight = notes.request("OPTIONS", "/anything/at/all",
                              headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert (preflight.status, preflight.body) == (204, b"")
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.headers["access-control-allow-methods"] == "GET,POST"
    actual = notes.get("/ok", headers={"Origin": ORIGIN})
    assert actual.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in notes.get("/ok", headers={"Origin": "https://evil.example"}).headers


def test_lambda_request_authorizer_with_simple_responses_and_caching(clouds: dict[str, Cloud]) -> None:
    cloud = clouds["requests"]
    assert_http_error(cloud.get("/whoami"), 401, b'{"message":"Unauthorized"}')
    first = cloud.get("/whoami", headers={"x-token": "good-ann"})
    assert (first.status, first.json()) == (200, {"lambda": {"user": "ann", "level": 2}})
    assert cloud.get("/other", headers={"x-token": "good-ann"}).status == 200
    assert_http_error(cloud.get("/whoami", headers={"x-token": "bad"}), 403, b'{"message":"Forbidden"}')
    log_path: Path = cloud.auth_log  # type: ignore[attr-defined]
    calls = [json.loads(line) for line in log_path.read_text().splitlines()]
    ann = [call for call in calls if call["identitySource"] == ["good-ann"]]
    assert len(ann) == 1  # the second request used the cached result
    assert ann[0]["type"] == "REQUEST" and ann[0]["routeKey"] == "GET /whoami"
    assert ann[0]["routeArn"].startswith("arn:aws:execute-api:us-east-1:123456789012:")
    assert ann[0]["routeArn"].endswith("/$default/GET/whoami")


def test_rest_only_features_on_an_http_api_fail_in_one_line(tmp_path: Path) -> None:
    service = write_service(tmp_path / "bad", {
        "golive.toml": 'service = "bad"\n[api]\ntype = "http"\nusage_plan = { quota = 100 }\n'
                       '[functions.api]\nhandler = "h.handler"\nroutes = ["GET /x"]\n',
        "h.py": "def handler(event, context):\n    return {}\n"})
    result = subprocess.run([sys.executable, "-m", "golive.cli", "dev", str(service), "--port", "0"],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "golive dev: error: [api] usage_plan and api_keys need a REST API (type = \"rest\"): HTTP APIs have no API "
        "keys or usage plans"]
