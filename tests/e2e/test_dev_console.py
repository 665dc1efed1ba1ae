"""`golive dev`'s console over real output: one line per request with the function's lines beneath (text), or the raw
access-log and function lines for machines (json), and a hint for undeclared routes in both."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

NOTES = Path(__file__).resolve().parents[1] / "fixtures" / "services" / "notes"
pytestmark = pytest.mark.slow


class Dev:
    """`golive dev notes --log-format FORMAT` with stdout and stderr collected apart."""

    def __init__(self, log_format: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "golive.cli", "dev", str(NOTES), "--port", "0", "--log-format", log_format],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.out: list[str] = []
        self.err: list[str] = []
        self.url = ""
        ready = threading.Event()

        def pump(stream, sink: list[str]) -> None:
            for line in stream:
                sink.append(line)
                found = re.match(r"^(http://127\.0\.0\.1:\d+)$", line.strip())
                if found:
                    self.url = found.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=pump, args=(self.process.stdout, self.out), daemon=True).start()
        threading.Thread(target=pump, args=(self.process.stderr, self.err), daemon=True).start()
        assert ready.wait(30) and self.url, "".join(self.out + self.err)

    def wait_for(self, pattern: str, where: str = "out", timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = "".join(self.out if where == "out" else self.err)
            if re.search(pattern, text, re.M):
                return text
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not in golive dev's {where}:\n{''.join(self.out)}\n{''.join(self.err)}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def mint(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "golive.cli", "token", str(NOTES), *args], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_text_console_one_line_per_request_with_its_logs_beneath() -> None:
    dev = Dev("text")
    try:
        banner = dev.wait_for(r"One line per request follows")
        assert "1 function (api) + the JWT authorizer function 'authorizer' (golive's" in banner
        token = mint("--sub", "ada")
        with httpx.Client(base_url=dev.url, timeout=10) as client:
            created = client.post("/notes", json={"title": "console"}, headers={"Authorization": f"Bearer {token}"})
            assert created.status_code == 201
            crashed = client.get("/crash")
            assert crashed.status_code == 500
            assert client.get("/nowhere").status_code == 403
            assert client.post("/notes", json={"nope": 1}, headers={"Authorization": f"Bearer {token}"}
                               ).status_code == 400
        text = dev.wait_for(r"POST\s+/notes\s+400")
    finally:
        dev.stop()
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.search(r"POST\s+/notes\s+201", line))
    # the request's line: time, method, path, status, latency, who decided, the request id
    assert re.match(r"^\d\d:\d\d:\d\d  POST\s+/notes\s+201\s+\d+ ms  function api\b.*cold start \d+ ms  [0-9a-f]{8}$",
                    lines[start]), lines[start]
    assert created.headers["x-amzn-requestid"][:8] == lines[start][-8:]
    # beneath it, indented, the function's own line with its level and fields; no START/END/REPORT, no raw JSON
    assert re.match(r"^ {10}INFO\s+note created  note_id=1$", lines[start + 1]), lines[start + 1]
    crash = next(i for i, line in enumerate(lines) if re.search(r"GET\s+/crash\s+500", line))
    assert "function api" in lines[crash]
    assert re.match(r"^ {10}ERROR\s+unhandled exception  RuntimeError: the notes service crashed on purpose$",
                    lines[crash + 1]), lines[crash + 1]
    assert lines[crash + 2].strip() == "Traceback (most recent call last):"  # a traceback, one frame per line
    assert any(line.strip().startswith('File "') and "handler.py" in line for line in lines[crash + 2:crash + 20])
    nowhere = next(i for i, line in enumerate(lines) if re.search(r"GET\s+/nowhere\s+403", line))
    assert "gateway MISSING_AUTHENTICATION_TOKEN: Missing Authentication Token" in lines[nowhere]
    assert "hint" in lines[nowhere + 1] and "GET /nowhere matches no declared route" in lines[nowhere + 1]
    bad = next(line for line in lines if re.search(r"POST\s+/notes\s+400", line))
    assert "gateway BAD_REQUEST_BODY" in bad
    assert not any(line.startswith("{") or "RequestId:" in line or "\033[" in line for line in lines)


def test_json_format_keeps_the_raw_lines_for_machines() -> None:
    dev = Dev("json")
    try:
        with httpx.Client(base_url=dev.url, timeout=10) as client:
            answer = client.get("/env")
            assert client.get("/nowhere").status_code == 403
        dev.wait_for(r'"path":"/nowhere"')
        errors = dev.wait_for(r"REPORT RequestId", where="err")
        errors = dev.wait_for(r"golive dev: hint: GET /nowhere matches no declared route", where="err")
    finally:
        dev.stop()
    records = [json.loads(line) for line in dev.out if line.startswith("{")]
    env = next(r for r in records if r["path"] == "/env")
    assert env["status"] == 200 and env["requestId"] == answer.headers["x-amzn-requestid"]
    lambda_id = env["integrationRequestId"]  # joins the access record to the function's lines
    assert f"[api] START RequestId: {lambda_id}" in errors and f"[api] REPORT RequestId: {lambda_id}" in errors
