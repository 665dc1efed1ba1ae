"""The generated pre-traffic hook's check: smoke requests from the route table, sent through the real handler (a
`golive invoke` child process stands in for Lambda's Invoke API), pass on the Users service and fail, naming the
request, on a broken one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from deploy_helpers import EXAMPLE_USERS, ROOT, golive, render

from golive.deploy.pretraffic import smoke

BROKEN = ROOT / "tests" / "fixtures" / "services" / "broken"


def _invoker(service: Path, tmp_path: Path):
    def invoke(event: dict) -> dict:
        path = tmp_path / "event.json"
        path.write_text(json.dumps(event))
        result = golive("invoke", str(service), "--event", str(path), cwd=tmp_path)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip())
        answer, _ = json.JSONDecoder().raw_decode(result.stdout.lstrip())
        return answer

    return invoke


def _requests(service: Path) -> list[list[str]]:
    hook = render(service)["Resources"]["ApiPreTrafficHook"]["Properties"]
    return json.loads(hook["Environment"]["Variables"]["GOLIVE_HOOK_REQUESTS"])


@pytest.mark.slow
def test_the_users_service_passes_its_pre_traffic_check(tmp_path):
    requests = _requests(EXAMPLE_USERS)
    assert requests[0] == ["GET", "/health"]
    assert smoke(_invoker(EXAMPLE_USERS, tmp_path), requests, "v1", "prod") == []


@pytest.mark.slow
def test_a_failing_health_check_fails_the_deployment_naming_the_request(tmp_path):
    requests = _requests(BROKEN)
    assert requests == [["GET", "/health"]]  # /items/{id} has a parameter, /me needs a caller
    failures = smoke(_invoker(BROKEN, tmp_path), requests, "v1", "dev")
    assert len(failures) == 1
    assert failures[0].startswith("GET /health: 503 ")
    assert "database unreachable" in failures[0]


def test_a_version_that_cannot_run_fails_the_deployment():
    def crash(event: dict) -> dict:
        raise RuntimeError("Runtime.ImportModuleError: No module named 'handler'")

    failures = smoke(crash, [["GET", "/health"]])
    assert failures == ["GET /health: invocation failed: RuntimeError: Runtime.ImportModuleError: No module named "
                        "'handler'"]
