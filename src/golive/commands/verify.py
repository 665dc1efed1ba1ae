"""`golive verify URL`: end-to-end and contract checks against any running stage (local or deployed)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", metavar="URL", help="base URL of the stage, e.g. http://127.0.0.1:3000 or the "
                                                   "ApiUrl output of the stack")
    parser.add_argument("--service", metavar="SERVICE_DIR", default=".",
                        help="folder holding golive.toml, whose route table gives the OpenAPI document (default: .)")
    parser.add_argument("--spec", metavar="FILE|URL", help="the OpenAPI document to generate requests from, instead "
                                                           "of SERVICE_DIR's route table")
    parser.add_argument("--token", metavar="T", help="bearer token for protected routes (golive token mints one "
                                                     "for golive dev)")
    parser.add_argument("--origin", metavar="ORIGIN", help="an allowed CORS origin: every answer must allow it")
    parser.add_argument("--max-examples", type=int, default=10, metavar="N",
                        help="generated requests per operation (default: 10)")
    parser.add_argument("--max-seconds", type=float, default=60.0, metavar="S",
                        help="stop generating new requests after S seconds (default: 60)")
    parser.add_argument("--pact", metavar="FILE", action="append", default=[],
                        help="also replay a consumer's Pact file against the URL (repeatable)")
    parser.add_argument("--report", metavar="FILE", help="also write the result as JSON (for CI)")


def run(args: argparse.Namespace) -> int:
    from golive.cli import CLIError
    from golive.release.verify import load_spec, verify

    if not args.url.startswith(("http://", "https://")):
        raise CLIError(f"URL {args.url!r} must start with http:// or https://, e.g. http://127.0.0.1:3000")
    if args.max_examples < 1 or args.max_seconds <= 0:
        raise CLIError("--max-examples must be at least 1 and --max-seconds more than 0")
    document = load_spec(args.spec, args.service)
    try:
        result = verify(args.url, document, token=args.token, origin=args.origin, max_examples=args.max_examples,
                        max_seconds=args.max_seconds)
    except OSError as exc:  # requests' ConnectionError is an OSError
        raise CLIError(f"cannot reach {args.url}: {type(exc).__name__}; start the service (golive dev) or check "
                       f"the URL") from None
    if args.pact:
        from golive.release.pact import verify_pact

        for pact_file in args.pact:
            interactions, findings = verify_pact(args.url, pact_file, args.token)
            result.pacts[pact_file] = interactions
            result.findings.extend(findings)
    for finding in result.findings:
        print(finding.line())
    for label in result.skipped:
        print(f"SKIP {label}: not reached within --max-seconds {args.max_seconds:g}")
    verdict = "passed" if result.ok else f"{len(result.findings)} finding(s)"
    pacts = "".join(f", {n} interactions of {Path(f).name}" for f, n in result.pacts.items())
    print(f"golive verify {result.base_url}: {verdict}: {result.operations} operations, {result.requests} requests "
          f"in {result.seconds:.1f} s{pacts}")
    if args.report:
        try:
            Path(args.report).write_text(json.dumps(result.as_json(), indent=2) + "\n")
        except OSError as exc:
            raise CLIError(f"cannot write --report {args.report}: {exc.strerror}") from None
    sys.stdout.flush()
    return 0 if result.ok else 1
