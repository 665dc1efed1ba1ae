"""`golive invoke`: one event through a function's handler; the result on stdout, the function's logs on stderr.

The event is a file (`--event`), or built from a request (`--method`, `--path`, `--json`, `--header`, `--token`)
exactly as API Gateway would send it (golive.synth)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from golive.service.config import ServiceConfig, load_config

KINDS = ("v1", "v2", "url", "alb")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service_dir", nargs="?", default=".", metavar="SERVICE_DIR",
                        help="folder holding golive.toml (default: the current folder)")
    parser.add_argument("--event", metavar="FILE", help="the event as a JSON file, or - to read it from stdin")
    parser.add_argument("--method", help="build the event for this HTTP method (with --path), e.g. POST")
    parser.add_argument("--path", help="the request path, query string included, e.g. '/users?limit=5'")
    parser.add_argument("--json", metavar="JSON", dest="json_body",
                        help="the request body as JSON (Content-Type: application/json)")
    parser.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                        help="a request header (repeatable)")
    parser.add_argument("--token", metavar="JWT", help="sent as Authorization: Bearer JWT (see golive token)")
    parser.add_argument("--kind", choices=KINDS,
                        help="the event's shape: v1 (REST API), v2 (HTTP API), url (Function URL), alb "
                             "(default: from [api] type)")
    parser.add_argument("--function", metavar="NAME", help="which [functions.NAME] to invoke (default: the only one, "
                                                           "or 'api')")


def run(args: argparse.Namespace) -> int:
    from golive.cli import CLIError
    from golive.local.devserver import load_targets, log_function_error

    request_options = [f"--{o}" for o, v in (("method", args.method), ("path", args.path), ("json", args.json_body),
                                              ("header", args.header), ("token", args.token), ("kind", args.kind))
                       if v]
    if args.event is not None and request_options:
        raise CLIError(f"--event and {request_options[0]} do not mix: pass a ready event, or the request to build "
                       f"one from")
    if args.event is None and not (args.method and args.path):
        raise CLIError("pass --method and --path (e.g. --method GET --path /health) to build the event, or "
                       "--event FILE")
    config = load_config(args.service_dir)
    name = _function_name(config, args.function)
    target = load_targets(config, only=[name])[name]
    event = _read_event(args.event) if args.event is not None else build_request_event(config, target.app, args)
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


def build_request_event(config: ServiceConfig, app: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The event API Gateway would send for the request described on the command line."""
    from urllib.parse import parse_qsl, urlsplit

    from golive.cli import CLIError
    from golive.synth import build_event

    if not args.path.startswith("/"):
        raise CLIError(f"--path {args.path!r} must start with /, e.g. --path /users")
    headers: list[tuple[str, str]] = []
    for header in args.header:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            raise CLIError(f"--header {header!r} is not 'NAME: VALUE', e.g. --header 'Accept: application/json'")
        headers.append((name.strip(), value.strip()))
    body = b""
    if args.json_body is not None:
        try:
            body = json.dumps(json.loads(args.json_body)).encode()
        except json.JSONDecodeError as exc:
            raise CLIError(f"--json is not valid JSON ({exc.msg} at column {exc.colno}); quote it for the shell, "
                           f"e.g. --json '{{\"name\": \"Ada\"}}'") from None
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
    if args.token:
        headers.append(("Authorization", f"Bearer {args.token}"))
    url = urlsplit(args.path)
    method = args.method.upper()
    resource = path_params = None
    if app is not None:  # the route template and parameters, as the deployed API's resource would give them
        try:
            route, params = app.router.match(method, url.path)
            resource, path_params = route.path, params or None
        except Exception:
            pass  # no such route: the handler answers 404/405 as it would in AWS
    kind = args.kind or ("v1" if config.api_type == "rest" else "v2")
    return build_event(kind, method, url.path, headers=headers, query=parse_qsl(url.query, keep_blank_values=True),
                       body=body, stage=config.stage, resource=resource, path_params=path_params)


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
