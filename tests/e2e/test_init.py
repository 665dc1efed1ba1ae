"""`golive init`: the new service passes its own tests (plain pytest), serves over HTTP under `golive dev`, scores 100
in `golive check`, and its DynamoDB store works against a DynamoDB-protocol server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("init")]


def clean_env(**overrides: str) -> dict[str, str]:
    """A fresh shell's environment: no golive or AWS settings, so golive.toml decides."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_", "USERS_"))}, **overrides}


def golive(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "golive.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=clean_env(), timeout=180, check=False)


@pytest.fixture(scope="module", params=["users", "minimal"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp(f"init-{request.param}")
    result = golive("init", "notes", "--template", request.param, cwd=home)
    assert result.returncode == 0, result.stderr
    assert "golive init: created notes" in result.stdout and "cd notes && golive dev" in result.stdout
    assert (home / "notes" / ".github" / "workflows" / "golive.yml").is_file()  # not in a repository: its own CI
    return home / "notes"


def test_the_new_service_passes_its_own_tests(service: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], capture_output=True,
                            text=True, cwd=service, env=clean_env(), timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
    assert not list(service.glob(".golive/users.db*"))  # its tests keep the service's data in temporary folders


def test_the_new_service_serves_under_golive_dev(service: Path, start_dev_server, tmp_path: Path) -> None:
    server = start_dev_server(service, GOLIVE_STATE_DIR=str(tmp_path))
    path = "/hello/Ada" if (service / "handler.py").read_text().count("/hello/") else "/health"
    answer = httpx.get(server.url + path, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["strict-transport-security"].startswith("max-age=")


def test_the_new_service_is_ready_to_go_live(service: Path) -> None:
    result = golive("check", "--format", "json", cwd=service)  # SERVICE_DIR defaults to the current folder
    report = json.loads(result.stdout)
    failed = [item["id"] for item in report["items"] if item["status"] == "fail"]
    assert result.returncode == 0 and report["score"] == 100, failed


def test_the_new_service_is_lint_clean(service: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,I,B,UP,SIM,RUF",
                             "--line-length", "120", "--target-version", "py311", "."], capture_output=True,
                            text=True, cwd=service, timeout=60, check=False)
    assert result.returncode == 0, result.stdout


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text("# mine\n")
    result = golive("init", str(tmp_path), "--name", "mine", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "handler.py exists already" in result.stderr
    assert (tmp_path / "handler.py").read_text() == "# mine\n"
    assert not (tmp_path / "golive.toml").exists()


def test_init_refuses_a_name_lambda_cannot_take(tmp_path: Path) -> None:
    result = golive("init", str(tmp_path / "x"), "--name", "My Service!", cwd=tmp_path)
    assert result.returncode == 2 and "--name 'My Service!' must be lowercase" in result.stderr
    assert not (tmp_path / "x").exists()


DYNAMO_JOURNEY = textwrap.dedent("""
    import boto3, os
    boto3.client("dynamodb").create_table(TableName=os.environ["USERS_TABLE"], BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    from golive.testing import TestClient
    client = TestClient.from_service(".")
    ada, admin = client.token("ada"), client.token("root", roles=["admin"])
    assert client.post("/users", json={"name": "Ada", "email": "ada@example.com"}, token=ada).status == 201
    assert client.post("/users", json={"name": "Ada", "email": "ada@example.com"}, token=ada).status == 409
    assert client.get("/users/ada", token=ada).json()["email"] == "ada@example.com"
    assert [u["id"] for u in client.get("/users", token=admin).json()["items"]] == ["ada"]
    assert client.get("/health").json()["checks"]["store"]["status"] == "ok"
    assert client.delete("/users/ada", token=admin).status == 204
    assert client.get("/users/ada", token=admin).status == 404
    assert not os.path.exists(".golive/users.db")
    print("journey ok")
""")


def test_the_users_store_runs_on_dynamodb(tmp_path: Path, moto_server) -> None:
    assert golive("init", "svc", cwd=tmp_path).returncode == 0
    env = clean_env(**moto_server.env, USERS_TABLE="svc-users")
    result = subprocess.run([sys.executable, "-c", DYNAMO_JOURNEY], capture_output=True, text=True,
                            cwd=tmp_path / "svc", env=env, timeout=120, check=False)
    assert result.returncode == 0 and "journey ok" in result.stdout, result.stderr[-3000:]
