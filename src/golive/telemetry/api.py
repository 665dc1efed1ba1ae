"""The dev server's telemetry HTTP API under /_golive/api/ (JSON; problem+json errors): what `golive logs`,
`golive stats`, `golive errors`, `golive query` and the dashboard read while golive dev owns the store.

Served by the local gateway before any route matching, so it never collides with a service route, and never
deployed. Queries run on a worker thread: a long one never stalls the gateway's event loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from golive.telemetry import explore, queries
from golive.telemetry.model import API_PREFIX

Reply = tuple[int, list[tuple[str, str]], bytes]
ENDPOINTS = {
    "stats": "GET stats?since=1h&by=route|status|minute",
    "logs": "GET logs?since=1h&filter=...&limit=200&after=ISO-TIME",
    "requests": "GET requests/{any id}: the request, its log lines, metrics and spans",
    "errors": "GET errors?since=1h",
    "alarms": "GET alarms?since=1h: every alarm golive template deploys, evaluated over the store",
    "query": "GET query?sql=SELECT... or POST query with {\"sql\": \"SELECT...\"}",
    "invocations": "GET invocations?<filters>&limit=100&before=ISO-TIME: the requests behind a chart or board cell",
    "series": "GET series?<filters>&metric=count|p50|p95|p99|cold_starts|errors|emf:NAME&group_by=status_class"
              "&buckets=60",
    "board": "GET board?<filters>&buckets=30: one row per route, gateway and function failures apart",
    "cost": "GET cost?since=1h: the month's AWS bill this traffic would make, memory right-sizing per function",
}
# <filters>: route, status, status_class, decided_by, function, error_type, and since=1h or start=&end= (ISO/epoch)


def _json(status: int, document: Any, content_type: str = "application/json") -> Reply:
    body = json.dumps(document, separators=(",", ":"), default=str).encode()
    return status, [("Content-Type", content_type), ("Cache-Control", "no-store")], body


def problem(status: int, title: str, detail: str) -> Reply:
    return _json(status, {"type": "about:blank", "title": title, "status": status, "detail": detail},
                 "application/problem+json")


class TelemetryAPI:
    """Answers /_golive/ requests from the store the collector writes."""

    def __init__(self, store: Any, collector: Any = None, service: str = "",
                 alarms: Callable[[], list[Any]] | None = None, service_root: Any = None, spans: Any = None,
                 payloads: Any = None) -> None:
        self.store, self.collector, self.service, self.spans = store, collector, service, spans
        self.payloads = payloads  # golive dev's ring of recent events and results (memory only), when it has one
        self.alarms = alarms  # the service's alarm definitions, read when asked (golive.toml may have changed)
        self.service_root = service_root  # golive.toml is read again for each cost: memory may change while dev runs

    def find_request(self, cursor: Any, any_id: str) -> dict[str, Any] | None:
        """queries.find_request, with the raw event and response when golive dev still keeps them in memory."""
        found = queries.find_request(cursor, any_id)
        if found is not None and self.payloads is not None:
            self.payloads.add_to(found)
        return found

    def serve(self, request: Any, respond: Callable[[Reply], None]) -> None:
        """The gateway's hook: answer on a worker thread, reply on the loop."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, self.answer, request.method, request.target, request.body)

        def done(finished: asyncio.Future[Reply]) -> None:
            try:
                reply = finished.result()
            except Exception as exc:  # a bug here must still answer
                reply = problem(500, "Internal Server Error", f"{type(exc).__name__}: {exc}")
            respond(reply)

        future.add_done_callback(done)

    def answer(self, method: str, target: str, body: bytes = b"") -> Reply:
        path, _, raw_query = target.partition("?")
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        if not path.startswith(API_PREFIX) and path.rstrip("/") + "/" != API_PREFIX:
            return problem(404, "Not Found", f"{path} is reserved for golive; the telemetry API is under "
                                             f"{API_PREFIX}")
        name = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else ""
        if method not in ("GET", "HEAD") and not (method == "POST" and name == "query"):
            return problem(405, "Method Not Allowed", f"{method} {path}: the telemetry API is read-only (GET)")
        if self.collector is not None:
            self.collector.flush()  # what the loop has already seen is stored before it is read
        if self.spans is not None and (name.startswith("requests/") or name == "query"):
            self.spans.flush()  # only the readers of spans: a tail's polls never pay for a span batch
        cursor = self.store.cursor()
        try:
            return self._route(cursor, name, params, method, body)
        except queries.QueryError as exc:
            return problem(400, "Bad Request", str(exc))
        finally:
            cursor.close()

    def _route(self, cursor: Any, name: str, params: dict[str, str], method: str, body: bytes) -> Reply:
        since = queries.parse_since(params.get("since"))
        if name == "":
            return _json(200, {"service": self.service, "store": str(self.store.path), "endpoints": ENDPOINTS})
        if name == "stats":
            return _json(200, queries.stats(cursor, since, params.get("by") or "route"))
        if name == "logs":
            limit = _int(params.get("limit"), 200)
            return _json(200, queries.logs(cursor, since, params.get("filter"), limit, params.get("after")))
        if name == "errors":
            return _json(200, queries.errors(cursor, since, _int(params.get("limit"), 50)))
        if name == "alarms":
            return self._alarms(cursor, since)
        if name == "cost":
            from golive.telemetry.cost import cost
            from golive.telemetry.source import service_config

            return _json(200, cost(cursor, since, service_config(self.service_root)))
        if name.startswith("requests/"):
            any_id = unquote(name[len("requests/"):])
            found = self.find_request(cursor, any_id)
            if found is None:
                return problem(404, "Not Found", f"no request has the id {any_id!r}")
            return _json(200, found)
        if name in ("invocations", "series", "board"):
            return _json(200, self._explore(cursor, name, params))
        if name == "query":
            sql = params.get("sql")
            if method == "POST":
                try:
                    sql = json.loads(body or b"{}").get("sql")
                except (ValueError, AttributeError):
                    return problem(400, "Bad Request", 'send {"sql": "SELECT ..."} as the JSON body')
            if not sql:
                return problem(400, "Bad Request", "pass the SQL as ?sql=SELECT... or a JSON body {\"sql\": ...}")
            return _json(200, queries.read_only_sql(cursor, sql))
        return problem(404, "Not Found", f"no telemetry endpoint {name!r}; endpoints: {', '.join(ENDPOINTS)}")

    @staticmethod
    def _explore(cursor: Any, name: str, params: dict[str, str]) -> dict[str, Any]:
        filters = explore.parse_filters(params)
        if name == "invocations":
            return explore.invocations(cursor, filters, _int(params.get("limit"), 100), params.get("before") or None)
        if name == "series":
            return explore.series(cursor, filters, params.get("metric") or "count",
                                  params.get("group_by") or "status_class", _int(params.get("buckets"), 60))
        return explore.board(cursor, filters, _int(params.get("buckets"), 30))

    def _alarms(self, cursor: Any, since: float | None) -> Reply:
        from golive.service.config import ConfigError
        from golive.telemetry.alarms import evaluate

        if self.alarms is None:
            return problem(404, "Not Found", "this server has no service description to take alarms from")
        try:
            definitions = self.alarms()
        except ConfigError as exc:  # golive.toml edited into something that does not load
            return problem(503, "Service Unavailable", f"the alarms cannot be read: {exc}")
        return _json(200, evaluate(cursor, definitions, since))


def _int(text: str | None, default: int) -> int:
    if text is None or text == "":
        return default
    try:
        return max(1, int(text))
    except ValueError:
        raise queries.QueryError(f"{text!r} is not a whole number") from None
