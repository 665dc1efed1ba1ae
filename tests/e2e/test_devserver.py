"""golive dev as a user runs it: a real subprocess on a free port, talked to over HTTP on loopback."""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

GOLIVE = str(Path(sys.executable).with_name("golive"))
NOTES = Path(__file__).resolve().parents[1] / "fixtures" / "services" / "notes"
TEN_MB = 10 * 1024 * 1024


def assert_problem(response: httpx.Response, status: int, title: str) -> None:
    """A gateway-made answer on a REST API, as `golive template` deploys its gateway responses (the local cloud's)."""
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    document = response.json()
    assert document["title"] == title and document["requestId"] == response.headers["x-amzn-requestid"]


def clean_env() -> dict[str, str]:
    """The caller's environment without golive settings, so golive.toml decides (as on a fresh shell)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}


class DevServer:
    """`golive dev SERVICE --port 0` in a subprocess; collects its output and knows its URL."""

    def __init__(self, service_dir: Path, *args: str) -> None:
        self.proc = subprocess.Popen([GOLIVE, "dev", str(service_dir), "--port", "0", "--in-process", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._ready = threading.Event()
        self.url = ""
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr, False), daemon=True).start()
        if not self._ready.wait(20):
            self.stop()
            raise AssertionError(f"golive dev did not start: {''.join(self.stderr)}")

    def _pump(self, stream, sink: list[str], watch: bool) -> None:
        for line in stream:
            sink.append(line)
            if watch and not self.url and line.startswith("http://"):
                self.url = line.strip()
                self._ready.set()
        self._ready.set()  # the process ended before (or after) printing its URL

    def output(self) -> str:
        return "".join(self.stdout)

    def wait_for_output(self, text: str, timeout: float = 5) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return self.output()
            time.sleep(0.02)
        raise AssertionError(f"{text!r} never appeared in golive dev's output:\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


def make_service(tmp_path: Path, toml: str, handler_source: Path = NOTES / "handler.py") -> Path:
    service = tmp_path / "svc"
    service.mkdir()
    shutil.copy(handler_source, service / "handler.py")
    (service / "golive.toml").write_text(toml)
    return service


def mint(service_dir: Path, *args: str) -> str:
    done = subprocess.run([GOLIVE, "token", str(service_dir), *args], capture_output=True, text=True,
                          env=clean_env(), timeout=30, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def notes() -> Iterator[DevServer]:
    server = DevServer(NOTES)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(notes: DevServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=notes.url, timeout=20) as http:
        yield http


@pytest.fixture(scope="module")
def admin_token() -> str:
    return mint(NOTES, "--sub", "root", "--role", "admin")


# -- start-up -----------------------------------------------------------------------------------------------------
def test_banner_prints_url_curl_and_a_token_that_works(notes: DevServer, client: httpx.Client) -> None:
    lines = notes.output().splitlines()
    assert notes.url in lines and notes.url.startswith("http://127.0.0.1:")
    assert f"  curl -s {notes.url}/health" in lines
    token_line = next(line for line in lines if line.strip().startswith("export TOKEN="))
    token = token_line.strip().removeprefix("export TOKEN=")
    assert f'  curl -s -H "Authorization: Bearer $TOKEN" {notes.url}/notes' in lines
    # The banner's token is an admin token the service accepts on a protected route.
    assert client.get("/notes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/health").json()["status"] == "ok"


# -- HTTP <-> API Gateway translation ---------------------------------------------------------------------------
def test_status_headers_and_json_body_round_trip(client: httpx.Client, admin_token: str, notes: DevServer) -> None:
    auth = {"Authorization": f"Bearer {admin_token}"}
    created = client.post("/notes", json={"title": "groceries", "text": "milk"}, headers=auth)
    assert created.status_code == 201
    assert created.headers["location"] == f"/notes/{created.json()['id']}"
    assert created.headers["content-type"] == "application/json"
    assert created.json() == {"id": created.json()["id"], "owner": "root", "title": "groceries", "text": "milk"}
    # Every response carries the app's security headers and the request id API Gateway would add.
    assert created.headers["x-content-type-options"] == "nosniff"
    assert created.headers["x-request-id"]
    assert created.headers["x-amzn-requestid"] == created.headers["x-request-id"]
    fetched = client.get(created.headers["location"], headers=auth)
    assert fetched.status_code == 200 and fetched.json()["title"] == "groceries"
    # The handler's log lines reach the terminal (stdout) as JSON.
    notes.wait_for_output('"message":"note created"')


def test_errors_are_the_apps_problem_json(client: httpx.Client) -> None:
    anonymous = client.post("/notes", json={"title": "x"})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    user = mint(NOTES, "--sub", "bob")
    forbidden = client.delete("/notes/1", headers={"Authorization": f"Bearer {user}"})
    assert forbidden.status_code == 403 and forbidden.json()["title"] == "Forbidden"
    invalid = client.post("/notes", json={"title": ""}, headers={"Authorization": f"Bearer {user}"})
    assert invalid.status_code == 400 and invalid.json()["errors"][0]["field"] == "title"
    missing = client.get("/no/such/route")
    assert missing.status_code == 404 and missing.json()["instance"] == "/no/such/route"
    wrong_method = client.put("/health")
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["allow"]
    crash = client.get("/crash")
    assert crash.status_code == 500 and "crashed" not in crash.text


def test_event_carries_query_headers_cookies_stage_and_context(client: httpx.Client) -> None:
    reply = client.get("/env", params=[("tag", "a"), ("tag", "b"), ("empty", "")],
                       headers=[("X-Multi", "first"), ("X-Multi", "second"), ("Cookie", "a=1; b=two")])
    assert reply.status_code == 200
    seen = reply.json()
    assert seen["source"] == "v1" and seen["stage"] == "dev" and seen["resource"] == "/env"
    assert seen["query"] == {"tag": ["a", "b"], "empty": [""]}
    assert seen["multi_header"] == ["first", "second"]
    assert seen["cookies"] == {"a": "1", "b": "two"}
    assert seen["forwarded_for"] == "127.0.0.1" and seen["trace"].startswith("Root=1-")
    # The function's local environment and Lambda context come from golive.toml.
    assert seen["greeting"] == "hello from golive.toml"
    assert seen["function"] == "notes-api" and seen["memory"] == "256"  # a string, as Lambda's context has it
    assert 0 < seen["remaining_ms"] <= 2000


REST_BINARY_TOML = """
service = "notes"
[api]
type = "rest"
binary_media_types = ["application/octet-stream"]
[auth]
type = "jwt"
[functions.api]
handler = "handler.handler"
"""


def test_binary_media_types_decide_what_a_rest_api_passes_through(client: httpx.Client, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 4096 + os.urandom(1000)  # ~1 MB, every byte value, not UTF-8
    # Without binaryMediaTypes (the notes service) API Gateway hands the function the body as UTF-8 text, each
    # invalid byte a U+FFFD, and returns the function's base64 body as text, as the local cloud does.
    plain = client.post("/echo", content=payload, headers={"Content-Type": "application/octet-stream"})
    mangled = payload.decode("utf-8", "replace").encode()
    assert plain.status_code == 200 and plain.headers["x-body-bytes"] == str(len(mangled))
    assert base64.b64decode(plain.content) == mangled
    server = DevServer(make_service(tmp_path, REST_BINARY_TOML))
    try:
        with httpx.Client(base_url=server.url, timeout=20) as http:
            reply = http.post("/echo", content=payload, headers={"Content-Type": "application/octet-stream",
                                                                 "Accept": "application/octet-stream"})
            assert reply.status_code == 200
            assert reply.headers["content-type"] == "application/octet-stream"
            assert reply.headers["x-body-bytes"] == str(len(payload))
            assert reply.content == payload
            # the response is decoded only for a client that accepts a binary media type: */* is not one
            text = http.post("/echo", content=payload, headers={"Content-Type": "application/octet-stream"})
            assert base64.b64decode(text.content) == payload
    finally:
        assert server.stop() == 0


def test_cookies_and_multi_value_headers_become_repeated_headers(client: httpx.Client) -> None:
    cookies = client.get("/cookies")
    assert cookies.headers.get_list("set-cookie") == ["session=abc; Path=/; HttpOnly", "theme=dark; Path=/"]
    multi = client.get("/multi")
    assert multi.headers.get_list("x-multi") == ["one", "two"]


def test_greedy_path_parameter_and_head(client: httpx.Client) -> None:
    assert client.get("/files/a/b/c.txt").json() == {"path": "a/b/c.txt"}
    head = client.head("/health")
    assert head.status_code == 200 and head.content == b""


def test_body_over_10_mb_is_refused_like_api_gateway(client: httpx.Client, notes: DevServer) -> None:
    too_big = client.post("/echo", content=b"x" * (TEN_MB + 1), headers={"Content-Type": "text/plain"})
    assert too_big.status_code == 413
    # REST API's front door answers in plain text, before gateway responses apply (as the local cloud does)
    assert too_big.text == "HTTP content length exceeded 10485760 bytes."
    assert too_big.headers["x-amzn-requestid"]
    # The limit is on the body alone: exactly 10 MB still reaches the function, and the server keeps serving.
    at_limit = client.post("/echo?count", content=b"y" * TEN_MB, headers={"Content-Type": "text/plain"})
    assert at_limit.status_code == 200 and at_limit.json() == {"bytes": TEN_MB}
    # Echoing it back breaks Lambda's 6 MB response limit: API Gateway answers 502.
    echoed = client.post("/echo", content=b"z" * (7 * 1024 * 1024), headers={"Content-Type": "text/plain"})
    assert_problem(echoed, 502, "Bad Gateway")
    notes.wait_for_output("exceeds Lambda's 6291556 byte limit")
    assert client.get("/health").status_code == 200


def test_chunked_request_body_is_read(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"hello, "
        yield b"chunked world"

    reply = client.post("/echo", content=chunks(), headers={"Content-Type": "text/plain"})
    assert reply.status_code == 200 and reply.text == "hello, chunked world"


def test_handler_failures_answer_502_like_api_gateway(client: httpx.Client, notes: DevServer) -> None:
    raised = client.get("/raw-crash")
    assert_problem(raised, 502, "Bad Gateway")
    notes.wait_for_output('"errorType": "ValueError"')
    malformed = client.get("/malformed")
    assert_problem(malformed, 502, "Bad Gateway")
    notes.wait_for_output("Malformed Lambda proxy response")
    assert client.get("/health").status_code == 200  # the next request is served normally


def test_one_invocation_at_a_time_and_keep_alive(notes: DevServer) -> None:
    spans: list[tuple[float, float]] = []

    def call() -> None:
        with httpx.Client(base_url=notes.url, timeout=20) as http:
            spans.append(tuple(http.get("/sleep", params={"ms": 150}).json().values()))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans.sort()
    assert len(spans) == 3
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))
    # HTTP/1.1 keep-alive: several requests over one connection.


    connection = http.client.HTTPConnection(notes.url.removeprefix("http://"), timeout=10)
    for _ in range(3):
        connection.request("GET", "/health")
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Connection") != "close"
        response.read()
    connection.close()


# -- HTTP API (payload v2), timeouts, several functions ---------------------------------------------------------
HTTP_API_TOML = """
service = "notes"
[api]
type = "http"
[auth]
type = "jwt"
[functions.api]
handler = "handler.handler"
timeout = 0.3
"""


def test_http_api_payload_v2_and_lambda_timeout(tmp_path: Path) -> None:
    server = DevServer(make_service(tmp_path, HTTP_API_TOML))
    try:
        with httpx.Client(base_url=server.url, timeout=20) as http:
            seen = http.get("/env", params={"q": "1"}, headers={"Cookie": "a=1"}).json()
            assert seen["source"] == "v2" and seen["stage"] == "$default" and seen["resource"] == "GET /env"
            assert seen["cookies"] == {"a": "1"} and seen["query"] == {"q": ["1"]}
            assert http.get("/env").headers["apigw-requestid"]
            assert http.get("/cookies").headers.get_list("set-cookie") == ["session=abc; Path=/; HttpOnly",
                                                                           "theme=dark; Path=/"]
            assert http.get("/multi").headers["x-multi"] == "one,two"  # payload v2 has no multi-value headers
            binary = os.urandom(5000)
            assert http.post("/echo", content=binary,
                             headers={"Content-Type": "image/png"}).content == binary
            # Over the function's 0.3 s timeout: Lambda would have stopped it; an HTTP API answers 500 then.
            slow = http.get("/sleep", params={"ms": 450})
            assert slow.status_code == 500 and slow.json() == {"message": "Internal Server Error"}
            server.wait_for_output("Task timed out after 0.30 seconds")
            assert http.get("/sleep", params={"ms": 0}).status_code == 200
    finally:
        assert server.stop() == 0


FUNCTION_SOURCE = '''"""The NAME function of a two-function service."""
from golive import App

app = App("shop", health_path=None)


@app.get("/NAME", public=True)
def which(request):
    return {"function": request.context.function_name}


handler = app.handler
'''

TWO_FUNCTIONS_TOML = """
service = "shop"
[functions.orders]
handler = "orders.handler"
[functions.admin]
handler = "admin.handler"
"""


def test_several_functions_route_by_route_table(tmp_path: Path) -> None:
    service = tmp_path / "shop"
    service.mkdir()
    (service / "golive.toml").write_text(TWO_FUNCTIONS_TOML)
    for name in ("orders", "admin"):
        (service / f"{name}.py").write_text(FUNCTION_SOURCE.replace("NAME", name))
    server = DevServer(service)
    try:
        with httpx.Client(base_url=server.url, timeout=20) as http:
            assert http.get("/orders").json() == {"function": "shop-orders"}
            assert http.get("/admin").json() == {"function": "shop-admin"}
            # No function claims the path: a REST API's gateway answers itself.
            unknown = http.get("/elsewhere")
            assert_problem(unknown, 403, "Missing Authentication Token")
    finally:
        server.stop()


# -- stopping and failing to start -------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_signal(sig: int) -> None:
    server = DevServer(NOTES)
    assert server.stop(sig) == 0
    assert "Traceback" not in "".join(server.stderr)


def run_dev(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GOLIVE, "dev", *args], capture_output=True, text=True, env=clean_env(), timeout=30,
                          cwd=cwd)


def test_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_dev(str(NOTES), "--port", str(port))
    assert done.returncode == 2
    assert done.stderr == f"golive dev: error: port {port} is in use; stop the other process or pass --port N\n"
    assert done.stdout == ""


def test_missing_service_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = run_dev(str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("golive dev: error: service directory ") and "does not exist" in done.stderr


def test_default_service_dir_is_the_current_folder(tmp_path: Path) -> None:
    done = run_dev(cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("golive dev: error: no golive.toml in .;") and done.stderr.count("\n") == 1


def test_bad_toml_and_broken_handler_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "golive.toml").write_text('service = "x"\n[api\n')
    done = run_dev(str(bad))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "invalid TOML" in done.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "golive.toml").write_text('service = "broken"\n')
    (broken / "handler.py").write_text("import os\n\nraise RuntimeError('no database configured')\n")
    done = run_dev(str(broken))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "RuntimeError: no database configured" in done.stderr and "handler.py:3" in done.stderr


def test_event_json_is_what_api_gateway_sends() -> None:
    """The translation functions are importable for the local cloud: spot-check one event and one reply."""
    from golive.local.devserver import request_to_event, result_to_reply

    event = request_to_event("v1", "POST", "/notes?x=1&x=2", [("Content-Type", "application/json")],
                             b'{"a":1}', stage="prod", resource="/notes")
    assert event["httpMethod"] == "POST" and event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert json.loads(event["body"]) == {"a": 1} and event["requestContext"]["stage"] == "prod"
    result = {"statusCode": 201, "headers": {"A": "1", "B": "x", "C": "3"},
              "multiValueHeaders": {"B": ["2", "3"], "C": ["3"]}, "body": "aGk=", "isBase64Encoded": True}
    reply = result_to_reply("v1", result)
    # API Gateway merges both maps; a pair given in both appears once (C: 3), other single values are kept (B: x)
    assert reply.status == 201
    assert sorted((k, v) for k, v in reply.headers if k in ("A", "B", "C")) == [
        ("A", "1"), ("B", "2"), ("B", "3"), ("B", "x"), ("C", "3")]
    assert reply.body == b"aGk="  # base64 stays text unless the client accepts one of binaryMediaTypes
    assert result_to_reply("v1", result, "application/octet-stream", ["application/octet-stream"]).body == b"hi"
