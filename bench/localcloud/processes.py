"""The processes one benchmark run starts: each in its own session with its output in a log file, stopped with every
descendant it left behind, also on Ctrl-C or failure."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

HOST = "127.0.0.1"


class PeerFailed(RuntimeError):
    """A peer did not start, exited early or answered wrongly; the message says which and shows its log."""


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat: with the pid it names one process, so a reused pid is never killed."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


def descendants(pid: int) -> list[tuple[int, str]]:
    """Every process below pid, as (pid, start time)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[tuple[int, str]] = []
    stack = list(children.get(pid, []))
    while stack:
        child = stack.pop()
        started = _start_time(child)
        if started is not None:
            found.append((child, started))
        stack.extend(children.get(child, []))
    return found


def command_lines(pids: list[tuple[int, str]]) -> list[str]:
    lines = []
    for pid, _ in pids:
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return lines


def cpu_ns(pids: list[int]) -> dict[int, int]:
    """CPU time so far of each process (all its threads), in ns, from /proc/PID/task/*/schedstat."""
    found = {}
    for pid in pids:
        total = 0
        try:
            for task in os.scandir(f"/proc/{pid}/task"):
                try:
                    total += int(Path(task.path, "schedstat").read_text().split()[0])
                except OSError:
                    continue  # the thread ended meanwhile
        except OSError:
            continue
        found[pid] = total
    return found


class Peer:
    """One started server: its process, port and log files."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], port: int, stdout: Path, stderr: Path,
                 started: float) -> None:
        self.name, self.process, self.port = name, process, port
        self.stdout, self.stderr, self.started = stdout, stderr, started

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 15) -> str:
        text = []
        for path in (self.stdout, self.stderr):
            try:
                text.extend(path.read_text(errors="replace").splitlines()[-lines:])
            except OSError:
                pass
        return "\n".join("    " + line for line in text[-lines:])

    def wait_listening(self, timeout: float) -> float:
        """Block until the port accepts connections; returns seconds since the process was spawned."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PeerFailed(f"{self.name} exited with status {self.process.returncode} before listening on "
                                 f"port {self.port}:\n{self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.005)
        raise PeerFailed(f"{self.name} was not listening on port {self.port} after {timeout:.0f} s:\n{self.log_tail()}")


class Processes:
    """Starts peers and guarantees they are gone afterwards (use as a context manager)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[Peer] = []
        self._count = 0

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start(self, name: str, argv: list[str], *, cwd: Path, env: dict[str, str], port: int) -> Peer:
        self._count += 1
        stem = self.logs / f"{self._count:03d}-{name.replace(' ', '_')}"
        stdout, stderr = stem.with_suffix(".out"), stem.with_suffix(".err")
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            started = time.perf_counter()
            # a session of its own, so the whole group (serverless-offline's shell and python children) can be signalled
            process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                       start_new_session=True)
        peer = Peer(name, process, port, stdout, stderr, started)
        self.running.append(peer)
        return peer

    def stop(self, peer: Peer, grace: float = 5.0) -> None:
        """SIGTERM the peer's group, SIGKILL what is left after `grace` seconds, then any descendant that escaped
        the group (golive's workers run in sessions of their own)."""
        if peer in self.running:
            self.running.remove(peer)
        process = peer.process
        below = descendants(process.pid)
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=grace)
        _signal_group(process.pid, signal.SIGKILL)  # anything of the group still alive (a detached child)
        deadline = time.monotonic() + grace
        for pid, started in below:
            while _start_time(pid) == started and time.monotonic() < deadline:
                time.sleep(0.02)  # give it the chance to exit with its parent
            if _start_time(pid) == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def stop_all(self) -> None:
        for peer in list(self.running):
            try:
                self.stop(peer)
            except Exception as exc:  # keep stopping the others
                print(f"warning: could not stop {peer.name} (pid {peer.process.pid}): {exc}")


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
