"""The test client: AWS-shaped v1/v2/url/alb events from a method and path, decoded responses, logs and EMF."""

from __future__ import annotations

import base64
import json

import pytest

from golive import App, Response, logger, metrics
from golive.synth import build_event
from golive.testing import TestClient


def make_app() -> App:
    app = App("shop", health_path=None)

    @app.post("/carts/{id}/items")
    def add_item(req, id):
        logger.info("item added", cart=id)
        metrics.add("ItemAdded", 1)
        return Response({"cart": id, "item": req.json, "query": req.query, "auth": req.header("authorization"),
                         "tenant": req.header("x-tenant")}, 201, cookies=["cart=abc; Path=/"])

    @app.post("/blobs")
    def blob(req):
        return Response(req.body[::-1], content_type="application/octet-stream")

    return app


@pytest.mark.parametrize("kind, fixture", [("v1", "rest_v1"), ("v2", "http_api_v2"), ("url", "function_url")])
def test_events_have_the_shape_aws_documents(aws_event, kind, fixture):
    documented = aws_event(fixture)
    built = build_event(kind, "POST", "/carts/1/items", headers={"Content-Type": "application/json",
                                                                 "Cookie": "a=1"},
                        query={"q": "1"}, body=b"{}", path_params={"id": "1"}, stage_variables={"v": "1"})
    assert set(built) == set(documented)
    assert set(built["requestContext"]) <= set(documented["requestContext"]) | {"authorizer"}
    if kind == "v1":
        assert set(built["requestContext"]["identity"]) <= set(documented["requestContext"]["identity"])
    else:
        assert set(built["requestContext"]["http"]) == set(documented["requestContext"]["http"])


@pytest.mark.parametrize("multi, fixture", [(False, "alb_single"), (True, "alb_multi")])
def test_alb_events_have_the_shape_aws_documents(aws_event, multi, fixture):
    built = build_event("alb", "GET", "/lambda", headers={"Accept": "text/html"}, query={"myKey": ["a", "b"]},
                        alb_multi_value=multi)
    assert set(built) == set(aws_event(fixture))


@pytest.mark.parametrize("kind", ["v1", "v2", "url", "alb"])
def test_the_client_round_trips_every_event_kind(kind):
    client = TestClient(make_app(), kind=kind)
    response = client.post("/carts/7/items", json={"sku": "A-1"}, query={"source": "web"}, token="t0k")
    assert response.status == 201
    assert response.json() == {"cart": "7", "item": {"sku": "A-1"}, "query": {"source": "web"}, "auth": "Bearer t0k",
                               "tenant": None}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["Content-Type".lower()] == "application/json"
    assert response.cookies[-1] == "cart=abc; Path=/"
    event = response.event
    if kind == "v1":
        assert event["httpMethod"] == "POST" and event["requestContext"]["path"] == "/prod/carts/7/items"
    elif kind == "alb":
        assert "elb" in event["requestContext"]
    else:
        assert event["version"] == "2.0" and event["rawPath"] == "/carts/7/items"
        assert (".lambda-url." in event["requestContext"]["domainName"]) == (kind == "url")


def test_logs_and_emf_are_captured_separately():
    response = TestClient(make_app()).post("/carts/1/items", json={})
    assert [r["message"] for r in response.logs] == ["item added", "request completed"]
    assert len(response.emf) == 1 and response.emf[0]["ItemAdded"] == 1
    assert all("_aws" not in r for r in response.logs)
    assert len(response.lines) == 3


def test_binary_bodies_travel_base64_encoded():
    client = TestClient(make_app(), kind="v2")
    payload = bytes(range(200))
    response = client.post("/blobs", body=payload, headers={"Content-Type": "application/octet-stream"})
    assert response.event["isBase64Encoded"] is True
    assert base64.b64decode(response.event["body"]) == payload
    assert response.body == payload[::-1]


def test_default_headers_and_per_request_headers():
    client = TestClient(make_app())
    client.default_headers["X-Tenant"] = "acme"
    assert client.post("/carts/1/items", json={}).json()["tenant"] == "acme"
    assert client.post("/carts/1/items", json={}, headers={"X-Tenant": "other"}).json()["tenant"] == "other"


def test_a_handler_written_without_golive_can_be_tested_too():
    def bare(event, context):
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"path": event["path"], "function": context.function_name})}

    response = TestClient(bare, function_name="bare-fn").get("/ping")
    assert response.json() == {"path": "/ping", "function": "bare-fn"}


def test_capture_can_be_turned_off(capsys):
    response = TestClient(make_app(), capture=False).post("/carts/1/items", json={})
    assert response.lines == [] and response.status == 201
    assert '"message":"item added"' in capsys.readouterr().out
