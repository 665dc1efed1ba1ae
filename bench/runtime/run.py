"""Runtime benchmark: the same POST /users app in golive, Powertools, FastAPI + Mangum, Chalice and a bare handler.

One run measures, side by side on this machine: fresh-process import+init (median of --runs spawns, frameworks
alternated in every round), the first (cold) call, and warm per-invocation time (one process per framework, batches
alternated between frameworks). Every app is checked first (201 with the user echoed, 400 on bad bodies, security
headers, X-Request-ID, one JSON log line per request) so nothing broken is timed. See README.md beside this file.

    .venv/bin/python bench/runtime/run.py [--runs 9] [--invocations 3000] [--json out.json]
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = "powertools"  # ratios are against this framework, as the targets are
TARGET_DELTA_MS = 30.0  # golive import+init above a bare interpreter
TARGET_IMPORT_RATIO = 0.25  # golive import+init (above bare) / Powertools'
TARGET_WARM_RATIO = 0.25  # golive warm median / Powertools'
TARGET_WARM_LOG_RATIO = 0.35  # the same, both apps logging one user line per request


class Framework:
    """One app under test: its module beside this file, the packages it needs and what it does."""

    def __init__(self, name: str, module: str, packages: tuple[str, ...], validation: str, logs: str,
                 metrics: str, precompiled: bool = False, log_user: bool = False, lambda_root: str = "") -> None:
        self.name = name
        self.module = module
        self.packages = packages
        self.validation = validation
        self.logs = logs
        self.metrics = metrics
        # golive only: route schemas compiled to a module beside the app, as `golive package` ships them.
        self.precompiled = precompiled
        # The "-log" rows: the same app also logs one line of its own per created user, with the email in it.
        self.log_user = log_user
        # golive only: the function as `golive package` ships it, unzipped into a task root and imported as Lambda
        # does (no bytecode written), with the zip's .pyc ("bytecode") or with them deleted ("source").
        self.lambda_root = lambda_root
        self.path = str(HERE)  # where its module is imported from (set by main() for the task-root rows)
        self.env: dict[str, str] = {}  # the child environment, set by main()

    @property
    def emits_emf(self) -> bool:
        return self.metrics.startswith("EMF")

    @property
    def warm(self) -> bool:
        """Task-root rows differ from golive-packaged only in how modules load: timed at import, not warm."""
        return not self.lambda_root


def _with_user_log(framework: Framework) -> Framework:
    return Framework(f"{framework.name}-log", framework.module, framework.packages, framework.validation,
                     f"{framework.logs} + one user line", framework.metrics, log_user=True)


FRAMEWORKS = [
    Framework("golive", "golive_app", ("golive", "fastjsonschema"),
              "JSON Schema (request + response)", "JSON access log", "EMF (UserCreated + per-route)"),
    Framework("golive-packaged", "golive_app", ("golive", "fastjsonschema"),
              "JSON Schema, precompiled validators", "JSON access log", "EMF (UserCreated + per-route)",
              precompiled=True),
    Framework("powertools", "powertools_app", ("aws_lambda_powertools", "pydantic", "email_validator"),
              "pydantic via enable_validation (request + response)", "JSON (Logger)", "EMF (Metrics)"),
    Framework("fastapi", "fastapi_app", ("fastapi", "mangum", "pydantic", "email_validator"),
              "pydantic (request + response)", "JSON (stdlib logging)", "no metrics"),
    Framework("chalice", "chalice_app", ("chalice",),
              "hand-written checks (none built in)", "JSON (stdlib logging)", "no metrics"),
    Framework("bare", "bare_app", (),
              "hand-written checks", "print(json.dumps)", "EMF (hand-written)"),
]
FRAMEWORKS[1:1] = [
    Framework("golive-lambda-bytecode", "golive_app", ("golive", "fastjsonschema"),
              "JSON Schema, precompiled validators", "JSON access log", "EMF (UserCreated + per-route)",
              lambda_root="bytecode"),
    Framework("golive-lambda-source", "golive_app", ("golive", "fastjsonschema"),
              "JSON Schema, precompiled validators", "JSON access log", "EMF (UserCreated + per-route)",
              lambda_root="source"),
]
FRAMEWORKS += [_with_user_log(f) for f in FRAMEWORKS
               if f.name in ("golive", "powertools", "fastapi", "chalice", "bare")]
USER_LINE = "user created"

GOOD_USER = {"name": "Ada Lovelace", "email": "ada@example.com", "age": 36}
BAD_BODIES = {
    "unknown field": {**GOOD_USER, "admin": True},
    "empty name": {**GOOD_USER, "name": ""},
    "name too long": {**GOOD_USER, "name": "x" * 101},
    "bad email": {**GOOD_USER, "email": "ada.example.com"},
    "age out of range": {**GOOD_USER, "age": 151},
    "age not an integer": {**GOOD_USER, "age": "36"},
    "missing email": {"name": "Ada Lovelace"},
}
SECURITY_HEADERS = ("strict-transport-security", "x-content-type-options", "x-frame-options",
                    "content-security-policy", "cache-control")

# The cold child: the earliest statement takes the clock, then the app module is imported (which constructs the
# app), then one first call. perf_counter is CLOCK_MONOTONIC on Linux, shared by every process, so the parent's
# spawn time and the child's readings are on one clock.
COLD_CHILD = """\
import time
t0 = time.perf_counter_ns()
import sys
sys.path.insert(0, {path!r})
handler = __import__({module!r}).handler
t1 = time.perf_counter_ns()
sys.path.append({here!r})
import json, os
from worker import LambdaContext
with open({event_file!r}) as f:
    event = json.load(f)
context = LambdaContext("c0ffee00-0000-4000-8000-00000000c01d")
t2 = time.perf_counter_ns()
status = handler(event, context)["statusCode"]
t3 = time.perf_counter_ns()
os.write({fd}, f"{{t0}} {{t1}} {{t2}} {{t3}} {{status}}".encode())
"""
INTERPRETER_CHILD = """\
import time
t0 = time.perf_counter_ns()
import os
os.write({fd}, f"{{t0}}".encode())
"""


class BenchError(Exception):
    """A benchmark that cannot run or an app that does not work; the message says which and why."""


# -- environment ---------------------------------------------------------------------------------------------------
def child_env(pycache: Path) -> dict[str, str]:
    """The same environment for every child: no framework settings inherited, bytecode cached, stdout unbuffered."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("POWERTOOLS_", "GOLIVE_", "AWS_LAMBDA_", "_X_AMZN", "AWS_XRAY", "PYTHON"))
           and k not in ("LOG_LEVEL",)}
    # Bytecode is cached (as a built Lambda package should ship it) in a directory of its own, so the repo and the
    # venv stay untouched whatever PYTHONDONTWRITEBYTECODE the caller has.
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    # Lambda's runtime wraps stdout so every write is flushed; unbuffered stdout costs each framework the same.
    env["PYTHONUNBUFFERED"] = "1"
    env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = "us-east-1"
    return env


def missing_packages(frameworks: list[Framework]) -> list[str]:
    missing = []
    for framework in frameworks:
        for package in framework.packages:
            if importlib.util.find_spec(package) is None:
                missing.append(f"{framework.name} needs {package}")
    return missing


def make_event(body: object, request_id: str) -> dict:
    """A REST API (payload v1) event for POST /users, with the headers a browser behind CloudFront sends."""
    from golive.synth import build_event

    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate, br",
        "CloudFront-Forwarded-Proto": "https",
        "CloudFront-Is-Desktop-Viewer": "true",
        "CloudFront-Viewer-Country": "GB",
        "Content-Type": "application/json",
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) golive-bench/1.0",
        "Via": "2.0 a1b2c3.cloudfront.net (CloudFront)",
        "X-Amzn-Trace-Id": "Root=1-67890abc-0123456789abcdef01234567",
        "X-Forwarded-For": "203.0.113.7, 130.176.0.1",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        "X-Request-ID": request_id,
    }
    return build_event("v1", "POST", "/users", headers=headers, body=raw, source_ip="203.0.113.7")


def write_precompiled(directory: Path) -> None:
    """The golive app's route schemas compiled to code, in the module golive looks for before fastjsonschema."""
    from golive import validation

    sys.path.insert(0, str(HERE))
    try:
        import golive_app
    finally:
        sys.path.remove(str(HERE))
    schemas = [schema for route in golive_app.app.routes
               for schema in (route.body, route.query, route.path_params, route.headers, *route.responses.values())
               if schema]
    (directory / f"{validation.PRECOMPILED_MODULE}.py").write_text(validation.precompile(schemas))


def build_task_roots(directory: Path) -> dict[str, Path]:
    """golive_app.py packaged by `golive package`'s engine for this interpreter's Python, unzipped twice: as shipped
    (with its .pyc) and with every __pycache__ deleted (what a zip without bytecode gives Lambda)."""
    from golive.deploy.package import PackageError, build_package
    from golive.deploy.service import load_service
    from golive.service.config import load_config

    service = directory / "service"
    service.mkdir(parents=True)
    shutil.copy(HERE / "golive_app.py", service)
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    architecture = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    (service / "golive.toml").write_text(f'service = "users"\n\n[functions.api]\nhandler = "golive_app.handler"\n'
                                         f'runtime = "python{version}"\narchitecture = "{architecture}"\n')
    config = load_config(service)
    try:
        package = build_package(config, load_service(config), directory / "dist")
    except PackageError as exc:
        raise BenchError(f"golive package failed: {exc}") from exc
    if package.bytecode.files == 0:
        raise BenchError("golive package shipped no bytecode for this interpreter")
    return unzip_task_roots(package.path, directory)


def unzip_task_roots(zip_path: Path, directory: Path) -> dict[str, Path]:
    """The zip unzipped twice under directory, read-only as /var/task is: "bytecode" as shipped, "source" with
    every __pycache__ deleted."""
    roots = {}
    for kind in ("bytecode", "source"):
        root = directory / kind
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root)
        if kind == "source":
            for cache in sorted(root.rglob("__pycache__"), reverse=True):
                shutil.rmtree(cache)
        for path in [root, *root.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        roots[kind] = root
    return roots


def verify_task_root(framework: Framework) -> dict:
    """The task-root rows load golive and the app from the unzipped package, write nothing there, and load every
    module from the shipped bytecode (or, for the source row, compile every one)."""
    root = Path(framework.path)
    before = sorted(str(p) for p in root.rglob("*"))
    code = "import golive_app, golive; print(golive.__file__)"
    proc = subprocess.run([sys.executable, "-v", "-c", code], env=framework.env, cwd=root, capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise BenchError(f"{framework.name}: import failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    loaded = [line.removeprefix("# code object from ").strip("'") for line in proc.stderr.splitlines()
              if line.startswith("# code object from ")]
    mine = [path for path in loaded if path.startswith(str(root))]
    from_bytecode = [path for path in mine if path.endswith(".pyc")]
    failures = []
    if not proc.stdout.strip().startswith(str(root)):
        failures.append(f"golive came from {proc.stdout.strip()}, not the task root")
    if sorted(str(p) for p in root.rglob("*")) != before:
        failures.append("files were written into the task root")
    expected = len(mine) if framework.lambda_root == "bytecode" else 0
    if len(from_bytecode) != expected or not mine:
        failures.append(f"{len(from_bytecode)} of {len(mine)} modules came from bytecode, expected {expected}")
    if failures:
        raise BenchError(f"{framework.name}: " + "; ".join(failures))
    return {"modules_from_task_root": len(mine), "from_bytecode": len(from_bytecode)}


# -- verification --------------------------------------------------------------------------------------------------
def _headers(result: dict) -> dict[str, str]:
    merged = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        merged.setdefault(name.lower(), values[-1] if values else "")
    return merged


def _body(result: dict) -> object:
    text = result.get("body") or ""
    if result.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    try:
        return json.loads(text)
    except ValueError:
        return text


def verify(framework: Framework) -> dict:
    """Run the app's acceptance checks in a fresh process; raise BenchError listing every failure."""
    events = {"good": make_event(GOOD_USER, "bench-good-0001")}
    for index, body in enumerate(BAD_BODIES.values()):
        events[f"bad{index}"] = make_event(body, f"bench-bad-{index:04d}")
    events["not json"] = make_event("{not json", "bench-bad-json")
    commands = [{"op": "load", "events": events}]
    commands += [{"op": "call", "event": name, "request_id": f"req-{n}"} for n, name in enumerate(events)]
    commands.append({"op": "quit"})
    with tempfile.TemporaryFile("w+") as answers:
        proc = subprocess.run(
            [sys.executable, str(HERE / "worker.py"), framework.module, str(answers.fileno()), framework.path],
            input="".join(json.dumps(c) + "\n" for c in commands), capture_output=True, text=True, env=framework.env,
            cwd=HERE, pass_fds=(answers.fileno(),), timeout=120)
        answers.seek(0)
        replies = [json.loads(line) for line in answers if line.strip()]
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no error output)"]
        raise BenchError(f"{framework.name}: the app crashed: {tail[0]}")
    results = dict(zip(events, (reply["result"] for reply in replies[1:]), strict=True))
    failures: list[str] = []
    good = results["good"]
    body = _body(good)
    headers = _headers(good)
    if good["statusCode"] != 201:
        failures.append(f"good body answered {good['statusCode']}, expected 201: {body}")
    elif not isinstance(body, dict) or any(body.get(k) != v for k, v in GOOD_USER.items()) or "id" not in body:
        failures.append(f"the user was not echoed back: {body}")
    for name, result in results.items():
        result_headers = _headers(result)
        if name != "good" and result["statusCode"] != 400:
            label = name if name == "not json" else list(BAD_BODIES)[int(name[3:])]
            failures.append(f"{label}: answered {result['statusCode']}, expected 400")
        expected_id = events[name]["headers"]["X-Request-ID"]
        if result_headers.get("x-request-id") != expected_id:
            failures.append(f"{name}: X-Request-ID not echoed (got {result_headers.get('x-request-id')!r})")
        absent = [h for h in SECURITY_HEADERS if h not in result_headers]
        if absent:
            failures.append(f"{name}: security headers missing: {', '.join(absent)}")
    records = []
    for line in proc.stdout.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            failures.append(f"stdout line is not JSON: {line[:120]}")
    logs = [r for r in records if isinstance(r, dict) and "_aws" not in r]
    emf = [r for r in records if isinstance(r, dict) and "_aws" in r]
    user_lines = [r for r in logs if r.get("message") == USER_LINE]
    if framework.log_user and (len(user_lines) != 1 or "@example.com" not in str(user_lines[0].get("email"))):
        failures.append(f"expected one {USER_LINE!r} line with the email in it, got {user_lines}")
    elif not framework.log_user and user_lines:
        failures.append(f"unexpected {USER_LINE!r} lines: {user_lines}")
    for name, event in events.items():
        expected_id = event["headers"]["X-Request-ID"]
        lines = [r for r in logs if r.get("correlation_id") == expected_id and r.get("message") != USER_LINE]
        if len(lines) != 1:
            failures.append(f"{name}: expected one JSON log line with correlation_id {expected_id}, got {len(lines)}")
    user_created = [r for r in emf if "UserCreated" in r]
    if framework.emits_emf and len(user_created) != 1:
        failures.append(f"expected one EMF document with UserCreated, got {len(user_created)}")
    if failures:
        raise BenchError(f"{framework.name}: " + "; ".join(failures))
    return {"headers": sorted(headers), "log_lines": len(logs), "emf_documents": len(emf)}


# -- import+init ---------------------------------------------------------------------------------------------------
def _spawn(template: str, env: dict[str, str], cwd: str = str(HERE), **fields: str) -> tuple[int, list[int], int]:
    """Run python -c (template filled in); returns (spawn ns, the numbers the child wrote on its pipe, exit ns)."""
    read_fd, write_fd = os.pipe()
    try:
        code = template.format(fd=write_fd, **fields)
        spawn = time.perf_counter_ns()
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(write_fd,))
        os.close(write_fd)
        write_fd = -1
        with os.fdopen(read_fd, "rb") as reader:
            read_fd = -1
            payload = reader.read().decode()
        _, stderr = proc.communicate(timeout=120)
        ended = time.perf_counter_ns()
    finally:
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
    if proc.returncode != 0 or not payload:
        tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(no error output)"]
        raise BenchError(f"a fresh process failed: {tail[0]}")
    return spawn, [int(x) for x in payload.split()], ended


def measure_cold(frameworks: list[Framework], runs: int, env: dict[str, str], event_file: Path,
                 progress: bool) -> dict[str, dict[str, list[float]]]:
    """Fresh processes, `runs` rounds, the order rotated each round so drift spreads over every framework."""
    entries: list[str] = ["python -c pass", "interpreter", *(f.name for f in frameworks)]
    by_name = {f.name: f for f in frameworks}
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in entries}
    for round_index in range(runs):
        order = entries[round_index % len(entries):] + entries[:round_index % len(entries)]
        for name in order:
            into = samples[name]
            if name == "python -c pass":
                start = time.perf_counter_ns()
                subprocess.run([sys.executable, "-c", "pass"], env=env, cwd=HERE, check=True)
                into.setdefault("wall_ms", []).append((time.perf_counter_ns() - start) / 1e6)
            elif name == "interpreter":
                spawn, (t0,), ended = _spawn(INTERPRETER_CHILD, env)
                into.setdefault("ready_ms", []).append((t0 - spawn) / 1e6)
                into.setdefault("wall_ms", []).append((ended - spawn) / 1e6)
            else:
                framework = by_name[name]
                spawn, (t0, t1, t2, t3, status), ended = _spawn(
                    COLD_CHILD, framework.env, cwd=framework.path, path=framework.path, here=str(HERE),
                    module=framework.module, event_file=str(event_file))
                if status != 201:
                    raise BenchError(f"{name}: the first call in a fresh process answered {status}, expected 201")
                into.setdefault("ready_ms", []).append((t1 - spawn) / 1e6)
                into.setdefault("import_ms", []).append((t1 - t0) / 1e6)
                into.setdefault("first_call_ms", []).append((t3 - t2) / 1e6)
                into.setdefault("wall_ms", []).append((ended - spawn) / 1e6)
        if progress:
            print(f"  import+init round {round_index + 1}/{runs} done", file=sys.stderr)
    return samples


# -- warm invocations ----------------------------------------------------------------------------------------------
class Worker:
    """A long-lived process holding one framework's app, driven batch by batch."""

    def __init__(self, framework: Framework, stderr_file, cpu: int | None) -> None:
        self.framework = framework
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen([sys.executable, str(HERE / "worker.py"), framework.module, str(write_fd)],
                                     env=framework.env, cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=stderr_file, pass_fds=(write_fd,), text=True,
                                     preexec_fn=None if cpu is None else lambda: os.sched_setaffinity(0, {cpu}))
        os.close(write_fd)
        self.answers = os.fdopen(read_fd, "r")

    def ask(self, command: dict) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = self.answers.readline()
        if not line:
            raise BenchError(f"{self.framework.name}: the worker process died (exit {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        try:
            if self.proc.poll() is None and self.proc.stdin is not None:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.answers.close()


def measure_warm(frameworks: list[Framework], invocations: int, warmup: int, rounds: int, cpu: int | None,
                 progress: bool) -> dict[str, list[int]]:
    """Per-call ns for each framework: warm-up first, then `rounds` batches per framework in rotating order."""
    event = make_event(GOOD_USER, "bench-warm-0001")
    per_round = math.ceil(invocations / rounds)
    samples: dict[str, list[int]] = {f.name: [] for f in frameworks}
    with tempfile.TemporaryFile("w+") as stderr_file:
        workers = [Worker(f, stderr_file, cpu) for f in frameworks]
        try:
            for worker in workers:
                worker.ask({"op": "load", "events": {"warm": event}})
                reply = worker.ask({"op": "time", "event": "warm", "count": warmup})
                if reply["broken"]:
                    raise BenchError(f"{worker.framework.name}: {reply['broken']} warm-up calls did not answer 201")
            for round_index in range(rounds):
                shift = round_index % len(workers)
                for worker in workers[shift:] + workers[:shift]:
                    reply = worker.ask({"op": "time", "event": "warm", "count": per_round})
                    if reply["broken"]:
                        raise BenchError(f"{worker.framework.name}: {reply['broken']} timed calls did not answer 201")
                    samples[worker.framework.name].extend(reply["ns"])
                if progress:
                    print(f"  warm round {round_index + 1}/{rounds} done", file=sys.stderr)
        except BenchError:
            stderr_file.seek(0)
            tail = stderr_file.read().strip().splitlines()[-3:]
            if tail:
                print("\n".join(tail), file=sys.stderr)
            raise
        finally:
            for worker in workers:
                worker.close()
    return samples


# -- report --------------------------------------------------------------------------------------------------------
def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summarise(frameworks: list[Framework], cold: dict, warm: dict, verified: dict) -> dict:
    interpreter_ms = statistics.median(cold["interpreter"]["ready_ms"])
    rows = []
    for framework in frameworks:
        c = cold[framework.name]
        ready = statistics.median(c["ready_ms"])
        ns = warm.get(framework.name) or [0]  # task-root rows: import only (warm is golive-packaged's)
        rows.append({
            "framework": framework.name,
            "validation": framework.validation,
            "logs": framework.logs,
            "metrics": framework.metrics,
            "import_init_ms": round(ready, 2),
            "delta_vs_interpreter_ms": round(ready - interpreter_ms, 2),
            "in_process_import_ms": round(statistics.median(c["import_ms"]), 2),
            "first_call_ms": round(statistics.median(c["first_call_ms"]), 3),
            "cold_total_ms": round(ready + statistics.median(c["first_call_ms"]), 2),
            "warm_median_us": round(statistics.median(ns) / 1000, 2),
            "warm_p99_us": round(percentile(ns, 0.99) / 1000, 2),
            "warm_samples": len(warm.get(framework.name) or []),
            "cold_samples": len(c["ready_ms"]),
            "verified": verified[framework.name],
        })
    by_name = {row["framework"]: row for row in rows}
    reference = by_name.get(REFERENCE)
    for row in rows:
        reference = by_name.get(REFERENCE + "-log" if row["framework"].endswith("-log") else REFERENCE)
        if reference is not None:
            row["delta_ratio_vs_powertools"] = round(row["delta_vs_interpreter_ms"]
                                                     / reference["delta_vs_interpreter_ms"], 3)
            row["import_init_ratio_vs_powertools"] = round(row["import_init_ms"] / reference["import_init_ms"], 3)
            row["warm_ratio_vs_powertools"] = round(row["warm_median_us"] / reference["warm_median_us"], 3)
    reference = by_name.get(REFERENCE)
    targets = []
    golive = by_name.get("golive")
    if golive is not None:
        targets.append({"target": f"golive import+init <= {TARGET_DELTA_MS:g} ms above a bare interpreter",
                        "measured": f"{golive['delta_vs_interpreter_ms']:.1f} ms",
                        "pass": golive["delta_vs_interpreter_ms"] <= TARGET_DELTA_MS})
        if reference is not None:
            targets.append({"target": f"golive import+init <= {TARGET_IMPORT_RATIO}x Powertools (above interpreter)",
                            "measured": f"{golive['delta_ratio_vs_powertools']:.3f}x",
                            "pass": golive["delta_ratio_vs_powertools"] <= TARGET_IMPORT_RATIO})
            targets.append({"target": f"golive warm invocation <= {TARGET_WARM_RATIO}x Powertools (median)",
                            "measured": f"{golive['warm_ratio_vs_powertools']:.3f}x",
                            "pass": golive["warm_ratio_vs_powertools"] <= TARGET_WARM_RATIO})
    logging = by_name.get("golive-log")
    if logging is not None and "warm_ratio_vs_powertools" in logging:
        targets.append({"target": f"golive-log warm invocation <= {TARGET_WARM_LOG_RATIO}x Powertools-log (median)",
                        "measured": f"{logging['warm_ratio_vs_powertools']:.3f}x",
                        "pass": logging["warm_ratio_vs_powertools"] <= TARGET_WARM_LOG_RATIO})
    return {
        "date": time.strftime("%Y-%m-%d"),
        "golive_source": golive_source(),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "load_average": list(os.getloadavg())},
        "baseline": {
            "interpreter_ready_ms": round(interpreter_ms, 2),
            "python_c_pass_wall_ms": round(statistics.median(cold["python -c pass"]["wall_ms"]), 2),
        },
        "rows": rows,
        "targets": targets,
    }


def golive_source() -> str:
    """The commit measured, and whether src/ had uncommitted changes (read-only git commands)."""
    root = HERE.parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}{' + uncommitted changes in src/' if dirty else ''}"


def render(summary: dict) -> str:
    rows = summary["rows"]
    ratio = "x PT"
    lines = [
        f"| framework | import+init ms | Δ vs bare interpreter ms | in-process import ms | {ratio} (Δ) "
        f"| first call ms | warm median µs | warm p99 µs | {ratio} (warm) | validation | logs | metrics |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for row in rows:
        warm = "| — | — | — "  # task-root rows: import only
        if row["warm_samples"]:
            warm = (f"| {row['warm_median_us']:.1f} | {row['warm_p99_us']:.1f} "
                    f"| {row.get('warm_ratio_vs_powertools', float('nan')):.2f} ")
        lines.append(
            f"| {row['framework']} | {row['import_init_ms']:.1f} | {row['delta_vs_interpreter_ms']:.1f} "
            f"| {row['in_process_import_ms']:.1f} "
            f"| {row.get('delta_ratio_vs_powertools', float('nan')):.2f} | {row['first_call_ms']:.2f} "
            f"{warm}| {row['validation']} | {row['logs']} | {row['metrics']} |")
    base = summary["baseline"]
    lines.append("")
    lines.append(f"{summary['date']}, golive {summary['golive_source']}, Python {summary['machine']['python']}, "
                 f"{summary['machine']['cpus']} CPUs, load average {summary['machine']['load_average'][0]:.2f}")
    lines.append(f"bare interpreter (spawn to first statement): {base['interpreter_ready_ms']:.1f} ms median; "
                 f"`python -c pass` wall time: {base['python_c_pass_wall_ms']:.1f} ms median")
    for target in summary["targets"]:
        lines.append(f"{'PASS' if target['pass'] else 'FAIL'}  {target['target']}: {target['measured']}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="golive runtime benchmark: import+init and warm invocation, "
                                                 "side by side with Powertools, FastAPI + Mangum, Chalice, bare.")
    parser.add_argument("--runs", type=int, default=9, help="fresh processes per framework (median; >= 7)")
    parser.add_argument("--invocations", type=int, default=3000, help="timed warm calls per framework (>= 2000)")
    parser.add_argument("--warmup", type=int, default=300, help="untimed warm calls per framework first")
    parser.add_argument("--rounds", type=int, default=30, help="warm batches per framework, alternated")
    parser.add_argument("--frameworks", default=",".join(f.name for f in FRAMEWORKS),
                        help="comma-separated subset (default: all)")
    parser.add_argument("--cpu", type=int, metavar="N",
                        help="pin the warm-invocation workers to this CPU (steadier on a busy machine; "
                             "fresh-process spawns stay unpinned, pinning them slows process start-up)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.invocations < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--runs, --invocations and --rounds must be positive, --warmup not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = [name.strip() for name in args.frameworks.split(",") if name.strip()]
    known = {f.name: f for f in FRAMEWORKS}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        print(f"error: unknown framework {', '.join(unknown)}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    frameworks = [known[name] for name in wanted]
    missing = missing_packages(frameworks)
    if missing:
        print(f"error: {'; '.join(missing)}: install the peers with `pip install -e .[bench]` "
              "(and email-validator for pydantic's EmailStr)", file=sys.stderr)
        return 2
    if time.get_clock_info("perf_counter").implementation != "clock_gettime(CLOCK_MONOTONIC)":
        print("warning: perf_counter is not CLOCK_MONOTONIC here; spawn-to-ready times may be off", file=sys.stderr)
    progress = not args.quiet
    if args.cpu is not None and args.cpu not in os.sched_getaffinity(0):
        print(f"error: --cpu {args.cpu} is not one of this process's CPUs {sorted(os.sched_getaffinity(0))}",
              file=sys.stderr)
        return 2
    pycache = Path(tempfile.gettempdir()) / f"golive-bench-pycache-{platform.python_version()}"
    env = child_env(pycache)
    packaged_dir = Path(tempfile.mkdtemp(prefix="golive-bench-packaged-"))
    try:
        roots = build_task_roots(packaged_dir / "lambda") if any(f.lambda_root for f in frameworks) else {}
        if roots and progress:
            print("  golive package: built and unzipped twice (with and without its .pyc)", file=sys.stderr)
        for framework in frameworks:
            framework.env = env
            if framework.precompiled:
                write_precompiled(packaged_dir)
                framework.env = {**env, "PYTHONPATH": str(packaged_dir)}
            if framework.log_user:
                framework.env = {**env, "BENCH_LOG_USER": "1"}
            if framework.lambda_root:
                # As on Lambda: the modules come from the task root and no bytecode is written anywhere (the
                # interpreter's own standard library keeps its installed bytecode, as Lambda's does).
                framework.path = str(roots[framework.lambda_root])
                framework.env = {k: v for k, v in env.items() if k != "PYTHONPYCACHEPREFIX"}
                framework.env["PYTHONDONTWRITEBYTECODE"] = "1"
        verified = {}
        for framework in frameworks:
            verified[framework.name] = verify(framework)  # also fills the bytecode cache before timing
            if framework.lambda_root:
                verified[framework.name]["task_root"] = verify_task_root(framework)
            if progress:
                print(f"  {framework.name}: works (201, user echoed, 400 on {len(BAD_BODIES) + 1} bad bodies, "
                      "headers, log lines)", file=sys.stderr)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(make_event(GOOD_USER, "bench-cold-0001"), handle)
            event_file = Path(handle.name)
        try:
            cold = measure_cold(frameworks, args.runs, env, event_file, progress)
        finally:
            event_file.unlink()
        warm = measure_warm([f for f in frameworks if f.warm], args.invocations, args.warmup, args.rounds, args.cpu,
                            progress)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for path in [packaged_dir, *packaged_dir.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)  # the task roots were made read-only
        shutil.rmtree(packaged_dir)
    summary = summarise(frameworks, cold, warm, verified)
    summary["settings"] = {"runs": args.runs, "invocations": len(next(iter(warm.values()), [])), "warmup": args.warmup,
                           "rounds": args.rounds, "cpu": args.cpu}
    print(render(summary))
    if args.json:
        summary["raw"] = {"cold": cold}
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
