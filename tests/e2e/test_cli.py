"""golive invoke, routes, openapi and token as a user runs them: real subprocesses, stdout, stderr, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import yaml
from openapi_spec_validator import validate

from golive.service.config import DEFAULT_DEV_SECRET
from golive.synth import build_event

GOLIVE = str(Path(sys.executable).with_name("golive"))
ROOT = Path(__file__).resolve().parents[2]
NOTES = ROOT / "tests" / "fixtures" / "services" / "notes"
USERS = ROOT / "examples" / "users"


def golive(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    return subprocess.run([GOLIVE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60, cwd=cwd)


def assert_one_line_error(done: subprocess.CompletedProcess[str], command: str, code: int = 2) -> str:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"golive {command}: error: ")
    return done.stderr


# -- invoke ------------------------------------------------------------------------------------------------------
def test_invoke_prints_the_result_on_stdout_and_logs_on_stderr(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(build_event("v1", "GET", "/env", query={"q": "1"}, stage="dev")))
    done = golive("invoke", str(NOTES), "--event", str(event))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["statusCode"] == 200
    body = json.loads(result["body"])
    assert body["greeting"] == "hello from golive.toml" and body["function"] == "notes-api"
    assert body["query"] == {"q": ["1"]}
    logs = [json.loads(line) for line in done.stderr.splitlines()]
    assert any(record.get("message") == "request completed" and record["status"] == 200 for record in logs)


def test_invoke_builds_the_event_from_a_request() -> None:
    token = golive("token", str(NOTES), "--sub", "ada").stdout.strip()
    done = golive("invoke", "--method", "POST", "--path", "/notes", "--json", '{"title": "shell"}',
                  "--token", token, cwd=NOTES)  # SERVICE_DIR defaults to the current folder
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["statusCode"] == 201 and result["headers"]["Location"] == "/notes/1"
    assert json.loads(result["body"]) == {"id": "1", "owner": "ada", "title": "shell"}

    done = golive("invoke", str(NOTES), "--method", "GET", "--path", "/env?q=1&q=2", "-H", "X-Multi: a")
    body = json.loads(json.loads(done.stdout)["body"])
    assert body["stage"] == "dev" and body["query"] == {"q": ["1", "2"]} and body["multi_header"] == ["a"]
    assert body["resource"] == "/env" and body["function"] == "notes-api"

    done = golive("invoke", str(NOTES), "--method", "GET", "--path", "/notes/7", "--kind", "v2", "--token", token)
    assert json.loads(done.stdout)["statusCode"] == 404  # payload v2, through the same route table
    assert json.loads(golive("invoke", str(NOTES), "--method", "GET", "--path", "/notes").stdout)["statusCode"] == 401


def test_invoke_request_options_are_checked_in_one_line(tmp_path: Path) -> None:
    stderr = assert_one_line_error(golive("invoke", str(NOTES), "--method", "POST", "--path", "/notes",
                                          "--json", "{oops"), "invoke")
    assert "--json is not valid JSON" in stderr
    stderr = assert_one_line_error(golive("invoke", str(NOTES), "--method", "GET", "--path", "notes"), "invoke")
    assert "must start with /" in stderr
    stderr = assert_one_line_error(golive("invoke", str(NOTES), "--method", "GET", "--path", "/", "-H", "nocolon"),
                                   "invoke")
    assert "'NAME: VALUE'" in stderr
    stderr = assert_one_line_error(golive("invoke", str(NOTES)), "invoke")
    assert "--method and --path" in stderr and "--event FILE" in stderr
    event = tmp_path / "event.json"
    event.write_text("{}")
    stderr = assert_one_line_error(golive("invoke", str(NOTES), "--event", str(event), "--method", "GET"), "invoke")
    assert "do not mix" in stderr


def test_invoke_reads_the_event_from_stdin() -> None:
    event = build_event("v2", "GET", "/health")
    done = golive("invoke", str(NOTES), "--event", "-", stdin=json.dumps(event))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["statusCode"] == 200 and json.loads(result["body"])["status"] == "ok"


def test_invoke_reports_a_handler_exception_like_lambda(tmp_path: Path) -> None:
    event = tmp_path / "crash.json"
    event.write_text(json.dumps(build_event("v1", "GET", "/raw-crash")))
    done = golive("invoke", str(NOTES), "--event", str(event))
    assert done.returncode == 1
    error = json.loads(done.stdout)
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "the handler itself failed"
    assert any("handler.py" in frame for frame in error["stackTrace"])
    assert done.stderr.splitlines()[-1] == "golive invoke: the handler raised ValueError: the handler itself failed"


def test_invoke_bad_event_json_is_one_line(tmp_path: Path) -> None:
    event = tmp_path / "bad.json"
    event.write_text('{"httpMethod": "GET",')
    stderr = assert_one_line_error(golive("invoke", str(NOTES), "--event", str(event)), "invoke")
    assert "is not valid JSON" in stderr and "line 1" in stderr
    stderr = assert_one_line_error(golive("invoke", str(NOTES), "--event", "-", stdin="not json"), "invoke")
    assert "the event on stdin is not valid JSON" in stderr
    stderr = assert_one_line_error(golive("invoke", str(NOTES), "--event", str(tmp_path / "none.json")), "invoke")
    assert "not found" in stderr


def test_invoke_unknown_function_or_missing_service(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(build_event("v1", "GET", "/health")))
    stderr = assert_one_line_error(golive("invoke", str(NOTES), "--event", str(event), "--function", "nope"),
                                   "invoke")
    assert "no function 'nope'" in stderr and "api" in stderr
    stderr = assert_one_line_error(golive("invoke", str(tmp_path / "missing"), "--event", str(event)), "invoke")
    assert "does not exist" in stderr


def test_argparse_mistakes_are_one_line_too() -> None:
    stderr = assert_one_line_error(golive("token", str(NOTES)), "token")
    assert "the following arguments are required: --sub" in stderr and "(see golive token --help)" in stderr
    stderr = assert_one_line_error(golive("dev", "--port", "x"), "dev")
    assert "invalid int value: 'x'" in stderr
    stderr = assert_one_line_error(golive("invoke", "--kind", "v9"), "invoke")
    assert "invalid choice: 'v9'" in stderr
    done = golive("deploy")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "invalid choice: 'deploy'" in done.stderr


# -- routes ------------------------------------------------------------------------------------------------------
def test_routes_table() -> None:
    done = golive("routes", str(NOTES))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["METHOD", "PATH", "FUNCTION", "AUTH", "BODY", "SUMMARY"]
    rows = {" ".join(line.split()[:2]): line for line in lines[1:]}
    assert rows["GET /health"].split()[2:5] == ["api", "public", "no"]
    assert rows["POST /notes"].split()[2:5] == ["api", "authenticated", "yes"]
    assert "roles admin" in rows["DELETE /notes/{id}"] and "Delete a note" in rows["DELETE /notes/{id}"]
    assert "scopes notes:read or roles admin" in rows["GET /notes"]


def test_routes_json_from_the_current_folder() -> None:
    done = golive("routes", "--format", "json", cwd=NOTES)
    assert done.returncode == 0, done.stderr
    routes = {f"{r['method']} {r['path']}": r for r in json.loads(done.stdout)}
    assert routes["GET /notes"]["auth"] == {"public": False, "scopes": ["notes:read"], "roles": ["admin"],
                                            "text": "scopes notes:read or roles admin"}
    assert routes["POST /notes"]["body"] is True and routes["GET /files/{path+}"]["function"] == "api"


def test_routes_missing_dir_is_one_line(tmp_path: Path) -> None:
    assert "does not exist" in assert_one_line_error(golive("routes", str(tmp_path / "x")), "routes")


# -- openapi -----------------------------------------------------------------------------------------------------
def test_openapi_json_on_stdout_is_valid() -> None:
    done = golive("openapi", str(NOTES))
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "notes", "version": "1.2.0",
                                "description": "The notes API, generated by golive from its route table."}
    assert document["paths"]["/notes/{id}"]["delete"]["security"] == [{"bearerAuth": ["admin"]}]
    assert "/files/{path}" in document["paths"]


def test_openapi_yaml_to_a_file_is_valid(tmp_path: Path) -> None:
    out = tmp_path / "openapi.yaml"
    done = golive("openapi", str(NOTES), "-o", str(out))
    assert done.returncode == 0 and done.stdout == ""
    assert done.stderr.startswith(f"golive openapi: wrote {out}")
    document = yaml.safe_load(out.read_text())
    validate(document)
    explicit = golive("openapi", str(NOTES), "--format", "yaml")
    assert yaml.safe_load(explicit.stdout) == document


def test_openapi_unwritable_output_is_one_line(tmp_path: Path) -> None:
    stderr = assert_one_line_error(golive("openapi", str(NOTES), "-o", str(tmp_path / "no" / "dir.json")), "openapi")
    assert "cannot write" in stderr


@pytest.mark.skipif(not (USERS / "golive.toml").exists(), reason="the Users example is not in this checkout yet")
def test_openapi_of_the_users_example_is_valid() -> None:
    done = golive("openapi", str(USERS))
    assert done.returncode == 0, done.stderr
    validate(json.loads(done.stdout))


# -- token -------------------------------------------------------------------------------------------------------
def test_token_prints_only_a_token_the_service_accepts() -> None:
    before = int(time.time())
    done = golive("token", "--sub", "alice", "--role", "admin", "--scope", "notes:read", "--scope", "notes:write",
                  "--ttl", "600", str(NOTES))
    assert done.returncode == 0 and done.stderr == ""
    token = done.stdout.strip()
    assert done.stdout == token + "\n" and token.count(".") == 2
    claims = jwt.decode(token, DEFAULT_DEV_SECRET, algorithms=["HS256"], audience="notes-api",
                        issuer="https://notes.example.test")
    assert claims["sub"] == "alice" and claims["roles"] == ["admin"] and claims["scope"] == "notes:read notes:write"
    assert before + 600 <= claims["exp"] <= int(time.time()) + 600
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_token_uses_the_services_own_dev_secret(tmp_path: Path) -> None:
    (tmp_path / "golive.toml").write_text('service = "s"\n[auth]\ntype = "jwt"\ndev_secret = "' + "k" * 40 + '"\n')
    done = golive("token", "--sub", "bob", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    claims = jwt.decode(done.stdout.strip(), "k" * 40, algorithms=["HS256"])
    assert claims["sub"] == "bob" and "roles" not in claims and "aud" not in claims


def test_token_errors(tmp_path: Path) -> None:
    assert "--ttl" in assert_one_line_error(golive("token", "--sub", "a", "--ttl", "0", str(NOTES)), "token")
    assert "no golive.toml" in assert_one_line_error(golive("token", "--sub", "a", str(tmp_path)), "token")
    missing_sub = golive("token", str(NOTES))
    assert missing_sub.returncode == 2 and "--sub" in missing_sub.stderr and "Traceback" not in missing_sub.stderr
    (tmp_path / "golive.toml").write_text('service = "open"\n')
    no_auth = golive("token", "--sub", "a", str(tmp_path))
    assert no_auth.returncode == 0 and no_auth.stdout.count(".") == 2
    assert no_auth.stderr.startswith("golive token: warning:") and "[auth]" in no_auth.stderr
