"""The local API Gateway as a REST API, over real HTTP in front of real worker processes: every gateway failure
with AWS's exact status, body and x-amzn-ErrorType, each Lambda failure followed by a success, throttling, API keys
and quotas, request validation, a Lambda TOKEN authorizer with caching, CORS and the access log."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from test_gateway_support import Cloud, Reply, request_id, send, write_service

KEY_A = "key-a-0123456789abcdefghij"
KEY_B = "key-b-0123456789abcdefghij"
KEY_C = "key-c-0123456789abcdefghij"
DEV_SECRET = "golive-rest-dev-secret-for-tests"
ORIGIN = "https://app.example.com"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

CONFIG = """\
service = "kitchen"

[api]
type = "rest"
stage = "prod"
gateway_responses = "aws"   # API Gateway's default bodies (golive template's problem+json ones: test_golive_rest_*)

[api.stage_variables]
color = "blue"

[api.route_throttling]
"GET /limited" = { rate = 20, burst = 5 }

[api.integration_timeouts]
"GET /wait" = 0.5

[api.cors]
allow_origins = ["%(origin)s"]

[auth]
type = "lambda-token"
function = "authorizer"
routes = ["GET /private/{id}"]
ttl = 300

[functions.api]
handler = "app.handler"

[functions.misc]
handler = "misc.handler"
routes = ["GET /error", "GET /crash", "GET /malformed", "GET /big", "GET /echo", "GET /limited",
          "GET /private/{id}"]

[functions.slow]
handler = "slow.handler"
timeout = 1
routes = ["GET /sleep", "GET /wait"]

[functions.busy]
handler = "busy.handler"
concurrency = 1
routes = ["GET /busy"]

[functions.authorizer]
handler = "authorizer.handler"

[functions.authorizer.environment]
AUTH_LOG = "%(auth_log)s"
"""

APP = '''
from golive import App

app = App("kitchen")


@app.post("/users", public=True,
          query={"type": "object", "required": ["team"], "properties": {"team": {"type": "string"}}},
          body={"type": "object", "required": ["name"], "additionalProperties": False,
                "properties": {"name": {"type": "string", "minLength": 1}}})
def create_user(request):
    return {"name": request.json["name"], "team": request.validated["query"]["team"]}, 201


handler = app.handler
'''

MISC = '''
import json
import os


def reply(body, status=200):
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def handler(event, context):
    resource = event["resource"]
    ok = (event.get("queryStringParameters") or {}).get("ok") == "1"
    if resource == "/error" and not ok:
        raise RuntimeError("boom: the function failed")
    if resource == "/crash" and not ok:
        os._exit(3)
    if resource == "/malformed":
        return {"statusCode": 200, "body": {"body": "must be a string"}}
    if resource == "/big":
        return reply({"data": "x" * (6 * 1024 * 1024 + 512)})
    if resource in ("/echo", "/private/{id}"):
        return reply({"event": event})
    return reply({"resource": resource})
'''

SLOW = '''
import json
import time


def handler(event, context):
    time.sleep(float((event.get("queryStringParameters") or {}).get("s", "0")))
    return {"statusCode": 200, "body": json.dumps({"slept": True})}
'''

BUSY = '''
import time


def handler(event, context):
    time.sleep(0.8)
    return {"statusCode": 200, "body": "{}"}
'''

AUTHORIZER = '''
import os


def policy(principal, effect, resource, context=None):
    result = {"principalId": principal, "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]}}
    if context:
        result["context"] = context
    return result


def handler(event, context):
    token = event["authorizationToken"]
    with open(os.environ["AUTH_LOG"], "a") as log:
        log.write(token + "\\n")
    arn = event["methodArn"]
    api_arn = "/".join(arn.split("/")[:2])  # arn:aws:execute-api:REGION:ACCOUNT:API/STAGE
    if token == "Bearer unauthorized":
        raise Exception("Unauthorized")
    if token == "Bearer boom":
        raise ValueError("the authorizer has a bug")
    if token == "Bearer deny":
        return policy("mallory", "Deny", api_arn + "/*")
    if token == "Bearer narrow":
        return policy("nora", "Allow", arn)  # only the first method ARN it was asked about
    user = token.split(" ", 1)[1]
    return policy(user, "Allow", api_arn + "/GET/*", {"user": user, "tier": 3, "admin": True})
'''


@pytest.fixture(scope="module")
def kitchen(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("rest")
    auth_log = root / "auth.log"
    service = write_service(root / "kitchen", {
        "golive.toml": CONFIG % {"origin": ORIGIN, "auth_log": auth_log},
        "app.py": APP, "misc.py": MISC, "slow.py": SLOW, "busy.py": BUSY, "authorizer.py": AUTHORIZER})
    cloud = Cloud(service).wait_ready()
    cloud.auth_log = auth_log  # type: ignore[attr-defined]
    yield cloud
    cloud.stop()


def assert_gateway_error(reply: Reply, status: int, body: bytes, error_type: str | None) -> None:
    assert (reply.status, reply.body) == (status, body), reply
    assert reply.headers.get("x-amzn-errortype") == error_type
    assert UUID.match(reply.headers["x-amzn-requestid"])


def auth_calls(cloud: Cloud, token: str) -> int:
    path: Path = cloud.auth_log  # type: ignore[attr-defined]
    return path.read_text().splitlines().count(token) if path.exists() else 0


# -- gateway failures -----------------------------------------------------------------------------------------
def test_unknown_route_and_unknown_method_answer_missing_authentication_token(kitchen: Cloud) -> None:
    for method, path in (("GET", "/nowhere"), ("DELETE", "/echo"), ("GET", "/")):
        reply = kitchen.request(method, path)
        assert_gateway_error(reply, 403, b'{"message":"Missing Authentication Token"}',
                             "MissingAuthenticationTokenException")
        assert reply.headers["content-type"] == "application/json"


def test_request_over_10_mb_is_refused_with_413_before_any_invocation(kitchen: Cloud) -> None:
    reply = kitchen.request("POST", "/users?team=a", body=b"x" * (10 * 1024 * 1024 + 1),
                            headers={"Content-Type": "application/json"})
    assert (reply.status, reply.body) == (413, b"HTTP content length exceeded 10485760 bytes.")
    record = kitchen.access_record(request_id(reply))
    assert record["errorResponseType"] == "REQUEST_TOO_LARGE" and record["integrationLatency"] is None


def test_request_validation_from_route_schemas(kitchen: Cloud) -> None:
    missing = kitchen.request("POST", "/users", json_body={"name": "ada"})
    assert_gateway_error(missing, 400, b'{"message": "Missing required request parameters: [team]"}',
                         "BadRequestException")
    invalid = kitchen.request("POST", "/users?team=core", json_body={"name": ""})
    assert_gateway_error(invalid, 400, b'{"message": "Invalid request body"}', "BadRequestException")
    not_json = kitchen.request("POST", "/users?team=core", body="{oops", headers={"Content-Type": "application/json"})
    assert_gateway_error(not_json, 400, b'{"message": "Invalid request body"}', "BadRequestException")
    record = kitchen.access_record(request_id(invalid))
    assert record["errorResponseType"] == "BAD_REQUEST_BODY" and record["validationErrorString"] != "-"
    created = kitchen.request("POST", "/users?team=core", json_body={"name": "ada"})
    assert (created.status, created.json()) == (201, {"name": "ada", "team": "core"})


# -- Lambda failures, each followed by a success ---------------------------------------------------------------
def test_function_error_is_502_then_the_function_serves_again(kitchen: Cloud) -> None:
    failed = kitchen.get("/error")
    assert_gateway_error(failed, 502, b'{"message": "Internal server error"}', "InternalServerErrorException")
    record = kitchen.access_record(request_id(failed))
    assert record["integrationStatus"] == 200 and record["errorResponseType"] == "INTEGRATION_FAILURE"
    assert "boom: the function failed" in record["integrationErrorMessage"]
    assert kitchen.get("/error?ok=1").status == 200


def test_crash_is_502_then_a_new_environment_serves(kitchen: Cloud) -> None:
    crashed = kitchen.get("/crash")
    assert_gateway_error(crashed, 502, b'{"message": "Internal server error"}', "InternalServerErrorException")
    assert "Runtime exited with error: exit status 3" in kitchen.access_record(request_id(crashed))[
        "integrationErrorMessage"]
    assert kitchen.get("/crash?ok=1").status == 200


def test_lambda_timeout_is_502_then_the_function_serves_again(kitchen: Cloud) -> None:
    started = time.monotonic()
    timed_out = kitchen.get("/sleep?s=3")
    assert 0.9 < time.monotonic() - started < 2.5
    assert_gateway_error(timed_out, 502, b'{"message": "Internal server error"}', "InternalServerErrorException")
    assert "Task timed out after 1.00 seconds" in kitchen.access_record(request_id(timed_out))[
        "integrationErrorMessage"]
    assert kitchen.get("/sleep?s=0").status == 200


def test_integration_timeout_is_504_endpoint_request_timed_out(kitchen: Cloud) -> None:
    started = time.monotonic()
    reply = kitchen.get("/wait?s=0.9")
    assert time.monotonic() - started > 0.45  # the route's 0.5 s timeout fired: the function would answer 200
    assert_gateway_error(reply, 504, b'{"message": "Endpoint request timed out"}', "InternalServerErrorException")
    assert kitchen.access_record(request_id(reply))["errorResponseType"] == "INTEGRATION_TIMEOUT"
    assert kitchen.get("/wait?s=0").status == 200


def test_malformed_proxy_response_is_502(kitchen: Cloud) -> None:
    reply = kitchen.get("/malformed")
    assert_gateway_error(reply, 502, b'{"message": "Internal server error"}', "InternalServerErrorException")
    assert "Malformed Lambda proxy response" in kitchen.access_record(request_id(reply))["integrationErrorMessage"]
    assert kitchen.get("/echo").status == 200


def test_response_over_6_mb_is_502(kitchen: Cloud) -> None:
    reply = kitchen.get("/big")
    assert_gateway_error(reply, 502, b'{"message": "Internal server error"}', "InternalServerErrorException")
    assert "6291556" in kitchen.access_record(request_id(reply))["integrationErrorMessage"]
    assert kitchen.get("/echo").status == 200


def test_lambda_throttled_beyond_concurrency_is_500(kitchen: Cloud) -> None:
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first = pool.submit(kitchen.get, "/busy")
        time.sleep(0.3)  # the first invocation holds the only environment (concurrency = 1)
        second = pool.submit(kitchen.get, "/busy")
        replies = [first.result(), second.result()]
    assert replies[0].status == 200
    assert_gateway_error(replies[1], 500, b'{"message": "Internal server error"}', "InternalServerErrorException")
    record = kitchen.access_record(request_id(replies[1]))
    assert record["integrationStatus"] == 429 and record["integrationErrorMessage"] == "Rate Exceeded."
    assert kitchen.get("/busy").status == 200


# -- throttling -----------------------------------------------------------------------------
@pytest.mark.slow
def test_route_throttling_accepts_rate_times_duration_plus_burst(kitchen: Cloud) -> None:
    rate, burst, duration = 20, 5, 3.0
    connection = http.client.HTTPConnection("127.0.0.1", kitchen.port, timeout=10)
    statuses: list[int] = []
    first = last = time.monotonic()
    deadline = first + duration
    while time.monotonic() < deadline and len(statuses) < 2000:  # bounded: about 200 requests per second
        last = time.monotonic()
        reply = send(connection, "GET", "/limited")
        statuses.append(reply.status)
        if reply.status == 429:
            assert reply.body == b'{"message":"Too Many Requests"}'
            assert reply.headers["x-amzn-errortype"] == "TooManyRequestsException"
        time.sleep(0.005)
    connection.close()
    accepted = statuses.count(200)
    expected = burst + rate * (last - first)
    assert set(statuses) == {200, 429}
    assert abs(accepted - expected) <= 0.05 * expected, (accepted, expected)


# -- the Lambda TOKEN authorizer --------------------------------------------------------------------------------
def test_token_authorizer_context_reaches_the_event_and_results_are_cached(kitchen: Cloud) -> None:
    first = kitchen.get("/private/1", headers={"Authorization": "Bearer alice"})
    assert first.status == 200, first
    authorizer = first.json()["event"]["requestContext"]["authorizer"]
    assert {k: v for k, v in authorizer.items() if k != "integrationLatency"} == {
        "principalId": "alice", "user": "alice", "tier": "3", "admin": "true"}
    assert isinstance(authorizer["integrationLatency"], int)
    record = kitchen.access_record(request_id(first))
    assert record["authorizerStatus"] == 200 and record["principalId"] == "alice"
    assert isinstance(record["authorizerLatency"], int)
    second = kitchen.get("/private/2", headers={"Authorization": "Bearer alice"})
    assert second.status == 200
    assert auth_calls(kitchen, "Bearer alice") == 1  # the second request used the cached policy


def test_token_authorizer_denials(kitchen: Cloud) -> None:
    assert_gateway_error(kitchen.get("/private/1"), 401, b'{"message":"Unauthorized"}', "UnauthorizedException")
    assert_gateway_error(kitchen.get("/private/1", headers={"Authorization": "Bearer unauthorized"}), 401,
                         b'{"message":"Unauthorized"}', "UnauthorizedException")
    denied = kitchen.get("/private/1", headers={"Authorization": "Bearer deny"})
    assert_gateway_error(denied, 403,
                         b'{"Message":"User is not authorized to access this resource with an explicit deny"}',
                         "AccessDeniedException")
    assert kitchen.access_record(request_id(denied))["errorResponseType"] == "ACCESS_DENIED"
    broken = kitchen.get("/private/1", headers={"Authorization": "Bearer boom"})
    assert_gateway_error(broken, 500, b'{"message": null}', "AuthorizerConfigurationException")
    assert "the authorizer has a bug" in kitchen.access_record(request_id(broken))["authorizerError"]


def test_cached_policy_is_checked_against_each_method_arn(kitchen: Cloud) -> None:
    assert kitchen.get("/private/7", headers={"Authorization": "Bearer narrow"}).status == 200
    other = kitchen.get("/private/8", headers={"Authorization": "Bearer narrow"})
    assert_gateway_error(other, 403, b'{"Message":"User is not authorized to access this resource"}',
                         "AccessDeniedException")
    assert auth_calls(kitchen, "Bearer narrow") == 1


# -- the event, CORS, headers and the access log --------------------------------------------------------------------
def test_event_carries_stage_variables_and_gateway_headers(kitchen: Cloud) -> None:
    reply = kitchen.get("/echo?tag=a&tag=b", headers={"User-Agent": "gateway-test/1.0"})
    event = reply.json()["event"]
    assert event["stageVariables"] == {"color": "blue"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
    assert event["requestContext"]["stage"] == "prod" and event["requestContext"]["path"] == "/prod/echo"
    assert event["requestContext"]["requestId"] == reply.headers["x-amzn-requestid"]
    assert event["requestContext"]["extendedRequestId"] == reply.headers["x-amz-apigw-id"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Amzn-Trace-Id"] == reply.headers["x-amzn-trace-id"]
    assert re.match(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$", reply.headers["x-amzn-trace-id"])


def test_cors_preflight_is_answered_by_the_gateway(kitchen: Cloud) -> None:
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    preflight = kitchen.request("OPTIONS", "/echo", headers=asked)
    assert preflight.status == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "GET" in preflight.headers["access-control-allow-methods"]
    stranger = kitchen.request("OPTIONS", "/echo", headers={**asked, "Origin": "https://evil.example"})
    assert stranger.status == 200 and "access-control-allow-origin" not in stranger.headers
    assert kitchen.request("OPTIONS", "/nowhere", headers=asked).status == 403


def test_access_log_records_api_gateway_fields(kitchen: Cloud) -> None:
    reply = kitchen.get("/echo", headers={"User-Agent": "gateway-test/1.0"})
    record = kitchen.access_record(request_id(reply))
    assert record["requestId"] == reply.headers["x-amzn-requestid"]
    assert record["extendedRequestId"] == reply.headers["x-amz-apigw-id"]
    assert (record["httpMethod"], record["routeKey"], record["resourcePath"], record["path"]) == (
        "GET", "GET /echo", "/echo", "/echo")
    assert (record["status"], record["integrationStatus"], record["responseLength"]) == (200, 200, len(reply.body))
    assert record["ip"] == record["sourceIp"] == "127.0.0.1"
    assert record["userAgent"] == "gateway-test/1.0" and record["protocol"] == "HTTP/1.1"
    assert record["xrayTraceId"] == reply.headers["x-amzn-trace-id"].removeprefix("Root=")
    assert record["errorResponseType"] == "-" and record["functionName"] == "misc"
    assert UUID.match(record["integrationRequestId"])
    assert 0 <= record["integrationLatency"] <= record["responseLatency"]
    assert re.match(r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000$", record["requestTime"])


def test_keep_alive_connection_serves_many_requests(kitchen: Cloud) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", kitchen.port, timeout=10)
    try:
        replies = [send(connection, "GET", "/echo") for _ in range(20)]
    finally:
        connection.close()
    assert [r.status for r in replies] == [200] * 20
    assert len({r.headers["x-amzn-requestid"] for r in replies}) == 20


def test_pipelined_requests_are_answered_in_order_by_the_same_warm_environment(kitchen: Cloud) -> None:
    # /busy has a concurrency of 1: a second environment for the second request would be a throttle (500)
    kitchen.get("/busy")  # warm
    requests = b"".join(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path
                        for path in (b"/busy", b"/nowhere", b"/busy", b"/echo?n=4"))
    with socket.create_connection(("127.0.0.1", kitchen.port), timeout=10) as connection:
        connection.sendall(requests)
        stream = connection.makefile("rb")
        answers = []
        for _ in range(4):
            status = int(stream.readline().split()[1])
            headers = {}
            while (line := stream.readline().strip()):
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            answers.append((status, stream.read(int(headers["content-length"]))))
    assert [status for status, _ in answers] == [200, 403, 200, 200], answers
    assert answers[1][1] == b'{"message":"Missing Authentication Token"}'
    assert json.loads(answers[3][1])["event"]["queryStringParameters"] == {"n": "4"}


def test_code_and_config_changes_reload_routes_without_a_restart(tmp_path: Path) -> None:
    config = 'service = "reloader"\n[functions.api]\nhandler = "h.handler"\nroutes = [%s]\n'
    handler = "def handler(event, context):\n    return {'statusCode': 200, 'body': %r + event['resource']}\n"
    service = write_service(tmp_path / "reloader", {"golive.toml": config % '"GET /a"', "h.py": handler % "v1 "})
    cloud = Cloud(service, watch=True).wait_ready()
    try:
        assert cloud.get("/a").body == b"v1 /a"
        assert cloud.get("/b").status == 403
        (service / "h.py").write_text(handler % "v2 ")
        (service / "golive.toml").write_text(config % '"GET /a", "GET /b"')
        deadline = time.monotonic() + 10
        while cloud.get("/b").body != b"v2 /b" and time.monotonic() < deadline:  # polled every 0.5 s
            time.sleep(0.05)
        assert (cloud.get("/b").body, cloud.get("/a").body) == (b"v2 /b", b"v2 /a")
        (service / "golive.toml").write_text(config % '"GET /a", "NOT A ROUTE"')
        deadline = time.monotonic() + 10
        while "reload failed" not in cloud.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "route 'NOT A ROUTE' must be 'METHOD /path'" in cloud.stderr()
        assert cloud.get("/b").body == b"v2 /b"  # the last good version keeps serving
    finally:
        cloud.stop()


def test_a_change_that_breaks_the_code_never_reaches_a_new_environment(tmp_path: Path) -> None:
    config = 'service = "breaker"\n[functions.api]\nhandler = "h.handler"\nconcurrency = 2\nroutes = ["GET /slow"]\n'
    handler = ("import time\n\ndef handler(event, context):\n    time.sleep(float((event.get('queryStringParameters')"
               " or {}).get('s', '0')))\n    return {'statusCode': 200, 'body': 'good'}\n")
    service = write_service(tmp_path / "breaker", {"golive.toml": config, "h.py": handler})
    cloud = Cloud(service, watch=True).wait_ready()
    try:
        assert cloud.get("/slow").body == b"good"  # one warm environment holds the good code
        (service / "h.py").write_text("def handler(event, context:\n")  # a syntax error
        deadline = time.monotonic() + 10
        while "reload failed" not in cloud.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "keep serving the previous version" in cloud.stderr()
        assert "answers 502" in cloud.stderr()
        # While the warm environment is busy, a second request needs a new one: it must not load the broken file.
        slow: list[Reply] = []
        worker = threading.Thread(target=lambda: slow.append(cloud.get("/slow?s=1")))
        worker.start()
        time.sleep(0.3)
        refused = cloud.get("/slow")
        worker.join()
        assert slow[0].status == 200 and slow[0].body == b"good"
        assert refused.status == 502
        record = cloud.access_record(request_id(refused))
        assert record["errorResponseType"] == "INTEGRATION_FAILURE"
        assert "failed to load after a change" in cloud.stderr()
        assert "Runtime.UserCodeSyntaxError" not in cloud.stderr()  # no environment imported the broken file
        (service / "h.py").write_text(handler.replace("'good'", "'fixed'"))
        deadline = time.monotonic() + 10
        while cloud.get("/slow").body != b"fixed" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cloud.get("/slow").body == b"fixed"
    finally:
        cloud.stop()


# -- a REST API as `golive template` deploys it -------------------------------------------------------------------
DEPLOYED_CONFIG = """\
service = "deployed"

[api]
type = "rest"
stage = "v1"
api_keys = ["%(a)s", "%(b)s", "%(c)s"]
usage_plan = { quota = 2, period = "DAY" }

[auth]
type = "jwt"
issuer = "https://auth.golive.test"
audience = "golive-tests"
dev_secret = "%(secret)s"

[functions.api]
handler = "app.handler"
"""

DEPLOYED_APP = '''
from golive import App
from golive.security.auth import GatewayAuth

app = App("deployed", auth=GatewayAuth())


@app.get("/items")
def items(request):
    return {"principal": request.principal, "email": request.claims.get("email")}


@app.post("/items", body={"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}})
def create(request):
    return {"name": request.json["name"]}, 201


handler = app.handler
'''


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory):
    service = write_service(tmp_path_factory.mktemp("deployed") / "deployed", {
        "golive.toml": DEPLOYED_CONFIG % {"a": KEY_A, "b": KEY_B, "c": KEY_C, "secret": DEV_SECRET},
        "app.py": DEPLOYED_APP})
    cloud = Cloud(service).wait_ready()
    yield cloud
    cloud.stop()


def token(**claims: object) -> str:
    import jwt

    payload = {"sub": "ada", "iss": "https://auth.golive.test", "aud": "golive-tests", "exp": int(time.time()) + 300,
               **claims}
    return "Bearer " + jwt.encode(payload, DEV_SECRET, algorithm="HS256")


def assert_problem(reply: Reply, code: int, title: str, error_type: str, **extra: object) -> None:
    assert reply.status == code, reply
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.headers["x-amzn-errortype"] == error_type
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert reply.json() == {"type": "about:blank", "title": title, "status": code, **extra,
                            "requestId": reply.headers["x-amzn-requestid"]}


def test_golive_rest_gateway_responses_are_the_templates_problem_json(deployed: Cloud) -> None:
    assert_problem(deployed.get("/nowhere"), 403, "Missing Authentication Token",
                   "MissingAuthenticationTokenException")
    assert_problem(deployed.get("/items"), 403, "Forbidden", "ForbiddenException")
    assert_problem(deployed.get("/items", headers={"x-api-key": KEY_C}), 401, "Unauthorized",
                   "UnauthorizedException")
    invalid = deployed.request("POST", "/items", json_body={"name": 7},
                               headers={"x-api-key": KEY_C, "Authorization": token()})
    assert_problem(invalid, 400, "Invalid request body", "BadRequestException",
                   detail=invalid.json().get("detail"))
    assert "name" in invalid.json()["detail"]
    assert deployed.get("/health").status == 200  # public: no key, no token


def test_golive_rest_jwt_authorizer_function_and_usage_plan_quota(deployed: Cloud) -> None:
    headers = {"x-api-key": KEY_A, "Authorization": token(email="ada@example.com")}
    first = deployed.get("/items", headers=headers)
    assert (first.status, first.json()) == (200, {"principal": "ada", "email": "ada@example.com"})
    record = deployed.access_record(request_id(first))
    assert record["authorizerStatus"] == 200 and record["principalId"] == "ada" and record["apiKeyId"] != "-"
    assert deployed.get("/items", headers=headers).status == 200
    assert_problem(deployed.get("/items", headers=headers), 429, "Limit Exceeded", "LimitExceededException")
    other = deployed.get("/items", headers={**headers, "x-api-key": KEY_B})  # each key has its own quota
    assert other.status == 200
    forged = deployed.get("/items", headers={"x-api-key": KEY_B, "Authorization": "Bearer forged.token.value"})
    assert_problem(forged, 401, "Unauthorized", "UnauthorizedException")


REQUEST_AUTH_CONFIG = """\
service = "request-auth"

[api]
type = "rest"
gateway_responses = "aws"

[auth]
type = "lambda"          # a REQUEST authorizer, as golive template deploys it
function = "gatekeeper"
cache_ttl = 60

[functions.api]
handler = "echo.handler"
routes = ["GET /things/{id}"]

[functions.gatekeeper]
handler = "gatekeeper.handler"

[functions.gatekeeper.environment]
AUTH_LOG = "%(auth_log)s"
"""

REQUEST_ECHO = '''
import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["authorizer"])}
'''

GATEKEEPER = '''
import json
import os


def handler(event, context):
    with open(os.environ["AUTH_LOG"], "a") as log:
        log.write(json.dumps({key: event.get(key) for key in ("type", "methodArn", "resource", "path", "httpMethod",
                                                              "pathParameters")}) + "\\n")
    if event["headers"].get("Authorization") != "let-me-in":
        return {"principalId": "nobody", "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": event["methodArn"]}]}}
    stage_arn = "/".join(event["methodArn"].split("/")[:2])
    return {"principalId": "friend", "context": {"plan": "gold"}, "policyDocument": {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": stage_arn + "/GET/things/*"}]}}
'''


def test_request_authorizer_gets_the_request_and_its_policy_is_cached(tmp_path: Path) -> None:
    auth_log = tmp_path / "auth.log"
    service = write_service(tmp_path / "request-auth", {
        "golive.toml": REQUEST_AUTH_CONFIG % {"auth_log": auth_log}, "echo.py": REQUEST_ECHO,
        "gatekeeper.py": GATEKEEPER})
    cloud = Cloud(service).wait_ready()
    try:
        assert_gateway_error(cloud.get("/things/1"), 401, b'{"message":"Unauthorized"}', "UnauthorizedException")
        allowed = cloud.get("/things/1", headers={"Authorization": "let-me-in"})
        assert allowed.status == 200, allowed
        assert {k: v for k, v in allowed.json().items() if k != "integrationLatency"} == {
            "principalId": "friend", "plan": "gold"}
        assert cloud.get("/things/2", headers={"Authorization": "let-me-in"}).status == 200
        assert_gateway_error(cloud.get("/things/1", headers={"Authorization": "wrong"}), 403,
                             b'{"Message":"User is not authorized to access this resource with an explicit deny"}',
                             "AccessDeniedException")
        calls = [json.loads(line) for line in auth_log.read_text().splitlines()]
        assert len(calls) == 2  # let-me-in once (cached for /things/2), wrong once
        assert calls[0]["type"] == "REQUEST" and calls[0]["resource"] == "/things/{id}"
        assert (calls[0]["path"], calls[0]["httpMethod"], calls[0]["pathParameters"]) == (
            "/things/1", "GET", {"id": "1"})
        assert calls[0]["methodArn"].endswith("/prod/GET/things/1")
    finally:
        cloud.stop()
