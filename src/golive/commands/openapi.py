"""`golive openapi`: the service's OpenAPI 3.1 document, generated from its route table (JSON or YAML)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", nargs="?", default=".", metavar="SERVICE_DIR",
                        help="folder holding golive.toml (default: the current folder)")
    parser.add_argument("--format", choices=("json", "yaml"),
                        help="output format (default: from the -o file's extension, else json)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")


def run(args: argparse.Namespace) -> int:
    from golive.cli import CLIError
    from golive.local.devserver import load_targets
    from golive.openapi import build_openapi
    from golive.service.config import load_config

    config = load_config(args.service_dir)
    apps = {name: target.app for name, target in load_targets(config).items() if target.app is not None}
    if not apps:
        raise CLIError("no function in golive.toml is written with golive.App, so there is no route table to "
                       "describe; declare routes with golive.App")
    document = build_openapi(config, apps)
    fmt = args.format or ("yaml" if args.output and Path(args.output).suffix.lower() in (".yaml", ".yml")
                          else "json")
    text = render(document, fmt)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CLIError(f"cannot write {args.output} ({exc.strerror or exc}); pick a writable path") from None
        print(f"golive openapi: wrote {args.output} ({len(document['paths'])} paths, OpenAPI "
              f"{document['openapi']}, {fmt})", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def render(document: dict[str, Any], fmt: str) -> str:
    if fmt == "yaml":
        from golive.cli import CLIError

        try:
            import yaml  # only for YAML output: the CLI extra
        except ImportError:
            raise CLIError("YAML output needs PyYAML: pip install 'golive[cli]', or use --format json") from None
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
