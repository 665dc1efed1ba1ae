"""The scorecard as text for people and JSON for CI."""

from __future__ import annotations

import json

from golive.check.audit import Audit
from golive.check.checklist import CATEGORIES, FAIL, NA, PASS

_MARK = {PASS: "PASS", FAIL: "FAIL", NA: "N/A "}
MAX_EVIDENCE = 6  # lines per item in text; JSON carries all of them


def as_text(audit: Audit, verdict: str) -> str:
    lines = [f"golive check: {audit.service} ({audit.source})", ""]
    for category in CATEGORIES:
        results = [r for r in audit.results if r.category == category]
        if not results:
            continue
        lines.append(f"{category.capitalize()} ({sum(r.status == PASS for r in results)}/{len(results)} pass)")
        for result in results:
            lines.append(f"  {_MARK[result.status]}  {result.title}  [{result.id}]")
            if result.reason:
                lines.append(f"        why: {result.reason}")
            for line in result.evidence[:MAX_EVIDENCE]:
                lines.append(f"        - {line}")
            if len(result.evidence) > MAX_EVIDENCE:
                lines.append(f"        - ... {len(result.evidence) - MAX_EVIDENCE} more (--format json lists all)")
            if result.status == FAIL:
                lines.append(f"        fix: {result.fix}")
        lines.append("")
    summary = audit.summary()
    lines.append(f"score {audit.score}/100: {summary['passed']} pass, {summary['failed']} fail, "
                 f"{summary['not_applicable']} n/a. {verdict}")
    return "\n".join(lines) + "\n"


def as_json(audit: Audit, verdict: str, ok: bool) -> str:
    return json.dumps({**audit.summary(), "score": audit.score, "ok": ok, "verdict": verdict,
                       "items": [r.as_dict() for r in audit.results]}, indent=2) + "\n"
