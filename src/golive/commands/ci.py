"""`golive ci`: write the GitHub Actions workflow that tests, audits, deploys and verifies every stage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", nargs="?", default=".", metavar="SERVICE_DIR",
                        help="folder holding golive.toml (default: the current folder)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="where to write the workflow (default: REPO/.github/workflows/golive.yml, REPO being "
                             "the git repository holding SERVICE_DIR; - for stdout)")
    parser.add_argument("--branch", default="main", help="the branch whose pushes deploy (default: main)")
    parser.add_argument("--region", default="us-east-1", help="the AWS region to deploy to (default: us-east-1)")
    parser.add_argument("--install", metavar="CMD", help="the install step's command (default: pip install golive "
                                                         "with its cli, aws and verify extras)")
    parser.add_argument("--test", metavar="CMD", help="the test step's command (default: make test)")


def run(args: argparse.Namespace) -> int:
    from golive.cli import CLIError
    from golive.release.ci import DEFAULT_INSTALL, DEFAULT_TEST, ordered_stages, render, repo_relative, workflow
    from golive.service.config import load_config

    config = load_config(args.service_dir)
    output = Path(args.output).resolve() if args.output and args.output != "-" else None
    if output is not None and output.parent.name == "workflows" and output.parent.parent.name == ".github":
        # -o REPO/.github/workflows/FILE names the repository: the service's path is relative to it
        repo = output.parent.parent.parent
        try:
            service_dir = config.root.relative_to(repo).as_posix() or "."
        except ValueError:
            raise CLIError(f"{args.output} is in a repository that does not hold {args.service_dir}; write the "
                           f"workflow into the service's repository") from None
    else:
        repo, service_dir = repo_relative(config.root)
    text = render(workflow(config, service_dir, branch=args.branch, region=args.region,
                           install=args.install or DEFAULT_INSTALL, test=args.test or DEFAULT_TEST))
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    output = output or repo / ".github" / "workflows" / "golive.yml"
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    except OSError as exc:
        raise CLIError(f"cannot write {output}: {exc.strerror}; choose another -o path") from None
    print(f"wrote {output}: test, audit, then deploy and verify {' -> '.join(ordered_stages(config))} on pushes to "
          f"{args.branch}; set the secret AWS_DEPLOY_ROLE_ARN in each GitHub environment", file=sys.stderr)
    return 0
