"""The endpoints board (/_golive/): one row per route on what the client got, 4xx and 5xx each split into the
gateway's answers (by kind) and the function's, latency percentiles, cold starts, a sparkline and alarm state."""

from __future__ import annotations

from typing import Any

from golive.dashboard import charts, layout
from golive.dashboard.layout import e, number, url
from golive.dashboard.source import View

# API Gateway's error.responseType values that answer 5xx; every other gateway kind answers 4xx.
GATEWAY_5XX = frozenset({"INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT", "AUTHORIZER_FAILURE",
                         "AUTHORIZER_CONFIGURATION_ERROR", "API_CONFIGURATION_ERROR", "DEFAULT_5XX"})
# What a person calls each kind (the cell shows both: the type is what CloudWatch and golive logs print).
KIND_NAMES = {
    "UNAUTHORIZED": "authorizer", "ACCESS_DENIED": "denied", "MISSING_AUTHENTICATION_TOKEN": "no route",
    "INVALID_API_KEY": "API key", "BAD_REQUEST_BODY": "validation", "BAD_REQUEST_PARAMETERS": "validation",
    "THROTTLED": "throttled", "QUOTA_EXCEEDED": "quota", "INTEGRATION_FAILURE": "bad response",
    "INTEGRATION_TIMEOUT": "timeout", "AUTHORIZER_FAILURE": "authorizer failed", "REQUEST_TOO_LARGE": "too large",
    "WAF_FILTERED": "WAF",
}
STATE_RANK = {"ALARM": 3, "INSUFFICIENT_DATA": 1, "OK": 0}
NO_ROUTE = "(no route)"


def render(view: View) -> tuple[int, str]:
    from golive.telemetry.explore import board

    found = board(view.cursor, view.filters(), buckets=30)
    states = alarm_states(view)
    carried = layout.range_params(view.filter_params())
    rows = [_row(row, carried, states) for row in found["rows"]]
    foot = _totals(found.get("totals") or {}, carried)
    head = ["Route", "Requests", "Success", "4xx gateway", "4xx function", "5xx gateway", "5xx function", "p50",
            "p95", "p99", "Cold starts", "Requests over time", "Alarms"]
    window = f"{e(found.get('start'))} to {e(found.get('end'))} UTC, {number(found.get('bucket_s'))} s per bar"
    body = (f'<p class="subtitle">What each route\'s clients got, {window}. Gateway columns count answers API '
            f"Gateway made itself (authorizer, validation, throttling, API keys, bad or late function responses); "
            f"function columns, answers the function returned. Every count opens the requests behind it.</p>"
            + layout.table("Endpoints", head, rows, css="board", foot=foot))
    return 200, layout.page("Endpoints", body, active="", params=view.params, service=view.service, live=True,
                            picker_html=layout.picker(view.params, view.params))


def alarm_states(view: View) -> dict[str | None, list[dict[str, Any]]]:
    """The evaluated alarms by route (None: alarms of a function or the whole API); empty when not served."""
    try:
        document = view.source.document("alarms", layout.range_params(view.filter_params()))
    except ValueError:
        document = None
    by_route: dict[str | None, list[dict[str, Any]]] = {}
    for alarm in (document or {}).get("alarms", []):
        by_route.setdefault(alarm.get("route"), []).append(alarm)
    return by_route


def _row(row: dict[str, Any], carried: dict[str, str], states: dict[str | None, list[dict[str, Any]]]) -> str:
    route = row.get("route")
    base = {**carried, "route": route} if route else dict(carried)
    label = e(route or NO_ROUTE)
    kinds = row.get("gateway_by_type") or {}
    trend = charts.sparkline(row.get("sparkline") or [], label=f"Requests over time, {route or NO_ROUTE}")
    cells = [
        f'<th scope="row"><a href="{e(url("invocations", base))}">{label}</a></th>',
        _count("requests", row.get("requests"), base),
        f'<td class="num" data-col="success_rate">{_rate(row.get("success_rate"))}</td>',
        _count("gateway_4xx", row.get("gateway_4xx"), {**base, "status_class": "4xx", "decided_by": "gateway"},
               _kinds(kinds, five=False)),
        _count("function_4xx", row.get("function_4xx"), {**base, "status_class": "4xx", "decided_by": "function"}),
        _count("gateway_5xx", row.get("gateway_5xx"), {**base, "status_class": "5xx", "decided_by": "gateway"},
               _kinds(kinds, five=True)),
        _count("function_5xx", row.get("function_5xx"), {**base, "status_class": "5xx", "decided_by": "function"}),
        *(f'<td class="num" data-col="{p}">{number(row.get(p), 1)}<span class="unit"> ms</span></td>'
          if row.get(p) is not None else f'<td class="num" data-col="{p}">—</td>' for p in ("p50", "p95", "p99")),
        f'<td class="num" data-col="cold_starts">{number(row.get("cold_starts"))}</td>',
        f'<td data-col="sparkline">{trend}</td>',
        f'<td data-col="alarms">{_alarms(states.get(route, []) if route else [], route, carried)}</td>',
    ]
    return f'<tr data-route="{label}">{"".join(cells)}</tr>'


def _count(column: str, value: Any, params: dict[str, Any], extra: str = "") -> str:
    shown = number(value)
    if not value:
        return f'<td class="num zero" data-col="{column}">{shown}{extra}</td>'
    css = " bad" if column.endswith("5xx") else " warn" if column.endswith("4xx") else ""
    return (f'<td class="num{css}" data-col="{column}"><a href="{e(url("invocations", params))}">{shown}</a>'
            f"{extra}</td>")


def _kinds(kinds: dict[str, int], five: bool) -> str:
    chosen = [(kind, n) for kind, n in sorted(kinds.items()) if n and (kind in GATEWAY_5XX) == five]
    if not chosen:
        return ""
    text = ", ".join(f'<abbr title="{e(kind)}">{e(KIND_NAMES.get(kind, kind.lower()))}</abbr> {n}'
                     for kind, n in chosen)
    return f'<span class="kinds" data-kinds="{e(" ".join(k for k, _ in chosen))}">{text}</span>'


def _rate(value: Any) -> str:
    if value is None:
        return "—"
    share = float(value) * 100  # telemetry.explore gives a fraction
    css = "good" if share >= 99 else "warn" if share >= 95 else "bad"
    return f'<span class="{css}">{share:.1f}%</span>'


def _alarms(alarms: list[dict[str, Any]], route: str | None, carried: dict[str, str]) -> str:
    if not alarms:
        return '<span class="zero">—</span>'
    worst = max(alarms, key=lambda a: STATE_RANK.get(a.get("state", ""), 1))
    state = worst.get("state") or "INSUFFICIENT_DATA"
    firing = sum(1 for a in alarms if a.get("state") == "ALARM")
    text = f"{firing} of {len(alarms)} in ALARM" if firing else f"{len(alarms)} {state.replace('_', ' ').lower()}"
    return (f'<a class="badge state-{e(state)}" href="{e(url("alarms", {**carried, "route": route}))}">'
            f"{e(text)}</a>")


def _totals(totals: dict[str, Any], carried: dict[str, str]) -> str:
    if not totals:
        return ""
    cells = [
        '<th scope="row">All routes</th>',
        _count("requests", totals.get("requests"), carried),
        f'<td class="num" data-col="success_rate">{_rate(totals.get("success_rate"))}</td>',
        *(_count(c, totals.get(c), {**carried, "status_class": c[-3:], "decided_by": c.split("_")[0]})
          for c in ("gateway_4xx", "function_4xx", "gateway_5xx", "function_5xx")),
        *(f'<td class="num">{number(totals.get(p), 1)}</td>' for p in ("p50", "p95", "p99")),
        f'<td class="num">{number(totals.get("cold_starts"))}</td>', "<td></td><td></td>",
    ]
    return f'<tr data-route="(all)">{"".join(cells)}</tr>'
