"""`golive check`: the go-live audit of a service directory or any SAM/CloudFormation template, item by item."""

from __future__ import annotations

import argparse
import sys


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", nargs="?", metavar="SERVICE_DIR",
                        help="folder holding golive.toml: audits the template golive writes for it, plus its code "
                             "(default: the current folder, unless --template is given)")
    parser.add_argument("--template", metavar="FILE", help="audit this SAM/CloudFormation template (YAML or JSON)")
    parser.add_argument("--stage", help="stage to build for: applies golive.toml [stages.STAGE] and names the API "
                        "stage (default: [api] stage, else prod for REST, $default for HTTP)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json for CI")
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--min-score", type=int, metavar="N",
                       help="exit 1 when the score is below N (0-100; default: [check] min_score, else any failure)")
    level.add_argument("--fail-on", choices=("fail", "never"),
                       help="fail: exit 1 on any failed item (the default); never: always exit 0")


def run(args: argparse.Namespace) -> int:
    from golive.check.audit import audit
    from golive.check.report import as_json, as_text
    from golive.cli import CLIError

    if args.service_dir is None and args.template is None:
        args.service_dir = "."
    if args.min_score is not None and not 0 <= args.min_score <= 100:
        raise CLIError("--min-score must be between 0 and 100")
    result = audit(args.service_dir, args.template, args.stage)
    failed = result.summary()["failed"]
    if args.fail_on == "never":
        ok, verdict = True, "(--fail-on never)"
    else:
        threshold = args.min_score if args.min_score is not None else (
            result.min_score if args.fail_on is None and result.min_score is not None else None)
        if threshold is not None:
            ok = result.score >= threshold
            verdict = f"{'OK' if ok else 'BELOW'} the minimum of {threshold}."
        else:
            ok = failed == 0
            verdict = "Ready to go live." if ok else f"{failed} item(s) to fix before going live."
    sys.stdout.write(as_json(result, verdict, ok) if args.format == "json" else as_text(result, verdict))
    return 0 if ok else 1
