"""golive dev's telemetry: the store it owns, the collector fed by the local cloud's callbacks, the recent payloads
it keeps in memory, the HTTP API, and the state file (.golive/dev.json) that tells the CLI where to find them while
dev runs."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from golive.telemetry.api import TelemetryAPI
from golive.telemetry.collector import Collector
from golive.telemetry.model import DEV_STATE_FILE, state_dir, store_path
from golive.telemetry.payloads import PayloadRing
from golive.telemetry.spans import Spans
from golive.telemetry.store import Store, StoreError


class DevTelemetry:
    """Everything golive dev records; `on_access_log` / `on_function_log` are the local cloud's callbacks."""

    def __init__(self, service_root: Path, service: str = "") -> None:
        self.root = Path(service_root)
        self.store = Store(store_path(self.root))
        self.collector = Collector(self.store).start()
        self.routes: list[tuple[str, str]] = []  # (route key, function), as the gateway read them
        self.spans = Spans(self.store).start()  # the local cloud's SpanSink when tracing is on
        # the last requests' events and raw results, in memory only (not the store): the API's requests show them
        self.payloads = PayloadRing()
        self.api = TelemetryAPI(self.store, self.collector, service, alarms=self.alarm_definitions,
                                service_root=self.root, spans=self.spans, payloads=self.payloads)
        self.on_access_log = self.collector.on_access_log
        self.on_function_log = self.collector.on_function_log
        self.on_payload = self.payloads.on_payload
        self.serve_http = self.api.serve
        self.state_file = state_dir(self.root) / DEV_STATE_FILE

    @classmethod
    def open(cls, service_root: Path, service: str = "") -> DevTelemetry | None:
        """The telemetry of a dev server, or None (one line on stderr) when its store cannot be opened."""
        try:
            return cls(service_root, service)
        except StoreError as exc:
            print(f"golive dev: telemetry off: {exc}", file=sys.stderr, flush=True)
            return None

    def routes_read(self, routes: list[Any]) -> None:
        """The local cloud's on_routes callback: the route table the gateway serves."""
        self.routes = [(route.key, route.function) for route in routes]

    def alarm_definitions(self) -> list[Any]:
        """The service's alarms: golive.toml as it is now (a changed threshold counts at once), the routes served."""
        from golive.service.alarms import alarm_definitions
        from golive.service.config import load_config

        return alarm_definitions(load_config(self.root), self.routes)

    def started(self, url: str) -> None:
        state = {"url": url, "pid": os.getpid(), "store": str(self.store.path), "started": time.time()}
        self.state_file.write_text(json.dumps(state) + "\n")

    def close(self) -> None:
        try:
            self.spans.close()
            self.collector.close()
        finally:
            try:
                state = json.loads(self.state_file.read_text())
                if state.get("pid") == os.getpid():
                    self.state_file.unlink()
            except (OSError, ValueError):
                pass
            self.store.close()


def compose(*callbacks: Any) -> Any:
    """One callback calling each of `callbacks` that is not None (None when all are)."""
    present = [callback for callback in callbacks if callback is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]

    def both(record: Any) -> None:
        for callback in present:
            callback(record)

    return both
