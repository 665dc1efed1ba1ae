"""Helpers for the deploy tests: where the fixture services live, the real CLI, template queries."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from golive.deploy.template import build
from golive.service.config import load_config

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "deploy"
EXAMPLE_USERS = ROOT / "examples" / "users"
SERVICES = {"users_like": FIXTURES / "users_like", "users_multi": FIXTURES / "users_multi",
            "users_http": FIXTURES / "users_http"}
if (EXAMPLE_USERS / "golive.toml").exists():
    SERVICES["examples_users"] = EXAMPLE_USERS
# Templates of a non-default stage, linted and transformed beside the default ones: name -> (service, stage).
STAGED = {"examples_users_dev": (EXAMPLE_USERS, "dev")} if "examples_users" in SERVICES else {}
TEMPLATE_NAMES = sorted([*SERVICES, *STAGED])


def render(service_dir: Path, stage: str | None = None) -> dict[str, Any]:
    template, _ = build(load_config(service_dir, stage), stage=stage)
    return template


def golive(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process, as a user runs it."""
    script = Path(sys.executable).parent / "golive"  # the console script a user runs
    return subprocess.run([str(script), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def copy_service(name: str, destination: Path) -> Path:
    """A fixture service copied out of the repository, so repository-level files are no evidence for it."""
    target = destination / name
    shutil.copytree(SERVICES[name], target, ignore=shutil.ignore_patterns("__pycache__", "dist", ".golive"))
    return target


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}
