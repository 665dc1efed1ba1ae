"""The invocation explorer (/_golive/invocations?<filters>): the requests behind a board cell or a chart bar, newest
first, with the filters in the URL (bookmarkable) and a form to change them."""

from __future__ import annotations

from typing import Any

from golive.dashboard import layout
from golive.dashboard.layout import e, number, request_url, url
from golive.dashboard.source import View

PAGE_SIZE = 100
# filter field -> (label, choices or None for free text)
FIELDS: list[tuple[str, str, list[str] | None]] = [
    ("route", "Route", None),
    ("status", "Status", None),
    ("status_class", "Status class", ["", "2xx", "3xx", "4xx", "5xx"]),
    ("decided_by", "Decided by", ["", "gateway", "function"]),
    ("function", "Function", None),
    ("error_type", "Error type", None),
]


def filter_form(params: dict[str, str], action: str, extra: str = "") -> str:
    """The filters as a GET form (the time range is the picker's, carried as hidden fields)."""
    controls = []
    for key, label, choices in FIELDS:
        value = params.get(key, "")
        if choices is None:
            control = f'<input id="f-{key}" name="{key}" value="{e(value)}" size="{18 if key == "route" else 10}">'
        else:
            options = "".join(f'<option value="{c}"{" selected" if c == value else ""}>{c or "any"}</option>'
                              for c in choices)
            control = f'<select id="f-{key}" name="{key}">{options}</select>'
        controls.append(f'<label for="f-{key}">{label}</label>{control}')
    hidden = "".join(f'<input type="hidden" name="{k}" value="{e(v)}">' for k, v in layout.range_params(params).items())
    return (f'<form class="filters" method="get" action="{e(action)}" aria-label="Filters"><fieldset>'
            f'<legend class="skip">Filters</legend>{hidden}{"".join(controls)}{extra}'
            f'<button type="submit">Filter</button></fieldset></form>')


def render(view: View) -> tuple[int, str]:
    from golive.telemetry.explore import invocations

    found = invocations(view.cursor, view.filters(), limit=PAGE_SIZE, before=view.params.get("before"))
    rows = [_row(item) for item in found["invocations"]]
    head = ["Time (UTC)", "Status", "Request", "Route", "Latency", "Decided by", "Error", "Function", "Request id"]
    chosen = {k: v for k, v in view.filter_params().items() if k not in layout.RANGE_KEYS}
    summary = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in chosen.items()) or "all requests"
    pager = ""
    if found.get("next_before"):
        older = {**view.params, "before": found["next_before"]}
        pager = f'<p class="pager"><a href="{e(url("invocations", older))}" rel="next">Older requests</a></p>'
    body = (filter_form(view.params, layout.PREFIX + "invocations")
            + layout.table(f"Requests: {e(summary)} (newest first, {len(rows)} shown)", head, rows,
                           css="invocations") + pager)
    return 200, layout.page("Invocations", body, active="invocations", params=view.params, service=view.service,
                            live=not view.params.get("before"), picker_html=layout.picker(view.params, view.params))


def _row(item: dict[str, Any]) -> str:
    status = item.get("status")
    css = "bad" if status and status >= 500 else "warn" if status and status >= 400 else "good"
    any_id = item.get("request_id") or item.get("lambda_request_id") or ""
    error = item.get("error_type") or item.get("exception_type") or ""
    detail = item.get("error_message") or ""
    cold = ' <span class="kinds">cold start</span>' if item.get("cold_start") else ""
    return (f'<tr data-request-id="{e(any_id)}"><td>{e(_time(item.get("ts")))}</td>'
            f'<td class="num {css}" data-col="status">{e(status)}</td>'
            f"<td>{e(item.get('method'))} {e(item.get('path'))}</td>"
            f'<td data-col="route">{e(item.get("route") or "(no route)")}</td>'
            f'<td class="num">{number(item.get("latency_ms"))} ms</td>'
            f'<td data-col="decided_by">{e(item.get("decided_by"))}</td>'
            f'<td data-col="error"><span title="{e(detail)}">{e(error)}</span>'
            f'{f"<span class=kinds>{e(detail[:80])}</span>" if detail else ""}</td>'
            f"<td>{e(item.get('function'))}{cold}</td>"
            f'<td><a href="{e(request_url(any_id))}"><code>{e(any_id)}</code></a></td></tr>')


def _time(iso: Any) -> str:
    text = str(iso or "")
    return text.replace("T", " ").rstrip("Z")
