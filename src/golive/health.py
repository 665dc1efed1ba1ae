"""Health endpoint: registered dependency checks run with timeouts; 503 and `degraded` when one fails."""

from __future__ import annotations

import _thread  # _thread is built in; threading costs ~1.7 ms to import at cold start
import sys
import time
from collections.abc import Callable

from golive.http import Request, Response

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any


def _max_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


class HealthChecks:
    """The checks behind GET /health."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.checks: dict[str, tuple[Callable[[], Any], float, bool]] = {}
        self._running: set[str] = set()  # checks whose thread has not returned yet
        self._lock = _thread.allocate_lock()

    def add(self, name: str, check: Callable[[], Any], timeout: float = 1.0, critical: bool = True) -> None:
        """Register a check: it passes unless it raises, returns False, or outlives its timeout."""
        self.checks[name] = (check, timeout, critical)

    def check(self, name: str | None = None, timeout: float = 1.0, critical: bool = True) -> Callable:
        """Decorator form of add()."""
        def register(fn: Callable[[], Any]) -> Callable[[], Any]:
            self.add(name or fn.__name__, fn, timeout, critical)
            return fn
        return register

    def run(self) -> dict[str, Any]:
        """Run every check at once, each bounded by its timeout; the report is what /health answers."""
        started = time.monotonic()
        results: dict[str, dict[str, Any]] = {}
        pending = []
        for name, (fn, timeout, _critical) in self.checks.items():
            with self._lock:
                stuck = name in self._running
                self._running.add(name)
            if stuck:
                # Its earlier run never returned: starting another thread would only pile them up.
                results[name] = {"status": "timeout", "error": "still running since an earlier health check"}
                continue
            # Written by the check's thread only, and read once that thread is done: never shared half-written.
            outcome: dict[str, Any] = {"status": "fail"}
            import threading  # only the health route starts threads

            thread = threading.Thread(target=self._run_one, args=(name, fn, outcome), daemon=True,
                                      name=f"health-{name}")
            thread.start()
            pending.append((name, thread, timeout, outcome))
        for name, thread, timeout, outcome in pending:
            thread.join(max(0.0, timeout - (time.monotonic() - started)))
            if thread.is_alive():
                results[name] = {"status": "timeout", "error": f"did not answer within {timeout:g} s"}
            else:
                results[name] = dict(outcome)
        failed = [name for name, result in results.items() if result["status"] != "ok" and self.checks[name][2]]
        return {
            "status": "degraded" if failed else "ok",
            "service": self.app.service,
            "version": self.app.version,
            "uptime_s": round(time.time() - self.app.started, 3),
            "memory": {"max_rss_mb": _max_rss_mb()},
            "checks": {name: results[name] for name in self.checks},
        }

    def endpoint(self, request: Request) -> Response:
        report = self.run()
        return Response(report, 503 if report["status"] != "ok" else 200)

    def _run_one(self, name: str, fn: Callable[[], Any], outcome: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            result = fn()
            outcome["status"] = "fail" if result is False else "ok"
        except Exception as exc:
            outcome["status"] = "fail"
            outcome["error"] = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            outcome["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
            with self._lock:
                self._running.discard(name)
