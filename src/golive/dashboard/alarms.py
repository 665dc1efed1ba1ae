"""The alarms page (/_golive/alarms): every alarm the template deploys, its state as evaluated over the local
telemetry, the reason, and the datapoints behind it (from /_golive/api/alarms)."""

from __future__ import annotations

from typing import Any

from golive.dashboard import charts, layout
from golive.dashboard.layout import e, number
from golive.dashboard.source import View

ORDER = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}
COMPARISONS = {"GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": "≥", "LessThanThreshold": "<",
               "LessThanOrEqualToThreshold": "≤"}


def render(view: View) -> tuple[int, str]:
    document = view.source.document("alarms", layout.range_params(view.params))
    if document is None:
        body = ('<p class="notice">This golive does not evaluate alarms yet (no /_golive/api/alarms): '
                "<code>golive template</code> still deploys them.</p>")
        return 200, layout.page("Alarms", body, active="alarms", params=view.params, service=view.service)
    route = view.params.get("route")
    alarms = [a for a in document.get("alarms", []) if not route or a.get("route") == route]
    alarms.sort(key=lambda a: (ORDER.get(a.get("state", ""), 1), a.get("name") or ""))
    firing = sum(1 for a in alarms if a.get("state") == "ALARM")
    rows = [_row(alarm) for alarm in alarms]
    head = ["State", "Alarm", "Condition", "Value", "Datapoints", "Reason"]
    scope = f" on {e(route)}" if route else ""
    body = (f'<p class="subtitle">{len(alarms)} alarm{"s" if len(alarms) != 1 else ""}{scope}, {firing} in ALARM, '
            f"evaluated at {e(document.get('evaluated_at'))} UTC as CloudWatch would over this traffic.</p>"
            + layout.table("Alarms the template deploys", head, rows, css="alarms"))
    return 200, layout.page("Alarms", body, active="alarms", params=view.params, service=view.service, live=True)


def _row(alarm: dict[str, Any]) -> str:
    state = alarm.get("state") or "INSUFFICIENT_DATA"
    comparison = COMPARISONS.get(alarm.get("comparison") or "", alarm.get("comparison") or "")
    threshold = alarm.get("threshold")
    shown = number(threshold, 2) if isinstance(threshold, float) else e(threshold)
    condition = (f"{e(alarm.get('statistic'))} of {e(alarm.get('metric'))} {e(comparison)} {shown}"
                 f" for {e(alarm.get('datapoints_to_alarm'))} of {e(alarm.get('evaluation_periods'))} periods of "
                 f"{e(alarm.get('period_s'))} s (missing data: {e(alarm.get('treat_missing_data'))})")
    points = alarm.get("datapoints") or []
    values = [p.get("value") or 0 for p in points]
    breaching = sum(1 for p in points if p.get("breaching"))
    scope = " · ".join(str(x) for x in (alarm.get("route"), alarm.get("function")) if x)
    table = "".join(f"<tr><td>{e(p.get('ts'))}</td><td class=\"num\">{e(p.get('value'))}</td>"
                    f"<td>{'breaching' if p.get('breaching') else ''}</td></tr>" for p in points)
    line = charts.sparkline(values, label=f"{alarm.get('name')} datapoints")
    data = (f"{line}"
            f'<details><summary>{len(points)} datapoints, {breaching} breaching</summary>'
            f"<table><thead><tr><th scope=\"col\">Time</th><th scope=\"col\">Value</th><th scope=\"col\">"
            f"Breaching</th></tr></thead><tbody>{table}</tbody></table></details>") if points else "—"
    return (f'<tr id="alarm-{e(alarm.get("name"))}" data-state="{e(state)}"><td><span class="badge state-{e(state)}">'
            f'{e(state)}</span></td><th scope="row">{e(alarm.get("name"))}<span class="kinds">'
            f"{e(alarm.get('description'))}</span><span class=\"kinds\">{e(scope)} · {e(alarm.get('severity'))}"
            f"</span></th><td>{condition}</td><td class=\"num\">{e(alarm.get('value'))}</td><td>{data}</td>"
            f"<td>{e(alarm.get('reason'))}</td></tr>")
