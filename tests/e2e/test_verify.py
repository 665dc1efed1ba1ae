"""`golive verify` as a user runs it: against `golive dev examples/users` it passes (exit 0, a JSON report); against a
deliberately broken service it fails (exit 1), naming each failing request."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, free_port

USERS = REPO / "examples" / "users"
BROKEN = REPO / "tests" / "fixtures" / "services" / "broken"
PACT = REPO / "tests" / "fixtures" / "pacts" / "web-users.json"  # a consumer's expectations of the Users API


def golive(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "golive.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout)


@pytest.mark.slow
def test_verify_passes_against_the_users_service(launch_dev_server: Callable[..., Any], tmp_path: Path):
    server = launch_dev_server(USERS, GOLIVE_STATE_DIR=str(tmp_path / "state"))
    try:
        token = golive("token", str(USERS), "--sub", "verify-ci", "--role", "admin").stdout.strip().splitlines()[-1]
        report = tmp_path / "verify.json"
        result = golive("verify", server.url, "--service", str(USERS), "--token", token, "--origin",
                        "https://app.example.com", "--max-examples", "4", "--max-seconds", "60", "--pact",
                        str(PACT), "--report", str(report))
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"golive verify {server.url}: passed: 6 operations" in result.stdout
    assert result.stdout.rstrip().endswith("2 interactions of web-users.json")
    data = json.loads(report.read_text())
    assert data["ok"] is True and data["findings"] == [] and data["operations"] == 6
    assert data["pacts"] == {str(PACT): 2}
    assert data["requests"] >= 6 * 2  # every operation was exercised, plus the anonymous and CORS probes


@pytest.mark.slow
def test_verify_fails_against_a_broken_service_naming_the_request(launch_dev_server: Callable[..., Any],
                                                                  tmp_path: Path):
    server = launch_dev_server(BROKEN, GOLIVE_STATE_DIR=str(tmp_path / "state"))
    try:
        report = tmp_path / "verify.json"
        result = golive("verify", server.url, "--service", str(BROKEN), "--max-seconds", "30", "--pact", str(PACT),
                        "--report", str(report))
    finally:
        server.stop()
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    health = lines.index(next(line for line in lines if line.startswith("FAIL GET /health ")))
    assert "-> 503" in lines[health] and "Server error" in lines[health]
    assert lines[health + 1].strip() == f"request: curl -X GET {server.url}/health"
    item = next(line for line in lines if line.startswith("FAIL GET /items/{id} "))
    assert "-> 500" in item
    assert not any(line.startswith("FAIL GET /me") for line in lines)  # it refuses anonymous callers: 401
    # The consumer's pact breaks too: its health probe gets a 503, and /users does not exist here at all.
    pact = lines.index(next(line for line in lines if line.startswith("FAIL pact: a health probe [pact] -> 503: ")))
    assert "Expected 'degraded' to match '^ok$'" in lines[pact] and "expected 200 but was 503" in lines[pact]
    assert lines[pact + 1].strip() == f"request: curl -X GET {server.url}/health"
    users = next(line for line in lines if line.startswith("FAIL pact: a page of users for a signed-in admin "))
    assert "-> 403" in users and "expected 200 but was 403" in users
    findings = json.loads(report.read_text())["findings"]
    assert {f["operation"] for f in findings} == {"GET /health", "GET /items/{id}", "pact: a health probe",
                                                  "pact: a page of users for a signed-in admin"}
    assert all(f["request"].startswith("curl -X GET ") for f in findings)


def test_verify_without_a_reachable_service_is_one_line(tmp_path: Path):


    result = golive("verify", f"http://127.0.0.1:{free_port()}", "--service", str(BROKEN), "--max-seconds", "5")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot reach http://127.0.0.1:" in result.stderr
