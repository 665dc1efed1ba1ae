"""Bodies that are valid JSON syntax but would break later layers: nesting deep enough to exhaust Python's
recursion, and lone UTF-16 surrogates that no store or encoder accepts. Each answers 400, never 500."""

from __future__ import annotations

import pytest

from golive import App
from golive.testing import TestClient

NOTE = {"type": "object", "properties": {"text": {"type": "string"}}, "additionalProperties": True}


def make_client() -> TestClient:
    app = App("notes")

    @app.post("/notes", body=NOTE, public=True)
    def create(req):
        return {"stored": req.json}, 201

    @app.post("/raw", public=True)
    def raw(req):
        return {"type": type(req.json).__name__}

    return TestClient(app)


@pytest.mark.parametrize("depth", [201, 1_000, 100_000])
@pytest.mark.parametrize("path", ["/notes", "/raw"])
def test_deeply_nested_json_is_400_with_a_clear_detail(path: str, depth: int) -> None:
    body = '{"text": "x", "deep": ' + "[" * depth + "]" * depth + "}"
    response = make_client().post(path, body=body, headers={"content-type": "application/json"})
    assert response.status == 400, response.text
    assert response.json()["detail"] == ("The body is not valid JSON: it nests arrays or objects deeper than 200 "
                                         "levels")
    assert not [line for line in response.logs if line.get("level") == "ERROR"]


def test_nesting_within_the_limit_is_served() -> None:
    body = '{"text": "x", "deep": ' + "[" * 199 + "]" * 199 + "}"
    assert make_client().post("/notes", body=body, headers={"content-type": "application/json"}).status == 201


@pytest.mark.parametrize("escaped", [r"\ud800", r"\uDFFF", r"a\udc00b", r"\ude00\ud83d"])
def test_lone_surrogates_are_400_before_any_handler_or_store(escaped: str) -> None:
    for path in ("/notes", "/raw"):
        body = '{"text": "' + escaped + '"}'
        response = make_client().post(path, body=body, headers={"content-type": "application/json"})
        assert response.status == 400, response.text
        assert "lone UTF-16 surrogate" in response.json()["detail"]
    key = make_client().post("/raw", body='{"' + escaped + '": 1}', headers={"content-type": "application/json"})
    assert key.status == 400


def test_surrogate_pairs_and_utf8_are_unicode_and_served() -> None:
    client = make_client()
    pair = client.post("/notes", body=r'{"text": "\ud83d\ude00 \\ud800"}', headers={"content-type": "application/json"})
    assert pair.status == 201, pair.text
    assert pair.json()["stored"]["text"] == "\N{GRINNING FACE} \\ud800"  # an escaped backslash is just text
    utf8 = client.post("/notes", json={"text": "\N{GRINNING FACE}"})
    assert utf8.status == 201
