"""golive dev's payload ring: what it keeps (the last N requests, a total size), and how it shows a payload
(redacted as logs are, long bodies cut with a note, base64 and form bodies redacted inside)."""

from __future__ import annotations

import base64
import json

from golive.telemetry.payloads import DEFAULT_REQUESTS, PayloadRing, shown


def event(path: str, body: str = "", **extra: object) -> bytes:
    return json.dumps({"path": path, "headers": {"Content-Type": "application/json"}, "body": body,
                       "isBase64Encoded": False, **extra}).encode()


def test_keeps_the_last_n_requests_by_either_id() -> None:
    ring = PayloadRing(max_requests=3)
    for n in range(5):
        ring.on_payload(f"api-{n}", f"lambda-{n}", event(f"/items/{n}"), b'{"statusCode": 200}')
    assert len(ring) == 3
    assert ring.find("api-0") is None and ring.find("lambda-1") is None  # the oldest were dropped
    assert ring.find("api-2")["event"]["path"] == "/items/2"  # type: ignore[index]
    assert ring.find("lambda-4")["response"] == {"statusCode": 200}  # type: ignore[index]
    assert ring.find("nobody") is None and ring.find("") is None


def test_total_bytes_bound_drops_the_oldest_but_keeps_the_newest() -> None:
    ring = PayloadRing(max_requests=100, max_total_bytes=10_000)
    big = "x" * 4_000
    for n in range(4):
        ring.on_payload(f"api-{n}", "", event("/big", big), None)
    assert ring.bytes <= 10_000 and len(ring) == 2
    assert ring.find("api-1") is None and ring.find("api-3") is not None
    ring.on_payload("huge", "", event("/huge", "y" * 20_000), None)  # over the cap alone: still the newest kept
    assert len(ring) == 1 and ring.find("huge")["response"] is None  # type: ignore[index]


def test_default_is_the_last_thousand() -> None:
    ring = PayloadRing()
    for n in range(DEFAULT_REQUESTS + 1):
        ring.on_payload(f"api-{n}", "", b"{}", b"{}")
    assert len(ring) == DEFAULT_REQUESTS and ring.find("api-0") is None and ring.find("api-1") == \
        {"event": {}, "response": {}}


def test_a_long_body_is_cut_with_a_note_after_redaction() -> None:
    body = json.dumps({"password": "hunter2", "note": "z" * 1000})
    cut = shown(event("/long", body), max_body_bytes=100)["body"]
    assert "hunter2" not in cut and cut.startswith('{"password":"[REDACTED]"')
    redacted = json.dumps({"password": "[REDACTED]", "note": "z" * 1000}, separators=(",", ":"))
    assert cut == f"{redacted[:100]}… [cut by golive dev: {len(redacted):,} bytes, the first 100 shown]"


def test_headers_cookies_and_bodies_are_redacted_as_logs_are() -> None:
    sent = event("/users/ada%40example.com", json.dumps({"email": "ada@example.com", "card": "4111111111111111"}),
                 multiValueHeaders={"Authorization": ["Bearer t0ken"], "Cookie": ["a=1"]},
                 cookies=["session=abc", "theme=dark"], queryStringParameters={"api_key": "k-123"})
    document = shown(sent)
    assert document["path"] == "/users/ad***%40example.com"
    assert document["multiValueHeaders"] == {"Authorization": "[REDACTED]", "Cookie": "[REDACTED]"}
    assert document["cookies"] == ["[REDACTED]", "[REDACTED]"]
    assert document["queryStringParameters"] == {"api_key": "[REDACTED]"}
    assert json.loads(document["body"]) == {"email": "ad***@example.com", "card": "[REDACTED]"}


def test_base64_text_and_form_bodies_are_redacted_inside_binary_left_alone() -> None:
    form = base64.b64encode(b"user=ada&password=hunter2").decode()
    document = shown(json.dumps({"headers": {"content-type": "application/x-www-form-urlencoded"}, "body": form,
                                 "isBase64Encoded": True}).encode())
    assert base64.b64decode(document["body"]) == b"user=ada&password=%5BREDACTED%5D"
    binary = base64.b64encode(bytes(range(256))).decode()
    assert shown(json.dumps({"body": binary, "isBase64Encoded": True}).encode())["body"] == binary


def test_a_result_that_is_not_json_is_masked_text() -> None:
    assert shown(b"not json: ada@example.com") == "not json: ad***@example.com"
