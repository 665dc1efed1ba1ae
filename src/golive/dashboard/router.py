"""The dashboard's router: /_golive/<page> to the page family that renders it, its stylesheet and script, and the
answers (HTML, problem pages) as (status, headers, body) replies the local gateway and golive dashboard send."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, unquote

from golive.dashboard import alarms, board, cost, errors, explorer, invocations, request
from golive.dashboard.layout import PREFIX, STATIC, message_page
from golive.dashboard.source import StoreSource, View
from golive.telemetry.queries import QueryError
from golive.telemetry.store import StoreError

Reply = tuple[int, list[tuple[str, str]], bytes]
Page = Callable[[View], tuple[int, str]]
PAGES: dict[str, Page] = {
    "": board.render,
    "invocations": invocations.render,
    "explore": explorer.render,
    "errors": errors.render,
    "alarms": alarms.render,
    "cost": cost.render,
}
ASSETS = {"dashboard.css": "text/css; charset=utf-8", "dashboard.js": "text/javascript; charset=utf-8"}
# Everything the pages use is served from here: no CDN, no inline script. Charts are inline SVG (their own styles).
SECURITY_HEADERS = [
    ("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
                                "frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
]


class Dashboard:
    """Answers GET /_golive/... from one source."""

    def __init__(self, source: StoreSource, service: str = "") -> None:
        self.source, self.service = source, service
        self._assets: dict[str, bytes] = {}

    def serve(self, request: Any, respond: Callable[[Reply], None]) -> None:
        """The local gateway's hook: render on a worker thread (a page's queries never stall the event loop)."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, self.answer, request.method, request.target)

        def done(finished: asyncio.Future[Reply]) -> None:
            try:
                reply = finished.result()
            except Exception as exc:  # a bug in a page must still answer
                reply = self._html(*message_page(500, "Dashboard error", f"{type(exc).__name__}: {exc}"))
            respond(reply)

        future.add_done_callback(done)

    def answer(self, method: str, target: str) -> Reply:
        path, _, raw_query = target.partition("?")
        if method not in ("GET", "HEAD"):
            status, text = message_page(405, "Method Not Allowed", f"{method} {path}: the dashboard is read-only")
            return self._html(status, text, [("Allow", "GET, HEAD")])
        if path.startswith(STATIC):
            return self._asset(path[len(STATIC):])
        if not path.startswith(PREFIX) and path != PREFIX.rstrip("/"):
            return self._html(*message_page(404, "Not Found", f"{path} is not a dashboard page"))
        name = path[len(PREFIX):].strip("/") if path.startswith(PREFIX) else ""
        params = normalise(dict(parse_qsl(raw_query, keep_blank_values=True)))
        if name.startswith("requests/"):
            page: Page | None = _request_page(unquote(name[len("requests/"):]))
        else:
            page = PAGES.get(name)
        if page is None:
            return self._html(*message_page(404, "Not Found", f"no dashboard page {path!r}", self.service))
        try:
            with self.source.reading() as cursor:
                status, text = page(View(cursor, params, self.source, self.service))
        except (QueryError, ValueError) as exc:
            status, text = message_page(400, "Bad Request", str(exc), self.service)
        except StoreError as exc:  # golive dashboard's file taken by a golive dev started since
            status, text = message_page(503, "Store unavailable", str(exc), self.service)
        return self._html(status, text)

    def _html(self, status: int, text: str, extra: list[tuple[str, str]] | None = None) -> Reply:
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"), *SECURITY_HEADERS,
                   *(extra or [])]
        return status, headers, text.encode()

    def _asset(self, name: str) -> Reply:
        if name not in ASSETS:
            return self._html(*message_page(404, "Not Found", f"no dashboard asset {name!r}"))
        if name not in self._assets:
            self._assets[name] = resources.files("golive.dashboard").joinpath("static", name).read_bytes()
        return 200, [("Content-Type", ASSETS[name]), ("Cache-Control", "no-cache"), *SECURITY_HEADERS[1:]], \
            self._assets[name]


def _request_page(any_id: str) -> Page:
    return lambda view: request.render(view, any_id)


def normalise(params: dict[str, str]) -> dict[str, str]:
    """The picker's fields as the queries take them: a named range drops stale custom times, "custom" sends only
    start and end (datetime-local values, read as UTC), and empty fields are left out."""
    params = {k: v.strip() for k, v in params.items() if v is not None and v.strip() != ""}
    since = params.get("since")
    if since == "custom":
        params.pop("since")
    elif since:
        params.pop("start", None)
        params.pop("end", None)
    for key in ("start", "end"):
        if key in params:
            params[key] = utc_iso(params[key])
    return params


def utc_iso(text: str) -> str:
    """'2026-12-04T12:00' (a datetime-local value, UTC) → '2026-12-04T12:00:00Z'; other ISO times unchanged."""
    if len(text) == 16 and text[10] == "T":
        text += ":00"
    if len(text) == 19 and text[10] == "T":
        text += "Z"
    return text
