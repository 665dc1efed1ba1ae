"""`golive ci`'s engine: a GitHub Actions workflow that tests, audits, packages, deploys each stage with OIDC
credentials (no stored keys) and verifies the deployed stage, production last."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from golive.service.config import ServiceConfig
from golive.service.names import stack_name
from golive.service.stages import default_stage, stage_names

DEFAULT_INSTALL = "python -m pip install --upgrade pip && python -m pip install 'golive[cli,aws,verify]'"
DEFAULT_TEST = "make test"
DEFAULT_REGION = "us-east-1"
PYTHON = "3.12"
ACTIONS = {"checkout": "actions/checkout@v4", "python": "actions/setup-python@v5", "sam": "aws-actions/setup-sam@v2",
           "aws": "aws-actions/configure-aws-credentials@v4", "upload": "actions/upload-artifact@v4"}


def ordered_stages(config: ServiceConfig) -> list[str]:
    """Every stage golive.toml defines, the production one last (it deploys only after the others verified)."""
    from golive.deploy.release import PRODUCTION_STAGES

    names = stage_names(config.raw) or [default_stage(config.raw)]
    return sorted(names, key=lambda name: (name in PRODUCTION_STAGES, name))


def job_id(stage: str) -> str:
    return "deploy-" + "".join(c if c.isalnum() else "-" for c in stage).strip("-")


def repo_relative(service_root: Path) -> tuple[Path, str]:
    """The repository holding the service (the nearest folder with .git, else the service itself) and the
    service's path inside it, as the workflow names it."""
    for folder in (service_root, *service_root.parents):
        if (folder / ".git").exists():
            return folder, service_root.relative_to(folder).as_posix() or "."
    return service_root, "."


def workflow(config: ServiceConfig, service_dir: str, branch: str = "main", region: str = DEFAULT_REGION,
             install: str = DEFAULT_INSTALL, test: str = DEFAULT_TEST) -> dict[str, Any]:
    """The workflow as a dict (the caller writes it as YAML)."""
    stages = ordered_stages(config)
    setup = [{"uses": ACTIONS["checkout"]},
             {"uses": ACTIONS["python"], "with": {"python-version": PYTHON, "cache": "pip"}},
             {"name": "Install", "run": install}]
    jobs: dict[str, Any] = {
        "test": {
            "name": "Test and audit",
            "runs-on": "ubuntu-latest",
            "steps": [*setup,
                      {"name": "Test", "run": test},
                      *[{"name": f"Go-live audit ({stage})",
                         "run": f'golive check "$SERVICE_DIR" --stage {stage}'} for stage in stages]],
        },
    }
    previous = "test"
    for stage in stages:
        stack = stack_name(config.service, stage)
        jobs[job_id(stage)] = {
            "name": f"Deploy and verify {stage}",
            "needs": previous,
            "if": f"github.event_name == 'push' && github.ref == 'refs/heads/{branch}'",
            "runs-on": "ubuntu-latest",
            # Each stage is a GitHub environment: its own AWS_DEPLOY_ROLE_ARN secret and, for prod, required
            # reviewers. The role ARN is no secret, but secrets are what every GitHub plan scopes per environment.
            "environment": {"name": stage, "url": "${{ steps.stack.outputs.url }}"},
            "concurrency": {"group": f"golive-{stack}", "cancel-in-progress": False},
            "permissions": {"id-token": "write", "contents": "read"},
            "steps": [
                *setup,
                {"uses": ACTIONS["sam"], "with": {"use-installer": True}},
                {"name": "AWS credentials (OIDC: no stored keys)", "uses": ACTIONS["aws"], "with": {
                    "role-to-assume": "${{ secrets.AWS_DEPLOY_ROLE_ARN }}", "aws-region": region,
                    "role-session-name": f"golive-{stack}"}},
                {"name": "Package", "run": f'golive package "$SERVICE_DIR" --stage {stage} -o "dist/{stage}"'},
                {"name": "Deploy (CodeDeploy shifts traffic; the generated alarms roll it back)",
                 "run": f'sam deploy --template-file "dist/{stage}/template.yaml" --stack-name {stack} '
                        f"--capabilities CAPABILITY_IAM --resolve-s3 --no-confirm-changeset "
                        f"--no-fail-on-empty-changeset"},
                {"name": "Stack URL", "id": "stack",
                 "run": f'url=$(aws cloudformation describe-stacks --stack-name {stack} --query '
                        f'"Stacks[0].Outputs[?OutputKey==\'ApiUrl\'].OutputValue" --output text)\n'
                        f'echo "url=$url" >> "$GITHUB_OUTPUT"\n'},
                {"name": "Verify the deployed stage",
                 "env": {"API_URL": "${{ steps.stack.outputs.url }}", "VERIFY_TOKEN": "${{ secrets.VERIFY_TOKEN }}"},
                 "run": f'golive verify "$API_URL" --service "$SERVICE_DIR" '
                        f'--max-seconds 120 --report "verify-{stage}.json" ${{VERIFY_TOKEN:+--token "$VERIFY_TOKEN"}}'},
                {"name": "Keep the verify report", "if": "always()", "uses": ACTIONS["upload"],
                 "with": {"name": f"verify-{stage}", "path": f"verify-{stage}.json", "if-no-files-found": "ignore"}},
            ],
        }
        previous = job_id(stage)
    return {
        "name": f"{config.service}: test, audit, deploy, verify",
        "on": {"push": {"branches": [branch]}, "pull_request": {}, "workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "env": {"SERVICE_DIR": service_dir, "PYTHONUNBUFFERED": "1"},
        "jobs": jobs,
    }


def render(document: dict[str, Any]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True  # every job spells its steps out: no anchors to follow when reading the file

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None  # shell scripts stay readable as literal blocks
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)

    header = ("# Written by `golive ci`: regenerate rather than edit. Needs, per GitHub environment (one per stage):\n"
              "# secret AWS_DEPLOY_ROLE_ARN (an IAM role trusting GitHub's OIDC provider for this repository) and,\n"
              "# optionally, secret VERIFY_TOKEN (a bearer token for golive verify's protected-route checks).\n")
    return header + yaml.dump(document, Dumper=Dumper, sort_keys=False, width=200, default_flow_style=False)
