"""Metrics: EMF documents on stdout, one flush per invocation, per-route and custom metrics, EMF limits."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from golive import App, metrics
from golive.observability.metrics import Metrics, MetricsError
from golive.testing import TestClient

EMF_SCHEMA = json.loads((Path(__file__).parent / "emf_schema.json").read_text())
jsonschema.Draft7Validator.check_schema(EMF_SCHEMA)
EMF_VALIDATOR = jsonschema.Draft7Validator(EMF_SCHEMA)


def assert_valid_emf(document: dict) -> None:
    """The JSON Schema of the specification, plus the rules that tie its members together."""
    EMF_VALIDATOR.validate(document)
    assert len(json.dumps(document)) < 256 * 1024
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for key in dimension_set:
                assert isinstance(document.get(key), str), f"dimension {key!r} needs a string root member"
        for definition in directive["Metrics"]:
            name = definition["Name"]
            assert name in document, f"metric {name!r} has no root member"
            target = document[name]
            values = target if isinstance(target, list) else [target]
            assert 1 <= len(values) <= 100, f"metric {name!r} has {len(values)} values"
            assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values), name


def make_app(**options) -> App:
    app = App("orders", health_path=None, **options)

    @app.get("/orders/{id}")
    def get_order(req, id):
        if id == "boom":
            raise RuntimeError("boom")
        return {"id": id}

    @app.post("/orders")
    def create(req):
        metrics.add("OrderCreated", 1)
        metrics.add("OrderValue", 12.5, unit="None")
        metrics.add("OrderValue", 30, unit="None")
        return {"ok": True}, 201

    @app.get("/many-metrics")
    def many_metrics(req):
        for index in range(150):
            metrics.add(f"Metric{index}", index)
        return {}

    @app.get("/many-values")
    def many_values(req):
        for index in range(250):
            metrics.add("ItemSize", index, unit="Bytes")
        return {}

    @app.get("/tenant")
    def tenant(req):
        metrics.add_dimension("tenant", "acme")
        metrics.add_metadata("order_ref", "ord-1")
        metrics.add("Fast", 3, unit="Milliseconds", resolution=1)
        return {}

    @app.get("/dimensions/{count}")
    def dimensions(req, count):
        for index in range(int(count)):
            metrics.add_dimension(f"d{index}", "v")
        metrics.add("Dimensioned", 1)
        return {}

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app())


def _route_directive(document: dict) -> dict:
    return next(d for d in document["_aws"]["CloudWatchMetrics"] if d["Dimensions"] == [["service", "route"]])


def test_one_emf_document_per_invocation_with_per_route_metrics(client):
    response = client.get("/orders/7")
    assert len(response.emf) == 1
    document = response.emf[0]
    assert_valid_emf(document)
    assert response.lines[-1] == json.dumps(document, separators=(",", ":"))  # flushed once, at the end
    directive = _route_directive(document)
    assert directive["Namespace"] == "orders"
    assert [(m["Name"], m["Unit"]) for m in directive["Metrics"]] == [
        ("Latency", "Milliseconds"), ("Count", "Count"), ("4xx", "Count"), ("5xx", "Count"), ("ColdStart", "Count")]
    assert document["service"] == "orders" and document["route"] == "GET /orders/{id}"
    assert (document["Count"], document["4xx"], document["5xx"], document["ColdStart"]) == (1, 0, 0, 1)
    assert document["Latency"] >= 0
    assert abs(document["_aws"]["Timestamp"] / 1000 - __import__("time").time()) < 60


def test_cold_start_metric_only_on_the_first_invocation(client):
    client.get("/orders/1")
    document = client.get("/orders/2").emf[0]
    assert_valid_emf(document)
    assert "ColdStart" not in document
    assert [m["Name"] for m in _route_directive(document)["Metrics"]] == ["Latency", "Count", "4xx", "5xx"]


def test_client_and_server_errors_are_counted(client):
    not_found = client.get("/nowhere").emf[0]
    assert_valid_emf(not_found)
    assert (not_found["4xx"], not_found["5xx"], not_found["route"]) == (1, 0, "UNMATCHED")
    server = client.get("/orders/boom").emf[0]
    assert_valid_emf(server)
    assert (server["4xx"], server["5xx"], server["route"]) == (0, 1, "GET /orders/{id}")


def test_custom_metrics_share_the_invocation_document(client):
    response = client.post("/orders", json={})
    [document] = response.emf
    assert_valid_emf(document)
    custom = next(d for d in document["_aws"]["CloudWatchMetrics"] if d["Dimensions"] == [["service"]])
    assert custom["Metrics"] == [{"Name": "OrderCreated", "Unit": "Count"}, {"Name": "OrderValue", "Unit": "None"}]
    assert document["OrderCreated"] == 1
    assert document["OrderValue"] == [12.5, 30]


def test_metrics_do_not_leak_into_the_next_invocation(client):
    client.post("/orders", json={})
    document = client.get("/orders/1").emf[0]
    assert "OrderCreated" not in document and len(document["_aws"]["CloudWatchMetrics"]) == 1


def test_custom_dimensions_metadata_and_high_resolution(client):
    [document] = client.get("/tenant").emf
    assert_valid_emf(document)
    custom = next(d for d in document["_aws"]["CloudWatchMetrics"] if d["Dimensions"] == [["service", "tenant"]])
    assert custom["Metrics"] == [{"Name": "Fast", "Unit": "Milliseconds", "StorageResolution": 1}]
    assert document["tenant"] == "acme" and document["order_ref"] == "ord-1"


def test_more_than_100_metrics_are_split_across_documents(client):
    documents = client.get("/many-metrics").emf
    assert len(documents) == 2
    names = []
    for document in documents:
        assert_valid_emf(document)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            names.extend(m["Name"] for m in directive["Metrics"])
        assert sum(len(d["Metrics"]) for d in document["_aws"]["CloudWatchMetrics"]) <= 100
    assert sorted(names) == sorted(["Latency", "Count", "4xx", "5xx", "ColdStart"] + [f"Metric{i}" for i in range(150)])
    values = {name: doc[name] for doc in documents for name in doc if name.startswith("Metric")}
    assert values == {f"Metric{i}": i for i in range(150)}


def test_more_than_100_values_are_split_across_documents(client):
    documents = client.get("/many-values").emf
    assert len(documents) == 3
    collected = []
    for document in documents:
        assert_valid_emf(document)
        collected.extend(document["ItemSize"])
    assert collected == list(range(250))


def test_thirty_dimensions_are_accepted_and_more_are_rejected(client):
    ok = client.get("/dimensions/29")  # 29 + service = 30, the limit
    assert ok.status == 200
    [document] = ok.emf
    assert_valid_emf(document)
    assert len(next(d for d in document["_aws"]["CloudWatchMetrics"] if "d0" in d["Dimensions"][0])
               ["Dimensions"][0]) == 30
    refused = client.get("/dimensions/30")
    assert refused.status == 500
    [record] = [r for r in refused.logs if r["message"] == "unhandled exception"]
    assert record["error"]["type"] == "MetricsError"
    assert "at most 30 dimensions" in record["error"]["message"]
    sink = Metrics(service="s")
    for index in range(29):
        sink.add_dimension(f"k{index}", "v")
    with pytest.raises(MetricsError, match="at most 30 dimensions, service included"):
        sink.add_dimension("one_too_many", "v")


@pytest.mark.parametrize("call, message", [
    (lambda m: m.add("X", 1, unit="Parsecs"), "not a CloudWatch unit"),
    (lambda m: m.add("X", float("nan")), "finite number"),
    (lambda m: m.add("X", True), "finite number"),
    (lambda m: m.add("Latency", 1), "reserved"),
    (lambda m: m.add("", 1), "1-255 characters"),
    (lambda m: m.add("X", 1, resolution=5), "resolution"),
    (lambda m: m.add_dimension("tenant", ""), "non-empty"),
    (lambda m: m.add_dimension("route", "x"), "already a golive dimension"),
])
def test_metrics_cloudwatch_would_reject_are_refused_where_they_are_made(call, message):
    with pytest.raises(MetricsError, match=message):
        call(Metrics(service="s"))


def test_a_unit_change_for_one_metric_is_refused():
    sink = Metrics(service="s")
    sink.add("Size", 1, unit="Bytes")
    with pytest.raises(MetricsError, match="recorded in Bytes"):
        sink.add("Size", 1, unit="Kilobytes")


def test_namespace_is_configurable(client):
    documents = TestClient(make_app(metrics_namespace="Shop/Orders")).get("/orders/1").emf
    assert documents[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Shop/Orders"
