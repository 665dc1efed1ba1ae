"""One framework's app in its own process: answers the runner's commands (load, call, time) over pipes.

Usage (by run.py only): python worker.py MODULE RESULT_FD [PATH] (PATH: where MODULE is; default this folder).
Commands arrive as JSON lines on stdin; each answer is one JSON line on RESULT_FD, so the app's own stdout (logs,
EMF) can go to /dev/null or be captured whole.
"""

import json
import os
import sys
import time


class LambdaContext:
    """The attributes of Lambda's context object that the frameworks read."""

    function_name = "users-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:users-bench"
    log_group_name = "/aws/lambda/users-bench"
    log_stream_name = "2026/11/22/[$LATEST]0123456789abcdef0123456789abcdef"
    identity = None
    client_context = None

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return 3000


def _time_calls(handler, event: dict, count: int) -> tuple[list[int], int]:
    """Call handler count times, timing each call; also counts answers that were not 201."""
    context = LambdaContext("c0ffee00-0000-4000-8000-000000000000")
    clock = time.perf_counter_ns
    samples = [0] * count
    broken = 0
    for index in range(count):
        start = clock()
        result = handler(event, context)
        samples[index] = clock() - start
        if result["statusCode"] != 201:
            broken += 1
    return samples, broken


def main() -> int:
    module_name, result_fd = sys.argv[1], int(sys.argv[2])
    sys.path.insert(0, sys.argv[3] if len(sys.argv) > 3 else os.path.dirname(os.path.abspath(__file__)))
    handler = __import__(module_name).handler
    events: dict[str, dict] = {}
    with os.fdopen(result_fd, "w") as answers:
        for line in sys.stdin:
            command = json.loads(line)
            op = command["op"]
            if op == "load":
                events.update(command["events"])
                answer: dict = {"ok": True}
            elif op == "call":
                context = LambdaContext(command.get("request_id", "c0ffee00-0000-4000-8000-000000000001"))
                answer = {"result": handler(events[command["event"]], context)}
            elif op == "time":
                samples, broken = _time_calls(handler, events[command["event"]], command["count"])
                answer = {"ns": samples, "broken": broken}
            elif op == "quit":
                return 0
            else:
                answer = {"error": f"unknown op {op}"}
            answers.write(json.dumps(answer, default=str) + "\n")
            answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
