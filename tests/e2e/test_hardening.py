"""Hardening of the Users API on `golive dev` (a real subprocess, real HTTP): tokens checked as RFC 7519 says, no
outbound identity-provider calls for development, client mistakes answered 4xx (never 5xx), AWS's limits."""

from __future__ import annotations

import json
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.slow

SERVICE = Path(__file__).resolve().parents[2] / "examples" / "users"
CONFIG = tomllib.loads((SERVICE / "golive.toml").read_text())
AUTH = CONFIG["auth"]
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "hardening-user", "roles": ["admin"], "iss": AUTH["issuer"], "aud": AUTH["audience"],
            "iat": now, "exp": now + 900}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def dev_token(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), AUTH["dev_secret"], algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def users(launch_dev_server: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = launch_dev_server(SERVICE, GOLIVE_STATE_DIR=str(tmp_path_factory.mktemp("users-state")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(users: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=users.url, timeout=15) as http:
        yield http


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status and isinstance(body["title"], str) and body["title"], body
    return body


# 7. sub required and non-empty; exp, nbf, iat are numbers.

@pytest.mark.parametrize("overrides", [{"sub": None}, {"sub": ""}, {"exp": str(int(time.time()) + 900)},
                                       {"nbf": "0"}, {"iat": "now"}])
def test_tokens_breaking_rfc_7519_are_401_at_the_gateway(client: httpx.Client, overrides: dict[str, Any]) -> None:
    response = client.get("/users", headers=bearer(dev_token(**overrides)))
    assert_problem(response, 401)
    assert client.get("/users", headers=bearer(dev_token())).status_code == 200


# 1. Asymmetric tokens: never a 500, never an outbound fetch unless asked, bounded and negatively cached.

def rs256_token(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), RSA_KEY, algorithm="RS256", headers={"kid": "key-1"})


def test_an_rs256_token_against_the_placeholder_user_pool_is_401_at_once(client: httpx.Client) -> None:
    started = time.monotonic()
    answers = [client.get("/users", headers=bearer(rs256_token())) for _ in range(5)]
    took = time.monotonic() - started
    for response in answers:
        assert_problem(response, 401)
    assert took < 2.0, f"5 requests took {took:.2f} s: something waited for the identity provider"


class Provider:
    """An identity provider's JWKS endpoint on loopback: serving the key, down (503) or hanging; counts fetches."""

    def __init__(self) -> None:
        self.mode = "serve"
        self.fetches = 0
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
        document = json.dumps({"keys": [{**public, "kid": "key-1", "use": "sig", "alg": "RS256"}]}).encode()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                if provider.mode == "hang":
                    time.sleep(8)
                    return
                status, body = (200, document) if provider.mode == "serve" else (503, b"")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


PROVIDER_SERVICE = """\
service = "idp"

[api]
type = "http"

[auth]
type = "jwt"
issuer = "{issuer}"
audience = "{audience}"
jwks_url = "{jwks}"
dev_secret = "{secret}"
{dev}
[functions.api]
handler = "app.handler"
"""

PROVIDER_APP = '''
from golive import App
from golive.security.auth import GatewayAuth

app = App("idp", auth=GatewayAuth())


@app.get("/me")
def me(request):
    return {"principal": request.principal}


handler = app.handler
'''


def provider_service(root: Path, provider: Provider, *, ask: bool) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    dev = "dev_verify_identity_provider = true\n" if ask else ""
    (root / "golive.toml").write_text(PROVIDER_SERVICE.format(issuer=AUTH["issuer"], audience=AUTH["audience"],
                                                              jwks=provider.url, secret=AUTH["dev_secret"], dev=dev))
    (root / "app.py").write_text(PROVIDER_APP)
    return root


def test_golive_dev_asks_the_identity_provider_only_when_told_to(
        start_dev_server: Callable[..., Any], tmp_path: Path) -> None:
    provider = Provider()
    try:
        unasked = start_dev_server(provider_service(tmp_path / "unasked", provider, ask=False))
        for _ in range(3):
            response = httpx.get(f"{unasked.url}/me", headers=bearer(rs256_token()), timeout=10)
            assert response.status_code == 401, response.text
        assert httpx.get(f"{unasked.url}/me", headers=bearer(dev_token()), timeout=10).json() == {
            "principal": "hardening-user"}
        assert provider.fetches == 0
        unasked.stop()

        asked = start_dev_server(provider_service(tmp_path / "asked", provider, ask=True))
        response = httpx.get(f"{asked.url}/me", headers=bearer(rs256_token(sub="from-the-idp")), timeout=10)
        assert response.status_code == 200, response.text
        assert response.json() == {"principal": "from-the-idp"}
        assert provider.fetches == 1
    finally:
        provider.close()


@pytest.mark.parametrize("mode", ["down", "hang"])
def test_an_identity_provider_down_or_hanging_answers_401_fetched_once(
        start_dev_server: Callable[..., Any], tmp_path: Path, mode: str) -> None:
    provider = Provider()
    provider.mode = mode
    try:
        server = start_dev_server(provider_service(tmp_path / mode, provider, ask=True))
        started = time.monotonic()
        answers = [httpx.get(f"{server.url}/me", headers=bearer(rs256_token()), timeout=30) for _ in range(6)]
        took = time.monotonic() - started
        assert [a.status_code for a in answers] == [401] * 6, [a.text for a in answers]
        assert answers[0].json() == {"message": "Unauthorized"}
        # One fetch (bounded by its 2 s timeout); the five after it are answered from the cached failure.
        assert provider.fetches == 1
        assert took < 6, f"6 requests took {took:.2f} s"
    finally:
        provider.close()


# 2 and 3. Deeply nested JSON and lone surrogates: 400 at the gateway's validator and in the function.

ECHO_SERVICE = """\
service = "echo"

[api]
type = "http"   # no request validation at the gateway: the function alone sees the body

[functions.api]
handler = "app.handler"
"""

ECHO_APP = '''
from golive import App

app = App("echo")


@app.post("/notes", body={"type": "object"}, public=True)
def create(request):
    return {"keys": sorted(request.json)}, 201


@app.post("/raw", public=True)
def raw(request):
    return {"type": type(request.json).__name__}


handler = app.handler
'''

DEEP = '{"name": "Deep", "email": "deep@example.com", "extra": ' + "[" * 1_000 + "]" * 1_000 + "}"
SURROGATE = '{"name": "Lone \\ud800 surrogate", "email": "lone@example.com"}'


@pytest.fixture(scope="module")
def echo(launch_dev_server: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("echo")
    (root / "golive.toml").write_text(ECHO_SERVICE)
    (root / "app.py").write_text(ECHO_APP)
    server = launch_dev_server(root)
    yield server
    server.stop()


@pytest.mark.parametrize("body", [DEEP, SURROGATE], ids=["deep", "surrogate"])
def test_hostile_json_is_400_at_the_users_gateway(client: httpx.Client, body: str) -> None:
    response = client.post("/users", content=body, headers={**bearer(dev_token()),
                                                            "Content-Type": "application/json"})
    assert_problem(response, 400)


@pytest.mark.parametrize("body, detail", [
    (DEEP, "The body is not valid JSON: it nests arrays or objects deeper than 200 levels"),
    (SURROGATE, "The body is not valid JSON: it contains a lone UTF-16 surrogate escape (such as \\ud800), which "
                "is not Unicode; send characters outside the BMP as a surrogate pair or as UTF-8"),
], ids=["deep", "surrogate"])
@pytest.mark.parametrize("path", ["/notes", "/raw"])
def test_hostile_json_is_400_from_the_function(echo: Any, path: str, body: str, detail: str) -> None:
    response = httpx.post(f"{echo.url}{path}", content=body, headers={"Content-Type": "application/json"},
                          timeout=10)
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == detail
    served = httpx.post(f"{echo.url}{path}", json={"name": "ok \N{GRINNING FACE}"}, timeout=10)
    assert served.status_code in (200, 201), served.text


# 6. Control characters never reach the store; emails are checked in linear time.

@pytest.mark.parametrize("field, value", [
    ("name", "Ada\x00Lovelace"), ("name", "Ada\x1b[31mred"), ("name", "Ada\bX"), ("name", "Ada\x85"),
    ("name", "Ada\x7f"), ("name", "Ada\nLovelace"), ("email", "ada\x00@example.com"), ("email", "ad\x1ba@example.com"),
    ("email", "ada@exam\x9bple.com"),
])
def test_control_characters_are_400_and_nothing_is_stored(client: httpx.Client, field: str, value: str) -> None:
    body = {"name": "Ada Lovelace", "email": f"ada-{time.time_ns()}@example.com", field: value}
    response = client.post("/users", json=body, headers=bearer(dev_token()))
    assert_problem(response, 400)
    listed = client.get("/users", params={"limit": 100}, headers=bearer(dev_token())).json()["items"]
    assert value not in [user[field] for user in listed]


def test_names_in_any_script_are_still_welcome(client: httpx.Client) -> None:
    body = {"name": "Ada Lovelace \N{GRINNING FACE} Łukasz 李 Ñandú", "email": f"ada-{time.time_ns()}@example.com"}
    response = client.post("/users", json=body, headers=bearer(dev_token()))
    assert response.status_code == 201, response.text
    assert response.json()["name"] == body["name"]


def test_a_huge_email_is_refused_in_linear_time(client: httpx.Client) -> None:
    # fastjsonschema's email regex backtracks: a megabyte of dots would hold the function past its timeout (5xx).
    body = {"name": "Dots", "email": "a@" + "." * 1_000_000 + " "}
    started = time.monotonic()
    response = client.post("/users", json=body, headers=bearer(dev_token()))
    assert_problem(response, 400)
    assert time.monotonic() - started < 2.5


# 5. Every problem+json the gateway makes, locally and in the deployed template, is a valid Problem document.

FAILING_SERVICE = """\
service = "failing"

[api]
type = "rest"

[api.integration_timeouts]
"GET /slow" = 0.5

[auth]
type = "none"

[functions.api]
handler = "app.handler"
routes = ["GET /crash", "GET /slow", "GET /malformed", "POST /items"]
"""

FAILING_APP = '''
import time


def handler(event, context):
    route = event["resource"]
    if route == "/crash":
        raise RuntimeError("boom")
    if route == "/slow":
        time.sleep(2)
    return {"statusCode": "not a status"}
'''


def problem_validator() -> Callable[[Any], None]:
    import jsonschema

    from golive.openapi import PROBLEM_SCHEMA

    checker = jsonschema.Draft202012Validator(PROBLEM_SCHEMA)

    def check(document: Any) -> None:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in checker.iter_errors(document)]
        assert not errors, (document, errors)
    return check


def test_problems_the_local_gateway_makes_validate_against_the_problem_schema(
        client: httpx.Client, start_dev_server: Callable[..., Any], tmp_path: Path) -> None:
    check = problem_validator()
    answers = [
        client.get("/nowhere"),                                           # undeclared route: 403
        client.delete("/users"),                                          # undeclared method: 403
        client.get("/users"),                                             # no token: 401
        client.get("/users", headers=bearer(rs256_token())),              # unverifiable token: 401
        client.post("/users", json={"name": 7}, headers=bearer(dev_token())),  # validator: 400
    ]
    (tmp_path / "failing").mkdir()
    (tmp_path / "failing" / "golive.toml").write_text(FAILING_SERVICE)
    (tmp_path / "failing" / "app.py").write_text(FAILING_APP)
    failing = start_dev_server(tmp_path / "failing")
    with httpx.Client(base_url=failing.url, timeout=15) as other:
        answers += [other.get("/crash"), other.get("/malformed"), other.get("/slow")]  # 502, 502, 504
    seen = set()
    for response in answers:
        assert response.headers["content-type"] == "application/problem+json", (response.status_code, response.text)
        document = response.json()
        check(document)
        assert document["status"] == response.status_code, document
        seen.add(response.status_code)
    assert seen == {400, 401, 403, 502, 504}


# API Gateway's default status per gateway response type (AWS docs: "Gateway response types for API Gateway");
# DEFAULT_4XX / DEFAULT_5XX have none: any 4xx / 5xx of a type not listed.
AWS_DEFAULT_STATUS = {
    "ACCESS_DENIED": 403, "API_CONFIGURATION_ERROR": 500, "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500, "BAD_REQUEST_PARAMETERS": 400, "BAD_REQUEST_BODY": 400, "DEFAULT_4XX": 400,
    "DEFAULT_5XX": 500, "EXPIRED_TOKEN": 403, "INTEGRATION_FAILURE": 504, "INTEGRATION_TIMEOUT": 504,
    "INVALID_API_KEY": 403, "INVALID_SIGNATURE": 403, "MISSING_AUTHENTICATION_TOKEN": 403, "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413, "RESOURCE_NOT_FOUND": 404, "THROTTLED": 429, "UNAUTHORIZED": 401,
    "UNSUPPORTED_MEDIA_TYPE": 415, "WAF_FILTERED": 403,
}


def test_every_gateway_response_the_template_deploys_is_a_valid_problem(tmp_path: Path) -> None:
    import subprocess
    import sys

    from golive.deploy.cfn import load_yaml
    from golive.local.apigw.responses import GatewayResponse, TemplateResponses

    output = tmp_path / "template.yaml"
    result = subprocess.run([sys.executable, "-m", "golive.cli", "template", str(SERVICE), "-o", str(output)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    responses = load_yaml(output.read_text())["Resources"]["Api"]["Properties"]["GatewayResponses"]
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE",
            "MISSING_AUTHENTICATION_TOKEN", "INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT"} <= set(responses)
    check = problem_validator()
    rendered = TemplateResponses(responses)
    for kind, spec in responses.items():
        status = int(spec.get("StatusCode") or AWS_DEFAULT_STATUS[kind])
        # $context.error.messageString is null for the authorizer errors: the worst case for every type.
        for message in (None, 'a "quoted" message'):
            answer = rendered.render(GatewayResponse(status, b"{}", [], kind, message), "req-1",
                                     validation_error='instance.name must be string "x"')
            document = json.loads(answer.body)
            check(document)
            assert document["title"] and document["status"] == answer.status, (kind, document)
    # Lambda's payload refusal reaches DEFAULT_4XX as API Gateway's 413 "Request Too Long": its body says 413.
    too_long = rendered.render(GatewayResponse(413, b'{"message": "Request Too Long"}', [], "DEFAULT_4XX",
                                               "Request Too Long"), "req-2")
    document = json.loads(too_long.body)
    check(document)
    assert (too_long.status, document["status"], document["title"]) == (413, 413, "Request Too Long")


# 10. The access log masks what function logs mask.

def test_the_access_log_masks_emails_in_paths_and_headers(users: Any, client: httpx.Client) -> None:
    marker = f"hardening-{time.time_ns()}"
    client.get("/users/ada.lovelace@example.com", headers={**bearer(dev_token()), "X-Request-ID": marker})
    client.get("/users/grace.hopper%40example.com", headers={**bearer(dev_token()), "X-Request-ID": marker + "b"})
    client.get("/nowhere", headers={"User-Agent": "bot (contact: alan.turing@example.com)"})
    output = users.wait_for_output(r'"path":"/users/gr\*\*\*%40example\.com"')
    users.wait_for_output(r'"userAgent":"bot \(contact: al\*\*\*@example\.com\)"')
    access = [json.loads(line) for line in output.splitlines() if line.startswith('{"requestId"')]
    assert any(record["path"] == "/users/ad***@example.com" for record in access)
    for email in ("ada.lovelace@example.com", "grace.hopper%40example.com", "grace.hopper@example.com",
                  "alan.turing@example.com"):
        assert email not in output, f"{email} is in golive dev's output"


# 8, 9, 11. AWS's size limits: headers over 10,240 bytes, bodies Lambda cannot take, bodies over 10 MB.

def raw_exchange(url: str, head: bytes, body: bytes = b"", timeout: float = 5.0) -> tuple[bytes, float]:
    """Send bytes on a fresh connection; the whole answer (until the server closes) and when it began (s)."""
    import socket

    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head + body)
        chunks, first = [], None
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            first = first or time.monotonic() - started
            chunks.append(chunk)
    return b"".join(chunks), first or 0.0


def test_a_declared_body_over_10_mb_is_413_as_soon_as_the_headers_are_read(users: Any) -> None:
    head = (b"POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 20000000\r\n\r\n")
    answer, _ = raw_exchange(users.url, head, timeout=5)  # no body is ever sent: a late 413 would time out
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert answer.endswith(b"\r\n\r\nHTTP content length exceeded 10485760 bytes."), answer[-200:]
    assert b"connection: close" in answer.lower()


def test_a_client_that_sends_the_whole_oversized_body_still_reads_the_413(users: Any) -> None:
    response = httpx.post(f"{users.url}/users", content=b"x" * (10 * 1024 * 1024 + 1),
                          headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413
    assert response.text == "HTTP content length exceeded 10485760 bytes."


@pytest.mark.parametrize("headers", [
    {"X-Big": "a" * 11_000},
    {f"X-Header-{i}": "v" for i in range(2_000)},
    {"X-Huge": "b" * 100_000},
], ids=["one-11kb-header", "2000-headers", "one-100kb-header"])
def test_request_line_and_headers_over_10240_bytes_are_431(users: Any, headers: dict[str, str]) -> None:
    head = b"GET /users HTTP/1.1\r\nHost: localhost\r\n" + b"".join(
        f"{name}: {value}\r\n".encode() for name, value in headers.items()) + b"\r\n"
    answer, _ = raw_exchange(users.url, head)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert answer.endswith(b"\r\n\r\nHTTP header is larger than 10240 bytes."), answer[-200:]


def test_headers_just_under_the_limit_are_served(client: httpx.Client) -> None:
    response = client.get("/users", headers={**bearer(dev_token()), "X-Padding": "p" * 9_000})
    assert response.status_code == 200, response.text


def test_a_body_lambda_cannot_take_is_413_not_500(echo: Any, start_dev_server: Callable[..., Any],
                                                  tmp_path: Path) -> None:
    seven_mb = json.dumps({"blob": "z" * (7 * 1024 * 1024)})
    http_api = httpx.post(f"{echo.url}/raw", content=seven_mb, headers={"Content-Type": "application/json"},
                          timeout=30)
    assert (http_api.status_code, http_api.json()) == (413, {"message": "Request Entity Too Large"})
    (tmp_path / "failing").mkdir()
    (tmp_path / "failing" / "golive.toml").write_text(FAILING_SERVICE)
    (tmp_path / "failing" / "app.py").write_text(FAILING_APP)
    rest = start_dev_server(tmp_path / "failing")
    response = httpx.post(f"{rest.url}/items", content=seven_mb, headers={"Content-Type": "application/json"},
                          timeout=30)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-amzn-errortype"] == "BadRequestException"
    body = response.json()
    problem_validator()(body)
    assert (body["status"], body["title"]) == (413, "Request Too Long")
