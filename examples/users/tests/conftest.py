"""Fixtures for the Users service tests: the service on sys.path, stores on SQLite and on moto's DynamoDB server,
and `golive dev` serving the service over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SERVICE_DIR = Path(__file__).resolve().parents[1]
if str(SERVICE_DIR) not in sys.path:
    sys.path.insert(0, str(SERVICE_DIR))

from users.store.base import UserStore  # noqa: E402  (needs the service directory on sys.path)

FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


# moto's server, one request at a time. DynamoDB applies each request atomically; moto's threaded server does not
# (two concurrent conditional transactions can both pass their checks), which would test moto, not the store.
# Serving requests one by one restores DynamoDB's per-request atomicity while the store's own read-then-write
# sequences still interleave across threads, which is what the concurrency tests are about.
SERIAL_MOTO = (
    "import moto.server, werkzeug.serving\n"
    "moto.server.run_simple = lambda *a, **k: werkzeug.serving.run_simple(*a, **{**k, 'threaded': False})\n"
    "moto.server.main()\n"
)


def start_moto(log_path: Path, timeout: float = 20.0) -> tuple[subprocess.Popen, str]:
    """moto's DynamoDB-protocol server on a free loopback port, as a real process speaking HTTP."""
    with log_path.open("w") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen([sys.executable, "-c", SERIAL_MOTO, "-H", "127.0.0.1", "-p", "0"],
                                   stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **FAKE_AWS})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log_path.read_text().splitlines():
            if "Running on http://127.0.0.1:" in line:
                return process, "http://127.0.0.1:" + line.rsplit(":", 1)[1].strip()
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(f"moto server did not start: {log_path.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, endpoint = start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in FAKE_AWS.items():
            patch.setenv(key, value)  # boto3 needs credentials; these never leave loopback
        yield endpoint
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., UserStore]]:
    """Builds stores of the parametrised backend; several calls share one database (two 'processes')."""
    backend = request.param
    made: list[UserStore] = []
    names: list[str] = []

    def make(**options: object) -> UserStore:
        if backend == "sqlite":
            from users.store.sqlite import SQLiteUserStore

            store: UserStore = SQLiteUserStore(tmp_path / "state" / "users.db", **options)
        else:
            from users.store.dynamodb import DynamoUserStore

            endpoint = request.getfixturevalue("moto_endpoint")
            if not names:
                names.append(f"users-{os.urandom(4).hex()}")
                DynamoUserStore(names[0], endpoint_url=endpoint).create_table()
            store = DynamoUserStore(names[0], endpoint_url=endpoint, **options)
        made.append(store)
        return store

    yield make
    if names:
        made[0].delete_table()  # type: ignore[attr-defined]
    for store in made:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., UserStore]) -> UserStore:
    return make_store()


class DevServer:
    """`golive dev examples/users` in a subprocess, as a user starts it, on a free loopback port."""

    READY_TIMEOUT_S = 30.0

    def __init__(self, state_dir: Path) -> None:
        with socket.socket() as sock:  # a port nobody listens on right now
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # A fresh shell's environment: golive.toml decides, and the data goes to the test's own directory.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_", "USERS_", "DYNAMODB_"))}
        env["GOLIVE_STATE_DIR"] = str(state_dir)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "golive.cli", "dev", str(SERVICE_DIR), "--host", "127.0.0.1", "--port",
             str(self.port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.append(line)
                if self.url in line:
                    ready.set()
            ready.set()  # it ended: let the constructor say why

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(self.READY_TIMEOUT_S) or self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"golive dev did not start on {self.url}:\n{''.join(self.lines)[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """One `golive dev examples/users` for the session (contract and load tests), on a throwaway database."""
    server = DevServer(tmp_path_factory.mktemp("users-dev-state"))
    yield server
    server.stop()
