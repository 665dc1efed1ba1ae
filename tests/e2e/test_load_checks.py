"""A broken service is one clear line when it loads, in every command: an invalid route schema, a handler whose
signature misses a path parameter. And a service nobody authenticates is said out loud at golive dev start."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

GOLIVE = str(Path(sys.executable).with_name("golive"))
COMMANDS = (("routes",), ("openapi",), ("template",), ("check",), ("package", "-o", "{out}"),
            ("invoke", "--event", "{event}"), ("dev", "--port", "0"))

TOML = '''service = "todos"
[api]
type = "rest"
[auth]
type = "jwt"
[functions.api]
handler = "handler.handler"
'''

BAD_SCHEMA = '''
from golive import App
app = App("todos")


@app.post("/todos", body={"type": "object", "properties": {"title": {"type": "strin"}}})
def create(req):
    return {"ok": True}


handler = app.handler
'''

MISSING_PARAMETER = '''
from golive import App
app = App("todos")


@app.get("/todos/{id}")
def get_todo(req):
    return {"id": id}


handler = app.handler
'''

WRONG_NAME = '''
from golive import App
app = App("todos")


@app.get("/todos/{id}")
def get_todo(req, todo_id):
    return {"id": todo_id}


handler = app.handler
'''


def service(tmp_path: Path, source: str, toml: str = TOML) -> Path:
    root = tmp_path / "todos"
    root.mkdir()
    (root / "golive.toml").write_text(toml)
    (root / "handler.py").write_text(source)
    (tmp_path / "event.json").write_text('{"httpMethod": "GET", "path": "/health", "headers": {}}')
    return root


def golive(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    return subprocess.run([GOLIVE, *args], capture_output=True, text=True, env=env, timeout=120, cwd=cwd)


def run_all(root: Path, tmp_path: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    results = {}
    for command in COMMANDS:
        args = [part.format(out=tmp_path / "dist", event=tmp_path / "event.json") for part in command]
        results[command[0]] = golive(args[0], str(root), *args[1:], cwd=tmp_path)
    return results


def assert_one_line(results: dict[str, subprocess.CompletedProcess[str]], *needles: str) -> None:
    for command, done in results.items():
        assert done.returncode == 2, f"{command}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in done.stderr, f"{command}:\n{done.stderr}"
        for needle in needles:
            assert needle in lines[0], f"{command}: {needle!r} not in {lines[0]!r}"


@pytest.mark.slow
def test_an_invalid_route_schema_is_one_line_naming_route_slot_and_keyword(tmp_path: Path) -> None:
    results = run_all(service(tmp_path, BAD_SCHEMA), tmp_path)
    assert_one_line(results, "POST /todos", "body schema", "'type'", "properties.title.type")


@pytest.mark.slow
def test_a_handler_missing_a_path_parameter_is_one_line(tmp_path: Path) -> None:
    results = run_all(service(tmp_path, MISSING_PARAMETER), tmp_path)
    assert_one_line(results, "GET /todos/{id}", "get_todo()", "path parameter id", "def get_todo(req, id)")


@pytest.mark.slow
def test_a_differently_named_parameter_is_one_line(tmp_path: Path) -> None:
    root = service(tmp_path, WRONG_NAME)
    done = golive("routes", str(root), cwd=tmp_path)
    assert done.returncode == 2 and "GET /todos/{id}" in done.stderr and "path parameter id" in done.stderr


@pytest.mark.slow
def test_golive_dev_warns_when_no_route_is_authenticated(tmp_path: Path) -> None:
    source = '''
from golive import App
app = App("todos")


@app.get("/todos")
def todos(req):
    return {"items": []}


handler = app.handler
'''
    root = service(tmp_path, source, TOML.replace('[auth]\ntype = "jwt"\n', ""))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    process = subprocess.Popen([GOLIVE, "dev", str(root), "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    started = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("http://"):
                started.set()
        started.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert started.wait(60), "".join(lines)
        output = "".join(lines)
        assert "warning" in output and "GET /todos" in output and "[auth]" in output, output
    finally:
        process.terminate()
        process.wait(10)
