"""The local cloud: the Lambda service and the API Gateway in one asyncio process (what `golive dev` runs).

Access-log records go to stdout as JSON lines (one per request); function logs (START/END/REPORT and the function's
own output) go to stderr prefixed with the function name; a code or golive.toml change recycles the environments
and re-reads the route table. `golive dev` (commands/dev.py) is its command line."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from golive.local.output import flush_all, write_soon
from golive.local.xray import SpanSink
from golive.service.config import ConfigError, ServiceConfig, load_config


class PortInUse(ConfigError):
    """The address to listen on is taken by another process."""


def _print_function_log(record: Any) -> None:
    # batched: a request's START, output, END and REPORT lines (and a burst of requests') leave in one write
    write_soon(sys.stderr, f"[{record.function}] {record.line}\n")


async def serve(config: ServiceConfig, host: str = "127.0.0.1", port: int = 3000, *,
                ready: Callable[[str], None] | None = None, stop: asyncio.Event | None = None,
                on_routes: Callable[[list[Any]], None] | None = None,
                on_access_log: Callable[[dict[str, Any]], None] | None = None,
                on_function_log: Callable[[Any], None] | None = _print_function_log,
                print_access_log: bool = True, watch: bool = True, runtime_client: str = "golive",
                idle_timeout: float = 300.0, reserved: Callable[[Any, Any], None] | None = None,
                spans: SpanSink | None = None,
                on_payload: Callable[[str, str, bytes, bytes | None], None] | None = None,
                trace_all: bool = False) -> None:
    """Serve until `stop` is set (or the task is cancelled); `ready(url)` is called once the port is listening.
    `reserved(request, respond)` answers /_golive/... (golive dev's telemetry API) before any route matching;
    `on_routes(routes)` hears the route table at start and after each reload. With `spans`, tracing is active: a
    local X-Ray daemon address for the workers, and the gateway's and each invocation's segments, all handed to
    `spans` for the requests X-Ray's sampling rule picks (golive.local.xray.TraceSampler; every request with
    `trace_all`). `on_payload` hears each proxied request's event and its function's raw result after the reply
    (Gateway.on_payload)."""
    from golive.local import gateway as gw
    from golive.local.apigw import routes as route_table
    from golive.local.apigw.apikeys import dev_key
    from golive.local.lambda_service import LambdaService
    from golive.service.auth import add_jwt_function

    loop = asyncio.get_running_loop()
    table = await loop.run_in_executor(None, route_table.load, config)
    if on_routes is not None:
        on_routes(table.routes)
    add_jwt_function(config)  # REST + JWT: golive's TOKEN authorizer runs as a function, as deployed
    daemon = None
    if spans is not None:
        from golive.local.xray import start_daemon

        daemon = await start_daemon(spans.on_datagram)
    lambdas = LambdaService(config, on_log=on_function_log, idle_timeout=idle_timeout, runtime_client=runtime_client,
                            environment=daemon.environment() if daemon is not None else None,
                            on_segment=spans.on_segment if spans is not None else None)  # built off the loop
    gateway = gw.Gateway(config, lambdas, table, access_log=gw.access_log_to(on_access_log, print_access_log))
    gateway.reserved = reserved
    gateway.on_segment = spans.on_segment if spans is not None else None
    if spans is not None and not trace_all:
        from golive.local.xray import TraceSampler

        gateway.sampler = TraceSampler()
    gateway.on_payload = on_payload
    await lambdas.start()
    watcher = None
    try:
        try:
            server = await gw.listen(gateway, host, port)
        except OSError as exc:
            if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                raise PortInUse(f"port {port} is in use; stop the other process or pass --port N") from None
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        url = f"http://{host}:{gw.bound_port(server)}"
        if watch:
            from golive.local.reload import CodeWatcher

            reloads: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references to tasks

            def on_change(changed: list[Path]) -> None:
                task = loop.create_task(_reload(gateway, lambdas, config, on_routes))
                reloads.add(task)
                task.add_done_callback(reloads.discard)

            watcher = CodeWatcher(config.root, on_change)
            watcher.start()
        if gateway.usage_plan is not None and "api_keys" not in config.api:
            print(f"golive dev: routes need x-api-key: {dev_key(config.service)}", file=sys.stderr, flush=True)
        if ready is not None:
            ready(url)
        try:
            await (stop.wait() if stop is not None else asyncio.Event().wait())
        finally:
            server.close()
            await server.wait_closed()
    finally:
        try:
            if watcher is not None:
                await watcher.stop()
            await lambdas.stop()
        finally:
            if daemon is not None:
                daemon.close()
            flush_all()  # the last access-log and function lines, before anyone reads the output


async def _reload(gateway: Any, lambdas: Any, config: ServiceConfig,
                  on_routes: Callable[[list[Any]], None] | None = None) -> None:
    """After a change: re-read golive.toml and the route table, then recycle environments; a broken change is
    reported in one line and the last good state keeps serving. `on_routes` hears the new table."""
    from golive.local.apigw import routes as route_table
    from golive.service.auth import add_jwt_function

    loop = asyncio.get_running_loop()
    try:
        fresh = await loop.run_in_executor(None, load_config, config.root)
        add_jwt_function(fresh)
        table = await loop.run_in_executor(None, route_table.load, fresh)
        if table.failures:  # a handler served on declared routes no longer imports
            raise ConfigError(next(iter(table.failures.values())))
        type(gateway)(fresh, lambdas, table, access_log=gateway.access_log)  # validates before anything changes
        gateway.routes = table
        gateway.configure(fresh)
    except ConfigError as exc:
        lambdas.hold(str(exc))
        warm = sum(1 for pool in lambdas.pools.values() for env in pool.environments if env.state != "dead")
        print(f"golive dev: reload failed: {exc}\ngolive dev: {warm} warm environment{'s' if warm != 1 else ''} keep "
              f"serving the previous version; a request that needs a new environment answers 502 (the error is in "
              f"its log) until you fix the code", file=sys.stderr, flush=True)
        return
    lambdas.reload(fresh)
    if on_routes is not None:
        on_routes(table.routes)
    print(f"golive dev: reloaded ({len(table.routes)} routes)", file=sys.stderr, flush=True)


def run(config: ServiceConfig, host: str = "127.0.0.1", port: int = 3000,
        ready: Callable[[str], None] | None = None, **options: Any) -> int:
    """Serve in this thread until SIGINT/SIGTERM (in the main thread) or KeyboardInterrupt; returns 0."""

    async def main() -> None:
        stop = asyncio.Event()
        if threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        await serve(config, host, port, ready=ready, stop=stop, **options)

    with asyncio.Runner() as runner:
        try:
            runner.run(main())
        except KeyboardInterrupt:
            pass
    return 0
