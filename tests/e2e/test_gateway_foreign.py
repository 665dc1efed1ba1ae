"""Services not written with golive, served unchanged by the same local cloud: a Powertools REST resolver app, a
FastAPI app behind Mangum (HTTP API) and a bare handler, each declared in its own golive.toml."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator

import pytest
from test_gateway_support import FOREIGN, Cloud, request_id

PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


@pytest.fixture(scope="module")
def clouds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Cloud]]:
    root = tmp_path_factory.mktemp("foreign")
    started = {}
    try:
        for name in ("powertools", "fastapi_mangum", "bare"):
            service = shutil.copytree(FOREIGN / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
            started[name] = Cloud(service)  # all three start at once
        for cloud in started.values():
            cloud.wait_ready()
        yield started
    finally:
        for cloud in started.values():
            cloud.stop()


def test_powertools_rest_resolver_app(clouds: dict[str, Cloud]) -> None:
    cloud = clouds["powertools"]
    order = cloud.get("/orders/o-1")
    assert (order.status, order.json()) == (200, {"id": "o-1", "item": "book", "quantity": 1})
    assert order.headers["x-amzn-requestid"] and order.headers["x-amz-apigw-id"]
    created = cloud.request("POST", "/orders", json_body={"item": "pen", "quantity": 2})
    assert (created.status, created.headers["location"]) == (201, "/orders/o-2")
    listing = cloud.get("/orders").json()
    assert listing["stage"] == "dev" and [o["id"] for o in listing["orders"]] == ["o-1", "o-2"]
    missing = cloud.get("/orders/nope")
    assert (missing.status, missing.json()) == (404, {"statusCode": 404, "message": "order nope not found"})
    # Routes the resolver does not declare in golive.toml never reach it: API Gateway answers, with the
    # gateway responses golive template deploys (problem+json).
    unknown = cloud.get("/customers")
    assert (unknown.status, unknown.headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")
    assert unknown.json() == {"type": "about:blank", "title": "Missing Authentication Token", "status": 403,
                              "requestId": unknown.headers["x-amzn-requestid"]}
    record = cloud.access_record(request_id(order))
    assert (record["routeKey"], record["resourcePath"], record["functionName"]) == (
        "GET /orders/{order_id}", "/orders/{order_id}", "orders")


def test_fastapi_mangum_app_through_an_http_api(clouds: dict[str, Cloud]) -> None:
    cloud = clouds["fastapi_mangum"]
    assert cloud.get("/").json() == {"service": "notes"}
    created = cloud.request("POST", "/notes", json_body={"text": "hello"})
    assert (created.status, created.json()) == (201, {"id": 1, "text": "hello"})
    fetched = cloud.get("/notes/1")
    assert fetched.json() == {"id": 1, "text": "hello", "route_key": "ANY /{proxy+}"}
    assert fetched.headers["apigw-requestid"]
    invalid = cloud.request("POST", "/notes", json_body={"wrong": "field"})
    assert invalid.status == 422 and invalid.json()["detail"][0]["loc"] == ["body", "text"]
    assert (cloud.get("/notes/99").status, cloud.get("/notes/99").json()) == (404, {"detail": "note not found"})


def test_bare_handler_with_stage_variables_and_binary_media(clouds: dict[str, Cloud]) -> None:
    cloud = clouds["bare"]
    greeting = cloud.get("/greet/bob?x=1")
    assert greeting.json() == {"message": "Hello, bob!", "query": {"x": "1"}, "stage": "prod",
                               "function": "bare-greeter-greeter"}
    # isBase64Encoded responses are decoded only for clients accepting a binary media type, as on API Gateway.
    assert cloud.get("/pixel.png", headers={"Accept": "image/png"}).body == PIXEL
    assert cloud.get("/pixel.png", headers={"Accept": "*/*"}).body == base64.b64encode(PIXEL)
    binary = cloud.request("POST", "/echo", body=PIXEL, headers={"Content-Type": "image/png"})
    assert binary.json() == {"length": len(PIXEL), "base64": True, "content_type": "image/png"}
    assert binary.headers["x-echo"] == "one, two"
    text = cloud.request("POST", "/echo", body="plain", headers={"Content-Type": "text/plain"})
    assert text.json() == {"length": 5, "base64": False, "content_type": "text/plain"}
