"""The local Lambda service: execution environments (worker processes) per function, behaving and failing like AWS.

It starts environments on demand (cold start), reuses idle ones (warm), scales out up to the function's
concurrency and throttles beyond it; each environment (environment.py) enforces its timeout and memory limits and
writes the START / END / REPORT lines Lambda writes, with the function's own output attributed to each request id.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from golive.http import RandomBytes
from golive.local.environment import INIT_LIMIT_S, WORKER_SCRIPT, Environment, Pool
from golive.local.invocation import OUTCOMES, Invocation, Job, LogRecord, exit_description, platform_error
from golive.local.xray import function_segment, function_trace
from golive.service.config import FunctionConfig, ServiceConfig
from golive.service.quotas import LOCAL_ACCOUNT_ID, local_region

__all__ = ["OUTCOMES", "Invocation", "LambdaService", "LogRecord", "exit_description"]

# While the only running invocation is one of a function that usually answers within this long, the event loop
# polls instead of sleeping (see LambdaService._poll_for). Set GOLIVE_SPIN=0 to turn it off.
SPIN_LIMIT_S = 0.001
POLL_GAP_S = 0.00002  # two polls further apart than this: the loop ran other callbacks in between
RUNTIME_CLIENTS = ("golive", "awslambdaric")


class LambdaService:
    """Execution environments for every function of a service, driven through invoke()."""

    def __init__(self, config: ServiceConfig, *, on_log: Callable[[LogRecord], None] | None = None,
                 idle_timeout: float = 300.0, runtime_client: str = "golive", prewarm: bool = False,
                 environment: dict[str, str] | None = None,
                 on_segment: Callable[..., None] | None = None) -> None:
        if runtime_client not in RUNTIME_CLIENTS:
            raise ValueError(f"runtime_client must be one of {', '.join(RUNTIME_CLIENTS)}, not {runtime_client!r}")
        self.config = config
        self.on_log = on_log
        self.idle_timeout = idle_timeout
        self.runtime_client = runtime_client
        self.prewarm = prewarm
        self.extra_environment = dict(environment or {})
        # where each sampled invocation's function segment goes, as its builder and parts (on_segment(build,
        # *parts), built off the event loop; golive dev with tracing on: environment then carries the daemon's
        # AWS_XRAY_DAEMON_ADDRESS); None: no segments, as without active tracing
        self.on_segment = on_segment
        self.generation = 0
        self.stopping = False
        self.region = local_region()
        self.pools: dict[str, Pool] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._environments: set[Environment] = set()  # every environment not yet reaped, for stop()
        self.running = 0  # invocations delivered to a runtime and not finished
        # Polling needs a core for the loop and one for the worker: never on a single CPU.
        self.spin = os.environ.get("GOLIVE_SPIN", "1") != "0" and (os.cpu_count() or 1) >= 2
        self._base_env: dict[str, dict[str, str]] = {}
        self._random = RandomBytes()  # request ids; the service's loop is its only user
        self._prewarming: asyncio.Task[None] | None = None  # the prewarm a reload started
        # Why the service's code cannot load right now (a change broke it): no new environment starts until a
        # good reload; warm environments keep the code they loaded.
        self.broken: str | None = None
        self._set_config(config)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _set_config(self, config: ServiceConfig) -> None:
        self.config = config
        pools = {}
        for name, function in config.functions.items():
            pool = self.pools.get(name) or Pool(function)
            pool.function = function
            pools[name] = pool
        for name, pool in self.pools.items():
            if name not in pools:  # a function removed from golive.toml: its environments go now
                for environment in list(pool.environments):
                    environment.kill()
        self.pools = pools
        self._base_env = {}

    # -- public interface -------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind to the running loop; with prewarm, start one environment per function and wait until ready."""
        self._loop = asyncio.get_running_loop()
        self.stopping = False
        if self.prewarm:
            await self._prewarm()

    async def stop(self) -> None:
        """Kill every environment and wait until each process is reaped: nothing is left behind."""
        self.stopping = True
        environments = list(self._environments)
        for environment in environments:
            job = environment.job
            environment.kill()
            if job is not None and not job.done:
                if job.delivered_at is None:
                    environment.fail_init(job, "Runtime.ExitError", "Runtime exited with error: signal: killed")
                else:
                    environment.runtime_exit(job, "signal: killed", "Runtime.ExitError")
        waits = [environment.exited for environment in environments if environment.process is not None]
        if waits:
            await asyncio.wait(waits, timeout=5)
        for environment in environments:
            if environment.process is not None and environment.process.returncode is None:
                environment.process.kill()
                environment.process.wait()
            if not environment.exited.done():
                environment.on_exit()
            environment.api.close()
        self._environments.clear()

    async def invoke(self, function: str, payload: bytes, *, trace_id: str | None = None,
                     client_context: str | None = None) -> Invocation:
        """Run one synchronous invocation (RequestResponse) of a function."""
        return await self.submit(function, payload, trace_id=trace_id, client_context=client_context)

    def submit(self, function: str, payload: bytes, *, trace_id: str | None = None,
               client_context: str | None = None,
               on_done: Callable[[Invocation], None] | None = None) -> asyncio.Future[Invocation]:
        """invoke() without a coroutine, for callers on the hot path (no Task each): returns the invocation's
        future, and calls `on_done(invocation)` as soon as the result is known, before Lambda's END and REPORT
        lines are written and before the future's callbacks run (possibly before submit returns: a throttle)."""
        pool = self.pools.get(function)
        if pool is None:
            raise KeyError(f"no function {function!r} in {self.config.root}/golive.toml; "
                           f"known: {', '.join(self.pools) or 'none'}")
        if isinstance(payload, str):
            payload = payload.encode()
        future: asyncio.Future[Invocation] = self.loop.create_future()
        job = Job(payload, trace_id, client_context, future, on_done, self._random.take(16))
        if self.on_segment is not None and trace_id is not None:
            segment_id = self._random.take(8).hex()
            traced = function_trace(trace_id, segment_id)
            if traced is not None:  # the runtime's _X_AMZN_TRACE_ID names the function's segment as its parent
                job.trace_id, job.segment = traced[0], (segment_id, traced[1])
        environment = self._acquire(pool)
        if environment is None:
            if self.broken is not None and len(pool.environments) < pool.limit:
                job.answer(self._not_loadable(pool, job, self.broken))
                return future
            pool.stats.throttles += 1
            job.answer(self._throttled(pool, job))
            return future
        environment.assign(job)
        return future

    def reload(self, config: ServiceConfig | None = None) -> None:
        """Recycle environments after a code change: idle ones now, busy ones after their invocation."""
        if config is not None:
            self._set_config(config)
        self.broken = None
        self.generation += 1
        for pool in self.pools.values():
            for environment in list(pool.environments):
                if environment.state == "idle" or (environment.state == "starting" and environment.job is None):
                    environment.kill()
        if self.prewarm and not self.stopping and self._loop is not None:
            self._prewarming = self._loop.create_task(self._prewarm())  # held: the loop keeps weak references

    def stats(self) -> dict:
        """Per function: environments by state, invocations, cold starts and failures by kind."""
        result = {}
        for name, pool in self.pools.items():
            states = {"starting": 0, "idle": 0, "busy": 0}
            for environment in pool.environments:
                states[environment.state] = states.get(environment.state, 0) + 1
            stats = pool.stats
            result[name] = {
                "environments": {**states, "total": len(pool.environments)},
                "concurrency": pool.limit,
                "invocations": stats.invocations, "cold_starts": stats.cold_starts,
                "function_errors": stats.function_errors, "timeouts": stats.timeouts, "crashes": stats.crashes,
                "init_errors": stats.init_errors, "throttles": stats.throttles,
                "pids": [environment.process.pid for environment in pool.environments if environment.process],
            }
        return result

    # -- helpers ------------------------------------------------------------------------------------
    def function_name(self, function: FunctionConfig) -> str:
        return f"{self.config.service}-{function.name}"

    def function_arn(self, function: FunctionConfig) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{self.function_name(function)}"

    def environment_for(self, function: FunctionConfig, api_address: str, log_stream: str,
                        initialization_type: str) -> dict[str, str]:
        """The process environment of a worker: golive.toml's environment under ours (a variable set in the shell
        that runs golive dev wins, as in --in-process mode), then Lambda's own variables on top."""
        base = self._base_env.get(function.name)
        if base is None:
            name = self.function_name(function)
            base = {key: value for key, value in os.environ.items()
                    if not key.startswith(("AWS_LAMBDA_", "_X_AMZN", "_HANDLER", "LAMBDA_"))}
            for key, value in self.config.local_environment(function).items():
                base.setdefault(key, value)
            base.update(self.extra_environment)
            base.update({
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
                "LAMBDA_TASK_ROOT": str(self.config.root),
                "LAMBDA_RUNTIME_DIR": str(Path(WORKER_SCRIPT).parent),
                "_HANDLER": function.handler,
                "TZ": ":UTC",
                "LANG": "en_US.UTF-8",
            })
            self._base_env[function.name] = base
        env = dict(base)
        env["AWS_LAMBDA_RUNTIME_API"] = api_address
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = log_stream
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = initialization_type
        return env

    def log(self, function: str, request_id: str | None, stream: str, line: str) -> None:
        on_log = self.on_log
        if on_log is not None:
            try:
                on_log(LogRecord(function, request_id, stream, line, time.time()))
            except Exception as exc:  # a broken log sink must not break invocations
                print(f"golive: on_log failed: {exc!r}", file=sys.stderr)

    def _acquire(self, pool: Pool) -> Environment | None:
        """An idle environment, else a starting one nobody waits for, else a new one; None means throttled."""
        starting = None
        for environment in pool.environments:
            if environment.job is None:
                if environment.state == "idle":
                    return environment
                if environment.state == "starting" and environment.generation == self.generation:
                    starting = environment
        if starting is not None:
            return starting
        if len(pool.environments) >= pool.limit or self.stopping or self.broken is not None:
            return None
        return self._start_environment(pool)

    def _start_environment(self, pool: Pool, prewarmed: bool = False) -> Environment:
        environment = Environment(self, pool, self.generation)
        environment.prewarmed = prewarmed
        pool.environments.append(environment)
        self._environments.add(environment)
        environment.spawn_task = self.loop.create_task(self._spawn(environment))
        return environment

    async def _spawn(self, environment: Environment) -> None:
        try:
            await environment.spawn()
        except OSError as exc:
            environment.leave_pool()
            job = environment.job
            if job is not None and not job.done:
                environment.fail_init(job, "Runtime.InvalidEntrypoint", f"could not start the runtime: {exc}")
            environment.api.close()
            environment.exited.set_result(None)
        if environment.process is not None:
            environment.exited.add_done_callback(lambda _: self._environments.discard(environment))
        else:
            environment.api.close()
            if not environment.exited.done():
                environment.exited.set_result(None)
            self._environments.discard(environment)

    async def _prewarm(self) -> None:
        fresh = []
        for pool in self.pools.values():
            if pool.limit > 0 and not any(env.generation == self.generation for env in pool.environments):
                fresh.append(self._start_environment(pool, prewarmed=True))
        deadline = time.monotonic() + INIT_LIMIT_S
        while any(env.state == "starting" for env in fresh) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    def started(self, pool: Pool, job: Job) -> None:
        """An environment delivered `job` to its runtime: count it, and poll for it when it runs alone."""
        job.running = True
        self.running += 1
        if self.running == 1 and pool.typical_s <= SPIN_LIMIT_S and self.spin:
            self._poll_for(job, time.perf_counter() + min(SPIN_LIMIT_S, 2 * pool.typical_s))

    def finished(self, pool: Pool, job: Job, outcome: str, seconds: float) -> None:
        """`job` is over (however it ended): uncount it; a warm success feeds the function's typical duration."""
        if not job.running:
            return  # never delivered (an init failure): never counted
        job.running = False
        self.running -= 1
        if outcome == "ok" and not job.cold:
            pool.typical_s = seconds if pool.typical_s == math.inf else 0.8 * pool.typical_s + 0.2 * seconds

    def _poll_for(self, job: Job, until: float) -> None:
        """Keep the event loop polling (no sleep) until the job answers, another invocation starts, or `until`.

        Only for the one running invocation of a function whose recent invocations answered within SPIN_LIMIT_S:
        waking a sleeping process costs tens of microseconds on virtual machines (an inter-processor interrupt),
        as much as a trivial function's whole run, so for such a function a developer's sequential requests come
        back sooner when the loop watches for the answer. It stops as soon as the loop turns out to have other
        work (a gap between two polls: the loop would not have slept anyway), with more than one invocation
        running, and a slower function is never polled for."""
        loop = self.loop
        perf_counter = time.perf_counter
        last = 0.0  # the first poll only starts the clock: the caller's own bookkeeping is not other work

        def poll() -> None:
            nonlocal last
            now = perf_counter()
            busy = last != 0.0 and now - last > POLL_GAP_S
            last = now
            if not busy and not job.done and job.running and self.running == 1 and now < until:
                loop.call_soon(poll)

        loop.call_soon(poll)

    def hold(self, reason: str) -> None:
        """The service's code no longer loads: start no new environment (each would load the broken code) until
        reload(); warm environments go on serving what they loaded."""
        self.broken = reason

    def traced(self, pool: Pool, job: Job, result: Invocation) -> None:
        """A sampled invocation is over: its function segment (AWS::Lambda::Function), after the reply."""
        if self.on_segment is None or job.segment is None:
            return
        function = pool.function
        duration_ms = result.duration_ms or 0.0
        # it ended when its result came (delivery + duration), a moment before this bookkeeping
        ended = time.time() if job.delivered_at is None else \
            time.time() - (time.perf_counter() - job.delivered_at - duration_ms / 1000)
        try:
            parts = (job.trace_id, job.segment[0], job.segment[1], self.function_name(function),
                     self.function_arn(function), job.request_id, result.outcome, ended, duration_ms,
                     result.init_ms, result.error_type)
            self.on_segment(function_segment, *parts)
        except Exception as exc:  # tracing must never break invocations
            print(f"golive: function segment failed: {type(exc).__name__}: {exc}", file=sys.stderr)

    def _not_loadable(self, pool: Pool, job: Job, reason: str) -> Invocation:
        message = f"golive dev: not starting an environment: the service failed to load after a change: {reason}"
        self.log(pool.function.name, job.request_id, "platform", message)
        payload = platform_error("Runtime.ImportModuleError", message)
        return Invocation(request_id=job.request_id, outcome="init_error", payload=payload,
                          error_type="Runtime.ImportModuleError", error_message=message,
                          memory_mb=pool.function.memory)

    def _throttled(self, pool: Pool, job: Job) -> Invocation:
        reason = ("ReservedFunctionConcurrentInvocationLimitExceeded" if pool.function.reserved_concurrency is not None
                  else "ConcurrentInvocationLimitExceeded")
        message = "Rate Exceeded."
        payload = json.dumps({"Reason": reason, "Type": "User", "message": message}).encode()
        return Invocation(request_id=job.request_id, outcome="throttled", payload=payload,
                          error_type="TooManyRequestsException", error_message=message,
                          memory_mb=pool.function.memory)
