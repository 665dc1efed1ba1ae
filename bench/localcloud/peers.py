"""How each peer of the local-cloud benchmark is started: golive's local cloud, serverless-offline and uvicorn, all
on loopback, with environments that keep them off AWS and out of the user's home and data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from processes import HOST, Peer, Processes, command_lines, descendants, free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SERVICE = HERE / "service"  # handler.py, golive.toml and serverless.yml: one handler for every peer
USERS = ROOT / "examples" / "users"
SERVERLESS = HERE / "node_modules" / ".bin" / "serverless"
HELLO = "/hello"
EXPECTED = {"ok": True}

GOLIVE, SLS, UVICORN = "golive", "serverless-offline", "uvicorn"
PEERS = (GOLIVE, SLS, UVICORN)

# Never AWS: dummy credentials and region, no instance-metadata lookups, no Serverless telemetry or notifications.
OFFLINE_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIABENCHMARKDUMMY00",
    "AWS_SECRET_ACCESS_KEY": "benchmark-dummy-secret",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "SLS_TELEMETRY_DISABLED": "1",
    "SLS_TRACKING_DISABLED": "1",
    "SLS_NOTIFICATIONS_MODE": "off",
    "SLS_DEPRECATION_DISABLE": "*",
    "SLS_INTERACTIVE_SETUP_DISABLE": "1",
    "NO_UPDATE_NOTIFIER": "1",
}
# Also dropped: the caller's Python output and bytecode settings. PYTHONUNBUFFERED would turn every log line of
# golive dev into its own write to the log file, and PYTHONDONTWRITEBYTECODE would make every cold start compile the
# service's modules again; a developer's machine has neither by default.
_DROPPED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_LAMBDA_", "_X_AMZN", "GOLIVE_", "PYTHONUNBUFFERED",
            "PYTHONDONTWRITEBYTECODE")


def clean_python_environment() -> None:
    """Drop the output and bytecode settings from this process's environment too (profile and what-if scripts run
    the cloud in-process; its workers inherit this environment)."""
    for name in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"):
        os.environ.pop(name, None)


def base_environment(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
    env.update(OFFLINE_ENV)
    env["GOLIVE_STATE_DIR"] = str(scratch / "state")  # the user's .golive data is never touched
    return env


def golive_command(mode: str, service_dir: Path, port: int) -> list[str]:
    """`golive dev DIR --port N` (`mode` is kept for callers that still name it: golive dev is the only entry)."""
    script = Path(sys.executable).with_name("golive")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "golive.cli"]
    return [*head, "dev", str(service_dir), "--port", str(port)]


class Launcher:
    """Starts any peer on a fresh port; holds what every start shares (scratch dir, environments, golive mode)."""

    def __init__(self, processes: Processes, scratch: Path, golive_mode: str) -> None:
        self.processes = processes
        self.scratch = scratch
        self.golive_mode = golive_mode
        self.env = base_environment(scratch)
        (scratch / "state").mkdir(exist_ok=True)
        home = scratch / "home"  # serverless writes caches under $HOME/.serverless: keep them out of the real one
        home.mkdir(exist_ok=True)
        self.sls_env = dict(self.env, HOME=str(home), VIRTUAL_ENV=sys.prefix)  # sls runs the venv's python3
        self.users_dir = self._copy_users()

    def _copy_users(self) -> Path:
        """examples/users copied into the scratch dir: the cloud gives functions GOLIVE_STATE_DIR=SERVICE/.golive,
        so a copy is what keeps the example's own database untouched."""
        target = self.scratch / "users"
        shutil.copytree(USERS, target, ignore=shutil.ignore_patterns(".golive", "__pycache__", "tests", "*.pyc"))
        return target

    def start(self, peer: str, *, users: bool = False) -> Peer:
        port = free_port()
        if peer == GOLIVE:
            service = self.users_dir if users else SERVICE
            name = "golive users" if users else "golive"
            return self.processes.start(name, golive_command(self.golive_mode, service, port), cwd=ROOT,
                                        env=self.env, port=port)
        if peer == SLS:
            argv = [str(SERVERLESS), "offline", "--host", HOST, "--httpPort", str(port),
                    "--lambdaPort", str(free_port())]
            return self.processes.start(peer, argv, cwd=SERVICE, env=self.sls_env, port=port)
        if peer == UVICORN:
            argv = [sys.executable, "-m", "uvicorn", "asgi_app:app", "--app-dir", str(HERE), "--host", HOST,
                    "--port", str(port), "--no-access-log", "--log-level", "warning"]
            return self.processes.start(peer, argv, cwd=HERE, env=self.env, port=port)
        raise ValueError(peer)


def golive_dev_runs_cloud(processes: Processes, scratch: Path) -> bool:
    """Does `golive dev` serve through the local cloud yet? Start it, send one request and look for a Lambda worker
    process below it (the in-process dev server has none)."""
    launcher_env = base_environment(scratch)
    port = free_port()
    peer = processes.start("golive dev probe", golive_command("dev", SERVICE, port), cwd=ROOT, env=launcher_env,
                           port=port)
    try:
        peer.wait_listening(60)
        import http.client

        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        connection.request("GET", HELLO)
        connection.getresponse().read()
        connection.close()
        time.sleep(0.1)
        return any("golive/local/worker.py" in line or "awslambdaric" in line
                   for line in command_lines(descendants(peer.process.pid)))
    except Exception:
        return False
    finally:
        processes.stop(peer)


def versions() -> dict[str, str]:
    """Versions of everything measured, for the record."""
    found = {"python": sys.version.split()[0]}
    for package in ("serverless", "serverless-offline"):
        try:
            found[package] = json.loads((HERE / "node_modules" / package / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            found[package] = "missing"
    for name, argv in (("node", ["node", "--version"]), ("wrk", ["wrk", "--version"])):
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            words = (result.stdout or result.stderr).split()
            found[name] = words[1] if name == "wrk" else words[0]  # "wrk 4.1.0 [epoll] ...", "v20.1.0"
        except (OSError, IndexError, subprocess.TimeoutExpired):
            found[name] = "missing"
    try:
        import uvicorn

        found["uvicorn"] = uvicorn.__version__
    except ImportError:
        found["uvicorn"] = "missing"
    try:
        found["golive commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return found
