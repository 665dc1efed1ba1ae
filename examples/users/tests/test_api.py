"""The Users API in process through golive's TestClient (real API Gateway events), on SQLite in a temp dir."""

from __future__ import annotations

import json
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from users.api import create_app
from users.store.sqlite import SQLiteUserStore

from golive.security.auth import JWTAuth
from golive.testing import TestClient, TestResponse

SERVICE_DIR = Path(__file__).resolve().parents[1]
AUTH = tomllib.loads((SERVICE_DIR / "golive.toml").read_text())["auth"]
ADA = {"name": "Ada Lovelace", "email": "ada@example.com", "age": 36, "phone": "+442079460000"}
SECURITY_HEADERS = ("strict-transport-security", "x-content-type-options", "x-frame-options",
                    "content-security-policy", "referrer-policy", "cache-control", "x-request-id")


def token(sub: str, roles: list[str] | None = None, *, secret: str | None = None, **claims: object) -> str:
    payload = {"sub": sub, "roles": roles or [], "iss": AUTH["issuer"], "aud": AUTH["audience"],
               "exp": int(time.time()) + 600, **claims}
    return jwt.encode(payload, secret or AUTH["dev_secret"], algorithm="HS256")


ADMIN = token("root", ["admin"])
ALICE = token("alice")
BOB = token("bob")


class Service:
    """The app under test, its store and the client that calls it."""

    def __init__(self, tmp_path: Path, require_if_match: bool = False) -> None:
        self.store = SQLiteUserStore(tmp_path / "users.db")
        auth = JWTAuth(issuer=AUTH["issuer"], audience=AUTH["audience"], secret=AUTH["dev_secret"])
        self.app = create_app(self.store, auth=auth, require_if_match=require_if_match)
        self.client = TestClient(self.app)

    def create(self, body: dict, as_token: str = ADMIN, **kw: object) -> TestResponse:
        return self.client.post("/users", json=body, token=as_token, **kw)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    svc = Service(tmp_path)
    yield svc
    svc.store.close()


def assert_problem(response: TestResponse, status: int) -> dict:
    assert response.status == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["requestId"] == response.headers["x-request-id"]
    return body


def test_health_is_public_and_checks_the_store(service: Service) -> None:
    response = service.client.get("/health")
    assert response.status == 200
    assert response.json()["checks"]["store"]["status"] == "ok"


def test_health_reports_a_broken_store(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    auth = JWTAuth(issuer=AUTH["issuer"], audience=AUTH["audience"], secret=AUTH["dev_secret"])
    app = create_app(SQLiteUserStore(blocker / "users.db"), auth=auth)
    response = TestClient(app).get("/health")
    assert response.status == 503
    assert response.json()["checks"]["store"]["status"] == "fail"


@pytest.mark.parametrize(("method", "path"), [("POST", "/users"), ("GET", "/users"), ("GET", "/users/x"),
                                              ("PUT", "/users/x"), ("DELETE", "/users/x")])
def test_every_users_route_needs_a_token(service: Service, method: str, path: str) -> None:
    body = json.dumps(ADA) if method in ("POST", "PUT") else None
    response = service.client.request(method, path, body=body, headers={"Content-Type": "application/json"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("bad", ["forged", "expired", "foreign issuer", "foreign audience", "not a jwt"])
def test_forged_expired_or_foreign_tokens_are_refused(service: Service, bad: str) -> None:
    tokens = {
        "forged": token("root", ["admin"], secret="not-the-dev-secret-at-all-0123456789"),
        "expired": token("root", ["admin"], exp=int(time.time()) - 3600),
        "foreign issuer": token("root", ["admin"], iss="https://evil.example.com"),
        "foreign audience": token("root", ["admin"], aud="another-api"),
        "not a jwt": "not-a-jwt",
    }
    assert_problem(service.client.get("/users", token=tokens[bad]), 401)


def test_admin_creates_a_user(service: Service) -> None:
    response = service.create(ADA)
    assert response.status == 201
    body = response.json()
    assert {k: body[k] for k in ADA} == ADA
    assert body["version"] == 1 and body["createdAt"] == body["updatedAt"]
    assert response.headers["location"] == f"/users/{body['id']}"
    assert response.headers["etag"].startswith('"')
    assert [m for doc in response.emf for m in doc["_aws"]["CloudWatchMetrics"][-1]["Metrics"]
            if m["Name"] == "UserCreated"]
    assert service.client.get(response.headers["location"], token=ADMIN).json() == body


def test_a_user_creates_its_own_record_once(service: Service) -> None:
    response = service.create({"name": "Alice", "email": "alice@example.com"}, ALICE)
    assert response.status == 201 and response.json()["id"] == "alice"
    again = service.create({"name": "Alice", "email": "alice2@example.com"}, ALICE)
    assert "already have a user record" in assert_problem(again, 409)["detail"]


@pytest.mark.parametrize(("patch", "field"), [
    ({"name": ""}, "name"), ({"name": "x" * 101}, "name"), ({"name": "   "}, "name"),
    ({"email": "not-an-email"}, "email"), ({"email": "ada @example.com"}, "email"),
    ({"email": "ada@example.com\n"}, "email"),
    ({"age": -1}, "age"), ({"age": 151}, "age"), ({"age": 3.5}, "age"), ({"age": "36"}, "age"),
    ({"phone": "0044 20 7946 0000"}, "phone"), ({"phone": "+0123"}, "phone"), ({"phone": "+1234567890123456"}, "phone"),
    ({"role": "admin"}, "role"),
])
def test_invalid_bodies_are_refused_field_by_field(service: Service, patch: dict, field: str) -> None:
    body = assert_problem(service.create({**ADA, **patch}), 400)
    assert field in [error["field"] for error in body["errors"]]
    assert service.store.count() == 0


def test_name_and_email_are_required(service: Service) -> None:
    body = assert_problem(service.create({}), 400)
    assert {"name", "email"} <= {error["field"] for error in body["errors"]}


def test_boundaries_are_accepted(service: Service) -> None:
    assert service.create({"name": "x" * 100, "email": "a@b.co", "age": 0}).status == 201
    assert service.create({"name": "y", "email": "c@d.co", "age": 150, "phone": "+123456789012345"}).status == 201


def test_duplicate_email_conflicts_case_insensitively(service: Service) -> None:
    assert service.create(ADA).status == 201
    assert_problem(service.create({**ADA, "email": "ADA@Example.COM"}), 409)
    assert service.store.count() == 1


def test_idempotent_replay_returns_the_first_response(service: Service) -> None:
    headers = {"Idempotency-Key": "create-ada-1"}
    first = service.create(ADA, headers=headers)
    replay = service.create(ADA, headers=headers)
    assert first.status == replay.status == 201
    assert replay.json() == first.json()
    assert replay.headers["location"] == first.headers["location"]
    assert replay.headers["idempotent-replayed"] == "true"
    assert service.store.count() == 1
    assert not [doc for doc in replay.emf if "UserCreated" in doc]


def test_an_idempotency_key_reused_with_another_body_is_422(service: Service) -> None:
    headers = {"Idempotency-Key": "k-42"}
    assert service.create(ADA, headers=headers).status == 201
    assert_problem(service.create({**ADA, "name": "Someone Else"}, headers=headers), 422)
    assert service.store.count() == 1


def test_idempotency_keys_are_scoped_to_the_caller(service: Service) -> None:
    headers = {"Idempotency-Key": "same-key"}
    assert service.create(ADA, headers=headers).status == 201
    other_admin = token("root-2", ["admin"])
    response = service.create({**ADA, "email": "other@example.com"}, other_admin, headers=headers)
    assert response.status == 201 and "idempotent-replayed" not in response.headers
    assert service.store.count() == 2


def test_a_malformed_idempotency_key_is_400(service: Service) -> None:
    assert_problem(service.create(ADA, headers={"Idempotency-Key": "has spaces"}), 400)


def test_admin_pages_through_every_user(service: Service) -> None:
    ids = [service.create({"name": f"U{n}", "email": f"u{n}@example.com"}).json()["id"] for n in range(5)]
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = service.client.get("/users", token=ADMIN, query=query)
        assert page.status == 200
        seen += [user["id"] for user in page.json()["items"]]
        cursor = page.json()["next"]
        if cursor is None:
            break
    assert seen == ids


def test_the_default_page_is_twenty(service: Service) -> None:
    for n in range(21):
        service.create({"name": f"U{n}", "email": f"u{n}@example.com"})
    page = service.client.get("/users", token=ADMIN).json()
    assert len(page["items"]) == 20 and page["next"]


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"cursor": "%%%"},
                                   {"cursor": "bm90IGEgY3Vyc29y"}, {"sort": "name"}])
def test_bad_paging_parameters_are_400(service: Service, query: dict) -> None:
    assert_problem(service.client.get("/users", token=ADMIN, query=query), 400)


def test_a_user_lists_only_itself(service: Service) -> None:
    service.create(ADA)
    assert service.client.get("/users", token=ALICE).json() == {"items": [], "next": None}
    service.create({"name": "Alice", "email": "alice@example.com"}, ALICE)
    page = service.client.get("/users", token=ALICE).json()
    assert [user["id"] for user in page["items"]] == ["alice"] and page["next"] is None


def test_get_answers_with_an_etag_and_304_when_unchanged(service: Service) -> None:
    location = service.create(ADA).headers["location"]
    response = service.client.get(location, token=ADMIN)
    assert response.status == 200 and response.headers["cache-control"] == "private, no-cache"
    tag = response.headers["etag"]
    not_modified = service.client.get(location, token=ADMIN, headers={"If-None-Match": tag})
    assert not_modified.status == 304 and not_modified.body == b"" and not_modified.headers["etag"] == tag
    assert service.client.get(location, token=ADMIN, headers={"If-None-Match": f'W/{tag}, "x"'}).status == 304
    assert service.client.get(location, token=ADMIN, headers={"If-None-Match": '"stale"'}).status == 200


def test_unknown_ids_are_404(service: Service) -> None:
    assert_problem(service.client.get("/users/nobody", token=ADMIN), 404)
    assert_problem(service.client.put("/users/nobody", json=ADA, token=ADMIN), 404)
    assert_problem(service.client.delete("/users/nobody", token=ADMIN), 404)
    assert_problem(service.client.get("/users/alice", token=ALICE), 404)  # itself, not created yet


def test_users_reach_only_their_own_record(service: Service) -> None:
    service.create({"name": "Alice", "email": "alice@example.com"}, ALICE)
    assert service.client.get("/users/alice", token=ALICE).status == 200
    assert_problem(service.client.get("/users/alice", token=BOB), 403)
    assert_problem(service.client.put("/users/alice", json=ADA, token=BOB), 403)
    assert_problem(service.client.get("/users/unknown", token=BOB), 403)  # no hint whether it exists
    renamed = service.client.put("/users/alice", json={"name": "Alice L", "email": "alice@example.com"}, token=ALICE)
    assert renamed.status == 200 and renamed.json()["name"] == "Alice L"


def test_put_replaces_the_whole_user(service: Service) -> None:
    created = service.create(ADA)
    location = created.headers["location"]
    response = service.client.put(location, json={"name": "Ada King", "email": "ada@example.com"}, token=ADMIN)
    assert response.status == 200
    body = response.json()
    assert body["name"] == "Ada King" and "age" not in body and "phone" not in body and body["version"] == 2
    assert response.headers["etag"] != created.headers["etag"]
    assert service.client.get(location, token=ADMIN).headers["etag"] == response.headers["etag"]


def test_put_with_a_stale_etag_is_412_and_changes_nothing(service: Service) -> None:
    created = service.create(ADA)
    location, first_tag = created.headers["location"], created.headers["etag"]
    ok = service.client.put(location, json={**ADA, "age": 37}, token=ADMIN, headers={"If-Match": first_tag})
    assert ok.status == 200
    stale = service.client.put(location, json={**ADA, "age": 99}, token=ADMIN, headers={"If-Match": first_tag})
    assert_problem(stale, 412)
    assert_problem(service.client.put(location, json=ADA, token=ADMIN, headers={"If-Match": f"W/{ok.headers['etag']}"}),
                   412)  # weak tags never satisfy If-Match
    assert service.client.get(location, token=ADMIN).json()["age"] == 37
    assert service.client.put(location, json=ADA, token=ADMIN, headers={"If-Match": "*"}).status == 200


def test_put_into_a_taken_email_is_409(service: Service) -> None:
    service.create(ADA)
    other = service.create({"name": "Grace", "email": "grace@example.com"}).headers["location"]
    assert_problem(service.client.put(other, json={"name": "Grace", "email": "Ada@example.com"}, token=ADMIN), 409)


def test_put_validates_like_post(service: Service) -> None:
    location = service.create(ADA).headers["location"]
    assert_problem(service.client.put(location, json={**ADA, "age": 200}, token=ADMIN), 400)
    assert_problem(service.client.put(location, json={**ADA, "id": "hijack"}, token=ADMIN), 400)


def test_if_match_can_be_required(tmp_path: Path) -> None:
    svc = Service(tmp_path, require_if_match=True)
    created = svc.create(ADA)
    location = created.headers["location"]
    body = assert_problem(svc.client.put(location, json=ADA, token=ADMIN), 428)
    assert "If-Match" in body["detail"]
    ok = svc.client.put(location, json=ADA, token=ADMIN, headers={"If-Match": created.headers["etag"]})
    assert ok.status == 200
    svc.store.close()


def test_if_match_requirement_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USERS_REQUIRE_IF_MATCH", "1")
    auth = JWTAuth(issuer=AUTH["issuer"], audience=AUTH["audience"], secret=AUTH["dev_secret"])
    store = SQLiteUserStore(tmp_path / "users.db")
    client = TestClient(create_app(store, auth=auth))
    location = client.post("/users", json=ADA, token=ADMIN).headers["location"]
    assert_problem(client.put(location, json=ADA, token=ADMIN), 428)
    store.close()


def test_only_admins_delete_and_each_delete_is_audited(service: Service) -> None:
    location = service.create(ADA).headers["location"]
    user_id = location.rsplit("/", 1)[1]
    assert_problem(service.client.delete(location, token=ALICE), 403)
    response = service.client.delete(location, token=ADMIN)
    assert response.status == 204 and response.body == b""
    audits = [line for line in response.logs if line.get("audit")]
    assert audits == [{**audits[0], "action": "user.delete", "resource": f"users/{user_id}", "actor": "root",
                       "outcome": "success"}]
    assert any("UserDeleted" in doc for doc in response.emf)
    assert_problem(service.client.get(location, token=ADMIN), 404)
    assert service.create(ADA).status == 201  # the email is free again


def test_delete_honours_if_match(service: Service) -> None:
    created = service.create(ADA)
    location = created.headers["location"]
    service.client.put(location, json={**ADA, "age": 40}, token=ADMIN)
    assert_problem(service.client.delete(location, token=ADMIN, headers={"If-Match": created.headers["etag"]}), 412)
    assert service.client.get(location, token=ADMIN).status == 200


def test_malformed_json_wrong_type_and_oversized_bodies_write_nothing(service: Service) -> None:
    client = service.client
    assert_problem(client.post("/users", body='{"name": "Ada",', token=ADMIN,
                               headers={"Content-Type": "application/json"}), 400)
    assert_problem(client.post("/users", body="name=Ada&email=ada@example.com", token=ADMIN,
                               headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
    huge = json.dumps({**ADA, "name": "x" * (2 * 1024 * 1024)})
    assert_problem(client.post("/users", body=huge, token=ADMIN, headers={"Content-Type": "application/json"}), 413)
    assert_problem(client.post("/users", body="[]", token=ADMIN, headers={"Content-Type": "application/json"}), 400)
    assert service.store.count() == 0


def test_every_response_carries_the_security_headers(service: Service) -> None:
    created = service.create(ADA)
    responses = [created, service.client.get("/health"), service.client.get("/users"),
                 service.client.get(created.headers["location"], token=ADMIN,
                                    headers={"If-None-Match": created.headers["etag"]}),
                 service.client.delete("/users/nobody", token=ADMIN)]
    for response in responses:
        missing = [name for name in SECURITY_HEADERS if name not in response.headers]
        assert not missing, (response.status, missing)
    echoed = service.client.get("/health", headers={"X-Request-ID": "trace-me-123"})
    assert echoed.headers["x-request-id"] == "trace-me-123"


def test_emails_never_appear_in_logs(service: Service) -> None:
    lines: list[str] = []
    created = service.create(ADA)
    location = created.headers["location"]
    lines += created.lines
    lines += service.create(ADA).lines  # 409
    lines += service.client.put(location, json={**ADA, "email": "ada.k@example.com"}, token=ADMIN).lines
    lines += service.create({**ADA, "email": "bad email@example.com"}).lines  # 400 echoes nothing into logs
    lines += service.client.delete(location, token=ADMIN).lines
    assert lines
    text = "\n".join(lines)
    for email in ("ada@example.com", "ada.k@example.com", "email@example.com"):
        assert email not in text


def test_the_handler_module_wires_the_service_from_golive_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from golive.service.config import load_config
    from golive.service.loading import load_app

    for name in ("GOLIVE_JWT_SECRET", "GOLIVE_JWT_ISSUER", "GOLIVE_JWT_AUDIENCE", "GOLIVE_JWKS_URL", "USERS_TABLE",
                 "USERS_REQUIRE_IF_MATCH", "GOLIVE_SERVICE", "GOLIVE_VERSION", "GOLIVE_STAGE", "LOG_LEVEL"):
        monkeypatch.setenv(name, "")  # recorded, so whatever load_app sets from golive.toml is undone afterwards
        monkeypatch.delenv(name)
    monkeypatch.setenv("GOLIVE_STATE_DIR", str(tmp_path))
    monkeypatch.delitem(sys.modules, "handler", raising=False)
    config = load_config(SERVICE_DIR)
    try:
        app = load_app(config, config.functions["api"])
    finally:
        sys.modules.pop("handler", None)  # a generic module name: leave it free for other services' tests
    assert {route.key for route in app.routes} == {"GET /health", "POST /users", "GET /users", "GET /users/{id}",
                                                   "PUT /users/{id}", "DELETE /users/{id}"}
    client = TestClient(app)
    assert client.post("/users", json=ADA, token=ADMIN).status == 201
    assert (tmp_path / "users.db").exists()
    app.store.close()


def test_cors_origins_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_CORS_ALLOW_ORIGINS", "https://app.example.com")
    auth = JWTAuth(issuer=AUTH["issuer"], audience=AUTH["audience"], secret=AUTH["dev_secret"])
    store = SQLiteUserStore(tmp_path / "users.db")
    client = TestClient(create_app(store, auth=auth))
    preflight = client.options("/users", headers={"Origin": "https://app.example.com",
                                                  "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "authorization, idempotency-key"})
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    refused = client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in refused.headers
    store.close()
