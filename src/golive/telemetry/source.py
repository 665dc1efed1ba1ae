"""Where the CLI reads telemetry: the running golive dev's HTTP API (it owns the store: DuckDB has one writer), or
the store file opened read-only when dev is not running. Both answer with the same JSON-able dicts."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from golive.telemetry import queries
from golive.telemetry.model import API_PREFIX, DEV_STATE_FILE, state_dir, store_path
from golive.telemetry.store import Store, StoreError

HTTP_TIMEOUT_S = 30.0


class FileSource:
    """The store file, read-only (golive dev is not running)."""

    def __init__(self, path: Path, service_root: Path | None = None, stage: str | None = None) -> None:
        self.path = path
        self.root = service_root if service_root is not None else path.parent.parent
        self.stage = stage  # a deployed stage's store: its alarms are that stage's (golive.toml [stages.STAGE])
        self.store = Store(path, read_only=True)
        self.where = str(path)

    def _cursor(self) -> Any:
        return self.store.cursor()

    def stats(self, since_s: float | None, by: str) -> dict[str, Any]:
        return queries.stats(self._cursor(), since_s, by)

    def logs(self, since_s: float | None, filter_text: str | None, limit: int, after: str | None = None
             ) -> dict[str, Any]:
        return queries.logs(self._cursor(), since_s, filter_text, limit, after)

    def request(self, any_id: str) -> dict[str, Any] | None:
        return queries.find_request(self._cursor(), any_id)

    def errors(self, since_s: float | None) -> dict[str, Any]:
        return queries.errors(self._cursor(), since_s)

    def query(self, sql: str) -> dict[str, Any]:
        return queries.read_only_sql(self._cursor(), sql)

    def alarms(self, since_s: float | None) -> dict[str, Any]:
        """Every alarm the template deploys, evaluated over the store: the service's golive.toml and route tables
        are read from its folder (importing its handlers, as golive template does)."""
        from golive.service.alarms import service_alarms
        from golive.service.config import load_config
        from golive.telemetry.alarms import evaluate

        return evaluate(self._cursor(), service_alarms(load_config(self.root, self.stage)), since_s)

    def cost(self, since_s: float | None) -> dict[str, Any]:
        from golive.telemetry.cost import cost

        return cost(self._cursor(), since_s, service_config(self.root, self.stage))

    def refresh(self) -> None:
        """Reopen (a read-only DuckDB connection sees the file as it was when opened)."""
        self.store.close()
        self.store = Store(self.path, read_only=True)

    def close(self) -> None:
        self.store.close()


class HTTPSource:
    """The running golive dev's /_golive/api/."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.where = self.url + API_PREFIX

    def _get(self, name: str, params: dict[str, Any] | None = None, missing_ok: bool = False) -> Any:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        url = f"{self.url}{API_PREFIX}{name}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return None
            try:
                detail = json.loads(exc.read()).get("detail")
            except (ValueError, AttributeError):
                detail = None
            raise queries.QueryError(detail or f"golive dev answered {exc.code} for {url}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise StoreError(f"cannot reach golive dev at {self.url}: {getattr(exc, 'reason', exc)}") from None

    @staticmethod
    def _since(since_s: float | None) -> str | None:
        return None if since_s is None else f"{since_s:g}s"

    def stats(self, since_s: float | None, by: str) -> dict[str, Any]:
        return self._get("stats", {"since": self._since(since_s), "by": by})  # type: ignore[no-any-return]

    def logs(self, since_s: float | None, filter_text: str | None, limit: int, after: str | None = None
             ) -> dict[str, Any]:
        return self._get("logs", {"since": self._since(since_s), "filter": filter_text or None,  # type: ignore
                                  "limit": limit, "after": after})

    def request(self, any_id: str) -> dict[str, Any] | None:
        return self._get("requests/" + quote(any_id, safe=""), missing_ok=True)  # type: ignore[no-any-return]

    def errors(self, since_s: float | None) -> dict[str, Any]:
        return self._get("errors", {"since": self._since(since_s)})  # type: ignore[no-any-return]

    def query(self, sql: str) -> dict[str, Any]:
        return self._get("query", {"sql": sql})  # type: ignore[no-any-return]

    def alarms(self, since_s: float | None) -> dict[str, Any]:
        return self._get("alarms", {"since": self._since(since_s)})  # type: ignore[no-any-return]

    def cost(self, since_s: float | None) -> dict[str, Any]:
        return self._get("cost", {"since": self._since(since_s)})  # type: ignore[no-any-return]

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def running_dev(service_root: Path) -> str | None:
    """The URL of the golive dev serving this service, from .golive/dev.json, when its process is alive."""
    try:
        state = json.loads((state_dir(service_root) / DEV_STATE_FILE).read_text())
        pid, url = int(state["pid"]), str(state["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return url


def open_source(service_root: Path) -> FileSource | HTTPSource:
    url = running_dev(service_root)
    if url is not None:
        return HTTPSource(url)
    path = store_path(service_root)
    if not path.exists():
        raise StoreError(f"no telemetry for {service_root} yet: run `golive dev {service_root}` and send it a "
                         f"request")
    return FileSource(path, service_root)


def service_config(service_root: Path | None, stage: str | None = None) -> Any:
    """golive.toml of the service (memory and architecture per function, the API type), or None when it cannot be
    read: the cost then falls back to what the REPORT lines say."""
    if service_root is None:
        return None
    from golive.service.config import ConfigError, load_config

    try:
        return load_config(service_root, stage)
    except ConfigError:
        return None
