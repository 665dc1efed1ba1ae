"""The page shell every dashboard page shares: head, navigation, the time-range picker, escaping and link helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from urllib.parse import quote, urlencode

PREFIX = "/_golive/"
STATIC = PREFIX + "static/"
# (path under PREFIX, label) in the order the navigation shows them
PAGES = [("", "Endpoints"), ("invocations", "Invocations"), ("explore", "Explore"), ("errors", "Errors"),
         ("alarms", "Alarms"), ("cost", "Cost")]
# the picker's ranges: `since` values the telemetry queries understand
RANGES = [("5m", "Last 5 minutes"), ("15m", "Last 15 minutes"), ("1h", "Last hour"), ("6h", "Last 6 hours"),
          ("24h", "Last 24 hours"), ("7d", "Last 7 days")]
DEFAULT_SINCE = "1h"
RANGE_KEYS = ("since", "start", "end")


def e(value: object) -> str:
    """Text for HTML: escaped; None as an empty string."""
    return "" if value is None else escape(str(value), quote=True)


def url(path: str, params: Mapping[str, object] | None = None) -> str:
    """A dashboard URL: PREFIX + path, with the non-empty params as its query string."""
    query = urlencode({k: str(v) for k, v in (params or {}).items() if v is not None and v != ""})
    return PREFIX + path + (f"?{query}" if query else "")


def request_url(any_id: str) -> str:
    return PREFIX + "requests/" + quote(any_id, safe="")


def range_params(params: Mapping[str, str]) -> dict[str, str]:
    """The time range of a page's parameters, carried over to the pages it links to."""
    return {k: params[k] for k in RANGE_KEYS if params.get(k)}


def number(value: object, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}{unit}"
    if isinstance(value, int | float):
        return f"{value:,.0f}{unit}" if digits == 0 else f"{value:,.{digits}f}{unit}"
    return e(value)


def table(caption: str, head: Iterable[str], rows: Iterable[str], *, css: str = "", foot: str = "") -> str:
    """A data table: caption, column headers with scope, body rows already rendered as <tr>s."""
    head = list(head)
    heads = "".join(f'<th scope="col">{h}</th>' for h in head)
    body = "".join(rows) or f'<tr><td colspan="{len(head) or 1}" class="empty">Nothing in this range.</td></tr>'
    return (f'<div class="table-wrap"><table class="{css}"><caption>{caption}</caption><thead><tr>{heads}</tr>'
            f"</thead><tbody>{body}</tbody>{f'<tfoot>{foot}</tfoot>' if foot else ''}</table></div>")


def picker(params: Mapping[str, str], keep: Mapping[str, str] | None = None) -> str:
    """The time-range form: a select of ranges plus a custom start/end (UTC), submitted by GET, so it works without
    JavaScript; the page's other filters ride along as hidden fields."""
    since = params.get("since") or ("custom" if params.get("start") or params.get("end") else DEFAULT_SINCE)
    options = "".join(f'<option value="{v}"{" selected" if v == since else ""}>{label}</option>'
                      for v, label in [*RANGES, ("custom", "Custom range")])
    hidden = "".join(f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in (keep or {}).items()
                     if v and k not in RANGE_KEYS and k != "before")  # a new range starts at its newest
    return f"""<form class="range" method="get" role="search" aria-label="Time range">{hidden}
<label for="since">Time range</label>
<select id="since" name="since">{options}</select>
<span class="custom" data-custom>
<label for="start">From (UTC)</label>
<input type="datetime-local" id="start" name="start" step="1" value="{e(_local(params.get("start")))}">
<label for="end">To (UTC)</label>
<input type="datetime-local" id="end" name="end" step="1" value="{e(_local(params.get("end")))}">
</span>
<button type="submit">Apply</button>
<span class="live" data-live hidden><input type="checkbox" id="live" checked>
<label for="live">Live refresh (5 s)</label></span>
</form>"""


def _local(iso: str | None) -> str:
    """An ISO time as a datetime-local input shows it (no zone, no fraction)."""
    if not iso:
        return ""
    return iso.rstrip("Z").split("+")[0].split(".")[0]


def page(title: str, body: str, *, active: str, params: Mapping[str, str] | None = None, service: str = "",
         picker_html: str = "", live: bool = False, subtitle: str = "") -> str:
    """The whole document. `live` pages are refreshed in place by dashboard.js while the box is ticked."""
    params = params or {}
    carried = range_params(params)
    current = ' aria-current="page"'
    nav = "".join(f'<li><a href="{e(url(path, carried))}"{current if path == active else ""}>{label}</a></li>'
                  for path, label in PAGES)
    name = f"{e(service)} · " if service else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · {name}golive</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{STATIC}dashboard.css">
<script src="{STATIC}dashboard.js" defer></script>
</head>
<body{' data-live-refresh="5"' if live else ''}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<p class="brand"><a href="{PREFIX}">golive</a>{f' <span class="service">{e(service)}</span>' if service else ''}</p>
<nav aria-label="Dashboard"><ul>{nav}</ul></nav>
</header>
<main id="main" tabindex="-1">
<h1>{e(title)}</h1>
{f'<p class="subtitle">{subtitle}</p>' if subtitle else ''}
{picker_html}
<div id="live-region">
{body}
</div>
</main>
</body>
</html>
"""


def message_page(status: int, title: str, detail: str, service: str = "") -> tuple[int, str]:
    body = f'<p class="notice" role="alert">{e(detail)}</p><p><a href="{PREFIX}">Back to the endpoints board</a></p>'
    return status, page(title, body, active="", service=service)
