"""`golive dashboard`: the dashboard over a service's telemetry when golive dev is not serving it (the store file,
read-only), or over a deployed stage's telemetry synced from CloudWatch (--stage), refreshed periodically."""

from __future__ import annotations

import argparse
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DASHBOARD_PATH = "/_golive/"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", nargs="?", default=".", metavar="SERVICE_DIR",
                        help="folder holding golive.toml (default: the current folder)")
    parser.add_argument("--port", type=int, default=3100, metavar="N",
                        help="port to listen on (default 3100; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--stage", metavar="NAME",
                        help="a deployed stage: sync its telemetry from CloudWatch and show that")
    parser.add_argument("--since", default="24h", metavar="DURATION",
                        help="with --stage: how far back to sync (default 24h)")
    parser.add_argument("--refresh", type=float, default=60.0, metavar="SECONDS",
                        help="with --stage: seconds between syncs (default 60)")


def run(args: argparse.Namespace) -> int:
    from golive.cli import CLIError
    from golive.dashboard.router import Dashboard
    from golive.dashboard.source import FileSource
    from golive.service.config import load_config
    from golive.telemetry.model import store_path
    from golive.telemetry.queries import QueryError, parse_since
    from golive.telemetry.source import running_dev
    from golive.telemetry.store import StoreError

    if not 0 <= args.port <= 65535:
        raise CLIError(f"--port {args.port} is not a TCP port; pass a number between 1 and 65535")
    config = load_config(args.service_dir)
    root = Path(config.root)
    sync = None
    if args.stage:
        try:
            since_s = parse_since(args.since)
        except QueryError as exc:
            raise CLIError(str(exc)) from None
        sync = _stage_sync(root, args.stage, since_s)
        try:
            path = sync()
        except Exception as exc:  # the sync's own one-line errors (credentials, stage not deployed ...)
            raise CLIError(f"--stage {args.stage}: {_one_line(exc)}") from None
        where = f"stage {args.stage} (synced from CloudWatch every {args.refresh:g} s)"
    else:
        url = running_dev(root)
        if url is not None:
            print(f"golive dashboard: golive dev is serving {config.service}; its dashboard is {url}{DASHBOARD_PATH}")
            return 0
        path = store_path(root)
        if not path.exists():
            raise CLIError(f"no telemetry for {args.service_dir} yet: run `golive dev {args.service_dir}` and send it "
                           f"a request, or pass --stage NAME for a deployed stage")
        where = f"{path} (read-only)"
    try:
        source = FileSource(path, config.service, sync, alarms=_alarm_definitions(config), service_root=root)
    except StoreError as exc:
        raise CLIError(str(exc)) from None
    dashboard = Dashboard(source, config.service)
    try:
        server = ThreadingHTTPServer((args.host, args.port), _handler(dashboard, source))
    except OSError:
        raise CLIError(f"port {args.port} is in use; stop the other process or pass --port N") from None
    server.daemon_threads = True
    host, port = str(server.server_address[0]), int(server.server_address[1])
    print(f"golive dashboard: {config.service} telemetry from {where}\nhttp://{host}:{port}{DASHBOARD_PATH}\n"
          f"Press Ctrl+C to stop.", flush=True)
    stop = threading.Event()
    if sync is not None:
        threading.Thread(target=_keep_synced, args=(source, args.refresh, stop), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
    print("golive dashboard: stopped", file=sys.stderr, flush=True)
    return 0


def _alarm_definitions(config: Any) -> Any:
    """The service's alarms, read once on first use (loading the route tables takes a child process)."""
    from golive.service.alarms import service_alarms

    found: list[Any] = []

    def definitions() -> list[Any]:
        if not found:
            found.append(service_alarms(config))
        return found[0]  # type: ignore[no-any-return]

    return definitions


def _stage_sync(root: Path, stage: str, since_s: float | None) -> Any:
    from golive.cli import CLIError

    try:
        from golive.telemetry.deployed import sync_stage  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise CLIError("--stage is not available yet in this golive (it needs golive.telemetry.deployed); "
                       "run golive dashboard without --stage for golive dev's telemetry") from None
    return lambda: sync_stage(root, stage, since_s)


def _keep_synced(source: Any, every_s: float, stop: threading.Event) -> None:
    while not stop.wait(max(every_s, 1.0)):
        try:
            source.refresh()
        except Exception as exc:  # keep showing the last sync; say why this one failed
            print(f"golive dashboard: sync failed, showing the last one: {_one_line(exc)}", file=sys.stderr,
                  flush=True)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _handler(dashboard: Any, source: Any) -> type[BaseHTTPRequestHandler]:
    from golive.telemetry.api import problem
    from golive.telemetry.model import API_PREFIX
    from golive.telemetry.store import StoreError

    class Handler(BaseHTTPRequestHandler):
        server_version = "golive-dashboard"

        def do_GET(self) -> None:
            path = self.path.partition("?")[0]
            if not path.startswith(DASHBOARD_PATH.rstrip("/")):
                self._send(302, [("Location", DASHBOARD_PATH)], b"")
            elif path == API_PREFIX.rstrip("/") or path.startswith(API_PREFIX):
                try:
                    with source.reading():
                        reply = source.api.answer("GET", self.path)
                except StoreError as exc:
                    reply = problem(503, "Service Unavailable", str(exc))
                self._send(*reply)
            else:
                self._send(*dashboard.answer("GET", self.path))

        def do_HEAD(self) -> None:
            self.do_GET()

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a dashboard's page views are not the service's traffic

    return Handler
