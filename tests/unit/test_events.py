"""Event adapters: AWS-documented REST v1, HTTP API v2, Function URL and ALB events in, their result shapes out."""

from __future__ import annotations

import base64
import hashlib

import pytest

from golive import App, Response
from golive.testing import TestClient

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


def _echo(req, proxy=None):
    return {
        "method": req.method,
        "path": req.path,
        "query": req.query,
        "multi_query": req.multi_query,
        "multi_headers": {k: v for k, v in req.multi_headers.items() if k in ("headername", "header2", "cookie")},
        "cookies": req.cookies,
        "body": req.text,
        "stage": req.stage,
        "source": req.source,
        "source_ip": req.source_ip,
        "path_params": req.path_params,
        "stage_variables": req.stage_variables,
        "request_id": req.request_id,
    }


def make_app(**options) -> App:
    app = App("events", health_path=None, **options)
    app.get("/{proxy+}")(_echo)
    app.post("/{proxy+}")(_echo)

    @app.post("/upload")
    def upload(req):
        return {"size": len(req.body), "sha256": hashlib.sha256(req.body).hexdigest()}

    @app.get("/image")
    def image(req):
        return Response(PNG, content_type="image/png")

    @app.get("/cookies")
    def cookies(req):
        return Response({"ok": True}, cookies=["session=s1; Path=/; HttpOnly; Secure", "theme=dark; Path=/"],
                        multi_headers={"X-Multi": ["a", "b"]})

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app())


def test_rest_v1_event_in_and_out(aws_event, client):
    response = client.invoke(aws_event("rest_v1"))
    assert response.status == 200
    body = response.json()
    assert body["method"] == "POST"
    assert body["path"] == "/hello/world"  # the stage (/testStage in requestContext.path) is not part of the route
    assert body["stage"] == "testStage"
    assert body["path_params"] == {"proxy": "hello/world"}
    assert body["query"] == {"name": "me", "multivalueName": "me"}
    assert body["multi_query"] == {"name": ["me"], "multivalueName": ["you", "me"]}
    assert body["multi_headers"]["headername"] == ["headerValue", "secondValue"]
    assert body["cookies"] == {"session": "abc123", "theme": "dark"}
    assert body["body"] == '{\r\n\t"a": 1\r\n}'
    assert body["source"] == "v1"
    assert body["source_ip"] == "198.51.100.7"
    assert body["stage_variables"] == {"stageVariableName": "stageVariableValue"}
    assert body["request_id"] == "deef4878-7910-11e6-8f14-25afc3e9ae33"
    raw = response.raw
    assert set(raw) == {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
    assert raw["isBase64Encoded"] is False
    assert raw["multiValueHeaders"]["Content-Type"] == ["application/json"]


def test_rest_v1_with_null_members_from_the_console_test_button(aws_event, client):
    event = aws_event("rest_v1")
    event.update(headers=None, multiValueHeaders=None, queryStringParameters=None,
                 multiValueQueryStringParameters=None, stageVariables=None, body=None, httpMethod="GET")
    response = client.invoke(event)
    assert response.status == 200
    assert response.json()["query"] == {} and response.json()["body"] == ""


def test_http_api_v2_event_in_and_out(aws_event, client):
    response = client.invoke(aws_event("http_api_v2"))
    assert response.status == 200
    body = response.json()
    assert body["path"] == "/my/path"
    assert body["query"] == {"parameter1": "value2", "parameter2": "value"}
    assert body["multi_query"] == {"parameter1": ["value1", "value2"], "parameter2": ["value"]}
    assert body["multi_headers"]["header2"] == ["value1", "value2"]
    assert body["cookies"] == {"session": "abc123", "theme": "dark"}
    assert body["source"] == "v2"
    assert body["source_ip"] == "203.0.113.10"
    raw = response.raw
    assert "multiValueHeaders" not in raw
    assert raw["headers"]["Content-Type"] == "application/json"


def test_http_api_named_stage_is_stripped_from_raw_path(aws_event, client):
    event = aws_event("http_api_v2")
    event["rawPath"] = "/prod/my/path"
    event["requestContext"]["stage"] = "prod"
    event["requestContext"]["http"]["path"] = "/prod/my/path"
    body = client.invoke(event).json()
    assert body["path"] == "/my/path"
    assert body["stage"] == "prod"
    # The synthesiser builds the same shape.
    assert client.get("/my/path", kind="v2", stage="prod").json()["path"] == "/my/path"


def test_custom_domain_base_path_is_stripped(aws_event):
    client = TestClient(make_app(base_paths=["/v1"]))
    event = aws_event("rest_v1")
    event["path"] = "/v1/hello/world"
    event["requestContext"]["path"] = "/v1/hello/world"
    assert client.invoke(event).json()["path"] == "/hello/world"
    event = aws_event("http_api_v2")
    event["rawPath"] = "/v1/my/path"
    assert client.invoke(event).json()["path"] == "/my/path"
    # Only a whole leading segment is a base path.
    event["rawPath"] = "/v10/my/path"
    assert client.invoke(event).json()["path"] == "/v10/my/path"


def test_function_url_event_in_and_out(aws_event, client):
    response = client.invoke(aws_event("function_url"))
    assert response.status == 200
    body = response.json()
    assert body["source"] == "url"
    assert body["body"] == "Hello from client!"
    assert body["multi_query"]["parameter1"] == ["value1", "value2"]
    assert body["cookies"] == {"session": "abc123", "theme": "dark"}
    assert "multiValueHeaders" not in response.raw and "statusDescription" not in response.raw


def test_alb_single_value_event_in_and_out(aws_event, client):
    response = client.invoke(aws_event("alb_single"))
    assert response.status == 200
    body = response.json()
    assert body["path"] == "/lambda"
    assert body["source"] == "alb"
    # ALB leaves the query string percent-encoded; golive decodes it.
    assert body["query"] == {"query": "1234ABCD", "q": "café au lait"}
    assert body["cookies"] == {"name2": "value2"}
    assert body["source_ip"] == "72.21.198.66"
    raw = response.raw
    assert raw["statusDescription"] == "200 OK"
    assert "multiValueHeaders" not in raw
    assert all(isinstance(v, str) for v in raw["headers"].values())


def test_alb_multi_value_event_in_and_out(aws_event, client):
    response = client.invoke(aws_event("alb_multi"))
    body = response.json()
    assert body["multi_query"] == {"myKey": ["val1", "val2"], "q": ["café au lait"]}
    assert body["query"]["myKey"] == "val2"
    assert body["cookies"] == {"name1": "value1", "name2": "value2"}
    raw = response.raw
    assert raw["statusDescription"] == "200 OK"
    assert "headers" not in raw
    assert all(isinstance(v, list) for v in raw["multiValueHeaders"].values())


def test_alb_status_description_follows_the_status(aws_event, client):
    event = aws_event("alb_single")
    event["httpMethod"] = "DELETE"
    response = client.invoke(event)
    assert response.status == 405
    assert response.raw["statusDescription"] == "405 Method Not Allowed"


@pytest.mark.parametrize("name", ["rest_v1", "http_api_v2", "function_url", "alb_single", "alb_multi"])
def test_base64_request_body_is_decoded(aws_event, client, name):
    event = aws_event(name)
    payload = bytes(range(256)) * 4
    event["body"] = base64.b64encode(payload).decode()
    event["isBase64Encoded"] = True
    if name in ("rest_v1", "alb_single", "alb_multi"):
        event["httpMethod"] = "POST"
        event["path"] = "/upload"
    else:
        event["rawPath"] = "/upload"
        event["requestContext"]["http"]["method"] = "POST"
    for key in ("headers", "multiValueHeaders"):
        for header in list(event.get(key) or {}):
            if header.lower() == "content-type":
                event[key][header] = "application/octet-stream" if key == "headers" else ["application/octet-stream"]
    response = client.invoke(event)
    assert response.status == 200, response.text
    assert response.json() == {"size": 1024, "sha256": hashlib.sha256(payload).hexdigest()}


@pytest.mark.parametrize("kind", ["v1", "v2", "url", "alb"])
def test_binary_response_is_base64_encoded(client, kind):
    response = client.get("/image", kind=kind)
    assert response.raw["isBase64Encoded"] is True
    assert base64.b64decode(response.raw["body"]) == PNG
    assert response.body == PNG
    assert response.headers["content-type"] == "image/png"


@pytest.mark.parametrize("kind", ["v1", "v2", "url", "alb"])
def test_json_response_is_text(client, kind):
    response = client.get("/hello", kind=kind)
    assert response.raw["isBase64Encoded"] is False
    assert response.json()["path"] == "/hello"


def test_cookies_in_through_the_synthesised_events(client):
    for kind in ("v1", "v2", "url", "alb"):
        body = client.get("/c", kind=kind, headers={"Cookie": "a=1; b=two"}).json()
        assert body["cookies"] == {"a": "1", "b": "two"}, kind


def test_cookies_and_multi_value_headers_out_rest_v1(client):
    raw = client.get("/cookies", kind="v1").raw
    assert raw["multiValueHeaders"]["Set-Cookie"] == ["session=s1; Path=/; HttpOnly; Secure", "theme=dark; Path=/"]
    assert raw["multiValueHeaders"]["X-Multi"] == ["a", "b"]
    # Repeated headers only travel in multiValueHeaders: API Gateway merges the two maps.
    assert "Set-Cookie" not in raw["headers"] and "X-Multi" not in raw["headers"]
    assert "cookies" not in raw


@pytest.mark.parametrize("kind", ["v2", "url"])
def test_cookies_out_payload_v2(client, kind):
    raw = client.get("/cookies", kind=kind).raw
    assert raw["cookies"] == ["session=s1; Path=/; HttpOnly; Secure", "theme=dark; Path=/"]
    assert not any(name.lower() == "set-cookie" for name in raw["headers"])
    assert raw["headers"]["X-Multi"] == "a,b"


def test_cookies_out_alb_multi_value(aws_event, client):
    response = client.invoke(aws_event("alb_multi") | {"path": "/cookies"})
    raw = response.raw
    assert raw["multiValueHeaders"]["Set-Cookie"] == ["session=s1; Path=/; HttpOnly; Secure", "theme=dark; Path=/"]
    assert raw["multiValueHeaders"]["X-Multi"] == ["a", "b"]
    assert response.cookies == raw["multiValueHeaders"]["Set-Cookie"]


def test_alb_single_value_carries_one_value_per_header(aws_event, client):
    raw = client.invoke(aws_event("alb_single") | {"path": "/cookies"}).raw
    assert "multiValueHeaders" not in raw
    assert isinstance(raw["headers"]["Set-Cookie"], str)


def test_an_event_that_is_not_http_is_refused_loudly(client, capsys):
    with pytest.raises(ValueError, match="not an HTTP event"):
        make_app().handler({"Records": [{"eventSource": "aws:sqs"}]}, None)
    assert '"level":"ERROR"' in capsys.readouterr().out


def test_set_cookie_headers_become_payload_v2_cookies():
    app = App("events", health_path=None)

    @app.get("/login")
    def login(req):
        return Response({}, headers={"Set-Cookie": "sid=1; Secure"},
                        multi_headers={"Set-Cookie": ["a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT"]},
                        cookies=["b=2"])

    raw = TestClient(app).get("/login", kind="v2").raw
    assert sorted(raw["cookies"]) == sorted(["sid=1; Secure", "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"])
    assert not any(name.lower() == "set-cookie" for name in raw["headers"])


def test_v2_header_values_with_commas_stay_whole_where_commas_are_not_separators(aws_event, client):
    event = aws_event("http_api_v2")
    event["rawPath"] = "/x"
    event["headers"]["if-modified-since"] = "Wed, 21 Oct 2015 07:28:00 GMT"
    event["requestContext"]["http"]["method"] = "GET"
    app = App("events", health_path=None)

    @app.get("/x")
    def x(req):
        return {"ims": req.multi_headers["if-modified-since"], "header2": req.multi_headers["header2"]}

    body = TestClient(app).invoke(event).json()
    assert body == {"ims": ["Wed, 21 Oct 2015 07:28:00 GMT"], "header2": ["value1", "value2"]}


def test_http_api_payload_v1_event_in_and_out(aws_event, client):
    response = client.invoke(aws_event("http_api_v1"))
    body = response.json()
    assert (body["method"], body["path"], body["source"]) == ("GET", "/my/path", "v1")
    assert body["multi_query"] == {"parameter1": ["value1", "value2"], "parameter2": ["value"]}
    assert set(response.raw) == {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


def test_http_api_payload_v1_named_stage_is_stripped_from_path(aws_event, client):
    event = aws_event("http_api_v1")
    event["path"] = "/prod/my/path"
    event["requestContext"]["stage"] = "prod"
    body = client.invoke(event).json()
    assert (body["path"], body["stage"]) == ("/my/path", "prod")
