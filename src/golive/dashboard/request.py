"""One request (/_golive/requests/<any id>): the gateway's view (access-log fields, authorizer, validation,
throttle), the Lambda view (START/REPORT), the function's log lines in order with their JSON fields, the exception
with its stack trace, spans as a timeline, and the raw event and response when the store has them."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from golive.dashboard import layout
from golive.dashboard.layout import e, number, url
from golive.dashboard.source import View

# log-record fields shown in the line itself, not beneath it
_SHOWN = frozenset({"level", "levelname", "message", "msg", "timestamp", "time", "ts", "error", "exception",
                    "stackTrace", "stack"})
# the invocation's context, which golive's logger repeats on every line: shown once, in the gateway and Lambda views
_CONTEXT = frozenset({"service", "function", "request_id", "correlation_id", "trace_id", "xray_trace_id",
                      "cold_start", "method", "path", "route"})
_MEMORY_SIZE = re.compile(r"Memory Size: (\d+) MB")
GATEWAY_REASONS = {
    "UNAUTHORIZED": "the authorizer refused the request (no token, or a token it does not accept)",
    "ACCESS_DENIED": "the authorizer's policy denied this method",
    "MISSING_AUTHENTICATION_TOKEN": "no route of the API matches this method and path",
    "BAD_REQUEST_BODY": "the request validator refused the body before the function ran",
    "BAD_REQUEST_PARAMETERS": "the request validator refused a parameter before the function ran",
    "THROTTLED": "a throttle (account, stage or this method's rate and burst) refused the request",
    "QUOTA_EXCEEDED": "the API key's usage-plan quota is used up",
    "INVALID_API_KEY": "the API key is missing or unknown",
    "INTEGRATION_FAILURE": "the function's answer was not a valid Lambda proxy response, or the invocation failed",
    "INTEGRATION_TIMEOUT": "the function did not answer within the integration timeout",
}


def render(view: View, any_id: str) -> tuple[int, str]:
    found = view.source.api.find_request(view.cursor, any_id)
    if found is None:
        return layout.message_page(404, "Request not found", f"no request has the id {any_id!r} in this store",
                                   view.service)
    request = found.get("request") or {}
    lines = found.get("logs") or []
    sections = [_summary(request, lines), '<div class="panels">', _gateway(request), _lambda(request, lines),
                "</div>", _exception(request, lines), _spans(found.get("spans") or []), _logs(lines),
                _metrics(found.get("metrics") or []), _raw(found)]
    title = f"{request.get('method', '')} {request.get('path', '')} → {request.get('status', '')}".strip() \
        if request else f"Invocation {any_id}"
    return 200, layout.page(title, "".join(sections), active="invocations", service=view.service,
                            subtitle=f"Request {e(request.get('request_id') or any_id)}")


def _summary(request: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    if not request:
        return '<p class="notice">Only the function\'s lines are stored for this id (no gateway request).</p>'
    status = request.get("status")
    who = request.get("decided_by")
    if who == "gateway":
        kind = request.get("error_type") or ""
        why = GATEWAY_REASONS.get(kind, "API Gateway answered without the function's response")
        text = (f"API Gateway answered {e(status)} itself: <strong>{e(kind)}</strong> — {e(why)}."
                + (f" Its message: <q>{e(request.get('error_message'))}</q>." if request.get("error_message") else ""))
    else:
        failing = next((line for line in lines if line.get("error_type")), None)
        text = f"The function {e(request.get('function'))} answered {e(status)}."
        if failing:
            text += (f" It raised <strong>{e(failing['error_type'])}</strong>: "
                     f"{e(failing.get('error_message'))} (stack trace below).")
    css = "bad" if status and status >= 500 else "warn" if status and status >= 400 else "good"
    return f'<p class="verdict {css}" data-verdict>{text}</p>'


def _fields(pairs: list[tuple[str, Any]]) -> str:
    items = "".join(f"<dt>{e(label)}</dt><dd>{value}</dd>" for label, value in pairs if value not in (None, ""))
    return f'<dl class="fields">{items}</dl>'


def _gateway(request: dict[str, Any]) -> str:
    if not request:
        return ""
    trace = request.get("trace_id")
    pairs: list[tuple[str, Any]] = [
        ("Time (UTC)", e(request.get("ts"))),
        ("requestId", f"<code>{e(request.get('request_id'))}</code>"),
        ("extendedRequestId", e(request.get("extended_request_id"))),
        ("Stage", e(request.get("stage"))),
        ("Method and path", f"{e(request.get('method'))} {e(request.get('path'))}"),
        ("Route", e(request.get("route") or "(no route matched)")),
        ("Status", e(request.get("status"))),
        ("Decided by", e(request.get("decided_by"))),
        ("error.responseType", e(request.get("error_type"))),
        ("error.message", e(request.get("error_message"))),
        ("responseLatency", f"{number(request.get('latency_ms'))} ms"),
        ("integrationLatency", f"{number(request.get('integration_latency_ms'))} ms"
         if request.get("integration_latency_ms") is not None else None),
        ("responseLength", f"{number(request.get('response_bytes'))} bytes"
         if request.get("response_bytes") is not None else None),
        ("sourceIp", e(request.get("source_ip"))),
        ("userAgent", e(request.get("user_agent"))),
        ("X-Ray trace", e(trace)),
        ("Correlation id", e(request.get("correlation_id"))),
    ]
    authorizer = [
        ("authorizer.principalId", e(request.get("principal"))),
        ("authorizer.latency", f"{number(request.get('authorizer_latency_ms'))} ms"
         if request.get("authorizer_latency_ms") is not None else None),
        ("authorizer.error", e(request.get("authorizer_error"))),
    ]
    kind = request.get("error_type") or ""
    extra = ""
    if any(value not in (None, "") for _, value in authorizer):
        extra += f'<h3>Authorizer</h3>{_fields(authorizer)}'
    if kind.startswith("BAD_REQUEST"):
        extra += f'<h3>Validation error</h3><p data-validation>{e(request.get("error_message"))}</p>'
    if kind in ("THROTTLED", "QUOTA_EXCEEDED"):
        extra += (f"<h3>Throttle</h3><p data-throttle>{e(GATEWAY_REASONS[kind])}: 429 "
                  f"{e(request.get('error_message') or 'Too Many Requests')}.</p>")
    return f'<section aria-labelledby="gw"><h2 id="gw">API Gateway</h2>{_fields(pairs)}{extra}</section>'


def _lambda(request: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    report = next((line for line in lines if str(line.get("message") or line.get("line") or "")
                   .startswith("REPORT ")), None)
    if not request.get("lambda_request_id") and report is None:
        return ('<section aria-labelledby="fn"><h2 id="fn">Lambda</h2><p>The function was not invoked: the gateway '
                "answered first.</p></section>")
    size = _MEMORY_SIZE.search(str((report or {}).get("line") or (report or {}).get("message") or ""))
    lambda_id = request.get("lambda_request_id") or (lines[0].get("lambda_request_id") if lines else "")
    pairs = [
        ("Function", e(request.get("function") or (lines[0].get("function") if lines else None))),
        ("Lambda request id", f"<code>{e(lambda_id)}</code>"),
        ("Cold start", "yes" if request.get("cold_start") else "no" if request else None),
        ("Duration", f"{number(request.get('duration_ms'), 2)} ms" if request.get("duration_ms") is not None else None),
        ("Billed duration", f"{number(request.get('billed_ms'))} ms" if request.get("billed_ms") is not None else None),
        ("Memory", f"{number(request.get('max_memory_mb'))} MB used"
         + (f" of {size.group(1)} MB" if size else "") if request.get("max_memory_mb") is not None else None),
        ("Init duration", f"{number(request.get('init_ms'), 2)} ms" if request.get("init_ms") is not None else None),
    ]
    platform = "".join(f"<li><code>{e(line.get('line') or line.get('message'))}</code></li>" for line in lines
                       if line.get("kind") == "platform")
    return (f'<section aria-labelledby="fn"><h2 id="fn">Lambda</h2>{_fields(pairs)}'
            + (f'<details><summary>START / END / REPORT lines</summary><ul class="platform">{platform}</ul></details>'
               if platform else "") + "</section>")


def _exception(request: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    failing = [line for line in lines if line.get("error_type")]
    if not failing:
        return ""
    parts = []
    for line in failing:
        stack = line.get("error_stack") or ""
        parts.append(f'<p><strong data-exception-type>{e(line["error_type"])}</strong>: {e(line.get("error_message"))}'
                     f"</p>" + (f'<pre class="stack" data-stack tabindex="0" aria-label="Stack trace">{e(stack)}</pre>'
                                if stack else ""))
    errors_link = url("errors", {"since": "7d"})
    return (f'<section aria-labelledby="ex"><h2 id="ex">Exception</h2>{"".join(parts)}'
            f'<p><a href="{e(errors_link)}">All errors grouped by fingerprint</a></p></section>')


def _logs(lines: list[dict[str, Any]]) -> str:
    shown = [line for line in lines if line.get("kind") != "platform"]
    if not shown:
        return ""
    items = []
    for line in shown:
        level = str(line.get("level") or ("METRIC" if line.get("kind") == "emf" else ""))
        fields = ""
        if line.get("kind") in ("json", "emf"):
            try:
                record = json.loads(line.get("line") or "{}")
            except ValueError:
                record = {}
            if isinstance(record, dict):
                if line.get("kind") == "emf":
                    record = {k: v for k, v in record.items() if k != "_aws"}
                fields = "".join(f"<span><b>{e(k)}</b>={e(_compact(v))}</span>" for k, v in record.items()
                                 if k not in _SHOWN and k not in _CONTEXT)
        message = line.get("message") if line.get("kind") != "emf" else "EMF metrics"
        items.append(f'<li data-log-line><span class="ts">{e(_clock(line.get("ts")))}</span>'
                     f'<span class="level level-{e(level)}">{e(level)}</span> <span class="message">{e(message)}'
                     f"</span>{f'<span class=fields>{fields}</span>' if fields else ''}</li>")
    return (f'<section aria-labelledby="logs"><h2 id="logs">Function log lines ({len(items)})</h2>'
            f'<ol class="log">{"".join(items)}</ol></section>')


def _metrics(metrics: list[dict[str, Any]]) -> str:
    if not metrics:
        return ""
    rows = [f"<tr><th scope=\"row\">{e(m.get('name'))}</th><td class=\"num\">{e(m.get('value'))}</td>"
            f"<td>{e(m.get('unit'))}</td><td>{e(m.get('namespace'))}</td><td><code>{e(m.get('dimensions'))}</code></td>"
            f"</tr>" for m in metrics]
    return layout.table("Metrics (EMF)", ["Name", "Value", "Unit", "Namespace", "Dimensions"], rows)


def _spans(spans: list[dict[str, Any]]) -> str:
    """The spans as a timeline: one bar per segment or subsegment, offset from the trace's first start, nested
    under its parent, in an SVG (positions as attributes: no inline styles)."""
    timed = []
    for span in spans:
        start = _epoch(span.get("start_time") or span.get("ts") or span.get("start"))
        end = _epoch(span.get("end_time") or span.get("end_ts") or span.get("end"))
        if start is None:
            continue
        if end is None:
            duration = span.get("duration_ms")
            end = start + float(duration) / 1000 if duration is not None else start
        timed.append((start, end, span))
    if not timed:
        return ""
    ids = {span.get("id"): span for _, _, span in timed}

    def depth(span: dict[str, Any]) -> int:
        level, parent = 0, span.get("parent_id")
        while parent in ids and level < 20:
            level, parent = level + 1, ids[parent].get("parent_id")
        return level

    origin = min(start for start, _, _ in timed)
    total = max(max(end for _, end, _ in timed) - origin, 1e-6)
    width, label_w, row_h, room = 860, 260, 22, 80
    bars = []
    for index, (start, end, span) in enumerate(sorted(timed, key=lambda t: (t[0], depth(t[2])))):
        x = label_w + (start - origin) / total * (width - label_w - room)
        w = max((end - start) / total * (width - label_w - room), 2)
        y = index * row_h + 4
        fault = bool(span.get("fault") or span.get("error"))
        name = str(span.get("name") or span.get("id") or "span")
        detail = " ".join(str(span[k]) for k in ("kind", "operation", "table_name", "exception") if span.get(k))
        bars.append(f'<g data-span="{e(name)}"><text x="{4 + 10 * depth(span)}" y="{y + 13}">{e(name[:34])}</text>'
                    f'<rect class="{"fault" if fault else "span"}" x="{x:.1f}" y="{y}" width="{w:.1f}" height="14">'
                    f"<title>{e(name)}: {_ms(end - start)} {e(detail)}</title></rect>"
                    f'<text x="{x + w + 4:.1f}" y="{y + 13}">{_ms(end - start)}</text></g>')
    height = len(timed) * row_h + 8
    return (f'<section aria-labelledby="spans"><h2 id="spans">Spans ({len(timed)})</h2><svg class="timeline" '
            f'role="img" aria-label="Timeline of {len(timed)} spans over {total * 1000:.1f} ms" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">{"".join(bars)}</svg></section>')


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms"


def _raw(found: dict[str, Any]) -> str:
    """The event the function received and the result it returned (before API Gateway made HTTP of it), redacted
    as logs are, pretty-printed, bodies shown decoded beneath; when absent, why (golive dev keeps them in memory)."""
    from golive.telemetry.payloads import KEPT_NOTE

    request = found.get("request") or {}
    heading = '<section aria-labelledby="raw"><h2 id="raw">Raw event and response</h2>'
    if "event" not in found:
        if request and not request.get("lambda_request_id"):
            why = "API Gateway answered before invoking the function: no event was sent."
        else:
            why = (f"Not available: the raw event and response are {KEPT_NOTE}, and this page did not come from "
                   "the golive dev that served this request, or more requests came after it.")
        return f'{heading}<p class="notice" data-raw-absent>{e(why)}</p></section>'
    parts = [f'<p>Redacted as logs are: secrets by key (Authorization, cookies, passwords, tokens, API keys) read '
             f'[REDACTED], emails and card numbers masked; {e(KEPT_NOTE)}.</p>']
    for key, label in (("event", "Event: what the function received"),
                       ("response", "Response: what the function returned, before API Gateway's translation")):
        value = found.get(key)
        if value is None:
            parts.append(f"<details><summary>{label}</summary><p data-raw-{key}>None: the function gave no "
                         f"result (it timed out, or Lambda refused the invocation).</p></details>")
            continue
        parts.append(f'<details open><summary>{label}</summary><pre tabindex="0" aria-label="{e(label)}" '
                     f'data-raw-{key}>{e(_pretty(value))}</pre>{_raw_body(key, value)}</details>')
    return f'{heading}{"".join(parts)}</section>'


def _raw_body(key: str, value: Any) -> str:
    """A payload's body shown as text (decoded when base64 and text), pretty-printed when JSON."""
    if not isinstance(value, dict) or not isinstance(value.get("body"), str) or not value["body"]:
        return ""
    body, how = value["body"], "body"
    if value.get("isBase64Encoded"):
        import base64
        import binascii

        try:
            body, how = base64.b64decode(body, validate=True).decode("utf-8"), "body, decoded from base64"
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return f"<p>The body is binary ({number(len(body))} base64 characters).</p>"
    try:
        text = _pretty(json.loads(body))
    except ValueError:
        text = body
    return f'<h3>The {e(key)}\'s {how}</h3><pre tabindex="0" data-raw-{key}-body>{e(text)}</pre>'


def _pretty(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _epoch(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value) / (1000 if value > 1e11 else 1)
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)


def _clock(iso: Any) -> str:
    text = str(iso or "")
    return text[11:23] if len(text) >= 23 else text
