"""`golive template`: write the AWS SAM template (functions, API, table, alarms, dashboard, WAF, IAM) for a service."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", nargs="?", default=".", metavar="SERVICE_DIR",
                        help="folder holding golive.toml (default: the current folder)")
    parser.add_argument("-o", "--output", metavar="FILE", help="where to write the template (default: stdout)")
    parser.add_argument("--stage", help="stage to build for: applies golive.toml [stages.STAGE] and names the API "
                        "stage (default: [api] stage, else prod for REST, $default for HTTP)")
    parser.add_argument("--code-uri", metavar="PATH",
                        help="the zip the functions run (default: SERVICE_DIR/dist/SERVICE.zip, as `golive package` "
                             "writes it, relative to the template)")


def default_code_uri(service_dir: Path, zip_name: str, template_dir: Path) -> str:
    """Where `golive package` puts the zip, relative to the template (SAM resolves CodeUri from there)."""
    return Path(os.path.relpath(service_dir.resolve() / "dist" / zip_name, template_dir.resolve())).as_posix()


def run(args: argparse.Namespace) -> int:
    from golive.cli import CLIError
    from golive.deploy.cfn import dump_yaml
    from golive.deploy.template import build, zip_name
    from golive.service.config import load_config

    config = load_config(args.service_dir, args.stage)
    output = Path(args.output) if args.output else None
    template_dir = output.parent if output else Path.cwd()
    code_uri = args.code_uri or default_code_uri(config.root, zip_name(config), template_dir)
    template, builder = build(config, stage=args.stage, code_uri=code_uri)
    text = dump_yaml(template)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text)
        except OSError as exc:
            raise CLIError(f"cannot write {output}: {exc.strerror}; choose another -o path") from None
        resources = template["Resources"]
        alarms = sum(r["Type"] == "AWS::CloudWatch::Alarm" for r in resources.values())
        print(f"wrote {output}: {len(resources)} resources, {len(builder.service.routes)} routes, {alarms} alarms "
              f"(stage {builder.service.stage}, code {code_uri})", file=sys.stderr)
    for note in builder.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
