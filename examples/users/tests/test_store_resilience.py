"""The DynamoDB store's circuit breaker and deadline, against moto's server behind a link the test can cut."""

from __future__ import annotations

import os
import socket
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import pytest
from users.api import create_app
from users.store.dynamodb import ATTEMPT_BUDGET_S, DynamoUserStore, unavailable

from golive.security.auth import JWTAuth
from golive.synth import LambdaContext, build_event
from golive.testing import TestClient, TestResponse

SERVICE_DIR = Path(__file__).resolve().parents[1]
AUTH = tomllib.loads((SERVICE_DIR / "golive.toml").read_text())["auth"]
ADMIN = jwt.encode({"sub": "root", "roles": ["admin"], "iss": AUTH["issuer"], "aud": AUTH["audience"],
                    "exp": int(time.time()) + 3600}, AUTH["dev_secret"], algorithm="HS256")
FAILURES = 3  # the breaker's threshold in these tests
RECOVERY_S = 1.0  # how long it stays open


class Link:
    """A TCP forwarder on loopback in front of moto: cut() refuses new connections and drops open ones, as a
    network partition does; restore() listens on the same port again. moto keeps its data throughout."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self.restore()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def up(self) -> bool:
        return self._listener is not None

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: the same port comes back
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            dropped, self._open = self._open, []
        for sock in dropped:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _close(source)
    _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@pytest.fixture
def link(moto_endpoint: str) -> Iterator[Link]:
    forwarder = Link(moto_endpoint)
    yield forwarder
    forwarder.cut()


@pytest.fixture
def store(link: Link) -> Iterator[DynamoUserStore]:
    table = f"users-{os.urandom(4).hex()}"
    made = DynamoUserStore(table, endpoint_url=link.url, failure_threshold=FAILURES, recovery_timeout=RECOVERY_S)
    made.create_table()
    yield made
    if not link.up:
        link.restore()
    made.delete_table()


def client_for(store: DynamoUserStore) -> TestClient:
    auth = JWTAuth(issuer=AUTH["issuer"], audience=AUTH["audience"], secret=AUTH["dev_secret"])
    return TestClient(create_app(store, auth=auth))


def count_attempts(store: DynamoUserStore) -> list[str]:
    """Every HTTP attempt the SDK sends to DynamoDB, as it leaves (retries included)."""
    sent: list[str] = []
    store.client.meta.events.register("before-send.dynamodb", lambda request, **_: sent.append(request.url))
    return sent


def assert_unavailable(response: TestResponse) -> dict:
    assert response.status == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["status"] == 503 and body["requestId"] == response.headers["x-request-id"]
    return body


def breaker_states(response: TestResponse) -> list[str]:
    return [r["state"] for r in response.logs if r.get("message") == "circuit breaker state change"]


@pytest.mark.slow
def test_the_breaker_opens_fails_fast_and_closes_when_dynamodb_is_back(store: DynamoUserStore, link: Link) -> None:
    client = client_for(store)
    created = client.post("/users", json={"name": "Ada", "email": "ada@example.com"}, token=ADMIN)
    assert created.status == 201
    location = created.headers["location"]
    sent = count_attempts(store)

    link.cut()
    for n in range(FAILURES):  # DynamoDB unreachable: each call fails (after the SDK's own quick retries)
        failed = client.get(location, token=ADMIN)
        body = assert_unavailable(failed)
        assert failed.headers["retry-after"] == "1" and "not answering" in body["detail"]
        assert store.breaker.state == ("open" if n == FAILURES - 1 else "closed")
    assert breaker_states(failed) == ["open"]
    tried = len(sent)
    assert tried >= FAILURES

    started = time.monotonic()
    rejected = client.get(location, token=ADMIN)
    assert time.monotonic() - started < 0.5
    assert "circuit open" in assert_unavailable(rejected)["detail"]
    assert client.put(location, json={"name": "Ada", "email": "ada@example.com"}, token=ADMIN).status == 503
    health = client.get("/health")
    assert health.status == 503 and health.json()["checks"]["store"]["status"] == "fail"
    assert len(sent) == tried  # open: DynamoDB was not asked at all

    time.sleep(RECOVERY_S)  # half-open: one probe goes through, fails, and the breaker opens again
    probe = client.get(location, token=ADMIN)
    assert_unavailable(probe)
    assert breaker_states(probe) == ["half_open", "open"] and len(sent) > tried

    link.restore()
    time.sleep(RECOVERY_S)  # the next probe succeeds and closes the breaker
    recovered = client.get(location, token=ADMIN)
    assert recovered.status == 200 and recovered.json()["email"] == "ada@example.com"
    assert breaker_states(recovered) == ["half_open", "closed"] and store.breaker.state == "closed"
    assert client.get("/health").status == 200


def test_refused_conditions_are_answers_not_outages(store: DynamoUserStore) -> None:
    client = client_for(store)
    body = {"name": "Ada", "email": "ada@example.com"}
    assert client.post("/users", json=body, token=ADMIN).status == 201
    for _ in range(FAILURES * 2):  # ConditionalCheckFailed inside a cancelled transaction, again and again
        assert client.post("/users", json={**body, "name": "Other"}, token=ADMIN).status == 409
    assert client.get("/users/no-such-user", token=ADMIN).status == 404
    assert store.breaker.state == "closed" and store.breaker.failures == 0


def test_no_call_starts_without_time_to_finish_it(store: DynamoUserStore) -> None:
    client = client_for(store)
    created = client.post("/users", json={"name": "Ada", "email": "ada@example.com"}, token=ADMIN)
    sent = count_attempts(store)
    event = build_event("v1", "GET", created.headers["location"], headers={"Authorization": f"Bearer {ADMIN}"})
    # Less time left than one attempt may take: answer 503 now rather than be killed by Lambda's timeout.
    late = client.invoke(event, LambdaContext("users", timeout_s=ATTEMPT_BUDGET_S))
    assert late.status == 503 and late.headers["retry-after"] == "1"
    assert sent == [] and store.breaker.failures == 0  # DynamoDB was never asked, so it is not blamed
    assert client.invoke(event, LambdaContext("users", timeout_s=3)).status == 200


def test_only_outages_count_against_the_breaker() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

    def client_error(code: str, status: int) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": code},
                            "ResponseMetadata": {"HTTPStatusCode": status}}, "TransactWriteItems")

    assert unavailable(EndpointConnectionError(endpoint_url="http://127.0.0.1:9"))
    assert unavailable(ReadTimeoutError(endpoint_url="http://127.0.0.1:9"))
    assert unavailable(client_error("ProvisionedThroughputExceededException", 400))
    assert unavailable(client_error("ThrottlingException", 400))
    assert unavailable(client_error("InternalServerError", 500))
    assert not unavailable(client_error("ConditionalCheckFailedException", 400))
    assert not unavailable(client_error("TransactionCanceledException", 400))
    assert not unavailable(client_error("ValidationException", 400))
    assert not unavailable(client_error("ResourceNotFoundException", 400))
    assert not unavailable(ValueError("not a botocore error"))
