"""Property-based tests of the Users API from its published OpenAPI (schemathesis) against `golive dev`: whatever
a client sends, no answer is a 5xx and every answer conforms to the document (status, content type, schema)."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

SERVICE = Path(__file__).resolve().parents[2] / "examples" / "users"
AUTH = tomllib.loads((SERVICE / "golive.toml").read_text())["auth"]
EXAMPLES_PER_OPERATION = 15  # 7 operations: about a hundred requests, well under a minute on two cores
# What the issue asks of every answer. Not schemathesis's "unsupported method" probe: for a method the document
# does not list, a REST API answers 403 Missing Authentication Token, as golive dev faithfully does, not 405.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


def admin_token() -> str:
    claims = {"sub": "fuzz-admin", "roles": ["admin"], "iss": AUTH["issuer"], "aud": AUTH["audience"],
              "exp": int(time.time()) + 3600}
    return jwt.encode(claims, AUTH["dev_secret"], algorithm="HS256")


@pytest.fixture(scope="module")
def users_api(launch_dev_server: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = launch_dev_server(SERVICE, GOLIVE_STATE_DIR=str(tmp_path_factory.mktemp("fuzz-state")))
    schema = schemathesis.openapi.from_path(SERVICE / "openapi.json")
    schema.config.update(base_url=server.url)
    yield schema
    server.stop()


schema = schemathesis.pytest.from_fixture("users_api")


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_no_5xx_and_every_answer_conforms(case: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token()}"}, checks=CHECKS, timeout=15)
