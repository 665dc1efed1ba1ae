"""`golive package`: build the deployable zip (service, golive, dependencies for Lambda's architecture, precompiled
validators) and the SAM template that points at it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", nargs="?", default=".", metavar="SERVICE_DIR",
                        help="folder holding golive.toml (default: the current folder)")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="where to write SERVICE.zip and template.yaml (default: SERVICE_DIR/dist)")
    parser.add_argument("--stage", help="API stage name for the template (default: [api] stage)")


def run(args: argparse.Namespace) -> int:
    from golive.deploy.cfn import dump_yaml
    from golive.deploy.package import DIRECT_UPLOAD_LIMIT, build_package
    from golive.deploy.template import build, zip_name
    from golive.service.config import load_config

    config = load_config(args.service_dir)
    output = Path(args.output) if args.output else config.root / "dist"
    # The template sits beside the zip, so CodeUri is just the zip's name (what `sam deploy` resolves).
    template, builder = build(config, stage=args.stage, code_uri=zip_name(config))
    package = build_package(config, builder.service, output)
    template_path = output / "template.yaml"
    template_path.write_text(dump_yaml(template))
    bytecode = package.bytecode
    print(f"wrote {package.path}: {package.size / 1024:.0f} KiB zipped, {package.unzipped / 1024:.0f} KiB unzipped, "
          f"{package.files} files, {bytecode.files} modules as Python {bytecode.python} bytecode, "
          f"{package.validators} schemas precompiled")
    if bytecode.interpreter is None:
        print(f"note: no Python {bytecode.python} interpreter found (PATH, pyenv, uv), so the zip ships source only "
              f"and every cold start compiles each module it imports; install python{bytecode.python} or set "
              f"[package] python to one", file=sys.stderr)
    print(f"wrote {template_path}: CodeUri {zip_name(config)}; deploy with: sam deploy -t {template_path} --guided")
    if package.size > DIRECT_UPLOAD_LIMIT:
        print("note: over 50 MB zipped: deploy through S3 (sam deploy does this for you)", file=sys.stderr)
    return 0
