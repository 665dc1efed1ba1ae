"""SVG charts drawn by golive for the dashboard (no JavaScript, no third-party code): sparklines for the board and
bar charts of a telemetry series whose bars link to the requests behind them. Accessible: role="img", a <title>,
aria-labels that say what a chart shows, text labels on the axes and in the legend."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

SVG_NS = "http://www.w3.org/2000/svg"
# Colours hold at least 3:1 against white (WCAG's contrast for graphics); status classes keep their usual meaning.
PALETTE = ("#0b62a4", "#b8490b", "#1b7f4b", "#8e3b8e", "#8a6414", "#23707e", "#b03060", "#5a5a5a")
STATUS_COLOURS = {"1": ("#5a5a5a", "#767676"), "2": ("#1b7f4b", "#2e6b3f", "#3d8f5c"),
                  "3": ("#0b62a4", "#2d5f8a", "#3f7fb8"), "4": ("#b35c00", "#8a4a00", "#c0661a", "#9c5a1a"),
                  "5": ("#c62828", "#8e1b1b", "#a83232", "#d2473d")}
DECIDED_BY_COLOURS = {"gateway": "#8e3b8e", "function": "#23707e"}
METRIC_NAMES = {"count": "requests", "p50": "p50 latency (ms)", "p95": "p95 latency (ms)",
                "p99": "p99 latency (ms)", "cold_starts": "cold starts", "errors": "5xx responses"}
ADDITIVE = frozenset({"count", "cold_starts", "errors"})  # and every emf: metric; percentiles are not summed
TEXT = "#333333"
GRID = "#d9d9d9"
FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _number(value: float) -> str:
    """A value as a label: whole numbers without decimals, others with at most one."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def sparkline(values: Sequence[float | None], *, label: str, width: int = 120, height: int = 24) -> str:
    """A small line of `values` (None leaves a gap), scaled from zero to the largest value."""
    known = [v for v in values if v is not None]
    peak = max(known, default=0) or 1
    summary = f"{label}: latest {_number(known[-1])}, peak {_number(max(known))}" if known else f"{label}: no data"
    pad = 1.5
    step = (width - 2 * pad) / max(1, len(values) - 1)
    parts = [f'<svg xmlns="{SVG_NS}" class="golive-sparkline" role="img" aria-label="{_attr(summary)}" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}"><title>{escape(summary)}</title>']
    runs: list[list[tuple[float, float]]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            runs.append([])
            continue
        x = pad + index * step if len(values) > 1 else width / 2
        y = height - pad - (height - 2 * pad) * (value / peak)
        runs[-1].append((round(x, 2), round(y, 2)))
    for run in runs:
        if len(run) == 1:  # a lone value between gaps: a dot, not an invisible line
            parts.append(f'<circle cx="{run[0][0]}" cy="{run[0][1]}" r="1.5" fill="currentColor"/>')
        elif run:
            points = " ".join(f"{x},{y}" for x, y in run)
            parts.append(f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" '
                         f'stroke-linejoin="round" points="{points}"/>')
    parts.append("</svg>")
    return "".join(parts)


def colours(group_by: str, keys: Sequence[str]) -> dict[str, str]:
    """A colour per group key: status classes and statuses by their class, decided_by by who, others in turn."""
    chosen: dict[str, str] = {}
    used: dict[str, int] = {}
    for index, key in enumerate(keys):
        if group_by in ("status", "status_class") and key[:1] in STATUS_COLOURS:
            shades = STATUS_COLOURS[key[0]]
            chosen[key] = shades[used.get(key[0], 0) % len(shades)]
            used[key[0]] = used.get(key[0], 0) + 1
        elif group_by == "decided_by" and key in DECIDED_BY_COLOURS:
            chosen[key] = DECIDED_BY_COLOURS[key]
        else:
            chosen[key] = PALETTE[index % len(PALETTE)]
    return chosen


def _ticks(largest: float, whole: bool) -> list[float]:
    """The y axis' values: 0 to at least `largest` in two to five equal steps of 1, 2 or 5 times a power of ten
    (whole numbers only for counts: a chart of 3 requests has no 0.75 line)."""
    rough = max(largest, 1e-9) / 4
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    if whole:
        step = max(1.0, math.ceil(step))
    steps = max(1, math.ceil(largest / step - 1e-9))
    return [round(step * i, 10) for i in range(steps + 1)]


def _parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _time_label(moment: dt.datetime, bucket_s: float, span_s: float) -> str:
    if span_s > 86400:
        return moment.strftime("%b %d %H:%M")
    return moment.strftime("%H:%M:%S" if bucket_s < 60 else "%H:%M")


def _describe(series: dict[str, Any]) -> str:
    metric = str(series.get("metric", "count"))
    name = METRIC_NAMES.get(metric, f"{metric[4:]} (custom metric)" if metric.startswith("emf:") else metric)
    group_by = str(series.get("group_by", "none"))
    grouped = "" if group_by == "none" else f" by {group_by.replace('_', ' ')}"
    start, end = str(series.get("start", "")), str(series.get("end", ""))
    return (f"{name}{grouped} from {start.replace('T', ' ').replace('Z', ' UTC')} to "
            f"{end.replace('T', ' ').replace('Z', ' UTC')}, {len(series.get('buckets', []))} bars of "
            f"{_number(float(series.get('bucket_s', 0)))} s")


def bar_chart(series: dict[str, Any], *, link: Callable[[str, str], str] | None = None, width: int = 860,
              height: int = 280) -> str:
    """Bars per time bucket of an explore.series() answer: stacked for counts (count, cold starts, errors, EMF
    metrics), side by side for latency percentiles. With `link`, each bar segment is a link to
    link(bucket_start_iso, group_key): the requests behind it."""
    buckets: list[str] = list(series.get("buckets", []))
    groups: list[dict[str, Any]] = list(series.get("groups", []))
    metric = str(series.get("metric", "count"))
    group_by = str(series.get("group_by", "none"))
    stacked = metric in ADDITIVE or metric.startswith("emf:")
    bucket_s = float(series.get("bucket_s", 60))
    description = _describe(series)
    keys = [str(group["key"]) for group in groups]
    palette = colours(group_by, keys)

    axis_h, left, right = 22, 52, 12
    legend = _legend_positions(keys, left, width - right)
    legend_h = 22 + 18 * max((row for _, _, row in legend), default=0)
    top, bottom = legend_h + 6, height - axis_h
    plot_w, plot_h = width - left - right, max(10, bottom - top)
    n = max(1, len(buckets))
    slot = plot_w / n
    totals = [0.0] * n
    peak = 0.0
    for group in groups:
        for index, value in enumerate(group["values"][:n]):
            if value is None:
                continue
            totals[index] += value
            peak = max(peak, value)
    ticks = _ticks(max(totals) if stacked else peak, whole=stacked and metric in ADDITIVE)
    ceiling = ticks[-1]

    def y_of(value: float) -> float:
        return bottom - plot_h * (value / ceiling)

    out = [f'<svg xmlns="{SVG_NS}" class="golive-chart" role="img" aria-label="{_attr(description)}" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{_attr(FONT)}" '
           f'font-size="11"><title>{escape(description)}</title>']
    # the y axis: gridlines and their values
    out.append('<g class="axis y-axis">')
    for value in ticks:
        y = round(y_of(value), 2)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y}" y2="{y}" stroke="{GRID}" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" fill="{TEXT}">{_number(value)}</text>')
    out.append("</g>")
    # the bars
    out.append('<g class="bars">')
    gap = 1.0 if slot > 4 else 0.0
    for index, bucket in enumerate(buckets):
        x0 = left + index * slot
        when = bucket.replace("T", " ").replace("Z", " UTC")
        base = 0.0
        present = [(key, group["values"][index]) for key, group in zip(keys, groups, strict=True)
                   if index < len(group["values"]) and group["values"][index]]
        for position, (key, value) in enumerate(present):
            if stacked:
                x, w = x0 + gap / 2, slot - gap
                y_top, y_bottom = y_of(base + value), y_of(base)
                base += value
            else:
                w = (slot - gap) / len(present)
                x = x0 + gap / 2 + position * w
                y_top, y_bottom = y_of(value), y_of(0)
            label = f"{key}, {when}: {_number(value)}"
            rect = (f'<rect class="bar" x="{round(x, 2)}" y="{round(y_top, 2)}" width="{round(max(w, 0.5), 2)}" '
                    f'height="{round(max(y_bottom - y_top, 0.5), 2)}" fill="{palette[key]}"><title>'
                    f'{escape(label)}</title></rect>')
            if link is None:
                out.append(rect)
            else:
                out.append(f'<a href="{_attr(link(bucket, key))}" aria-label="{_attr(label + ": open the requests")}">'
                           f"{rect}</a>")
    out.append("</g>")
    # the x axis: the baseline and up to seven time labels
    out.append(f'<g class="axis x-axis"><line x1="{left}" x2="{width - right}" y1="{bottom}" y2="{bottom}" '
               f'stroke="{TEXT}" stroke-width="1"/>')
    if buckets:
        span = bucket_s * len(buckets)
        every = max(1, math.ceil(len(buckets) / 7))
        for index in range(0, len(buckets), every):
            x = round(left + index * slot + slot / 2, 2)
            text = _time_label(_parse_iso(buckets[index]), bucket_s, span)
            out.append(f'<text x="{x}" y="{bottom + 15}" text-anchor="middle" fill="{TEXT}">{escape(text)}</text>')
    out.append("</g>")
    # the legend, or why there are no bars
    out.append('<g class="legend">')
    if not groups:
        out.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="{TEXT}">'
                   f"no requests in this range</text>")
    for key, x, row in legend:
        y = 6 + 18 * row
        out.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{palette[key]}"/>'
                   f'<text x="{round(x + 14, 2)}" y="{y + 9}" fill="{TEXT}">{escape(key)}</text>')
    out.append("</g></svg>")
    return "".join(out)


def _legend_positions(keys: Sequence[str], left: float, right: float) -> list[tuple[str, float, int]]:
    """(key, x, row) of each legend entry, wrapped onto more rows when one would run past the chart's edge."""
    positions: list[tuple[str, float, int]] = []
    x, row = float(left), 0
    for key in keys:
        entry_w = 14 + 6.5 * len(key) + 14  # an estimate of the text's width: no font metrics without a browser
        if x > left and x + entry_w - 14 > right:
            x, row = float(left), row + 1
        positions.append((key, round(x, 2), row))
        x += entry_w
    return positions
