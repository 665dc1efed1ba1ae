"""The README's snippets run as written: its handler.py and golive.toml make a service, its test passes against it,
and the service behaves as the README says."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from golive.testing import TestClient

README = Path(__file__).resolve().parents[2] / "README.md"


def _block(language: str, first_line: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text(), re.S)
    return next(block for block in blocks if block.startswith(first_line))


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A service folder holding the README's handler.py and golive.toml, and nothing else."""
    (tmp_path / "handler.py").write_text(_block("python", "# handler.py"))
    (tmp_path / "golive.toml").write_text(_block("toml", "# golive.toml"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "handler", raising=False)
    yield tmp_path
    sys.modules.pop("handler", None)
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def test_readme_test_snippet_runs_as_written(service: Path) -> None:
    source = _block("python", "# tests/test_users.py")
    namespace: dict = {"__name__": "readme_test"}
    exec(compile(source, "README.md:tests/test_users.py", "exec"), namespace)
    client: TestClient = namespace["client"]
    assert client.state_dir is not None and client.state_dir != service / ".golive"
    assert not (service / ".golive").exists()  # the service's own state is never touched by its tests


def test_readme_example_creates_reads_lists_and_deletes(service: Path) -> None:
    client = TestClient.from_service(service)
    ada = client.token("ada", scopes=["users:write"])
    created = client.post("/users", json={"name": "Ada", "email": "ada@example.com"}, token=ada)
    assert created.status == 201
    assert created.headers["location"] == "/users/ada"
    assert created.headers["strict-transport-security"].startswith("max-age=")
    assert next(r for r in created.logs if r["message"] == "user created")["email"] == "ad***@example.com"

    assert client.post("/users", json={"name": "Ada", "email": "ada@example.com"}, token=ada).status == 409
    assert client.get("/users/ada", token=ada).json() == {"id": "ada", "name": "Ada", "email": "ada@example.com"}
    missing = client.get("/users/bob", token=ada)
    assert missing.status == 404 and missing.headers["content-type"] == "application/problem+json"
    assert client.get("/users", token=ada).status == 403
    admin = client.token("root", roles=["admin"])
    assert client.get("/users", query={"limit": "1"}, token=admin).json()["items"][0]["id"] == "ada"
    deleted = client.delete("/users/ada", token=admin)
    assert deleted.status == 204 and deleted.body == b""
    assert any(r.get("audit") and r["action"] == "user.delete" for r in deleted.logs)
    assert client.get("/users/ada", token=ada).status == 404
    assert client.get("/health").json()["checks"]["store"]["status"] == "ok"


def test_readme_example_keeps_state_across_environments(service: Path, tmp_path_factory: pytest.TempPathFactory
                                                        ) -> None:
    # Two clients on one state folder stand for two execution environments of the function: what one writes,
    # the other reads (a module-level dict would show each only its own).
    shared = tmp_path_factory.mktemp("shared-state")
    first = TestClient.from_service(service, state_dir=shared)
    del sys.modules["handler"]  # the second environment imports the handler afresh: its own module globals
    second = TestClient.from_service(service, state_dir=shared)
    assert first.handler is not second.handler
    for name in ("ada", "bob", "cy", "dee"):
        client = first if name in ("ada", "cy") else second
        token = client.token(name, scopes=["users:write"])
        assert client.post("/users", json={"name": name, "email": f"{name}@example.com"}, token=token).status == 201
    listing = second.get("/users", token=second.token("root", roles=["admin"])).json()
    assert [user["id"] for user in listing["items"]] == ["ada", "bob", "cy", "dee"]
    assert (shared / "users.db").is_file()
    # A fresh client starts empty: tests do not see each other's data.
    fresh = TestClient.from_service(service)
    assert fresh.get("/users", token=fresh.token("root", roles=["admin"])).json() == {"items": []}


def test_readme_example_rejects_bad_input_and_foreign_tokens(service: Path) -> None:
    client = TestClient.from_service(service)
    response = client.post("/users", json={"name": "", "email": "x", "extra": 1},
                           token=client.token("ada", scopes=["users:write"]))
    assert response.status == 400
    assert {e["field"] for e in response.json()["errors"]} == {"name", "email", "extra"}
    assert client.post("/users", json={"name": "Ada", "email": "a@b.co"}, token=client.token("ada")).status == 403
    assert client.get("/users/ada").status == 401
    stranger = TestClient.from_service(service)
    stranger.environment["GOLIVE_JWT_SECRET"] = "another-secret-another-secret-another"
    assert client.get("/users/ada", token=stranger.token("ada")).status == 401


def test_token_needs_a_service() -> None:
    with pytest.raises(RuntimeError, match="from_service"):
        TestClient(lambda event, context: {"statusCode": 200}).token("ada")


def test_readme_command_table_is_the_clis_own() -> None:
    from golive.cli import command_table

    text = README.read_text()
    start = text.index("| command | does |")
    assert text[start:start + len(command_table())] == command_table(), (
        "README's command table differs from the commands' --help; regenerate it with "
        "python -c 'import golive.cli as c; print(c.command_table())'")
