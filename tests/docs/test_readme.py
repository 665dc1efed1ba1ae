"""The README's runtime example runs as written and behaves as the README says."""

from __future__ import annotations

import re
import time
from pathlib import Path

import jwt
import pytest

from golive.security.auth import JWTAuth
from golive.testing import TestClient

README = Path(__file__).resolve().parents[2] / "README.md"
SECRET = "readme-test-secret-readme-test-secret"


@pytest.fixture(scope="module")
def example() -> dict:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    source = next(block for block in blocks if block.startswith("# handler.py"))
    namespace: dict = {"__name__": "readme_handler"}
    exec(compile(source, "README.md:handler.py", "exec"), namespace)
    # The example verifies tokens against a JWKS URL; the test signs its own with an HS256 secret instead.
    namespace["app"].authenticators = [JWTAuth(secret=SECRET, issuer="https://issuer.example.com",
                                               audience="users-api")]
    return namespace


def token(sub: str, **claims: object) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "iss": "https://issuer.example.com", "aud": "users-api", "iat": now,
                       "exp": now + 300, **claims}, SECRET, algorithm="HS256")


def test_readme_example_creates_reads_lists_and_deletes(example: dict) -> None:
    client = TestClient(example["handler"])
    ada = token("ada", scope="users:write")
    created = client.post("/users", json={"name": "Ada", "email": "ada@example.com"}, token=ada)
    assert created.status == 201
    assert created.headers["location"] == "/users/ada"
    assert created.headers["strict-transport-security"].startswith("max-age=")
    assert any(doc.get("UserCreated") == 1 for doc in created.emf)
    assert all("ada@example.com" not in line for line in created.lines)
    assert next(r for r in created.logs if r["message"] == "user created")["email"] == "ad***@example.com"

    assert client.post("/users", json={"name": "Ada", "email": "ada@example.com"}, token=ada).status == 409
    assert client.get("/users/ada", token=ada).json()["name"] == "Ada"
    missing = client.get("/users/bob", token=ada)
    assert missing.status == 404 and missing.headers["content-type"] == "application/problem+json"
    assert client.get("/users", token=ada).status == 403
    admin = token("root", roles=["admin"])
    assert client.get("/users", query={"limit": "1"}, token=admin).json()["items"][0]["id"] == "ada"
    deleted = client.delete("/users/ada", token=admin)
    assert deleted.status == 204
    assert any(r.get("audit") and r["action"] == "user.delete" for r in deleted.logs)
    assert client.get("/health").json()["checks"]["store"]["status"] == "ok"


def test_readme_example_rejects_bad_input_with_every_field(example: dict) -> None:
    client = TestClient(example["handler"])
    response = client.post("/users", json={"name": "", "email": "x", "extra": 1},
                           token=token("ada", scope="users:write"))
    assert response.status == 400
    assert {e["field"] for e in response.json()["errors"]} == {"name", "email", "extra"}
    assert client.post("/users", json={"name": "Ada", "email": "a@b.co"}, token=token("ada")).status == 403
    assert client.get("/users/ada").status == 401
