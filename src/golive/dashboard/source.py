"""What the pages read: one source object over a telemetry store (golive dev's own, or a file opened read-only by
golive dev's absence or a synced stage), and `View`, the store cursor and parameters one page is rendered from."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from golive.dashboard.layout import DEFAULT_SINCE
from golive.telemetry.api import TelemetryAPI
from golive.telemetry.model import API_PREFIX
from golive.telemetry.source import running_dev
from golive.telemetry.store import Store, StoreError


class StoreSource:
    """A store and the telemetry API answering over it, in this process. `before_read` runs before each page
    reads (golive dev flushes its collector, so a page shows every request already answered)."""

    def __init__(self, store: Any, api: TelemetryAPI, before_read: Callable[[], None] | None = None) -> None:
        self.store, self.api, self.before_read = store, api, before_read

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A cursor for one page (each page its own: pages render side by side on worker threads)."""
        if self.before_read is not None:
            self.before_read()
        cursor = self.store.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def document(self, name: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        """The telemetry API's JSON document `name` (alarms, cost ...); None when this golive does not serve it."""
        query = urlencode({k: v for k, v in (params or {}).items() if v})
        status, _, body = self.api.answer("GET", API_PREFIX + name + (f"?{query}" if query else ""))
        if status == 404:
            return None
        document = json.loads(body)
        if status >= 400:
            raise ValueError(document.get("detail") or f"{name}: {status}")
        return document  # type: ignore[no-any-return]


class FileSource(StoreSource):
    """The store file, opened read-only for each page and closed after: between pages nothing holds the file, so
    golive dev can start and take it (DuckDB has one writer), and each page sees everything written so far.
    `sync`, when given, rewrites the file from elsewhere (a deployed stage) on `refresh()`."""

    def __init__(self, path: Path, service: str = "", sync: Callable[[], Path] | None = None,
                 alarms: Callable[[], list[Any]] | None = None, service_root: Path | None = None) -> None:
        self.path, self.sync, self.service = Path(path), sync, service
        self.lock = threading.RLock()  # one page at a time: each opens the file, and a sync rewrites it
        Store(self.path, read_only=True).close()  # fail now, with the store's one line, when it cannot be read
        super().__init__(None, TelemetryAPI(None, None, service, alarms=alarms, service_root=service_root))

    @contextmanager
    def reading(self) -> Iterator[Any]:
        with self.lock:
            store = self._open()
            self.store = self.api.store = store
            try:
                cursor = store.cursor()
                try:
                    yield cursor
                finally:
                    cursor.close()
            finally:
                store.close()
                self.store = self.api.store = None

    def _open(self) -> Store:
        try:
            return Store(self.path, read_only=True)
        except StoreError:
            url = running_dev(self.path.parent.parent)
            if url is None:
                raise
            raise StoreError(f"golive dev started and now owns the store: its dashboard is {url}/_golive/") from None

    def document(self, name: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        with self.lock:
            if self.store is not None:  # inside a page: its store is open
                return super().document(name, params)
            with self.reading():
                return super().document(name, params)

    def refresh(self) -> None:
        """Sync the stage's telemetry into the file (no page reads it meanwhile)."""
        if self.sync is not None:
            with self.lock:
                self.path = self.sync()


@dataclass
class View:
    """One page's inputs: the store cursor, the query parameters, the source (for API documents), the service."""

    cursor: Any
    params: dict[str, str]
    source: StoreSource
    service: str = ""

    def filter_params(self) -> dict[str, str]:
        """The request filters among the parameters (telemetry.explore's keys), the last hour unless a range is
        given."""
        from golive.telemetry.explore import FILTER_KEYS

        chosen = {k: v for k, v in self.params.items() if k in FILTER_KEYS}
        if not any(chosen.get(k) for k in ("since", "start", "end")):
            chosen["since"] = DEFAULT_SINCE
        return chosen

    def filters(self) -> Any:
        from golive.telemetry.explore import parse_filters

        return parse_filters(self.filter_params())

