"""The published OpenAPI document (examples/users/openapi.json) says what the route table says, and is valid."""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

from openapi_spec_validator import validate

SERVICE_DIR = Path(__file__).resolve().parents[1]
PUBLISHED = SERVICE_DIR / "openapi.json"
REGENERATE = "golive openapi examples/users -o examples/users/openapi.json"


def generate() -> str:
    """`golive openapi examples/users` as a user runs it, from a fresh shell's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_", "USERS_", "DYNAMODB_"))}
    result = subprocess.run([sys.executable, "-m", "golive.cli", "openapi", str(SERVICE_DIR)], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_published_document_matches_the_route_table() -> None:
    current = generate()
    published = PUBLISHED.read_text(encoding="utf-8") if PUBLISHED.exists() else ""
    if json.loads(current) != (json.loads(published) if published else None):
        diff = "".join(list(difflib.unified_diff(published.splitlines(True), current.splitlines(True),
                                                 "openapi.json (published)", "golive openapi (route table)"))[:60])
        raise AssertionError(f"examples/users/openapi.json is out of date with the route table; regenerate it "
                             f"with `{REGENERATE}` and commit it:\n{diff}")


def test_the_published_document_is_valid_openapi() -> None:
    validate(json.loads(PUBLISHED.read_text(encoding="utf-8")))
