"""golive dev's X-Ray daemon address: real UDP datagrams on loopback (from golive's tracer and a plain socket) in,
the documents handed on, and stored as spans rows with their nesting unfolded."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest

from golive.local.xray import TraceSampler, start_daemon
from golive.observability import tracing
from golive.telemetry.spans import Spans
from golive.telemetry.store import Store

ROOT = "1-6b13025e-a5f7633c6151f334087d8ca1"
PARENT = "97fac08a8df932d2"


def _send(address: str, payload: bytes) -> None:
    host, _, port = address.rpartition(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(payload, (host, int(port)))


async def _receive(send: object, expected: int) -> tuple[list[bytes], int]:
    received: list[bytes] = []
    daemon = await start_daemon(received.append)
    try:
        assert daemon.host == "127.0.0.1" and daemon.port > 0
        assert daemon.environment()["AWS_XRAY_DAEMON_ADDRESS"] == daemon.address
        await asyncio.get_running_loop().run_in_executor(None, send, daemon.address)  # type: ignore[arg-type]
        deadline = time.monotonic() + 5
        while len(received) + daemon.protocol.rejected < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return received, daemon.protocol.rejected
    finally:
        daemon.close()


def _traced_invocation(address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What golive's tracer does inside a worker: a sampled invocation with a DynamoDB call, sent over UDP."""
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", address)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent={PARENT};Sampled=1")
    tracer = tracing.Tracer("shop")
    tracer.start_invocation("shop")
    with tracer.subsegment("GET /items/{id}", "local"):
        with tracer.subsegment("DynamoDB.GetItem", "aws", table_name="items"):
            pass
        with pytest.raises(LookupError), tracer.subsegment("pricing", "remote"):
            raise LookupError("no price")
    tracer.end_invocation(None, 200)


def test_the_daemon_hands_on_each_document_and_rejects_what_has_no_daemon_header(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sdk_style = b'{"format": "json", "version": 1}\n{"name": "dynamodb", "id": "1d450479db9c9b9c"}'

    def send(address: str) -> None:
        _traced_invocation(address, monkeypatch)
        _send(address, sdk_style)  # the AWS SDKs put spaces in the header
        _send(address, b'{"name": "no header"}')
        _send(address, b'{"format":"json","version":1}\n')  # a header and nothing else

    received, rejected = asyncio.run(_receive(send, 4))
    assert rejected == 2
    assert len(received) == 2
    document = json.loads(received[0])
    assert (document["trace_id"], document["parent_id"], document["type"]) == (ROOT, PARENT, "subsegment")
    assert received[1] == b'{"name": "dynamodb", "id": "1d450479db9c9b9c"}'


def test_received_documents_become_spans_rows_with_their_nested_subsegments_unfolded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "telemetry.duckdb")
    spans = Spans(store)
    received, _ = asyncio.run(_receive(lambda address: _traced_invocation(address, monkeypatch), 1))
    for body in received:
        spans.on_datagram(body)
    spans.on_datagram(b"not json at all")  # a stray datagram past the header check is skipped when stored
    assert spans.flush() == 4
    rows = store.cursor().execute(
        "SELECT name, kind, namespace, parent_id, id, operation, table_name, fault, exception, status, trace_id "
        "FROM spans ORDER BY ts, name").fetchall()
    by_name = {row[0]: row for row in rows}
    assert set(by_name) == {"## shop", "GET /items/{id}", "DynamoDB.GetItem", "pricing"}
    handler, route = by_name["## shop"], by_name["GET /items/{id}"]
    assert handler[3] == PARENT and handler[1] == "subsegment" and handler[9] == 200
    assert route[3] == handler[4]
    dynamodb = by_name["DynamoDB.GetItem"]
    assert dynamodb[2:4] == ("aws", route[4]) and dynamodb[5:7] == ("GetItem", "items")
    pricing = by_name["pricing"]
    assert pricing[7] is True and pricing[8] == "LookupError: no price"
    assert {row[10] for row in rows} == {ROOT}
    store.close()


def test_the_sampler_traces_the_reservoir_each_second_then_its_rate_of_the_rest() -> None:
    sampler = TraceSampler(reservoir=3, rate=0.05)  # 5 % of 256 random values: 0-12
    second = 1_767_000_000.0
    assert [sampler.sample(second + 0.1 * n, 255) for n in range(4)] == [True, True, True, False]
    assert [sampler.sample(second + 0.5, chance) for chance in (0, 12, 13, 200)] == [True, True, False, False]
    # the next second refills the reservoir
    assert [sampler.sample(second + 1.0, 255) for _ in range(4)] == [True, True, True, False]
