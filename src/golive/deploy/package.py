"""`golive package`'s engine: the service, golive and its dependencies for Lambda's architecture in one zip, with the
route schemas precompiled to golive_validators.py so no function compiles a schema at cold start."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from golive.deploy.bytecode import Bytecode, compile_tree, find_interpreter
from golive.deploy.service import SKIP_DIRS, Service
from golive.service.config import ConfigError, ServiceConfig

PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
RUNTIME_DEPENDENCIES = ["fastjsonschema>=2.21", "pyjwt>=2.8"]
CRYPTO_DEPENDENCY = "cryptography>=42"  # RS256/ES256 tokens (JWKS); HS256 needs none
DEFAULT_EXCLUDES = ["golive.toml", "conftest.py", "locustfile*.py", "*.md", "Makefile", "requirements*.txt",
                    "*.pyc", ".env*", "*.zip",  # golive.toml may hold the dev secret: it never ships
                    # generated beside the service, and local tooling: sample events may hold dev tokens
                    "template.yaml", "template.yml", "template.json", "samconfig.toml", "openapi.json",
                    "openapi.yaml", "openapi.yml", "events/*", "test_*.py", "*_test.py", "pytest.ini",
                    "pyproject.toml", "setup.cfg", "tox.ini", ".golive/*", ".git*"]
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # same inputs, same zip bytes


class PackageError(ConfigError):
    """The package could not be built; the message says why and what to do."""


@dataclass
class Package:
    path: Path
    size: int  # bytes, zipped
    unzipped: int
    files: int
    dependencies: list[str]
    validators: int  # schemas compiled into golive_validators.py
    bytecode: Bytecode  # .pyc shipped for the runtime's Python (none when no such interpreter was found)


def _target(config: ServiceConfig) -> tuple[str, str]:
    architectures = {f.architecture for f in config.functions.values()}
    runtimes = {f.runtime for f in config.functions.values()}
    if len(architectures) != 1 or len(runtimes) != 1:
        raise PackageError("one zip serves every function: give all [functions.*] the same architecture and runtime")
    architecture, runtime = architectures.pop(), runtimes.pop()
    if architecture not in PLATFORMS:
        raise PackageError(f"architecture {architecture!r} is not arm64 or x86_64")
    if not runtime.startswith("python3."):
        raise PackageError(f"runtime {runtime!r} is not a Python runtime (python3.12 or python3.13)")
    return PLATFORMS[architecture], runtime.removeprefix("python")


def dependencies(config: ServiceConfig) -> list[str]:
    """golive's runtime needs plus the service's requirements file ([package] requirements)."""
    wanted = list(RUNTIME_DEPENDENCIES)
    auth = config.auth
    if auth.get("jwks_url") or auth.get("type") in ("cognito",):
        wanted.append(CRYPTO_DEPENDENCY)
    package = config.raw.get("package") or {}
    requirements = config.root / str(package.get("requirements", "requirements.txt"))
    if requirements.is_file():
        for line in requirements.read_text().splitlines():
            requirement = line.split("#")[0].strip()
            name = re.split(r"[\s\[<>=!~;@]", requirement, maxsplit=1)[0].lower()
            if requirement and not requirement.startswith("-") and name != "golive":  # golive is copied in
                wanted.append(requirement)
    elif package.get("requirements"):
        raise PackageError(f"[package] requirements names {requirements.name}, which does not exist")
    return wanted


def install(requirements: list[str], target: Path, platform: str, python: str) -> None:
    command = [sys.executable, "-m", "pip", "install", "--target", str(target), "--platform", platform,
               "--implementation", "cp", "--python-version", python, "--only-binary=:all:", "--no-compile",
               "--disable-pip-version-check", "--no-warn-script-location", "--quiet", *requirements]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")] or \
            result.stderr.strip().splitlines()[-1:] or ["pip failed"]
        raise PackageError(f"could not install dependencies for {platform} / Python {python}: {errors[-1]} "
                           f"(check the network or the package's wheels; pip's cache makes reruns offline)")


def _excluded(relative: str, patterns: list[str]) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(relative, p) for p in patterns)


def copy_service(root: Path, staging: Path, patterns: list[str]) -> None:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            source = Path(folder) / name
            relative = source.relative_to(root).as_posix()
            if _excluded(relative, patterns):
                continue
            destination = staging / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)


def copy_golive(staging: Path) -> None:
    """golive itself, from the installed package (the dev server's static assets stay behind)."""
    import golive

    source = Path(golive.__file__).parent
    shutil.copytree(source, staging / "golive", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "static"))


def route_schemas(service: Service) -> list[dict]:
    schemas: list[dict] = []
    for route in service.routes:
        r = route.route
        schemas.extend(s for s in (r.body, r.query, r.path_params, r.headers) if s)
        schemas.extend(s for s in r.responses.values() if s)
    return schemas


def write_validators(service: Service, staging: Path) -> int:
    from golive.validation import PRECOMPILED_MODULE, precompile, schema_key

    schemas = route_schemas(service)
    (staging / f"{PRECOMPILED_MODULE}.py").write_text(precompile(schemas))
    return len({schema_key(s) for s in schemas})


def bytecode_interpreter(python: str, settings: dict) -> str | None:
    """The interpreter that compiles the package's bytecode: [package] python, or one found for the runtime."""
    configured = settings.get("python")
    interpreter = find_interpreter(python, str(configured) if configured else None)
    if interpreter is None and configured:
        raise PackageError(f"[package] python = {configured!r} is not a Python {python} interpreter; point it at "
                           f"one (the functions' runtime is python{python}) or remove the setting")
    return interpreter


def write_zip(staging: Path, path: Path) -> tuple[int, int]:
    # Only the bytecode compile_tree wrote is in staging's __pycache__ folders: copies and pip never add any.
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    path.parent.mkdir(parents=True, exist_ok=True)
    unzipped = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for file in files:
            info = zipfile.ZipInfo(file.relative_to(staging).as_posix(), FIXED_TIME)
            info.external_attr = 0o644 << 16  # readable by the Lambda runtime's user
            info.compress_type = zipfile.ZIP_DEFLATED
            data = file.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    return len(files), unzipped


def build_package(config: ServiceConfig, service: Service, output_dir: Path) -> Package:
    platform, python = _target(config)
    settings = config.raw.get("package") or {}
    patterns = DEFAULT_EXCLUDES + [str(p) for p in settings.get("exclude") or []]
    wanted = dependencies(config)
    interpreter = bytecode_interpreter(python, settings)
    with tempfile.TemporaryDirectory(prefix="golive-package-") as temp:
        staging = Path(temp) / "staging"
        staging.mkdir()
        install(wanted, staging, platform, python)
        for leftover in staging.glob("bin"):
            shutil.rmtree(leftover)  # console scripts are useless in Lambda
        copy_golive(staging)
        copy_service(config.root, staging, patterns)
        validators = write_validators(service, staging) if service.routes else 0
        # No interpreter of the runtime's version: source only, as before (the command says so in one line).
        bytecode = compile_tree(staging, python, interpreter) if interpreter else Bytecode(python, None, 0, 0)
        path = output_dir / f"{config.service}.zip"
        count, unzipped = write_zip(staging, path)
    if unzipped > LAMBDA_UNZIPPED_LIMIT:
        raise PackageError(f"{path} unzips to {unzipped / 2**20:.0f} MB, over Lambda's 250 MB; trim requirements "
                           f"or use a container image")
    return Package(path, path.stat().st_size, unzipped, count, wanted, validators, bytecode)
