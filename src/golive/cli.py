"""The golive command line: dispatches to one module per command, and turns every failure into one line."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

from golive.commands import CLIError
from golive.service.config import ConfigError

__all__ = ["COMMANDS", "CLIError", "main"]

# name -> (module, one-line help). Modules load only when their command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("golive.commands.init", "create a new service that runs, passes its tests and the go-live audit"),
    "dev": ("golive.commands.dev", "run the service locally on http://127.0.0.1:3000"),
    "invoke": ("golive.commands.invoke", "send one event through the handler and print the result and logs"),
    "routes": ("golive.commands.routes", "list the service's routes"),
    "openapi": ("golive.commands.openapi", "print the OpenAPI 3.1 document (JSON or YAML)"),
    "token": ("golive.commands.token", "mint a development JWT the dev server accepts"),
    "template": ("golive.commands.template", "write the AWS SAM template (alarms, WAF, dashboard, IAM)"),
    "package": ("golive.commands.package", "build the deployable zip for Lambda"),
    "check": ("golive.commands.check", "the go-live audit of a service or any SAM/CloudFormation template"),
    "ci": ("golive.commands.ci", "write the GitHub Actions workflow: test, audit, deploy and verify each stage"),
    "verify": ("golive.commands.verify", "end-to-end and contract checks against a running stage (local or AWS)"),
    "logs": ("golive.commands.logs", "requests and their log lines (golive dev or --stage): filtered, by id, tailed"),
    "stats": ("golive.commands.stats", "per-route counts, gateway vs function errors, latency percentiles; "
                                       "--alarms: the deployed alarms evaluated locally"),
    "errors": ("golive.commands.errors", "the function's exceptions grouped by type, frames and route"),
    "query": ("golive.commands.query", "read-only SQL over telemetry (golive dev or --stage): requests, logs, spans, "
                                       "metrics"),
    "dashboard": ("golive.commands.dashboard", "the dashboard over a service's telemetry, or a deployed stage's"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's error style: one line saying what is wrong and where the usage is, exit status 2
    (argparse itself prints the whole usage block first). Subcommand parsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="golive", description="Production-ready HTTP APIs on AWS Lambda.")
    parser.add_argument("--version", action="version", version="golive 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # command not built yet in this checkout
            raise
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.register(command_parser)
        command_parser.set_defaults(run=module.run)
    return parser


def command_table() -> str:
    """The README's command table, from each command's own usage and help (tests/docs checks they agree)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    rows = ["| command | does |", "|---|---|"]
    for name, command_parser in sub.choices.items():
        usage = " ".join(command_parser.format_usage().removeprefix("usage: ").split()).replace("[-h] ", "")
        rows.append(f"| `{usage.replace('|', chr(92) + '|')}` | {COMMANDS[name][1]} |")  # \| inside a table cell
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except (CLIError, ConfigError) as exc:
        print(f"golive {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("GOLIVE_DEBUG"):
            raise
        print(f"golive {args.command}: error: {type(exc).__name__}: {exc} (set GOLIVE_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
