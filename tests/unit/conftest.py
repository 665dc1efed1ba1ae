"""Shared helpers for the runtime's behaviour tests: AWS-shaped event fixtures, subprocess runs, clean telemetry."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from golive.observability.logging import logger
from golive.observability.metrics import metrics
from golive.observability.tracing import tracer

EVENTS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "events"
SRC_DIR = Path(__file__).resolve().parents[2] / "src"
_EVENT_CACHE: dict[str, dict[str, Any]] = {}

# Environment that changes what the runtime emits; each test starts without it.
_RUNTIME_ENV = ("AWS_XRAY_DAEMON_ADDRESS", "_X_AMZN_TRACE_ID", "GOLIVE_TRACING", "GOLIVE_METRICS")


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of one AWS-documented event from tests/fixtures/events (name without .json)."""
    if name not in _EVENT_CACHE:
        _EVENT_CACHE[name] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return copy.deepcopy(_EVENT_CACHE[name])


def run_python(code: str, *, env: dict[str, str] | None = None, cwd: Path | None = None,
               extra_path: list[Path] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh interpreter (the venv's) with golive importable; returns the finished process."""
    paths = [str(p) for p in (extra_path or [])] + [str(SRC_DIR)]
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "LOG_LEVEL", "AWS_XRAY"))}
    child_env["PYTHONPATH"] = os.pathsep.join(paths)
    child_env.update(env or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env,
                          cwd=str(cwd) if cwd else None, timeout=timeout, check=False)


@pytest.fixture(autouse=True)
def clean_telemetry(monkeypatch: pytest.MonkeyPatch):
    """Each test sees the process-wide logger, metrics and tracer as a new Lambda environment would."""
    for name in _RUNTIME_ENV:
        monkeypatch.delenv(name, raising=False)
    saved_logger = {k: copy.copy(getattr(logger, k)) for k in
                    ("service", "function", "base_level", "level", "sample_rate", "redaction", "stream",
                     "persistent")}
    saved_metrics = {k: getattr(metrics, k) for k in ("namespace", "service", "disabled", "stream")}
    saved_tracer = {"service": tracer.service}
    logger.end_invocation()
    metrics._reset()
    yield
    for key, value in saved_logger.items():
        setattr(logger, key, value)
    for key, value in saved_metrics.items():
        setattr(metrics, key, value)
    tracer.service = saved_tracer["service"]
    tracer.root = None
    tracer._stack = []
    logger.end_invocation()
    metrics._reset()


@pytest.fixture(name="aws_event")
def aws_event_fixture():
    """load_event as a fixture, aws_event("rest_v1"); tests never import conftest (there are several)."""
    return load_event


@pytest.fixture(name="run_python")
def run_python_fixture():
    """run_python as a fixture."""
    return run_python
