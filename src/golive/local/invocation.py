"""One Lambda invocation: the job travelling through an environment, its result, and the log lines it leaves."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from golive.http import new_request_id
from golive.observability.tracing import new_trace_id

OUTCOMES = ("ok", "function_error", "timeout", "crash", "init_error", "throttled")


@dataclass(slots=True)
class LogRecord:
    """One log line of a function, as CloudWatch would store it (stream: stdout, stderr or platform)."""

    function: str
    request_id: str | None
    stream: str
    line: str
    timestamp: float


@dataclass(slots=True)
class Invocation:
    """The result of one synchronous invocation, with what Lambda reports about it."""

    request_id: str
    outcome: str  # one of OUTCOMES
    payload: bytes | None  # the function's response body, or the error document Lambda returns
    error_type: str | None = None
    error_message: str | None = None
    duration_ms: float = 0.0
    billed_ms: int = 0
    init_ms: float | None = None
    max_memory_mb: int = 0
    memory_mb: int = 0
    cold_start: bool = False
    logs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def platform_error(error_type: str, message: str, request_id: str | None = None) -> bytes:
    """The error document the Lambda service returns for a failure outside the handler (timeout, crash, init):
    errorType, and errorMessage prefixed with the request id as Lambda words it."""
    text = f"RequestId: {request_id} Error: {message}" if request_id else message
    return json.dumps({"errorType": error_type, "errorMessage": text}).encode()


def handler_error(exc: BaseException, request_id: str = "", skip: str | None = None) -> dict[str, Any]:
    """The error document Lambda's Python runtime makes of a handler's exception (errorMessage, errorType,
    requestId, stackTrace); frames of the file `skip` (golive's own caller) are left out, as Lambda shows none of its
    own. The worker (a standalone script) builds the same document for the local cloud."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != skip]
    return {"errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": request_id,
            "stackTrace": traceback.format_list(frames)}


def exit_description(returncode: int | None) -> str:
    """How Lambda words a runtime's exit: 'exit status 3', 'signal: killed', 'signal: segmentation fault'."""
    if returncode is None or returncode >= 0:
        return f"exit status {returncode or 0}"
    try:
        name = signal.strsignal(-returncode) or f"signal {-returncode}"
    except ValueError:
        name = f"signal {-returncode}"
    return "signal: " + name.split(":")[0].lower()


class Job:
    """One invocation travelling through an environment."""

    __slots__ = ("client_context", "cold", "deadline", "delivered_at", "done", "future", "lines", "on_done",
                 "payload", "request_id", "running", "segment", "trace_id")

    def __init__(self, payload: bytes, trace_id: str | None, client_context: str | None,
                 future: asyncio.Future[Invocation], on_done: Callable[[Invocation], None] | None = None,
                 random: bytes | None = None) -> None:
        self.request_id = new_request_id(random)
        self.payload = payload
        self.trace_id = trace_id or _new_trace_id()
        self.client_context = client_context
        self.future = future
        self.on_done = on_done
        self.cold = False
        self.delivered_at: float | None = None
        self.deadline = math.inf  # perf_counter() at which the function times out
        self.running = False  # counted in LambdaService.running (delivered, not finished)
        self.lines: list[str] = []
        self.done = False
        self.segment: tuple[str, str | None] | None = None  # traced: (its function segment id, the caller's)

    def answer(self, result: Invocation) -> None:
        """Give the caller its result: on_done first (the gateway writes its reply there), then the future."""
        if self.on_done is not None:
            try:
                self.on_done(result)
            except Exception as exc:  # a broken consumer must not break the environment's bookkeeping
                print(f"golive: invocation callback failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        if not self.future.done():
            self.future.set_result(result)


def _new_trace_id() -> str:
    return f"Root={new_trace_id()};Parent={os.urandom(8).hex()};Sampled=0"
