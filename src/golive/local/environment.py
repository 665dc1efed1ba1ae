"""One Lambda execution environment: a worker process, its Runtime API endpoint, its output pipes and limits.

The environment is a worker process speaking the Lambda Runtime API (runtime_api.py). It reports its cold start,
delivers one invocation at a time, enforces the function's timeout and memory limit, notices crashes and init
errors, reaps itself when idle, and writes the START / END / REPORT lines Lambda writes, with the function's own
output attributed to each request id. The service (lambda_service.py) decides which environment runs what.

Memory: each worker gets RLIMIT_DATA = memory + MEMORY_ALLOWANCE_MB (thread stacks and allocator reservations count
as data but are not resident; RLIMIT_AS would fail at the first thread), and its resident set is watched while it
runs an invocation: above the function's memory the environment is killed like Lambda's OOM kill
("Runtime exited with error: signal: killed"). A MemoryError reported by the runtime is treated the same way.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Protocol

from golive.local.invocation import Invocation, Job, exit_description, platform_error
from golive.local.runtime_api import RuntimeAPI
from golive.observability.logging import iso_now
from golive.service.config import FunctionConfig, ServiceConfig
from golive.service.quotas import LAMBDA_RESPONSE_BYTES

WORKER_SCRIPT = str(Path(__file__).with_name("worker.py"))
INIT_LIMIT_S = 10.0  # Lambda's init phase limit for on-demand functions
MEMORY_ALLOWANCE_MB = 64
MEMORY_POLL_S = 0.05
PEAK_REFRESH_S = 0.1  # a response re-reads the peak from /proc only when the last read is older than this


def _no_wakeup_preemption(pid: int) -> None:
    """Run the worker under SCHED_BATCH (Linux): the same CPU share, but a worker woken by an event does not preempt
    the process that woke it. That process is the gateway, the one thread every in-flight request passes through;
    on a machine with fewer free cores than busy workers, preempting it at each delivery (the kernel places a woken
    worker on its waker's core) stalled every other request and cost its cache (bench/localcloud/ab.py: +10 %
    req/s at 8 connections on 2 cores). On AWS each environment has CPU of its own; only contention changes."""
    try:
        os.sched_setscheduler(pid, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass  # not Linux, or the process is already gone


class _Stats:
    __slots__ = ("cold_starts", "crashes", "function_errors", "init_errors", "invocations", "throttles", "timeouts")

    def __init__(self) -> None:
        self.invocations = self.cold_starts = self.function_errors = self.timeouts = 0
        self.crashes = self.init_errors = self.throttles = 0


class Pool:
    """The environments of one function."""

    def __init__(self, function: FunctionConfig) -> None:
        self.function = function
        self.environments: list[Environment] = []
        self.stats = _Stats()
        self.typical_s = math.inf  # a moving average of recent warm durations, for LambdaService._poll_for

    @property
    def limit(self) -> int:
        reserved = self.function.reserved_concurrency
        return self.function.concurrency if reserved is None else min(reserved, self.function.concurrency)


class Host(Protocol):
    """What an environment needs of the Lambda service that runs it (LambdaService)."""

    config: ServiceConfig
    generation: int  # bumped by a reload: environments of an older generation retire when idle
    idle_timeout: float
    runtime_client: str
    stopping: bool

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    def environment_for(self, function: FunctionConfig, api_address: str, log_stream: str,
                        initialization_type: str) -> dict[str, str]: ...

    def function_arn(self, function: FunctionConfig) -> str: ...

    def log(self, function: str, request_id: str | None, stream: str, line: str) -> None: ...

    def started(self, pool: Pool, job: Job) -> None: ...

    def finished(self, pool: Pool, job: Job, outcome: str, seconds: float) -> None: ...

    def traced(self, pool: Pool, job: Job, result: Invocation) -> None: ...


class Environment:
    """One execution environment: a worker process, its Runtime API endpoint and its output pipes."""

    def __init__(self, service: Host, pool: Pool, generation: int) -> None:
        self.service = service
        self.pool = pool
        self.function = pool.function
        self.generation = generation
        self.state = "starting"  # starting -> idle <-> busy -> dead
        self.api = RuntimeAPI(self)
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = time.perf_counter()
        self.init_ms: float | None = None
        self.init_lines: list[str] = []
        self.job: Job | None = None
        self.served = 0
        self.prewarmed = False
        self.init_timer: asyncio.TimerHandle | None = None
        # One timer watches the running invocation (timeout, memory) and the idle time (reaping). It is moved only
        # when it would fire too late, not armed and cancelled around every invocation: three timers per
        # invocation were a measurable share of the local cloud's per-request cost.
        self.watch_timer: asyncio.TimerHandle | None = None
        self.idle_since = 0.0
        self.exited: asyncio.Future[int | None] = service.loop.create_future()
        self.log_stream = time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex
        self._fds: dict[int, str] = {}
        self._partial: dict[int, bytes] = {}
        self._pidfd: int | None = None
        self._status_fd: int | None = None
        self.spawn_task: asyncio.Task[None] | None = None  # held so the task is not garbage-collected
        self.peak_mb = 0
        self.peak_read_at = -math.inf  # perf_counter() of the last /proc read (init, memory watch or a response)

    # -- lifecycle ---------------------------------------------------------------------------
    async def spawn(self) -> None:
        address = await self.api.start(unix=self.service.runtime_client == "golive")
        if self.state == "dead":  # killed (reload, stop) before its process existed
            return
        service, function = self.service, self.function
        if service.runtime_client == "awslambdaric":
            command = [sys.executable, "-m", "awslambdaric", function.handler]
        else:
            command = [sys.executable, WORKER_SCRIPT, function.handler]
        env = service.environment_for(function, address, self.log_stream,
                                      "provisioned-concurrency" if self.prewarmed else "on-demand")
        if service.runtime_client == "golive":
            env["_GOLIVE_PARENT_PID"] = str(os.getpid())  # the worker removes it; see worker._die_with_parent
            if self.api.unix_name:
                env["_GOLIVE_RUNTIME_SOCKET"] = self.api.unix_name  # removed too; see worker.RuntimeClient
        # a new session, so the whole process group can be killed and a terminal's Ctrl-C reaches only the server
        self.process = subprocess.Popen(command, cwd=str(service.config.root), env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        pid = self.process.pid
        limit = (function.memory + MEMORY_ALLOWANCE_MB) * 1024 * 1024
        try:
            import resource

            resource.prlimit(pid, resource.RLIMIT_DATA, (limit, limit))
        except (ImportError, AttributeError, OSError, ValueError):
            pass  # not Linux, or the process is already gone; the RSS watch still applies
        _no_wakeup_preemption(pid)
        loop = service.loop
        for stream, pipe in (("stdout", self.process.stdout), ("stderr", self.process.stderr)):
            assert pipe is not None
            fd = pipe.fileno()
            os.set_blocking(fd, False)
            self._fds[fd] = stream
            self._partial[fd] = b""
            loop.add_reader(fd, self._read, fd)
        try:
            self._status_fd = os.open(f"/proc/{pid}/status", os.O_RDONLY)
        except OSError:
            self._status_fd = None
        try:
            self._pidfd = os.pidfd_open(pid)
            loop.add_reader(self._pidfd, self.on_exit)
        except (AttributeError, OSError):
            self._pidfd = None
            loop.call_later(0.1, self._poll_exit)
        self.init_timer = loop.call_later(INIT_LIMIT_S, self._on_init_timeout)

    def kill(self) -> None:
        """SIGKILL the environment's process group; cleanup follows when the exit is seen."""
        if self.state != "dead":
            self.leave_pool()
        if self.process is not None and self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                try:
                    self.process.kill()
                except ProcessLookupError:
                    pass

    def leave_pool(self) -> None:
        self.state = "dead"
        for timer in (self.init_timer, self.watch_timer):
            if timer is not None:
                timer.cancel()
        self.init_timer = self.watch_timer = None
        if self in self.pool.environments:
            self.pool.environments.remove(self)

    def _poll_exit(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.service.loop.call_later(0.1, self._poll_exit)
        else:
            self.on_exit()

    def on_exit(self) -> None:
        if self.exited.done() or self.process is None:
            return
        try:
            returncode = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return  # pidfd readable but not reaped yet: the reader fires again
        loop = self.service.loop
        if self._pidfd is not None:
            loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        self._drain(to_eof=True)
        if self.state != "dead":
            self.leave_pool()
        job = self.job
        if job is not None and not job.done:
            reason = exit_description(returncode)
            if job.delivered_at is None:
                self.fail_init(job, "Runtime.ExitError", f"Runtime exited with error: {reason}")
            else:
                self.runtime_exit(job, reason, "Runtime.ExitError")
        for fd in list(self._fds):
            loop.remove_reader(fd)
        self._fds.clear()
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
        if self._status_fd is not None:
            os.close(self._status_fd)
            self._status_fd = None
        self.api.close()
        self.exited.set_result(returncode)

    # -- output -------------------------------------------------------------------------------
    def _read(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.service.loop.remove_reader(fd)
            self._flush_partial(fd)
            self._fds.pop(fd, None)
            return
        self._lines(fd, data)

    def _drain(self, to_eof: bool = False) -> None:
        """Read what the process wrote so far (an unfinished last line included), so every line is attributed
        to the invocation that is ending."""
        for fd in list(self._fds):
            while True:
                try:
                    data = os.read(fd, 65536)
                except (BlockingIOError, OSError):
                    break
                if not data:
                    if to_eof:
                        self.service.loop.remove_reader(fd)
                        self._flush_partial(fd)
                        self._fds.pop(fd, None)
                    break
                self._lines(fd, data)
            self._flush_partial(fd)

    def _lines(self, fd: int, data: bytes) -> None:
        data = self._partial.get(fd, b"") + data
        *complete, rest = data.split(b"\n")
        self._partial[fd] = rest
        stream = self._fds.get(fd, "stdout")
        for raw in complete:
            self._emit(stream, _decode_line(raw))

    def _flush_partial(self, fd: int) -> None:
        rest = self._partial.get(fd, b"")
        self._partial[fd] = b""
        if rest:
            self._emit(self._fds.get(fd, "stdout"), _decode_line(rest))

    def _emit(self, stream: str, line: str) -> None:
        job = self.job
        if job is not None and job.delivered_at is not None and not job.done:
            job.lines.append(line)
            request_id: str | None = job.request_id
        else:
            if self.served == 0:
                self.init_lines.append(line)
            request_id = None
        self.service.log(self.function.name, request_id, stream, line)

    def _platform(self, job: Job, *lines: str) -> None:
        job.lines.extend(lines)
        service, name, request_id = self.service, self.function.name, job.request_id
        for line in lines:
            service.log(name, request_id, "platform", line)

    # -- scheduling ---------------------------------------------------------------------------
    def assign(self, job: Job) -> None:
        self.job = job
        if self.state == "idle":
            self.state = "busy"
            self._deliver(job)
        else:  # still starting: the cold start ends when the runtime first asks for work
            job.cold = True

    def _deliver(self, job: Job) -> None:
        function = self.function
        service = self.service
        now = time.time()
        headers = [("Lambda-Runtime-Deadline-Ms", str(int((now + function.timeout) * 1000))),
                   ("Lambda-Runtime-Invoked-Function-Arn", service.function_arn(function)),
                   ("Lambda-Runtime-Trace-Id", job.trace_id)]
        if job.client_context:
            headers.append(("Lambda-Runtime-Client-Context", job.client_context))
        job.delivered_at = time.perf_counter()
        self.api.deliver(job.request_id, job.payload, headers)
        # the runtime has its event: the bookkeeping below overlaps with the function's run
        if job.cold:
            job.lines.extend(self.init_lines)
        self._platform(job, f"START RequestId: {job.request_id} Version: $LATEST")
        job.deadline = job.delivered_at + function.timeout
        self._watch_within(min(MEMORY_POLL_S, function.timeout))
        service.started(self.pool, job)

    def _release(self) -> None:
        """The invocation is over: back to idle, or retire if the code changed meanwhile."""
        self.job = None
        self.served += 1
        self.init_lines = []
        if self.state == "dead":
            return
        if self.generation != self.service.generation or self.service.stopping:
            self.kill()
            return
        self._become_idle()

    def _become_idle(self) -> None:
        self.state = "idle"
        self.idle_since = time.perf_counter()
        if self.watch_timer is None:
            self._watch_within(self.service.idle_timeout)

    def _watch_within(self, delay: float) -> None:
        """Make sure the watch runs within `delay` seconds (moving its timer only when it is set for later)."""
        loop = self.service.loop
        timer = self.watch_timer
        if timer is not None:
            if timer.when() <= loop.time() + delay:
                return
            timer.cancel()
        self.watch_timer = loop.call_later(delay, self._watch)

    def _watch(self) -> None:
        """The running invocation's timeout and memory, or the idle environment's reaping; then the next look."""
        self.watch_timer = None
        if self.state == "dead":
            return
        now = time.perf_counter()
        job = self.job
        if self.state == "busy" and job is not None and job.delivered_at is not None and not job.done:
            if now >= job.deadline:
                self._on_timeout(job)
                return
            if now - job.delivered_at >= MEMORY_POLL_S and self._resident_mb() > self.function.memory:
                self._drain()
                self._oom(job)
                return
            self._watch_within(max(0.0, min(MEMORY_POLL_S, job.deadline - now)))
        elif self.state == "idle":
            idle_for = now - self.idle_since
            if idle_for >= self.service.idle_timeout:
                self.kill()
                return
            self._watch_within(self.service.idle_timeout - idle_for)

    # -- Runtime API callbacks (RuntimeHandler) ---------------------------------------------------
    def on_next(self) -> None:
        if self.state != "starting":
            return
        self.init_ms = (time.perf_counter() - self.started_at) * 1000
        self._memory_mb()  # remember the footprint after init, in case the process dies before the next look
        if self.init_timer is not None:
            self.init_timer.cancel()
            self.init_timer = None
        job = self.job
        if job is not None:
            self.state = "busy"
            self._deliver(job)
        elif self.generation != self.service.generation:
            self.kill()
        else:
            self._become_idle()

    def _delivered(self, request_id: str) -> Job | int:
        """The delivered invocation a result is for, or the Runtime API status refusing it (400: not this
        environment's invocation, 403: not waiting for a result)."""
        job = self.job
        if job is None or job.request_id != request_id:
            return 400
        if job.done or job.delivered_at is None:
            return 403
        return job

    def on_response(self, request_id: str, body: bytes, content_type: str) -> int:
        job = self._delivered(request_id)
        if isinstance(job, int):
            return job
        peak = self._recent_peak_mb(job)
        if peak > self.function.memory:
            self._drain()
            self._oom(job)
            return 202
        self._finish(job, "ok", body, memory_mb=peak)
        self._release()
        return 202

    def on_error(self, request_id: str, body: bytes, error_type: str) -> int:
        job = self._delivered(request_id)
        if isinstance(job, int):
            return job
        self._drain()
        document = _json_object(body)
        error_type = error_type or str(document.get("errorType") or "Unhandled")
        peak = self._recent_peak_mb(job)
        if error_type == "MemoryError" or document.get("errorType") == "MemoryError" or peak > self.function.memory:
            self._oom(job)  # the runtime hit RLIMIT_DATA: on Lambda the kernel would have killed it
            return 202
        if error_type == "Function.ResponseSizeTooLarge":
            body = platform_error(error_type, f"Response payload size exceeded maximum allowed payload size "
                                              f"({LAMBDA_RESPONSE_BYTES} bytes).")
            document = _json_object(body)
        message = document.get("errorMessage")
        self._finish(job, "function_error", body, error_type, str(message) if message is not None else None,
                     memory_mb=peak)
        self._release()
        return 202

    def on_init_error(self, body: bytes, error_type: str) -> int:
        if self.state != "starting":
            return 403
        self._drain()
        document = _json_object(body)
        error_type = error_type or str(document.get("errorType") or "Runtime.Unknown")
        self.init_ms = (time.perf_counter() - self.started_at) * 1000
        job = self.job
        if job is not None and not job.done:
            self.fail_init(job, error_type, str(document.get("errorMessage", "")), body)
        self.kill()  # Lambda resets an environment whose init failed; the next invocation initialises again
        return 202

    # -- failures -------------------------------------------------------------------------------
    def _on_init_timeout(self) -> None:
        self.init_timer = None
        if self.state != "starting":
            return
        job = self.job
        self._drain()
        self.kill()
        if job is not None and not job.done:
            self.init_ms = INIT_LIMIT_S * 1000
            self.fail_init(job, "Sandbox.Timedout", f"Task timed out after {INIT_LIMIT_S:.2f} seconds")

    def _on_timeout(self, job: Job) -> None:
        if job.done:
            return
        self._drain()
        message = f"Task timed out after {self.function.timeout:.2f} seconds"
        self._platform(job, f"{iso_now()} {job.request_id} {message}")
        payload = platform_error("Sandbox.Timedout", message, job.request_id)
        self.kill()
        self._finish(job, "timeout", payload, "Sandbox.Timedout", message)
        self._release()

    def _oom(self, job: Job) -> None:
        self.kill()
        self.runtime_exit(job, "signal: killed", "Runtime.ExitError", memory_mb=self.function.memory)

    def runtime_exit(self, job: Job, reason: str, error_type: str, memory_mb: int | None = None) -> None:
        message = f"Runtime exited with error: {reason}"
        self._platform(job, f"RequestId: {job.request_id} Error: {message}")
        self._platform(job, error_type)
        payload = platform_error(error_type, message, job.request_id)
        self._finish(job, "crash", payload, error_type, message, memory_mb=memory_mb)
        self._release()

    def fail_init(self, job: Job, error_type: str, message: str, body: bytes | None = None) -> None:
        """The environment never became ready: Lambda answers the waiting invocation with the init error."""
        if self.init_ms is None:
            self.init_ms = (time.perf_counter() - self.started_at) * 1000
        job.cold = True
        job.delivered_at = time.perf_counter()
        job.lines.extend(self.init_lines)
        self._platform(job, f"INIT_REPORT Init Duration: {self.init_ms:.2f} ms\tPhase: init\tStatus: error\t"
                            f"Error Type: {error_type}")
        self._platform(job, f"START RequestId: {job.request_id} Version: $LATEST")
        if body is None:
            self._platform(job, f"RequestId: {job.request_id} Error: {message}")
            self._platform(job, error_type)
            body = platform_error(error_type, message, job.request_id)
        self._finish(job, "init_error", body, error_type, message)
        self.job = None

    def _finish(self, job: Job, outcome: str, payload: bytes | None, error_type: str | None = None,
                error_message: str | None = None, memory_mb: int | None = None) -> None:
        started = job.delivered_at or time.perf_counter()
        duration = (time.perf_counter() - started) * 1000
        self.service.finished(self.pool, job, outcome, duration / 1000)
        if outcome == "init_error":
            duration = 0.0
        function = self.function
        init_ms = self.init_ms if job.cold else None
        billed = math.ceil(duration + (init_ms or 0.0))  # Lambda bills the init phase of on-demand cold starts
        peak = memory_mb if memory_mb is not None else min(self._peak_mb(), function.memory)
        result = Invocation(request_id=job.request_id, outcome=outcome, payload=payload, error_type=error_type,
                            error_message=error_message, duration_ms=duration, billed_ms=billed, init_ms=init_ms,
                            max_memory_mb=peak, memory_mb=function.memory, cold_start=job.cold, logs=job.lines)
        # The caller gets the answer first (the gateway writes its reply now); END and REPORT follow at once, into
        # the same list of lines the Invocation holds.
        job.answer(result)
        self._drain()  # what the function printed before it answered belongs to this invocation
        job.done = True
        report = (f"REPORT RequestId: {job.request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {billed} ms\t"
                  f"Memory Size: {function.memory} MB\tMax Memory Used: {peak} MB\t")
        if init_ms is not None:
            report += f"Init Duration: {init_ms:.2f} ms\t"
        self._platform(job, f"END RequestId: {job.request_id}", report)
        if job.segment is not None:
            self.service.traced(self.pool, job, result)
        stats = self.pool.stats
        stats.invocations += 1
        if job.cold:
            stats.cold_starts += 1
        if outcome == "function_error":
            stats.function_errors += 1
        elif outcome == "timeout":
            stats.timeouts += 1
        elif outcome == "crash":
            stats.crashes += 1
        elif outcome == "init_error":
            stats.init_errors += 1

    # -- memory -------------------------------------------------------------------------------
    def _memory_mb(self) -> tuple[int, int]:
        """(resident, peak resident) of the worker in MB; the peak is remembered after the process is gone."""
        if self._status_fd is not None:
            try:
                data = os.pread(self._status_fd, 4096, 0)
            except OSError:
                data = b""
            resident, peak = _status_mb(data, b"VmRSS:"), _status_mb(data, b"VmHWM:")
            self.peak_read_at = time.perf_counter()
            if peak > self.peak_mb:
                self.peak_mb = peak
            return resident, self.peak_mb
        return 0, self.peak_mb

    def _recent_peak_mb(self, job: Job) -> int:
        """The peak for a result's REPORT line and memory check: /proc is read at most every PEAK_REFRESH_S (the
        memory watch and earlier responses refresh it), except on a cold start's first invocation, which is read."""
        if job.cold or time.perf_counter() - self.peak_read_at >= PEAK_REFRESH_S:
            return self._peak_mb()
        return self.peak_mb

    def _resident_mb(self) -> int:
        return self._memory_mb()[0]

    def _peak_mb(self) -> int:
        return self._memory_mb()[1]


def _status_mb(data: bytes, key: bytes) -> int:
    start = data.find(key)
    if start < 0:
        return 0
    end = data.find(b"kB", start)
    return math.ceil(int(data[start + len(key):end].strip() or 0) / 1024)


def _decode_line(raw: bytes) -> str:
    # Lambda's Python runtime joins the lines of one log event (a traceback) with carriage returns
    return raw.rstrip(b"\r").decode("utf-8", "replace").replace("\r", "\n")


def _json_object(body: bytes) -> dict:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
