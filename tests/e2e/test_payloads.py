"""The raw event and response of one request, as a user meets them: a request with secrets in it through a real
`golive dev`, then its document from /_golive/api/requests/<id> and its dashboard page, both redacted as logs are;
after dev stops, `golive dashboard` over the store says why they are gone (they live in dev's memory only)."""

from __future__ import annotations

import base64
import html
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import clean_env, free_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("telemetry")]

CONFIG = """\
service = "signup"

[api]
type = "rest"
stage = "dev"

[functions.api]
handler = "app.handler"
"""

APP = '''
from golive import App

app = App("signup")


@app.post("/signup", public=True)
def signup(request):
    return {"id": "u-1", "email": request.json["email"], "welcome": True}, 201


@app.get("/hello", public=True)
def hello(request):
    return {"hello": "world"}


handler = app.handler
'''

TOKEN = "Bearer sekrit-token-123"
PASSWORD = "hunter2-correct-horse"


def call(url: str, method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def pre(page: str, marker: str) -> str:
    """The text of the <pre> carrying `marker` (data-raw-event, data-raw-response-body ...), unescaped."""
    found = re.search(rf"<pre[^>]*\b{marker}>(.*?)</pre>", page, re.S)
    assert found, f"no <pre {marker}> in the page"
    return html.unescape(found.group(1))


def test_raw_event_and_response_redacted_through_api_and_page(tmp_path: Path, launch_dev_server: Any) -> None:
    root = tmp_path / "signup"
    root.mkdir()
    (root / "golive.toml").write_text(CONFIG)
    (root / "app.py").write_text(APP)
    dev = launch_dev_server(root)
    sent = json.dumps({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}).encode()
    status, headers, body = call(dev.url + "/signup?ref=home", "POST", sent,
                                 {"Authorization": TOKEN, "Content-Type": "application/json",
                                  "Cookie": "session=c00kie-value-zz"})
    assert status == 201 and json.loads(body)["email"] == "ada@example.com"
    request_id = headers["x-amzn-requestid"]

    status, _, answer = call(f"{dev.url}/_golive/api/requests/{request_id}")
    assert status == 200, answer
    found = json.loads(answer)
    text = answer.decode()
    assert PASSWORD not in text and "sekrit-token-123" not in text and "c00kie-value-zz" not in text
    assert "ada@example.com" not in text
    event, response = found["event"], found["response"]
    assert event["path"] == "/signup" and event["httpMethod"] == "POST"
    assert event["queryStringParameters"] == {"ref": "home"}
    assert event["requestContext"]["requestId"] == request_id
    assert event["headers"]["Authorization"] == "[REDACTED]" and event["headers"]["Cookie"] == "[REDACTED]"
    assert event["multiValueHeaders"]["Authorization"] == "[REDACTED]"
    assert event["headers"]["Content-Type"] == "application/json"
    assert json.loads(event["body"]) == {"email": "ad***@example.com", "password": "[REDACTED]", "name": "Ada"}
    assert response["statusCode"] == 201
    assert json.loads(response["body"]) == {"id": "u-1", "email": "ad***@example.com", "welcome": True}

    # the same document by the Lambda request id
    lambda_id = found["request"]["lambda_request_id"]
    by_lambda = json.loads(call(f"{dev.url}/_golive/api/requests/{lambda_id}")[2])
    assert by_lambda["event"]["path"] == "/signup" and by_lambda["response"]["statusCode"] == 201

    status, _, page_bytes = call(f"{dev.url}/_golive/requests/{request_id}")
    assert status == 200
    page = page_bytes.decode()
    assert "Raw event and response" in page and "data-raw-absent" not in page
    assert PASSWORD not in page and "sekrit-token-123" not in page and "ada@example.com" not in page
    assert "c00kie-value-zz" not in page
    shown_event = json.loads(pre(page, "data-raw-event"))
    assert shown_event["path"] == "/signup" and shown_event["headers"]["Authorization"] == "[REDACTED]"
    assert "\n  " in pre(page, "data-raw-event")  # pretty-printed, not one line
    assert json.loads(pre(page, "data-raw-event-body"))["password"] == "[REDACTED]"
    assert json.loads(pre(page, "data-raw-response"))["statusCode"] == 201
    assert json.loads(pre(page, "data-raw-response-body")) == {"id": "u-1", "email": "ad***@example.com",
                                                               "welcome": True}

    # a request the gateway answers itself sent no event, and the page says so
    status, headers, _ = call(dev.url + "/nowhere")
    assert status == 403
    page = call(f"{dev.url}/_golive/requests/{headers['x-amzn-requestid']}")[2].decode()
    assert "no event was sent" in page

    # once dev stops the payloads are gone with it: golive dashboard over the file says why
    dev.stop()
    port = free_port()
    served = subprocess.Popen([sys.executable, "-m", "golive.cli", "dashboard", str(root), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=clean_env())
    try:
        assert served.stdout is not None
        banner = "".join(served.stdout.readline() for _ in range(2))
        assert f"http://127.0.0.1:{port}/_golive/" in banner
        status, _, page_bytes = call(f"http://127.0.0.1:{port}/_golive/requests/{request_id}")
        page = page_bytes.decode()
        assert status == 200 and "POST /signup" in page
        assert "data-raw-event" not in page
        assert "kept in memory by golive dev for the last 1,000 requests" in html.unescape(page)
    finally:
        served.terminate()
        served.wait(10)


HTTP_CONFIG = """\
service = "photos"

[api]
type = "http"
stage = "dev"

[api.integration_timeouts]
"GET /slow" = 0.3

[functions.raw]
handler = "raw.handler"
timeout = 5
routes = ["POST /notes", "GET /slow"]
"""

RAW = '''
import base64
import time


def handler(event, context):
    if event["routeKey"] == "GET /slow":
        time.sleep(1.5)
    text = base64.b64decode(event["body"]).decode() if event.get("isBase64Encoded") else event.get("body", "")
    return {"statusCode": 200, "cookies": ["session=sess-secret-9; HttpOnly"], "isBase64Encoded": True,
            "headers": {"content-type": "text/plain"}, "body": base64.b64encode(("saw " + text).encode()).decode()}
'''


def test_http_api_cookies_base64_bodies_and_a_timeout(tmp_path: Path, launch_dev_server: Any) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    (root / "golive.toml").write_text(HTTP_CONFIG)
    (root / "raw.py").write_text(RAW)
    dev = launch_dev_server(root)
    status, headers, body = call(dev.url + "/notes", "POST", b"note for bob@example.org",
                                 {"Content-Type": "application/octet-stream", "Cookie": "theme=dark; id=c00kie-9"})
    assert status == 200 and body == b"saw note for bob@example.org"
    found = json.loads(call(f"{dev.url}/_golive/api/requests/{headers['apigw-requestid']}")[2])
    event, response = found["event"], found["response"]
    assert event["routeKey"] == "POST /notes" and event["cookies"] == ["[REDACTED]", "[REDACTED]"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"note for bo***@example.org"  # redacted inside the base64
    assert response["cookies"] == ["[REDACTED]"]
    assert base64.b64decode(response["body"]) == b"saw note for bo***@example.org"
    page = call(f"{dev.url}/_golive/requests/{headers['apigw-requestid']}")[2].decode()
    assert "c00kie-9" not in page and "sess-secret-9" not in page and "bob@example.org" not in page
    assert pre(page, "data-raw-event-body") == "note for bo***@example.org"  # decoded from base64
    assert "decoded from base64" in page

    status, headers, _ = call(dev.url + "/slow")
    assert status == 503  # an HTTP API's integration timeout
    found = json.loads(call(f"{dev.url}/_golive/api/requests/{headers['apigw-requestid']}")[2])
    assert found["event"]["routeKey"] == "GET /slow" and found["response"] is None
    page = call(f"{dev.url}/_golive/requests/{headers['apigw-requestid']}")[2].decode()
    assert "the function gave no result" in page
