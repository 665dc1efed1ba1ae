"""The chart explorer (/_golive/explore?<filters>&metric&group_by): any metric bucketed by time and grouped by a
dimension, drawn as SVG bars that open the requests behind them, with the same numbers as a table beside it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from golive.dashboard import charts, layout
from golive.dashboard.invocations import filter_form
from golive.dashboard.layout import e, url
from golive.dashboard.source import View

METRICS = [("count", "Requests"), ("p50", "Latency p50 (ms)"), ("p95", "Latency p95 (ms)"),
           ("p99", "Latency p99 (ms)"), ("cold_starts", "Cold starts"), ("errors", "Errors (5xx)")]
GROUPS = [("none", "Nothing"), ("route", "Route"), ("status", "Status"), ("status_class", "Status class"),
          ("decided_by", "Decided by"), ("function", "Function"), ("error_type", "Error type")]
SUMMED = {"count", "cold_starts", "errors"}  # metrics whose buckets add up to a total per group
BUCKETS = 60


def render(view: View) -> tuple[int, str]:
    from golive.telemetry.explore import series

    metric = view.params.get("metric") or "count"
    group_by = view.params.get("group_by") or "status_class"
    found = series(view.cursor, view.filters(), metric=metric, group_by=group_by, buckets=BUCKETS)
    base = {k: v for k, v in view.filter_params().items() if k not in layout.RANGE_KEYS}
    step = float(found.get("bucket_s") or 60)

    def link(bucket_iso: str, group_key: Any) -> str:
        params = {**base, "start": bucket_iso, "end": _plus(bucket_iso, step)}
        if group_by != "none" and group_key is not None:
            params[group_by] = str(group_key)
        return url("invocations", params)

    label = dict(METRICS).get(metric, metric.removeprefix("emf:") + " (EMF)")
    chart = charts.bar_chart(found, link=link, width=720, height=260)
    grouping = dict(GROUPS).get(group_by, group_by)
    body = (_form(view, metric, group_by)
            + f'<p class="subtitle">{e(label)} per {e(int(step))} s, by {e(grouping.lower())}, '
              f"{e(found.get('start'))} to {e(found.get('end'))} UTC. Each bar opens the requests behind it.</p>"
            + f'<div class="chart-and-table"><figure class="chart" aria-label="{e(label)} chart">{chart}'
              f"<figcaption>{e(label)} by {e(grouping.lower())}</figcaption></figure>"
            + f"<div>{_totals(found, metric, group_by, base)}</div></div>"
            + _data_table(found, label, link))
    return 200, layout.page("Explore", body, active="explore", params=view.params, service=view.service,
                            live=True, picker_html=layout.picker(view.params, view.params))


def _form(view: View, metric: str, group_by: str) -> str:
    names = _emf_names(view)
    options = [*METRICS, *((f"emf:{n}", f"{n} (EMF)") for n in names)]
    if metric not in dict(options):
        options.append((metric, metric))
    metric_select = "".join(f'<option value="{e(v)}"{" selected" if v == metric else ""}>{e(text)}</option>'
                            for v, text in options)
    group_select = "".join(f'<option value="{v}"{" selected" if v == group_by else ""}>{text}</option>'
                           for v, text in GROUPS)
    extra = (f'<label for="metric">Metric</label><select id="metric" name="metric">{metric_select}</select>'
             f'<label for="group_by">Group by</label><select id="group_by" name="group_by">{group_select}</select>')
    return filter_form(view.params, layout.PREFIX + "explore", extra)


def _emf_names(view: View) -> list[str]:
    """Custom metric names the functions emitted in the range (the choices for emf:NAME), golive's own left out."""
    from golive.telemetry.explore import emf_metric_names

    builtin = {"Latency", "Count", "4xx", "5xx", "ColdStart"}
    return [name for name in emf_metric_names(view.cursor, view.filters(), limit=50) if name not in builtin]


def _totals(found: dict[str, Any], metric: str, group_by: str, base: dict[str, str]) -> str:
    """Each group's total over the whole range and its share, each linked to its requests over that range."""
    if metric not in SUMMED and not metric.startswith("emf:"):  # an EMF metric's buckets are sums of its values
        return ""
    grouping = dict(GROUPS).get(group_by, group_by)
    groups = found.get("groups") or []
    totals = [(group.get("key"), sum(v or 0 for v in group.get("values") or [])) for group in groups]
    whole = sum(total for _, total in totals)
    rows = []
    for key, total in sorted(totals, key=lambda kv: -kv[1]):
        params = {**base, "start": found.get("start"), "end": found.get("end")}
        if group_by != "none" and key is not None:
            params[group_by] = str(key)
        share = f"{total / whole * 100:.1f}%" if whole else "—"
        rows.append(f'<tr data-group="{e(key)}"><th scope="row"><a href="{e(url("invocations", params))}">'
                    f'{e(key)}</a></th><td class="num" data-col="total">{total:g}</td>'
                    f'<td class="num">{share}</td></tr>')
    return layout.table(f"Total by {e(grouping.lower())}", [e(grouping), "Total", "Share"], rows, css="totals")


def _data_table(found: dict[str, Any], label: str, link: Any) -> str:
    groups = found.get("groups") or []
    head = ["Bucket start (UTC)", *(e(g.get("key")) for g in groups)]
    rows = []
    for index, bucket in enumerate(found.get("buckets") or []):
        values = [(g.get("values") or [])[index] if index < len(g.get("values") or []) else None for g in groups]
        if not any(values):
            continue
        cells = [f'<td class="num">{_value(value, bucket, g.get("key"), link)}</td>'
                 for value, g in zip(values, groups, strict=True)]
        rows.append(f'<tr><th scope="row">{e(str(bucket).replace("T", " ").rstrip("Z"))}</th>{"".join(cells)}</tr>')
    return ("<details open><summary>The chart's data</summary>"
            + layout.table(f"{e(label)} per bucket (empty buckets left out)", head, rows, css="data") + "</details>")


def _value(value: Any, bucket: str, key: Any, link: Any) -> str:
    if value is None:
        return "—"
    text = f"{value:g}" if isinstance(value, int | float) else e(value)
    return f'<a href="{e(link(bucket, key))}">{text}</a>' if value else text


def _plus(iso: str, seconds: float) -> str:
    moment = dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00")) + dt.timedelta(seconds=seconds)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + "Z"
