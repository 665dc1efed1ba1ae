"""`golive dev`: serve the service over HTTP on this machine, every request through API Gateway's translation."""

from __future__ import annotations

import argparse
import re
import signal
import sys
from typing import Any

from golive.service.config import ServiceConfig, load_config

DEV_TOKEN_SUBJECT = "dev-admin"
DEV_TOKEN_TTL = 12 * 3600
DASHBOARD_PATH = "/_golive/"


class _Stop(Exception):
    """Raised by the SIGINT/SIGTERM handler to leave the serving loop."""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", nargs="?", default=".", metavar="SERVICE_DIR",
                        help="folder holding golive.toml (default: the current folder)")
    parser.add_argument("--port", type=int, default=3000, help="port to listen on (default 3000; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--no-reload", action="store_true",
                        help="do not watch the service's files (by default a change reloads routes and environments)")
    parser.add_argument("--log-format", choices=("text", "json"),
                        help="text: one line per request with its function's logs beneath (the default on a "
                             "terminal); json: the raw access-log and function lines, for machines (the default "
                             "otherwise; the local cloud only: --in-process prints as before)")
    parser.add_argument("--in-process", action="store_true",
                        help="run handlers inside this process (fastest start; no worker processes, no gateway "
                             "emulation: no throttling, authorizers, timeouts or memory limits)")
    parser.add_argument("--no-telemetry", action="store_true",
                        help="do not record requests and logs in SERVICE_DIR/.golive/telemetry.duckdb (what golive "
                             "logs, stats, errors and query read); implies --no-tracing")
    parser.add_argument("--no-tracing", action="store_true",
                        help="no local X-Ray daemon: functions are invoked with Sampled=0 and no spans are recorded "
                             "(by default workers get AWS_XRAY_DAEMON_ADDRESS, and the gateway's, each function's "
                             "and the SDKs' segments go to the spans table)")
    parser.add_argument("--trace-all", action="store_true",
                        help="trace every request; by default the gateway samples as X-Ray's rule does, with a "
                             "larger reservoir: the first 100 requests each second and 5 %% of the rest (a client's "
                             "X-Amzn-Trace-Id with Sampled=1 or Sampled=0 decides for its request)")


def run(args: argparse.Namespace) -> int:
    from golive.cli import CLIError
    from golive.local import devserver

    if not 0 <= args.port <= 65535:
        raise CLIError(f"--port {args.port} is not a TCP port; pass a number between 1 and 65535")
    config = load_config(args.service_dir)
    if not args.in_process:
        return _run_cloud(config, args)
    runtime = devserver.ServiceRuntime.load(config)
    from golive.local.apigw.routes import spec_of

    routes = [spec_of(route, name, runtime.targets[name].app) for name, route in runtime.routes]

    def stop(signum: int, frame: Any) -> None:
        raise _Stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        devserver.serve(config, args.host, args.port, runtime=runtime,
                        ready=lambda url: _banner(config, routes, list(runtime.targets), url, args.service_dir,
                                                  "in-process"))
    except devserver.PortInUse:
        raise CLIError(f"port {args.port} is in use; stop the other process or pass --port N") from None
    except (_Stop, KeyboardInterrupt):
        print("golive dev: stopped", file=sys.stderr, flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _run_cloud(config: ServiceConfig, args: argparse.Namespace) -> int:
    """The default: the local cloud (API Gateway emulation in front of Lambda worker processes)."""
    from golive.local import cloud, console

    table: list[Any] = []
    text = (args.log_format or ("text" if sys.stdout.isatty() else "json")) == "text"
    screen = console.Console(routes=table) if text else None

    def hint(record: dict[str, Any]) -> None:
        found = console.unknown_route_hint(record, table)
        if found:
            print(f"golive dev: hint: {found}", file=sys.stderr, flush=True)

    # The console (text) or the printed lines with a hint (json), and the telemetry store beside either.
    on_access: Any = screen.access if screen is not None else hint
    on_function: Any = screen.function_log if screen is not None else cloud._print_function_log
    options: dict[str, Any] = {"print_access_log": screen is None}

    def routes_read(routes: list[Any]) -> None:  # at start and after each reload
        table[:] = routes

    on_routes: Any = routes_read
    telemetry = None
    if not getattr(args, "no_telemetry", False):
        from golive.telemetry.devhook import DevTelemetry

        telemetry = DevTelemetry.open(config.root, config.service)
    if telemetry is not None:
        from golive.telemetry.devhook import compose

        on_access = compose(on_access, telemetry.on_access_log)
        on_function = compose(on_function, telemetry.on_function_log)
        options["reserved"] = _reserved(telemetry, config.service)
        options["on_payload"] = telemetry.on_payload  # each request's event and raw result, for the request page
        on_routes = compose(on_routes, telemetry.routes_read)  # alarms are evaluated for the routes it serves
        if not getattr(args, "no_tracing", False):
            options["spans"] = telemetry.spans
            options["trace_all"] = getattr(args, "trace_all", False)
    options.update(on_access_log=on_access, on_function_log=on_function)

    def ready(url: str) -> None:
        if telemetry is not None:
            telemetry.started(url)
        _banner(config, table, list(config.functions), url, args.service_dir,
                "local cloud: API Gateway + Lambda workers", text, dashboard=telemetry is not None)

    try:
        code = cloud.run(config, args.host, args.port, on_routes=on_routes, watch=not args.no_reload,
                         ready=ready, **options)
    finally:
        if screen is not None:
            screen.flush()
        if telemetry is not None:
            telemetry.close()
    print("golive dev: stopped", file=sys.stderr, flush=True)
    return code


def _reserved(telemetry: Any, service: str) -> Any:
    """golive dev's own pages under /_golive/: the telemetry API under /_golive/api/, the dashboard for the rest.
    Composed here: the dashboard reads telemetry, telemetry never knows the dashboard."""
    from golive.dashboard.router import Dashboard
    from golive.dashboard.source import StoreSource
    from golive.telemetry.model import API_PREFIX

    dashboard = Dashboard(StoreSource(telemetry.store, telemetry.api, telemetry.collector.flush), service)
    api_root = API_PREFIX.rstrip("/")

    def reserved(request: Any, respond: Any) -> None:
        path = request.target.partition("?")[0]
        if path == api_root or path.startswith(API_PREFIX):
            telemetry.serve_http(request, respond)
        else:
            dashboard.serve(request, respond)

    return reserved


def _functions_text(config: ServiceConfig, names: list[str]) -> str:
    """'1 function (api)', with authorizer functions named as such: they guard the API, they serve no route."""
    from golive.service.auth import JWT_AUTHORIZER_HANDLER, authorizer_functions

    guards = authorizer_functions(config)
    own = [n for n in names if n not in guards and config.functions[n].handler != JWT_AUTHORIZER_HANDLER]
    text = f"{len(own)} function{'s' if len(own) != 1 else ''} ({', '.join(own)})"
    for name in (n for n in names if n not in own):
        golive_own = config.functions[name].handler == JWT_AUTHORIZER_HANDLER
        text += (f" + the JWT authorizer function '{name}' (golive's, deployed with the API)" if golive_own
                 else f" + the authorizer function '{name}'")
    return text


def _banner(config: ServiceConfig, routes: list[Any], functions: list[str], url: str, service_dir: str, mode: str,
            text_logs: bool = False, dashboard: bool = False) -> None:
    """What a person needs to start: the URL, a curl to paste and a token for the protected routes."""
    api = "REST API (payload v1)" if config.api_type == "rest" else "HTTP API (payload v2)"
    lines = [
        f"golive dev: {config.service} {config.version} — {api}, stage {config.stage}, "
        f"{_functions_text(config, functions)}, {len(routes)} route{'s' if len(routes) != 1 else ''}"
        f" ({mode})",
        url,
        *([f"Dashboard: {url}{DASHBOARD_PATH}  (every request, gateway failures beside the function's)"]
          if dashboard else []),
        "",
        "Try it:",
        f"  curl -s {_example_url(url, routes, public=True)}",
    ]
    if config.auth and config.auth.get("type", "jwt") == "jwt":
        from golive.service.tokens import mint_token

        token = mint_token(config, DEV_TOKEN_SUBJECT, roles=["admin"], ttl=DEV_TOKEN_TTL)
        lines += [
            "",
            f"Development token (sub {DEV_TOKEN_SUBJECT}, role admin, valid 12 h):",
            f"  export TOKEN={token}",
            f"  curl -s -H \"Authorization: Bearer $TOKEN\" {_example_url(url, routes, public=False)}",
            f"  another: TOKEN=$(golive token --sub alice {service_dir})",
        ]
    open_routes = unprotected_routes(config, routes)
    if open_routes:
        shown = ", ".join(open_routes[:3]) + (f" and {len(open_routes) - 3} more" if len(open_routes) > 3 else "")
        lines += ["", f"warning: nothing authenticates {shown}: golive.toml has no [auth] and the App no auth=, so "
                      f"anyone can call them; add [auth] (golive token then mints tokens) or mark them public=True"]
    lines += ["", "One line per request follows, its function's logs beneath (--log-format json for raw lines). "
                  "Press Ctrl+C to stop." if text_logs else "Logs follow. Press Ctrl+C to stop.", ""]
    print("\n".join(lines), flush=True)


def unprotected_routes(config: ServiceConfig, routes: list[Any]) -> list[str]:
    """Non-public golive routes that neither the gateway's authorizer nor the function's App authenticates."""
    from golive.service.auth import plan

    chosen = plan(config)
    found = []
    for route in routes:
        if route.golive and not route.public and not route.authenticated \
                and not chosen.guards(route.key, route.public):
            found.append(route.key)
    return found


def _example_url(base: str, routes: list[Any], public: bool) -> str:
    """A GET route worth trying first: the health check when public, a protected listing otherwise."""
    candidates = [r for r in routes if r.method == "GET" and r.public == public]
    if not candidates:
        candidates = [r for r in routes if r.method == "GET"]
    if not candidates:
        return base + "/"
    best = min(candidates, key=lambda r: ("{" in r.path, r.path != "/health", len(r.path)))
    return base + re.sub(r"\{[^}]+\}", "example", best.path)
