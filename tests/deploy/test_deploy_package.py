"""`golive package`: a zip Lambda can run as is (service, golive, manylinux dependencies, precompiled validators),
and the template beside it points at it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from deploy_helpers import copy_service, golive

from golive.deploy.bytecode import find_interpreter
from golive.deploy.cfn import load_yaml

RUNTIME_PYTHON = find_interpreter("3.12")  # the fixture's runtime is the default, python3.12

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
    assert "modules as Python 3.12 bytecode" in result.stdout
    with zipfile.ZipFile(folder / "dist" / "usersmulti.zip") as archive:
        names = set(archive.namelist())
        wheels = [n for n in names if n.endswith(".dist-info/WHEEL")]
        tags = " ".join(archive.read(n).decode() for n in wheels)
    for expected in ("handler.py", "admin.py", "golive_validators.py", "golive/__init__.py", "golive/app.py",
                     "golive/security/authorizer.py", "golive/_schema_errors.py", "fastjsonschema/__init__.py",
                     "jwt/__init__.py"):
        assert expected in names, expected
    assert "golive.toml" not in names  # it may hold the dev secret
    assert not any(n.startswith("tests/") for n in names)
    assert not any(n.endswith(".pyc") and ".cpython-312." not in n for n in names)  # no bytecode of another Python
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


LAMBDA_IMPORT = r"""
import json
from golive.synth import build_event
import handler
response = handler.handler(build_event("v1", "GET", "/catalog", stage="live"), None)
print(json.dumps({"status": response["statusCode"], "golive": __import__("golive").__file__}))
"""


def _tree(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*")}


@pytest.mark.slow
@pytest.mark.skipif(RUNTIME_PYTHON is None, reason="no Python 3.12 interpreter here to run the runtime's bytecode")
def test_the_zip_ships_runtime_bytecode_and_imports_from_a_read_only_task_root_without_compiling(package, tmp_path):
    folder, result = package
    with zipfile.ZipFile(folder / "dist" / "usersmulti.zip") as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "task")
    for module in ("handler", "admin", "golive_validators", "golive/__init__", "golive/app", "fastjsonschema/__init__",
                   "jwt/__init__"):
        folder_name, _, stem = module.rpartition("/")
        assert f"{folder_name + '/' if folder_name else ''}__pycache__/{stem}.cpython-312.pyc" in names, module
    handler_pyc = (tmp_path / "task" / "__pycache__" / "handler.cpython-312.pyc").read_bytes()
    assert b"/var/task/handler.py" in handler_pyc and b"golive-package-" not in handler_pyc  # reproducible bytes
    sources = [n for n in names if n.endswith(".py")]
    assert f"{len(sources)} modules as Python 3.12 bytecode" in result.stdout
    root = tmp_path / "task"
    for path in [root, *root.rglob("*")]:  # /var/task is read-only on Lambda
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    before = _tree(root)
    try:
        # No -B: root ignores file modes, so any module without valid bytecode would show up as a new .pyc.
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(root), "GOLIVE_METRICS": "off"}
        run = subprocess.run([RUNTIME_PYTHON, "-s", "-v", "-c", LAMBDA_IMPORT], capture_output=True, text=True,
                             cwd=root, env=env, timeout=60)
        after = _tree(root)
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert run.returncode == 0, run.stderr[-2000:]
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 200 and outcome["golive"].startswith(str(root))
    loaded = [line.removeprefix("# code object from ").strip("'") for line in run.stderr.splitlines()
              if line.startswith("# code object from ")]
    from_task_root = [path for path in loaded if path.startswith(str(root))]
    compiled_at_start = [path for path in from_task_root if not path.endswith(".cpython-312.pyc")]
    assert len(from_task_root) >= 20 and compiled_at_start == []
    assert after == before  # nothing written into the task root


def test_without_an_interpreter_of_the_runtimes_python_the_zip_ships_source_and_says_so_once(tmp_path):
    service = copy_service("users_multi", tmp_path)
    toml = service / "golive.toml"
    toml.write_text(toml.read_text().replace('[functions.api]\n', '[functions.api]\nruntime = "python3.13"\n')
                    .replace('[functions.admin]\n', '[functions.admin]\nruntime = "python3.13"\n'))
    (tmp_path / "no-pyenv").mkdir()
    bin_dir = Path(sys.executable).parent
    plain_path = os.pathsep.join((str(bin_dir), "/usr/bin", "/bin"))
    env = {**os.environ, "PATH": plain_path, "PYENV_ROOT": str(tmp_path / "no-pyenv")}
    if any((Path(d) / "python3.13").exists() for d in env["PATH"].split(os.pathsep)) or sys.version_info[:2] == (3, 13):
        pytest.skip("a Python 3.13 interpreter is on the plain PATH here")
    result = golive("package", str(service), "-o", str(tmp_path / "dist"), env=env, timeout=600)
    if result.returncode != 0 and "could not install dependencies" in result.stderr:
        pytest.skip(f"no package index reachable and nothing cached: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    notes = result.stderr.strip().splitlines()
    assert len(notes) == 1 and notes[0].startswith("note: no Python 3.13 interpreter found"), result.stderr
    assert "0 modules as Python 3.13 bytecode" in result.stdout
    with zipfile.ZipFile(tmp_path / "dist" / "usersmulti.zip") as archive:
        assert not any(n.endswith(".pyc") for n in archive.namelist())
        assert "golive/app.py" in archive.namelist()


def test_a_package_python_that_is_not_the_runtimes_version_is_one_clear_line(tmp_path):
    service = copy_service("users_multi", tmp_path)
    toml = service / "golive.toml"
    toml.write_text(toml.read_text() + f'\n[package]\npython = "{Path(sys.executable).as_posix()}"\n')
    if sys.version_info[:2] == (3, 12):
        pytest.skip("this interpreter is the runtime's Python")
    result = golive("package", str(service), "-o", str(tmp_path / "dist"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "[package] python" in result.stderr and "is not a Python 3.12 interpreter" in result.stderr
    assert not (tmp_path / "dist").exists()
