"""The cost page (/_golive/cost): what this traffic would cost per month at AWS list prices (Lambda requests and
GB-seconds, API Gateway, DynamoDB), the prices and their date, and memory right-sizing per function."""

from __future__ import annotations

from typing import Any

from golive.dashboard import layout
from golive.dashboard.layout import e, number
from golive.dashboard.source import View

LINES = [("lambda_requests_usd", "Lambda requests"), ("lambda_compute_usd", "Lambda compute (GB-seconds)"),
         ("api_gateway_usd", "API Gateway requests"), ("dynamodb_usd", "DynamoDB on-demand reads and writes")]


def render(view: View) -> tuple[int, str]:
    document = view.source.document("cost", layout.range_params(view.params))
    if document is None:
        body = ('<p class="notice">This golive does not estimate cost yet (no /_golive/api/cost).</p>')
        return 200, layout.page("Cost", body, active="cost", params=view.params, service=view.service)
    monthly = document.get("monthly") or {}
    prices = document.get("prices") or {}
    window = document.get("window") or {}
    rows = [f'<tr><th scope="row">{label}</th><td class="num" data-col="{key}">{_usd(monthly.get(key))}</td></tr>'
            for key, label in LINES]
    foot = (f'<tr><th scope="row">Total per month</th><td class="num" data-col="total_usd">'
            f'{_usd(monthly.get("total_usd"))}</td></tr>')
    free = document.get("free_tier") or {}
    free_rows = [f'<tr><th scope="row">{e(FREE_NAMES.get(k, k.replace("_", " ")))}</th><td>{number(v)}</td></tr>'
                 for k, v in free.items() if isinstance(v, int | float) and not isinstance(v, bool)]
    notes = [str(v) for k, v in free.items() if k.endswith("note") and v]
    dynamodb = document.get("dynamodb") or {}
    if dynamodb and not dynamodb.get("measured") and dynamodb.get("note"):
        notes.append(f"DynamoDB: {dynamodb['note']}")
    sources = prices.get("source")
    cited = (", ".join(f'<a href="{e(href)}">{e(name.replace("_", " "))}</a>' for name, href in sources.items())
             if isinstance(sources, dict) else e(sources))
    functions = [_function(f) for f in document.get("functions") or []]
    body = (f'<p class="subtitle">{number(document.get("requests"))} requests ({e(document.get("api_type"))} API) '
            f"between {e(window.get('start'))} and {e(window.get('end'))} UTC, extrapolated to a month at "
            f"{e(prices.get('region'))} list prices read on {e(prices.get('date'))} (AWS pricing pages: {cited}).</p>"
            + layout.table("Monthly cost at this rate (USD)", ["Item", "Per month"], rows, foot=foot)
            + (layout.table("Free tier a month (not deducted above)", ["Item", "Allowance"], free_rows)
               if free_rows else "")
            + "".join(f'<p class="kinds">{e(note)}</p>' for note in notes)
            + layout.table("Memory right-sizing", ["Function", "Memory", "Architecture", "Invocations",
                                                   "Avg billed", "GB-seconds", "Max used", "Suggested", "Hint"],
                           functions))
    return 200, layout.page("Cost", body, active="cost", params=view.params, service=view.service,
                            picker_html=layout.picker(view.params, view.params))


FREE_NAMES = {"lambda_requests": "Lambda requests", "lambda_gb_s": "Lambda GB-seconds",
              "api_gateway_requests": "API Gateway requests"}


def _function(row: dict[str, Any]) -> str:
    suggested = row.get("suggested_memory_mb")
    changed = suggested is not None and suggested != row.get("memory_mb")
    return (f'<tr data-function="{e(row.get("function"))}"><th scope="row">{e(row.get("function"))}</th>'
            f'<td class="num">{number(row.get("memory_mb"))} MB</td><td>{e(row.get("architecture"))}</td>'
            f'<td class="num">{number(row.get("invocations"))}</td>'
            f'<td class="num">{number(row.get("avg_billed_ms"), 1)} ms</td>'
            f'<td class="num">{number(row.get("gb_seconds"), 3)}</td>'
            f'<td class="num">{number(row.get("max_memory_used_mb"))} MB</td>'
            f'<td class="num{" warn" if changed else ""}">{number(suggested)} MB</td>'
            f'<td>{e(row.get("hint"))}</td></tr>')


def _usd(value: Any) -> str:
    if value is None:
        return "—"
    return f"${float(value):,.2f}" if float(value) >= 0.01 or float(value) == 0 else f"${float(value):.4f}"
