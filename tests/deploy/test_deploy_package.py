"""`golive package`: a zip Lambda can run as is (service, golive, manylinux dependencies, precompiled validators),
and the template beside it points at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest
from deploy_helpers import copy_service, golive

from golive.deploy.cfn import load_yaml

RUN_FROM_ZIP = r"""
import json, sys
root = sys.argv[1]
import golive, golive_validators
assert golive.__file__.startswith(root), golive.__file__
from golive.synth import build_event
from golive.validation import schema_key
import handler
response = handler.handler(build_event("v1", "GET", "/catalog", stage="live"), None)
route = next(r for r in handler.app.routes if r.key == "GET /catalog")
compiled = handler.app._compiled[id(route)].responses[200]
print(json.dumps({"status": response["statusCode"], "body": response["body"],
                  "precompiled": compiled._fn is golive_validators.VALIDATORS[schema_key(route.responses[200])],
                  "validators": len(golive_validators.VALIDATORS)}))
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    folder = tmp_path_factory.mktemp("package")
    service = copy_service("users_multi", folder)
    # golive itself is copied from the installed package, never fetched from an index.
    (service / "requirements.txt").write_text("golive>=0.1  # the framework\n")
    result = golive("package", str(service), "-o", str(folder / "dist"), timeout=600)
    if result.returncode != 0 and "could not install dependencies" in result.stderr:
        pytest.skip(f"no package index reachable and nothing cached: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    return folder, result


@pytest.mark.slow
def test_the_zip_holds_the_service_golive_and_arm64_dependencies(package):
    folder, result = package
    assert "KiB zipped" in result.stdout and "schemas precompiled" in result.stdout
    with zipfile.ZipFile(folder / "dist" / "usersmulti.zip") as archive:
        names = set(archive.namelist())
        wheels = [n for n in names if n.endswith(".dist-info/WHEEL")]
        tags = " ".join(archive.read(n).decode() for n in wheels)
    for expected in ("handler.py", "admin.py", "golive_validators.py", "golive/__init__.py", "golive/app.py",
                     "golive/security/authorizer.py", "golive/_schema_errors.py", "fastjsonschema/__init__.py",
                     "jwt/__init__.py"):
        assert expected in names, expected
    assert "golive.toml" not in names  # it may hold the dev secret
    assert not any(n.startswith("tests/") or "__pycache__" in n or n.endswith(".pyc") for n in names)
    assert "py3-none-any" in tags or "manylinux" in tags


@pytest.mark.slow
def test_the_template_beside_the_zip_points_at_it(package):
    folder, _ = package
    template = load_yaml((folder / "dist" / "template.yaml").read_text())
    uris = {r["Properties"]["CodeUri"] for r in template["Resources"].values()
            if r["Type"] == "AWS::Serverless::Function"}
    assert uris == {"usersmulti.zip"}
    assert template["Resources"]["AuthorizerFunction"]["Properties"]["Handler"] == "golive.security.authorizer.handler"


@pytest.mark.slow
def test_the_zip_runs_alone_with_its_precompiled_validators(package, tmp_path):
    folder, _ = package
    with zipfile.ZipFile(folder / "dist" / "usersmulti.zip") as archive:
        archive.extractall(tmp_path)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(tmp_path), "GOLIVE_METRICS": "off"}
    result = subprocess.run([sys.executable, "-s", "-c", RUN_FROM_ZIP, str(tmp_path)], capture_output=True,
                            text=True, cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 200 and json.loads(outcome["body"]) == []
    assert outcome["precompiled"] is True  # no schema is compiled at cold start
    assert outcome["validators"] >= 4


def test_a_dependency_that_cannot_be_installed_is_one_clear_line(tmp_path):
    service = copy_service("users_http", tmp_path)
    (service / "requirements.txt").write_text("golive-test-no-such-distribution==9.9.9\n")
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
           "PIP_RETRIES": "0", "PIP_TIMEOUT": "2", "PIP_NO_CACHE_DIR": "1"}
    result = golive("package", str(service), "-o", str(tmp_path / "dist"), env=env, timeout=300)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "could not install dependencies for manylinux2014_aarch64 / Python 3.12" in result.stderr
    assert not (tmp_path / "dist" / "usershttp.zip").exists()
