"""Bytecode for the package: find an interpreter of the Lambda runtime's Python and compile the staged tree with it.

Lambda's task root is read-only, so a zip without `__pycache__` compiles every module it imports on every cold
start (about 4x the import time of the same code with bytecode). The `.pyc` files must come from the runtime's
own Python version (the magic number and the `cpython-3XY` tag must match) and use hash-based invalidation:
zip timestamps are fixed, so timestamp-checked bytecode would be judged stale or, worse, trusted wrongly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The interpreter prints its version and its bytecode tag, so a shim that points nowhere (pyenv's, when the
# version is not enabled) or a python3.12 that is really something else is never trusted.
TASK_ROOT = "/var/task"  # where Lambda unzips a function's package
_PROBE = "import sys; print('%d.%d' % sys.version_info[:2], sys.implementation.cache_tag)"


@dataclass
class Bytecode:
    python: str  # "3.12"
    interpreter: str | None  # the interpreter that compiled, or None when none was found
    files: int  # .pyc written
    failed: int  # .py files the interpreter could not compile (shipped as source only)

    @property
    def tag(self) -> str:
        return "cpython-" + self.python.replace(".", "")


def _probe(candidate: str) -> tuple[str, str] | None:
    try:
        result = subprocess.run([candidate, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = result.stdout.split()
    return (parts[0], parts[1]) if result.returncode == 0 and len(parts) == 2 else None


def _pyenv_candidates(python: str) -> list[str]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    versions = root / "versions"
    if not versions.is_dir():
        return []
    found = sorted(versions.glob(f"{python}.*/bin/python{python}"), reverse=True)  # newest patch release first
    return [str(path) for path in found]


def _uv_candidate(python: str) -> list[str]:
    uv = shutil.which("uv")
    if uv is None:
        return []
    try:
        result = subprocess.run([uv, "python", "find", "--no-project", python], capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [result.stdout.strip()] if result.returncode == 0 and result.stdout.strip() else []


def _candidates(python: str) -> Iterator[str]:
    on_path = shutil.which(f"python{python}")
    if on_path:
        yield on_path
    yield from _pyenv_candidates(python)
    yield from _uv_candidate(python)  # last: it may take a moment


def find_interpreter(python: str, configured: str | None = None) -> str | None:
    """An interpreter of Python `python` ("3.12"): [package] python, this one, PATH, pyenv, then uv's."""
    if configured:
        probed = _probe(configured)
        return configured if probed is not None and probed[0] == python else None
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == python:
        return sys.executable
    for candidate in _candidates(python):
        probed = _probe(candidate)
        if probed is not None and probed[0] == python:
            return candidate
    return None


def compile_tree(staging: Path, python: str, interpreter: str) -> Bytecode:
    """`compileall` every .py under staging with `interpreter`, unchecked-hash, into `__pycache__` beside it."""
    tag = "cpython-" + python.replace(".", "")
    sources = [p for p in staging.rglob("*.py") if "__pycache__" not in p.parts]
    # -j 0: one worker per CPU. A dependency may ship files its Python cannot compile (templates, old test
    # files); compileall reports them and goes on, and those stay source only, exactly as before.
    # -s/-p: the file names recorded in the bytecode are where Lambda unzips the package (/var/task), not this
    # build's temporary folder, so the same inputs give the same .pyc bytes (the zip stays reproducible).
    subprocess.run([interpreter, "-I", "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
                    "-s", str(staging), "-p", TASK_ROOT, str(staging)], capture_output=True, text=True)
    compiled = {p.parent.parent / (p.name.split(".", 1)[0] + ".py") for p in staging.rglob(f"__pycache__/*.{tag}.pyc")}
    return Bytecode(python, interpreter, len(compiled), sum(1 for s in sources if s not in compiled))
