"""Shared fixtures for the deploy tests: every fixture service's generated template, built once per process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import SERVICES, STAGED, render

from golive.deploy.cfn import dump_yaml


@pytest.fixture(scope="session")
def templates() -> dict[str, dict[str, Any]]:
    """Every service's generated template, built once per test process."""
    rendered = {name: render(path) for name, path in SERVICES.items()}
    rendered.update({name: render(path, stage) for name, (path, stage) in STAGED.items()})
    return rendered


@pytest.fixture(scope="session")
def template_dir(templates: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The templates written as YAML files, as `golive template` writes them."""
    folder = tmp_path_factory.mktemp("templates")
    for name, template in templates.items():
        (folder / f"{name}.yaml").write_text(dump_yaml(template))
    return folder
