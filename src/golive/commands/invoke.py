"""`golive invoke`: one event through a function's handler; the result on stdout, the function's logs on stderr."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from golive.service.config import ServiceConfig, load_config


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", metavar="SERVICE_DIR", help="folder holding golive.toml")
    parser.add_argument("--event", required=True, metavar="FILE",
                        help="the event as a JSON file, or - to read it from stdin")
    parser.add_argument("--function", metavar="NAME", help="which [functions.NAME] to invoke (default: the only one, "
                                                           "or 'api')")


def run(args: argparse.Namespace) -> int:
    from golive.cli import CLIError
    from golive.local.devserver import load_targets, log_function_error

    config = load_config(args.service_dir)
    name = _function_name(config, args.function)
    event = _read_event(args.event)
    target = load_targets(config, only=[name])[name]
    context = target.context()
    # The function's stdout is its log stream: route it to stderr so stdout carries only the result.
    with contextlib.redirect_stdout(sys.stderr):
        error: Exception | None = None
        try:
            result = target.invoke(event, context)
        except Exception as exc:
            log_function_error(exc, context.aws_request_id)
            error = exc
    if error is not None:
        print(json.dumps(_lambda_error(error), indent=2))
        print(f"golive invoke: the handler raised {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    try:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    except (TypeError, ValueError) as exc:
        raise CLIError(f"the handler returned a value Lambda cannot serialise to JSON ({exc}); "
                       f"return dicts, lists, strings and numbers") from None
    return 0


def _function_name(config: ServiceConfig, wanted: str | None) -> str:
    from golive.cli import CLIError

    names = list(config.functions)
    if wanted:
        if wanted not in config.functions:
            raise CLIError(f"no function {wanted!r} in golive.toml; choose one of: {', '.join(names)}")
        return wanted
    if len(names) == 1:
        return names[0]
    if "api" in config.functions:
        return "api"
    raise CLIError(f"the service has several functions ({', '.join(names)}); choose one with --function NAME")


def _read_event(source: str) -> Any:
    from golive.cli import CLIError

    if source == "-":
        text, where = sys.stdin.read(), "the event on stdin"
    else:
        path = Path(source)
        if not path.is_file():
            raise CLIError(f"event file {source} not found; pass a JSON file, or - to read stdin")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CLIError(f"cannot read event file {source} ({exc}); pass a UTF-8 JSON file") from None
        where = f"event file {source}"
    if not text.strip():
        raise CLIError(f"{where} is empty; pass an API Gateway event as JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(f"{where} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                       f"fix the JSON there") from None


def _lambda_error(exc: BaseException) -> dict[str, Any]:
    """The error object Lambda returns to a synchronous caller when the handler raises."""
    from golive.local.invocation import handler_error

    document = handler_error(exc)
    del document["requestId"]  # the synchronous caller's copy names no request
    return document
