"""Resilience helpers: a circuit breaker with fallback, and deadlines from the Lambda context."""

from __future__ import annotations

import _thread  # _thread is built in; threading costs ~1.7 ms to import at cold start
import math
import time
from collections.abc import Callable

from golive.errors import ServiceUnavailable
from golive.observability.logging import logger

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitOpen(ServiceUnavailable):
    """The breaker is open: the dependency is not called."""


class CircuitBreaker:
    """Stops calling a failing dependency for `recovery_timeout` seconds after `failure_threshold` failures."""

    def __init__(self, name: str, failure_threshold: int = 5, recovery_timeout: float = 30.0,
                 fallback: Callable[..., Any] | None = None,
                 expected: tuple[type[BaseException], ...] = (Exception,),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.failure_threshold, self.recovery_timeout = name, failure_threshold, recovery_timeout
        self.fallback, self.expected, self.clock = fallback, expected, clock
        self.state = CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self._lock = _thread.allocate_lock()
        self._probe_running = False

    def _transition(self, state: str) -> None:
        if state != self.state:
            logger.warning("circuit breaker state change", breaker=self.name, previous=self.state, state=state,
                           failures=self.failures)
            self.state = state

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self.state == OPEN and self.clock() - self.opened_at >= self.recovery_timeout:
                self._transition(HALF_OPEN)
            if self.state == OPEN or (self.state == HALF_OPEN and self._probe_running):
                return self._reject(*args, **kwargs)
            if self.state == HALF_OPEN:
                self._probe_running = True
        try:
            result = fn(*args, **kwargs)
        except self.expected:
            with self._lock:
                self._probe_running = False
                self.failures += 1
                if self.state == HALF_OPEN or self.failures >= self.failure_threshold:
                    self.opened_at = self.clock()
                    self._transition(OPEN)
            if self.fallback is not None:
                return self.fallback(*args, **kwargs)
            raise
        except BaseException:
            with self._lock:
                self._probe_running = False  # an unexpected error neither counts nor wedges the half-open probe
            raise
        with self._lock:
            self._probe_running = False
            self.failures = 0
            self._transition(CLOSED)
        return result

    def _reject(self, *args: Any, **kwargs: Any) -> Any:
        if self.fallback is not None:
            return self.fallback(*args, **kwargs)
        wait = self.recovery_timeout - (self.clock() - self.opened_at)
        raise CircuitOpen(f"{self.name} is unavailable (circuit open)", headers={
            "Retry-After": str(max(1, math.ceil(wait)))})

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator form: every call to fn goes through the breaker."""
        def guarded(*args: Any, **kwargs: Any) -> Any:
            return self.call(fn, *args, **kwargs)
        guarded.__name__ = getattr(fn, "__name__", "guarded")
        return guarded


class DeadlineExceeded(ServiceUnavailable):
    """Not enough of the invocation's time is left to start this call."""


class Deadline:
    """The time left in this invocation, to bound downstream calls below Lambda's own timeout."""

    def __init__(self, remaining_ms: float, reserve_ms: float = 200, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.expires = clock() + max(0.0, remaining_ms - reserve_ms) / 1000

    @classmethod
    def from_context(cls, context: Any, reserve_ms: float = 200, default_ms: float = 3000,
                     clock: Callable[[], float] = time.monotonic) -> Deadline:
        """From the Lambda context's remaining time (default_ms when there is no context, e.g. in a script)."""
        getter = getattr(context, "get_remaining_time_in_millis", None)
        return cls(getter() if getter else default_ms, reserve_ms, clock)

    def remaining(self) -> float:
        """Seconds left before the reserve is reached (never negative)."""
        return max(0.0, self.expires - self.clock())

    def timeout(self, at_most: float | None = None, at_least: float = 0.05) -> float:
        """A timeout (seconds) for the next call; raises DeadlineExceeded when less than at_least remains."""
        left = self.remaining()
        if left < at_least:
            raise DeadlineExceeded("Not enough time left for the downstream call", headers={"Retry-After": "1"})
        return min(left, at_most) if at_most is not None else left
