"""The Users service end to end: `golive dev examples/users` in a subprocess, spoken to over real HTTP."""

from __future__ import annotations

import json
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

SERVICE = Path(__file__).resolve().parents[2] / "examples" / "users"
CONFIG = tomllib.loads((SERVICE / "golive.toml").read_text())
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'",
    "referrer-policy": "no-referrer",
    "cache-control": "",
}


def token(sub: str, roles: list[str] | None = None) -> str:
    auth = CONFIG["auth"]
    claims = {"sub": sub, "roles": roles or [], "iss": auth["issuer"], "aud": auth["audience"],
              "exp": int(time.time()) + 900}
    return jwt.encode(claims, auth["dev_secret"], algorithm="HS256")


ADMIN = {"Authorization": f"Bearer {token('e2e-admin', ['admin'])}"}
ALICE = {"Authorization": f"Bearer {token('alice')}"}
BOB = {"Authorization": f"Bearer {token('bob')}"}
_counter = iter(range(1_000_000))


def person(**extra: object) -> dict:
    n = next(_counter)
    return {"name": f"Person {n}", "email": f"person{n}-{time.time_ns()}@example.com", **extra}


def assert_hardened(response: httpx.Response) -> None:
    """Every answer, errors from the gateway and 304s included, carries the security headers and echoes the
    caller's correlation id; API Gateway's own request id is always there too."""
    for name, expected in SECURITY_HEADERS.items():
        assert expected in response.headers.get(name, "\0"), (response.request.method, response.request.url,
                                                               response.status_code, name)
    sent = response.request.headers.get("x-request-id")
    assert sent and response.headers.get("x-request-id") == sent, (response.request.url, response.status_code)
    assert response.headers.get("x-amzn-requestid"), (response.request.url, response.status_code)


def _correlate(request: httpx.Request) -> None:
    request.headers.setdefault("X-Request-ID", f"e2e-{next(_counter)}")


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"]
    return body


def client_for(server: Any) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=15,
                        event_hooks={"request": [_correlate], "response": [assert_hardened]})


def count_users(client: httpx.Client) -> int:
    total, cursor = 0, None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = client.get("/users", params=params, headers=ADMIN).json()
        total += len(page["items"])
        cursor = page["next"]
        if not cursor:
            return total


@pytest.fixture(scope="module")
def server(launch_dev_server: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One `golive dev examples/users` for this module, on its own state directory (never the user's data)."""
    state_dir = tmp_path_factory.mktemp("users-state")
    dev = launch_dev_server(SERVICE, GOLIVE_STATE_DIR=str(state_dir))
    dev.state_dir = state_dir
    yield dev
    dev.stop()


@pytest.fixture
def http(server: Any) -> Iterator[httpx.Client]:
    with client_for(server) as client:
        yield client


def test_it_runs_on_the_state_dir_it_was_given(server: Any, http: httpx.Client) -> None:
    health = http.get("/health")
    assert health.status_code == 200 and health.json()["checks"]["store"]["status"] == "ok"
    assert (server.state_dir / "users.db").exists()  # the test's directory, never the user's examples/users/.golive


def test_every_status_of_the_users_api(http: httpx.Client) -> None:
    body = person(age=30, phone="+14155550123")
    created = http.post("/users", json=body, headers=ADMIN)
    assert created.status_code == 201
    location = created.headers["location"]
    user = created.json()
    assert location == f"/users/{user['id']}" and user["version"] == 1

    assert_problem(http.get("/users"), 401)
    assert_problem(http.get(location, headers={"Authorization": "Bearer forged"}), 401)
    assert_problem(http.get(location, headers=BOB), 403)
    assert_problem(http.delete(location, headers=BOB), 403)
    assert_problem(http.get("/users/no-such-user", headers=ADMIN), 404)
    assert_problem(http.post("/users", json={**person(), "email": body["email"].upper()}, headers=ADMIN), 409)
    assert_problem(http.post("/users", json={**person(), "age": 151}, headers=ADMIN), 400)

    read = http.get(location, headers=ADMIN)
    assert read.status_code == 200 and read.json() == user
    etag = read.headers["etag"]
    not_modified = http.get(location, headers={**ADMIN, "If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""

    replaced = http.put(location, json={**body, "name": "Renamed"}, headers={**ADMIN, "If-Match": etag})
    assert replaced.status_code == 200 and replaced.json()["version"] == 2
    assert_problem(http.put(location, json=body, headers={**ADMIN, "If-Match": etag}), 412)
    assert http.get(location, headers={**ADMIN, "If-None-Match": etag}).status_code == 200

    assert http.delete(location, headers=ADMIN).status_code == 204
    assert_problem(http.get(location, headers=ADMIN), 404)
    assert_problem(http.delete(location, headers=ADMIN), 404)
    assert http.post("/users", json=body, headers=ADMIN).status_code == 201  # the email was freed


def test_a_user_works_on_its_own_record_only(http: httpx.Client) -> None:
    me = {"Authorization": f"Bearer {token(f'user-{time.time_ns()}')}"}
    created = http.post("/users", json=person(), headers=me)
    assert created.status_code == 201
    location = created.headers["location"]
    assert http.get(location, headers=me).status_code == 200
    listing = http.get("/users", headers=me).json()
    assert [u["id"] for u in listing["items"]] == [created.json()["id"]]
    assert http.put(location, json=person(), headers=me).status_code == 200
    assert_problem(http.post("/users", json=person(), headers=me), 409)
    assert_problem(http.delete(location, headers=me), 403)


def test_idempotent_replay_over_http(http: httpx.Client) -> None:
    key = {"Idempotency-Key": f"e2e-{time.time_ns()}"}
    body = person()
    before = count_users(http)
    first = http.post("/users", json=body, headers={**ADMIN, **key})
    replay = http.post("/users", json=body, headers={**ADMIN, **key})
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["location"] == first.headers["location"]
    assert replay.headers["idempotent-replayed"] == "true"
    assert_problem(http.post("/users", json=person(), headers={**ADMIN, **key}), 422)
    assert count_users(http) == before + 1


def test_two_concurrent_writers_never_lose_an_update(http: httpx.Client, server: Any) -> None:
    location = http.post("/users", json=person(age=0), headers=ADMIN).headers["location"]
    rounds = 5

    def write(client: httpx.Client, barrier: threading.Barrier, current: httpx.Response) -> int:
        user = current.json()
        payload = {"name": user["name"], "email": user["email"], "age": user["age"] + 1}
        barrier.wait()  # both writers hold the same ETag and send at the same moment
        return client.put(location, json=payload, headers={**ADMIN, "If-Match": current.headers["etag"]}).status_code

    with client_for(server) as one, client_for(server) as two, ThreadPoolExecutor(2) as pool:
        for _ in range(rounds):
            current, barrier = http.get(location, headers=ADMIN), threading.Barrier(2)
            statuses = sorted(pool.map(write, [one, two], [barrier] * 2, [current] * 2))
            assert statuses == [200, 412]
    final = http.get(location, headers=ADMIN).json()
    assert final["age"] == rounds and final["version"] == 1 + rounds


def test_bad_requests_are_problems_and_write_nothing(http: httpx.Client) -> None:
    before = count_users(http)
    json_type = {**ADMIN, "Content-Type": "application/json"}
    assert_problem(http.post("/users", content=b'{"name": "Ada", "email":', headers=json_type), 400)
    assert_problem(http.post("/users", content=b"name=Ada&email=ada@example.com",
                             headers={**ADMIN, "Content-Type": "application/x-www-form-urlencoded"}), 415)
    # 2 MB: under API Gateway's 10 MB limit, so the REST request validator (derived from the route schema, as
    # deployed) refuses it before the function runs; the function's own 1 MiB limit (413) is tested in-process.
    oversized = json.dumps({**person(), "name": "x" * (2 * 1024 * 1024)}).encode()
    refused = assert_problem(http.post("/users", content=oversized, headers=json_type), 400)
    assert refused["title"] == "Invalid request body" and "name" in refused["detail"]
    assert_problem(http.post("/users", json={**person(), "admin": True}, headers=ADMIN), 400)
    assert_problem(http.get("/users", params={"limit": 1000}, headers=ADMIN), 400)
    assert count_users(http) == before


def test_request_ids_are_echoed_and_logs_hide_emails(http: httpx.Client, server: Any) -> None:
    email = f"secret-{time.time_ns()}@example.com"
    created = http.post("/users", json={"name": "Private", "email": email},
                        headers={**ADMIN, "X-Request-ID": "e2e-correlation-1"})
    assert created.headers["x-request-id"] == "e2e-correlation-1"
    location = created.headers["location"]
    http.post("/users", json={"name": "Dup", "email": email}, headers=ADMIN)
    assert http.delete(location, headers=ADMIN).status_code == 204
    output = server.wait_for_output(r'"audit":\s*true.*"resource":\s*"' + location.lstrip("/"))
    assert "e2e-correlation-1" in output
    assert email not in output


@pytest.mark.slow
def test_a_hundred_concurrent_creates_make_a_hundred_rows(start_dev_server: Callable[..., Any],
                                                          tmp_path: Path) -> None:
    server = start_dev_server(SERVICE, GOLIVE_STATE_DIR=str(tmp_path))
    bodies = [person() for _ in range(100)]
    with client_for(server) as client, ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda body: client.post("/users", json=body, headers=ADMIN), bodies))
        failed = [(reply.status_code, reply.text[:300]) for reply in replies if reply.status_code != 201]
        assert not failed, (failed, server.output()[-3000:])
        ids, cursor = [], None
        while True:
            page = client.get("/users", params={"limit": 30, **({"cursor": cursor} if cursor else {})},
                              headers=ADMIN).json()
            ids += [user["id"] for user in page["items"]]
            cursor = page["next"]
            if not cursor:
                break
    assert len(ids) == len(set(ids)) == 100


@pytest.mark.slow
def test_if_match_can_be_required_by_the_environment(start_dev_server: Callable[..., Any],
                                                     tmp_path: Path) -> None:
    server = start_dev_server(SERVICE, GOLIVE_STATE_DIR=str(tmp_path), USERS_REQUIRE_IF_MATCH="1")
    with client_for(server) as client:
        created = client.post("/users", json=person(), headers=ADMIN)
        location = created.headers["location"]
        assert_problem(client.put(location, json=person(), headers=ADMIN), 428)
        ok = client.put(location, json=person(), headers={**ADMIN, "If-Match": created.headers["etag"]})
        assert ok.status_code == 200


@pytest.mark.slow
def test_the_same_api_on_dynamodb(start_dev_server: Callable[..., Any], moto_server: Any, tmp_path: Path) -> None:
    table = f"users-e2e-{time.time_ns()}"
    declared = CONFIG["tables"]["users"]
    index_name, index = next(iter(declared["indexes"].items()))
    attributes = [declared["partition_key"], declared["sort_key"], index["partition_key"], index["sort_key"]]
    dynamodb = moto_server.client()
    # The table exactly as golive.toml declares it: the store must work on what the template will create.
    dynamodb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in attributes],
        KeySchema=[{"AttributeName": declared["partition_key"], "KeyType": "HASH"},
                   {"AttributeName": declared["sort_key"], "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": index_name, "Projection": {"ProjectionType": index["projection"]},
                                 "KeySchema": [{"AttributeName": index["partition_key"], "KeyType": "HASH"},
                                               {"AttributeName": index["sort_key"], "KeyType": "RANGE"}]}])
    server = start_dev_server(SERVICE, GOLIVE_STATE_DIR=str(tmp_path), USERS_TABLE=table,
                              **moto_server.env)
    with client_for(server) as client:
        assert client.get("/health").json()["checks"]["store"]["status"] == "ok"
        body = person()
        key = {"Idempotency-Key": "dynamo-1"}
        created = client.post("/users", json=body, headers={**ADMIN, **key})
        assert created.status_code == 201
        assert client.post("/users", json=body, headers={**ADMIN, **key}).json() == created.json()
        assert_problem(client.post("/users", json={**person(), "email": body["email"]}, headers=ADMIN), 409)
        location, etag = created.headers["location"], created.headers["etag"]
        assert client.get(location, headers={**ADMIN, "If-None-Match": etag}).status_code == 304
        assert client.put(location, json=person(), headers={**ADMIN, "If-Match": etag}).status_code == 200
        assert_problem(client.put(location, json=person(), headers={**ADMIN, "If-Match": etag}), 412)
        assert [u["id"] for u in client.get("/users", headers=ADMIN).json()["items"]] == [created.json()["id"]]
        assert client.delete(location, headers=ADMIN).status_code == 204
        assert client.post("/users", json=body, headers=ADMIN).status_code == 201
    assert not list(tmp_path.glob("users.db*"))  # DynamoDB was used, not the embedded store
    dynamodb.delete_table(TableName=table)


def test_without_a_correlation_id_the_function_makes_one_and_the_gateway_gives_its_own(server: Any) -> None:
    with httpx.Client(base_url=server.url, timeout=15) as client:
        created = client.post("/users", json=person(), headers=ADMIN)
        assert created.status_code == 201
        assert re.fullmatch(r"[0-9a-f-]{36}", created.headers["x-request-id"])
        denied = client.get("/users")  # answered by the gateway's authorizer: the function never runs
        assert denied.status_code == 401 and "x-request-id" not in denied.headers
        assert denied.json()["requestId"] == denied.headers["x-amzn-requestid"]
