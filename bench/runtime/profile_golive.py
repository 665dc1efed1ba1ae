"""Where golive's time goes: cProfile of the warm loop, per-stage timings, and the import-time breakdown.

    .venv/bin/python bench/runtime/profile_golive.py [--calls 5000] [--top 25]

The per-stage figures call golive's internals one stage at a time (same event, same app as run.py), so they read
in real microseconds, without cProfile's per-call overhead; they lean on private names and are a diagnostic only.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (beside this file: the same event and environment as the benchmark)
from worker import LambdaContext  # noqa: E402


def _per_call_us(fn, calls: int) -> float:
    """Median of 7 batches, each `calls // 7` calls: µs per call."""
    batch = max(1, calls // 7)
    results = []
    for _ in range(7):
        start = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        results.append((time.perf_counter_ns() - start) / batch / 1000)
    return statistics.median(results)


def stage_timings(calls: int) -> list[tuple[str, float]]:
    """µs per call of each stage of App.handler, measured in isolation."""
    import golive_app

    from golive import events
    from golive.app import _correlation_id
    from golive.http import Response
    from golive.observability.logging import logger
    from golive.observability.metrics import metrics
    from golive.observability.redaction import redact
    from golive.observability.tracing import tracer
    from golive.security import headers as security_headers
    from golive.security import threats

    app = golive_app.app
    event = run.make_event(run.GOOD_USER, "bench-warm-0001")
    context = LambdaContext("c0ffee00-0000-4000-8000-000000000000")
    for _ in range(200):
        app.handler(event, context)
    request = events.parse_event(event)
    request.context = context
    request.correlation_id = _correlation_id(request)
    route, params = app.router.match("POST", "/users")
    request.route, request.path_params = route, params
    compiled = app._compiled[id(route)]
    user = {"id": "0" * 32, **run.GOOD_USER}
    response_validator = compiled.responses[201]
    record_fields = {"status": 201, "latency_ms": 0.123, "route": route.key, "source_ip": request.source_ip,
                     "user_agent": request.headers.get("user-agent", "")}
    logger.start_invocation(request_id=context.aws_request_id, correlation_id=request.correlation_id,
                            trace_id="1-67890abc-0123456789abcdef01234567", cold_start=False, method="POST",
                            path="/users")
    logger.context["route"] = route.key
    sample_record = {"timestamp": "2026-11-22T10:00:00.000Z", "level": "INFO", "message": "request completed",
                     "service": "users", "function": "users-bench", **logger.context, **record_fields}

    def traced() -> None:
        tracer.start_invocation("users", request.headers.get("x-amzn-trace-id"), request.headers.get("traceparent"))
        tracer.end_invocation(None, 201)

    def validate_in() -> None:
        app._validate_input(request, compiled)

    def call_route() -> None:
        tracer.start_invocation("users")
        app._call_route(request)
        tracer.end_invocation(None, 201)
        metrics._reset()

    def validate_out() -> None:
        response_validator(json.loads(json.dumps(user, default=str)))

    def apply_headers() -> None:
        response = Response(user, 201)
        security_headers.apply(response, None, {})
        response.headers["X-Request-ID"] = request.correlation_id

    response = Response(user, 201)
    security_headers.apply(response, None, {})
    encoded, _ = response.encode()

    def flush_metrics() -> None:
        metrics.add("UserCreated", 1)
        metrics.flush(route.key, 201, 0.123, False)

    stages = [
        ("events.parse_event (v1 event -> Request)", lambda: events.parse_event(event)),
        ("app._correlation_id", lambda: _correlation_id(request)),
        ("tracer.start_invocation + end_invocation", traced),
        ("router.match", lambda: app.router.match("POST", "/users")),
        ("threats.scan (path, query, body)", lambda: threats.scan(request)),
        ("app._validate_input (json.loads + body schema)", validate_in),
        ("app._call_route (subsegment + user handler + metrics.add)", call_route),
        ("response validation (json round trip + schema)", validate_out),
        ("security_headers.apply + X-Request-ID", apply_headers),
        ("Response.encode (json.dumps)", response.encode),
        ("events.render (v1 result dict)", lambda: events.render(request, 201, response.headers, {}, [], encoded)),
        ("logger access line: redact(record) only", lambda: redact(sample_record)),
        ("logger access line: whole logger.info", lambda: logger.info("request completed", **record_fields)),
        ("metrics.add + metrics.flush (EMF line)", flush_metrics),
        ("whole app.handler", lambda: app.handler(event, context)),
    ]
    return [(name, _per_call_us(fn, calls)) for name, fn in stages]


def cprofile_top(calls: int, top: int) -> str:
    import golive_app

    event = run.make_event(run.GOOD_USER, "bench-warm-0001")
    context = LambdaContext("c0ffee00-0000-4000-8000-000000000000")
    for _ in range(300):
        golive_app.handler(event, context)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        golive_app.handler(event, context)
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def _depth(name: str) -> int:
    return (len(name) - len(name.lstrip()) - 1) // 2  # importtime indents two spaces per level


def _subtree(rows: list[tuple[str, int, int]], root: str) -> list[tuple[str, int, int]]:
    """The rows of `root` and everything it imported (importtime prints children before their parent)."""
    for index, (name, _, _) in enumerate(rows):
        if _depth(name) == 0 and name.strip() == root:
            first = index
            while first > 0 and _depth(rows[first - 1][0]) > 0:
                first -= 1
            return rows[first:index + 1]
    raise RuntimeError(f"{root} is not in the importtime output")


def import_breakdown(top: int, runs: int = 7) -> str:
    """`python -X importtime` of golive_app.py in the benchmark's environment: the app's subtree, summarised."""
    pycache = Path(tempfile.gettempdir()) / f"golive-bench-pycache-{platform.python_version()}"
    env = run.child_env(pycache)
    code = "import golive_app"
    subprocess.run([sys.executable, "-c", code], env=env, cwd=HERE, check=True, stdout=subprocess.DEVNULL)
    trees = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env, cwd=HERE, check=True,
                              capture_output=True, text=True)
        rows = []
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, cumulative_us, name = line[len("import time:"):].split("|")
            rows.append((name.rstrip(), int(self_us), int(cumulative_us)))
        trees.append(_subtree(rows, "golive_app"))
    # The same modules load in the same order every time: take each module's median over the runs.
    samples: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for tree in trees:
        for name, self_us, cumulative_us in tree:
            samples[name].append((self_us, cumulative_us))
    order = [name for name, _, _ in trees[0]]
    medians = {name: (statistics.median(s for s, _ in samples[name]), statistics.median(c for _, c in samples[name]))
               for name in order}
    lines = [f"`{code}` (median of {runs} runs, µs; cum includes what the module imported):",
             "      self       cum  module"]
    for name in order:
        self_us, cumulative_us = medians[name]
        if _depth(name) <= 1 or cumulative_us >= 400:
            lines.append(f"  {self_us:>8.0f}  {cumulative_us:>8.0f}  {name[1:]}")
    by_package: dict[str, float] = defaultdict(float)
    for name, (self_us, _) in medians.items():
        module = name.strip()
        by_package["golive (all modules)" if module.startswith("golive.") or module == "golive"
                    else module.split(".")[0]] += self_us
    lines.append("self time by top-level package (µs):")
    for package, self_us in sorted(by_package.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"  {self_us:>8.0f}  {package}")
    lines.append(f"total: {medians[order[-1]][1] / 1000:.1f} ms for golive_app and everything it imported")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="warm calls profiled / timed per stage")
    parser.add_argument("--top", type=int, default=25, help="rows per listing")
    args = parser.parse_args(argv)
    real_stdout = sys.stdout
    with open(os.devnull, "w") as devnull:
        sys.stdout = devnull  # logs and EMF are written (and paid for), not shown
        try:
            stages = stage_timings(args.calls)
            profile = cprofile_top(args.calls, args.top)
        finally:
            sys.stdout = real_stdout
    print("== golive warm path, per stage (µs per call, measured in isolation) ==")
    for name, micros in stages:
        print(f"  {micros:8.2f}  {name}")
    print("\n== cProfile of the warm loop (times inflated by the profiler; read the proportions) ==")
    print(profile)
    print("== import time ==")
    print(import_breakdown(args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
