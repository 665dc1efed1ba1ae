"""loadtest.py, run as a user runs it, for two seconds against `golive dev examples/users`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "loadtest.py"


def loadtest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_a_short_run_walks_every_journey_step_without_errors(dev_server: Any) -> None:
    result = loadtest("--url", dev_server.url, "--duration", "2", "--users", "4", "--rate", "25", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["errors"] == 0 and summary["failures"] == {}
    assert summary["journeys"] >= 5 and summary["requests"] <= 25 * 2 + 1  # the rate bounds what is sent
    for step in ("sign_up", "read", "update", "list"):
        stats = summary["steps"][step]
        assert stats["requests"] >= 5 and stats["p50"] <= stats["p95"] <= stats["p99"] <= stats["max"], step
    assert summary["cleaned_up"] == summary["steps"]["sign_up"]["requests"]
    assert httpx.get(f"{dev_server.url}/health").json()["status"] == "ok"  # the service is still healthy


def test_it_reports_errors_and_fails_when_the_api_is_not_there() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = loadtest("--url", url, "--duration", "1", "--users", "1", "--rate", "5", "--keep")
    assert result.returncode == 1
    assert "sign_up connection error (ConnectionRefusedError)" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--duration", "0"], "--duration must be between 1 and 600"),
    (["--users", "1000"], "--users must be between 1 and 100"),
    (["--url", "ftp://example.com"], "--url must be an http(s) URL"),
])
def test_bounds_are_enforced(args: list[str], message: str) -> None:
    result = loadtest(*args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
