"""Tracing: X-Ray segment documents over real UDP, trace context from X-Ray and W3C headers, propagation."""

from __future__ import annotations

import json
import socket

import pytest

from golive import App, NotFound, tracer
from golive.observability.tracing import parse_traceparent, parse_xray, xray_to_w3c
from golive.testing import TestClient

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"


@pytest.fixture
def daemon(monkeypatch):
    """A UDP socket standing where the X-Ray daemon listens."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"127.0.0.1:{sock.getsockname()[1]}")
    yield sock
    sock.close()


def receive(sock: socket.socket, timeout: float = 2.0) -> dict | None:
    sock.settimeout(timeout)
    try:
        data, _ = sock.recvfrom(65536)
    except TimeoutError:
        return None
    header, _, body = data.partition(b"\n")
    assert json.loads(header) == {"format": "json", "version": 1}
    return json.loads(body)


def make_app() -> App:
    app = App("orders", health_path=None)

    @app.get("/orders/{id}")
    def get_order(req, id):
        with tracer.subsegment("DynamoDB.GetItem", namespace="aws", table="orders") as call:
            call.metadata["key"] = id
            propagated = tracer.headers()
        return {"headers": propagated, "subsegment": call.id}

    @app.get("/explode")
    def explode(req):
        with tracer.subsegment("payments.charge"):
            raise RuntimeError("card processor down")

    @app.get("/missing")
    def missing(req):
        raise NotFound("no such order")

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app())


def _walk(document: dict):
    yield document
    for child in document.get("subsegments", []):
        yield from _walk(child)


def test_handler_and_downstream_subsegments_arrive_with_the_incoming_trace(client, daemon):
    response = client.get("/orders/7", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Parent={PARENT};Sampled=1"})
    assert response.status == 200
    document = receive(daemon)
    assert document is not None
    assert document["trace_id"] == ROOT
    assert document["parent_id"] == PARENT
    assert document["type"] == "subsegment"
    assert document["start_time"] <= document["end_time"]
    assert document["http"] == {"response": {"status": 200}}
    assert document["annotations"]["route"] == "GET /orders/{id}"
    [handler] = document["subsegments"]
    assert handler["name"] == "get_order"
    assert "namespace" not in handler  # local work: X-Ray only knows "aws" and "remote"
    [call] = handler["subsegments"]
    assert call["name"] == "DynamoDB.GetItem" and call["namespace"] == "aws"
    assert call["annotations"] == {"table": "orders"}
    assert call["metadata"] == {"default": {"key": "7"}}
    assert document["start_time"] <= handler["start_time"] <= call["start_time"] <= call["end_time"]
    ids = [d["id"] for d in _walk(document)]
    assert len(set(ids)) == 3 and all(len(i) == 16 for i in ids)
    # Downstream calls carry the trace onward, parented on the open subsegment.
    propagated = response.json()["headers"]
    assert propagated["X-Amzn-Trace-Id"] == f"Root={ROOT};Parent={call['id']};Sampled=1"
    assert propagated["traceparent"] == f"00-5759e988bd862e3fe1be46a994272793-{call['id']}-01"


def test_w3c_traceparent_starts_the_same_trace(client, daemon):
    client.get("/orders/1", headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    document = receive(daemon)
    assert document["trace_id"] == "1-4bf92f35-77b34da6a3ce929d0e0e4736"
    assert document["parent_id"] == "00f067aa0ba902b7"


def test_lambda_trace_environment_wins(client, daemon, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent=1111222233334444;Sampled=1")
    client.get("/orders/1", headers={"X-Amzn-Trace-Id": "Root=1-00000000-000000000000000000000001;Sampled=1"})
    document = receive(daemon)
    assert (document["trace_id"], document["parent_id"]) == (ROOT, "1111222233334444")


def test_a_sampled_trace_without_parent_is_sent_as_a_segment(client, daemon):
    client.get("/orders/1", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Sampled=1"})
    document = receive(daemon)
    assert document["name"] == "orders" and document["origin"] == "AWS::Lambda::Function"
    assert "parent_id" not in document and "type" not in document


def test_faults_and_client_errors_are_flagged(client, daemon):
    headers = {"X-Amzn-Trace-Id": f"Root={ROOT};Parent={PARENT};Sampled=1"}
    assert client.get("/explode", headers=headers).status == 500
    document = receive(daemon)
    assert document["fault"] is True and document["http"]["response"]["status"] == 500
    charge = document["subsegments"][0]["subsegments"][0]
    assert charge["fault"] is True
    assert charge["cause"]["exceptions"][0]["type"] == "RuntimeError"
    client.get("/missing", headers=headers)
    document = receive(daemon)
    assert document["error"] is True and "fault" not in document
    assert document["subsegments"][0]["error"] is True


@pytest.mark.parametrize("headers", [{"X-Amzn-Trace-Id": f"Root={ROOT};Parent={PARENT};Sampled=0"},
                                     {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"},
                                     {}])
def test_nothing_is_sent_when_not_sampled(client, daemon, headers):
    assert client.get("/orders/1", headers=headers).status == 200
    # golive sends synchronously, before the handler returns: a marker sent now must be the first datagram.
    marker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    marker.sendto(b'{"format":"json","version":1}\n{"marker":true}', daemon.getsockname())
    marker.close()
    assert receive(daemon) == {"marker": True}


def test_nothing_is_sent_without_a_daemon_address(client):
    response = client.get("/orders/1", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Sampled=1"})
    assert response.status == 200  # and no socket was needed


def test_daemon_address_with_tcp_and_udp_parts(client, daemon, monkeypatch):
    port = daemon.getsockname()[1]
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"tcp:127.0.0.1:1 udp:127.0.0.1:{port}")
    client.get("/orders/1", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Sampled=1"})
    assert receive(daemon)["trace_id"] == ROOT


def test_a_bad_daemon_address_never_fails_a_request(client, monkeypatch):
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "not-an-address")
    assert client.get("/orders/1", headers={"X-Amzn-Trace-Id": f"Root={ROOT};Sampled=1"}).status == 200


def test_trace_id_conversions_between_xray_and_w3c():
    assert xray_to_w3c(ROOT) == "5759e988bd862e3fe1be46a994272793"
    root, parent, sampled = parse_traceparent(f"00-{xray_to_w3c(ROOT)}-{PARENT}-01")
    assert (root, parent, sampled) == (ROOT, PARENT, True)
    assert parse_traceparent(f"00-{xray_to_w3c(ROOT)}-{PARENT}-00")[2] is False
    assert parse_traceparent("00-" + "0" * 32 + f"-{PARENT}-01") == (None, None, None)
    assert parse_traceparent("garbage") == (None, None, None)
    assert parse_xray(f"Root={ROOT};Parent={PARENT};Sampled=1") == (ROOT, PARENT, True)
    assert parse_xray(f"Root={ROOT}") == (ROOT, None, None)
    assert parse_xray("Self=1-67891234-12456789abcdef012345678;Root=garbage") == (None, None, None)
