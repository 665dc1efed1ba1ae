"""Shared end-to-end fixtures: free loopback ports, `golive dev` as a subprocess, moto's DynamoDB server."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
READY_TIMEOUT_S = 30.0


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**overrides: str) -> dict[str, str]:
    """This environment without golive or AWS settings (golive.toml decides, as in a fresh shell), plus overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_", "USERS_", "DYNAMODB_"))}
    env.update(overrides)
    return env


def _stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(5)


class DevServer:
    """`golive dev SERVICE_DIR --port N` as a user starts it; its output is collected line by line."""

    def __init__(self, service_dir: Path, env: dict[str, str], port: int | None = None,
                 options: tuple[str, ...] = ()) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "golive.cli", "dev", str(service_dir), "--port", str(self.port),
                   "--host", "127.0.0.1", *options]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env=env, cwd=REPO)
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()
        if not self._ready.wait(READY_TIMEOUT_S) or self.process.poll() is not None:
            _stop(self.process)
            raise RuntimeError(f"golive dev did not start on {self.url}:\n{self.output()}")

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if self.url in line:
                self._ready.set()
        self._ready.set()  # ended: let the constructor look at why

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_output(self, pattern: str, timeout: float = 5.0) -> str:
        """The output once it matches the regex (logs are written right after each response)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.output()):
                return self.output()
            time.sleep(0.02)
        raise AssertionError(f"{pattern!r} never appeared in golive dev's output:\n{self.output()[-4000:]}")

    def stop(self) -> int:
        return _stop(self.process)


@pytest.fixture(scope="session")
def launch_dev_server() -> Iterator[Callable[..., DevServer]]:
    """Starts `golive dev SERVICE_DIR` with a clean environment plus **env; whatever is still running at the end of
    the session is stopped (stop() earlier to free it sooner, e.g. from a module-scoped fixture)."""
    servers: list[DevServer] = []

    def launch(service_dir: Path, **env: str) -> DevServer:
        server = DevServer(service_dir, clean_env(**env))
        servers.append(server)
        return server

    yield launch
    for server in servers:
        server.stop()


@pytest.fixture
def start_dev_server(launch_dev_server: Callable[..., DevServer]) -> Iterator[Callable[..., DevServer]]:
    """Like launch_dev_server, but the servers stop when the test ends."""
    servers: list[DevServer] = []

    def start(service_dir: Path, **env: str) -> DevServer:
        server = launch_dev_server(service_dir, **env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


class MotoServer:
    """A running moto server: its endpoint and the environment a process needs to use it as DynamoDB."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.env = {**FAKE_AWS, "AWS_ENDPOINT_URL_DYNAMODB": endpoint}

    def client(self, service: str = "dynamodb") -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=FAKE_AWS["AWS_REGION"],
                            aws_access_key_id=FAKE_AWS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=FAKE_AWS["AWS_SECRET_ACCESS_KEY"],
                            aws_session_token=FAKE_AWS["AWS_SESSION_TOKEN"])


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's server as a real DynamoDB-protocol endpoint over HTTP on loopback (never an in-process mock)."""
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
                                   stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **FAKE_AWS})
    endpoint = None
    deadline = time.monotonic() + READY_TIMEOUT_S
    while endpoint is None and time.monotonic() < deadline and process.poll() is None:
        found = re.search(r"Running on (http://127\.0\.0\.1:\d+)", log_path.read_text())
        endpoint = found.group(1) if found else None
        time.sleep(0.05)
    if endpoint is None:
        _stop(process)
        raise RuntimeError(f"moto server did not start:\n{log_path.read_text()[-2000:]}")
    yield MotoServer(endpoint)
    _stop(process)
