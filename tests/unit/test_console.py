"""The dev console's formatting: whichever half of an invocation arrives first, the request line comes first with its
function's lines beneath; colours only when asked for; lines nobody claims are still printed."""

from __future__ import annotations

import io
import json
import time

from golive.local.console import Console
from golive.local.invocation import LogRecord

ACCESS = {"requestId": "a9fdcddc-c4c9-4d64-9698-1378043cc50e", "requestTimeEpoch": 1796307667533,
          "httpMethod": "GET", "path": "/boom", "routeKey": "GET /boom", "status": 500, "responseLatency": 5,
          "integrationStatus": 200, "integrationRequestId": "46d9d964", "functionName": "api",
          "errorResponseType": "-", "errorMessage": "-", "validationErrorString": "-"}


def line(text: str, stream: str = "stdout", request_id: str | None = "46d9d964") -> LogRecord:
    return LogRecord("api", request_id, stream, text, time.time())


def feed(console: Console, access_first: bool) -> None:
    records = [line(json.dumps({"level": "WARN", "message": "about to fail", "request_id": "46d9d964", "step": 1})),
               line("START RequestId: 46d9d964 Version: $LATEST", "platform"),
               line("END RequestId: 46d9d964", "platform"),
               line("REPORT RequestId: 46d9d964\tDuration: 4.39 ms\tBilled Duration: 5 ms\tMemory Size: 512 MB\t"
                    "Max Memory Used: 22 MB\tInit Duration: 103.76 ms\t", "platform")]
    if access_first:
        console.access(ACCESS)
    for record in records:
        console.function_log(record)
    if not access_first:
        console.access(ACCESS)


def test_the_request_line_comes_first_whichever_half_arrives_first() -> None:
    outputs = []
    for access_first in (True, False):
        out = io.StringIO()
        feed(Console(out, colour=False), access_first)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    first, second = outputs[0].splitlines()
    assert first.split("  ", 1)[1].startswith("GET     /boom")
    assert "500" in first and "function api  ·  cold start 104 ms" in first and first.endswith("a9fdcddc")
    assert second == "          WARN   about to fail  step=1"


def test_colours_only_when_asked_for() -> None:
    out = io.StringIO()
    feed(Console(out, colour=True), access_first=True)
    assert "\033[1m\033[31m500\033[0m" in out.getvalue()  # a 5xx in bold red
    assert "\033[33mWARN" in out.getvalue()
    assert Console(io.StringIO()).colour is False  # not a terminal


def test_unclaimed_lines_are_printed_under_their_function() -> None:
    out = io.StringIO()
    console = Console(out, colour=False, hold_s=0.05)
    console.function_log(line("plain output of an authorizer", request_id="other-id"))
    console.function_log(line("imported handler", request_id=None))
    assert out.getvalue() == "[api] imported handler\n"
    deadline = time.monotonic() + 2
    while "authorizer" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert out.getvalue().endswith("[api] plain output of an authorizer\n")
