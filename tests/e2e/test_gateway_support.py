"""Shared by the gateway's end-to-end tests: the local cloud as a real process on a free port, and an HTTP client.

No tests here; the gateway test modules import this one."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FOREIGN = REPO / "tests" / "fixtures" / "foreign"
READY_TIMEOUT_S = 40.0
_BANNER = re.compile(r"^(http://127\.0\.0\.1:(\d+))$", re.MULTILINE)  # the URL line of golive dev's banner


class Reply:
    """An HTTP answer: status, headers (lower-cased names, repeats joined by ', '), raw header pairs, body."""

    def __init__(self, status: int, pairs: list[tuple[str, str]], body: bytes) -> None:
        self.status, self.pairs, self.body = status, pairs, body
        headers: dict[str, str] = {}
        for name, value in pairs:
            lower = name.lower()
            headers[lower] = f"{headers[lower]}, {value}" if lower in headers else value
        self.headers = headers

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.body[:200]!r}>"


class Cloud:
    """`golive dev SERVICE_DIR --port 0`: stdout (banner, access log) and stderr (function logs) go to files."""

    def __init__(self, service_dir: Path, *, watch: bool = False, **env: str) -> None:
        self.service_dir = service_dir
        self.out_path = service_dir.parent / f"{service_dir.name}.stdout"
        self.err_path = service_dir.parent / f"{service_dir.name}.stderr"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
        clean.update(env)
        command = [sys.executable, "-m", "golive.cli", "dev", str(service_dir), "--port", "0"]
        if not watch:
            command.append("--no-reload")
        with self.out_path.open("w") as out, self.err_path.open("w") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, env=clean, cwd=str(REPO))
        self.url = ""
        self.port = 0

    def wait_ready(self) -> Cloud:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            found = _BANNER.search(self.out_path.read_text())
            if found:
                self.url, self.port = found.group(1), int(found.group(2))
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the local cloud did not start:\n{self.err_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                body: bytes | str | None = None, json_body: Any = None, timeout: float = 35.0) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            return send(connection, method, path, headers=headers, body=body, json_body=json_body)
        finally:
            connection.close()

    def get(self, path: str, **options: Any) -> Reply:
        return self.request("GET", path, **options)

    def access_log(self) -> list[dict[str, Any]]:
        records = []
        for line in self.out_path.read_text().splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records

    def access_record(self, request_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The access-log record of one request (by its x-amzn-RequestId / Apigw-Requestid)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.access_log():
                if record["requestId"] == request_id:
                    return record
            time.sleep(0.02)
        raise AssertionError(f"no access-log record for {request_id}; stdout:\n{self.out_path.read_text()[-3000:]}")

    def stderr(self) -> str:
        return self.err_path.read_text()


def send(connection: http.client.HTTPConnection, method: str, path: str, *, headers: dict[str, str] | None = None,
         body: bytes | str | None = None, json_body: Any = None) -> Reply:
    """One request on an open (keep-alive) connection."""
    headers = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body)
        headers.setdefault("Content-Type", "application/json")
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return Reply(response.status, response.getheaders(), response.read())


def request_id(reply: Reply) -> str:
    return reply.headers.get("x-amzn-requestid") or reply.headers["apigw-requestid"]


def write_service(root: Path, files: dict[str, str]) -> Path:
    """A service folder from {relative path: text}."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
