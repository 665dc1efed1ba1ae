"""The errors page (/_golive/errors): the function's exceptions grouped by fingerprint (type, innermost frames,
route) with their counts over time, first and last seen, the requests that hit each, and new groups marked."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from golive.dashboard import charts, layout
from golive.dashboard.layout import e, number, request_url, url
from golive.dashboard.source import View
from golive.telemetry.error_groups import error_groups
from golive.telemetry.queries import QueryError, parse_since


def window(params: dict[str, str]) -> tuple[int, int]:
    """The picked range as epoch microseconds: `since` back from now, or start/end (UTC)."""
    now = time.time()
    if params.get("start") or params.get("end"):
        start = _epoch(params["start"]) if params.get("start") else now - 86400
        end = _epoch(params["end"]) if params.get("end") else now
    else:
        start, end = now - (parse_since(params.get("since")) or 3600), now
    if end <= start:
        raise QueryError("the range's end is before its start; pick an end after the start")
    return int(start * 1_000_000), int(end * 1_000_000)


def _epoch(text: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"{text!r} is not a time; use ISO 8601, 2026-12-04T12:00:00Z") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def render(view: View) -> tuple[int, str]:
    params = view.filter_params()
    start_us, end_us = window(params)
    found = error_groups(view.cursor, start_us, end_us, buckets=30)
    carried = layout.range_params(params)
    rows = [_row(group, carried) for group in found["errors"]]
    head = ["Error", "Route", "Count", "Over time", "First seen", "Last seen", "Requests"]
    new = sum(1 for g in found["errors"] if g["new"])
    body = (f'<p class="subtitle">{len(rows)} group{"s" if len(rows) != 1 else ""} between {e(found["start"])} and '
            f"{e(found['end'])} UTC{f', {new} new (first seen in this range)' if new else ''}. A group is one "
            f"exception type raised from the same innermost frames on the same route.</p>"
            + layout.table("Errors by fingerprint", head, rows, css="errors"))
    return 200, layout.page("Errors", body, active="errors", params=view.params, service=view.service, live=True,
                            picker_html=layout.picker(view.params, view.params))


def _row(group: dict[str, Any], carried: dict[str, str]) -> str:
    badge = ' <span class="badge new">new</span>' if group.get("new") else ""
    ids = group.get("request_ids") or []
    links = " ".join(f'<a href="{e(request_url(any_id))}"><code>{e(str(any_id)[:8])}</code></a>' for any_id in ids)
    more = ""
    if group.get("count", 0) > len(ids) and group.get("route"):
        more = (f' <a href="{e(url("invocations", {**carried, "route": group["route"], "status_class": "5xx"}))}">'
                f"all…</a>")
    stack = group.get("example_stack") or ""
    details = (f'<details><summary>Latest stack trace</summary><pre class="stack">{e(stack)}</pre></details>'
               if stack else "")
    trend = charts.sparkline(group.get("timeline") or [], label=f"{group.get('error_type')} over time")
    route = group.get("route")
    route_cell = (f'<a href="{e(url("invocations", {**carried, "route": route}))}">{e(route)}</a>' if route
                  else "(no route)")
    return (f'<tr data-fingerprint="{e(group.get("fingerprint"))}"><th scope="row"><strong>'
            f'{e(group.get("error_type"))}</strong>{badge}<span class="kinds">{e(group.get("last_message"))}</span>'
            f'<span class="kinds">{e(group.get("frames"))} · <code>{e(group.get("fingerprint"))}</code></span>'
            f"{details}</th><td>{route_cell}</td>"
            f"<td class=\"num\" data-col=\"count\">{number(group.get('count'))}</td>"
            f"<td>{trend}</td>"
            f"<td>{e(_short(group.get('first_seen')))}</td><td>{e(_short(group.get('last_seen')))}</td>"
            f"<td>{links}{more}</td></tr>")


def _short(iso: Any) -> str:
    return str(iso or "").replace("T", " ").rstrip("Z")[:19]
