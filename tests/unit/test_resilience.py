"""Resilience: the circuit breaker's states with an injected clock, fallbacks, 503s, and Lambda deadlines."""

from __future__ import annotations

import pytest

from golive import App
from golive.resilience import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, CircuitOpen, Deadline, DeadlineExceeded
from golive.synth import LambdaContext
from golive.testing import TestClient


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Dependency:
    """A downstream service that fails while `down` is set."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    def __call__(self, key: str = "k") -> str:
        self.calls += 1
        if self.down:
            raise ConnectionError("dependency unreachable")
        return f"value-{key}"


def test_closed_open_half_open_closed():
    clock, dependency = Clock(), Dependency()
    breaker = CircuitBreaker("profiles", failure_threshold=3, recovery_timeout=10, clock=clock)
    assert breaker.call(dependency) == "value-k" and breaker.state == CLOSED
    dependency.down = True
    for _ in range(3):
        with pytest.raises(ConnectionError):
            breaker.call(dependency)
    assert breaker.state == OPEN and dependency.calls == 4
    # Open: the dependency is not called at all.
    with pytest.raises(CircuitOpen) as refused:
        breaker.call(dependency)
    assert dependency.calls == 4
    assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "10"
    clock.now += 7.5
    with pytest.raises(CircuitOpen) as refused:
        breaker.call(dependency)
    assert refused.value.headers["Retry-After"] == "3"
    # After the recovery timeout one probe goes through; a failure opens the circuit again.
    clock.now += 2.5
    with pytest.raises(ConnectionError):
        breaker.call(dependency)
    assert breaker.state == OPEN and dependency.calls == 5
    clock.now += 10
    dependency.down = False
    assert breaker.call(dependency, "x") == "value-x"
    assert breaker.state == CLOSED and breaker.failures == 0


def test_successes_reset_the_failure_count():
    dependency = Dependency()
    breaker = CircuitBreaker("p", failure_threshold=2, clock=Clock())
    for _ in range(5):
        dependency.down = True
        with pytest.raises(ConnectionError):
            breaker.call(dependency)
        dependency.down = False
        breaker.call(dependency)
    assert breaker.state == CLOSED


def test_half_open_lets_exactly_one_probe_through():
    clock = Clock()
    breaker = CircuitBreaker("p", failure_threshold=1, recovery_timeout=5, clock=clock)
    with pytest.raises(ConnectionError):
        breaker.call(_raise)
    clock.now += 5
    seen = []

    def probe():
        assert breaker.state == HALF_OPEN
        with pytest.raises(CircuitOpen):
            breaker.call(lambda: seen.append("second probe"))  # a concurrent caller while the probe runs
        return "probed"

    assert breaker.call(probe) == "probed"
    assert seen == [] and breaker.state == CLOSED


def _raise():
    raise ConnectionError("down")


def test_an_unexpected_error_in_the_probe_does_not_wedge_the_breaker():
    clock = Clock()
    breaker = CircuitBreaker("p", failure_threshold=1, recovery_timeout=5, expected=(ConnectionError,), clock=clock)
    with pytest.raises(ConnectionError):
        breaker.call(_raise)
    clock.now += 5

    def buggy():
        raise KeyError("bug in the caller")

    with pytest.raises(KeyError):
        breaker.call(buggy)
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.state == CLOSED


def test_errors_outside_expected_do_not_count():
    breaker = CircuitBreaker("p", failure_threshold=1, expected=(ConnectionError,), clock=Clock())
    with pytest.raises(ValueError):
        breaker.call(lambda: int("x"))
    assert breaker.state == CLOSED


def test_fallback_answers_when_the_call_fails_and_while_open():
    clock, dependency = Clock(), Dependency()
    breaker = CircuitBreaker("p", failure_threshold=2, recovery_timeout=30, clock=clock,
                             fallback=lambda key="k": f"cached-{key}")
    dependency.down = True
    assert breaker.call(dependency, "a") == "cached-a"
    assert breaker.call(dependency, "b") == "cached-b"
    assert breaker.state == OPEN
    assert breaker.call(dependency, "c") == "cached-c"
    assert dependency.calls == 2


def test_decorator_form_and_state_change_logs(capsys):
    clock = Clock()
    breaker = CircuitBreaker("payments", failure_threshold=1, recovery_timeout=1, clock=clock)

    @breaker
    def charge(amount):
        raise ConnectionError("gateway down")

    with pytest.raises(ConnectionError):
        charge(10)
    assert charge.__name__ == "charge"
    out = capsys.readouterr().out
    assert '"message":"circuit breaker state change"' in out
    assert '"breaker":"payments"' in out and '"state":"open"' in out and '"level":"WARN"' in out


def test_an_open_circuit_is_a_503_problem_with_retry_after():
    app = App("orders", health_path=None)
    clock = Clock()
    breaker = CircuitBreaker("inventory", failure_threshold=1, recovery_timeout=20, clock=clock)

    @app.get("/stock")
    def stock(req):
        return {"stock": breaker.call(_raise)}

    client = TestClient(app)
    assert client.get("/stock").status == 500  # the failure itself: an unhandled ConnectionError
    response = client.get("/stock")
    assert response.status == 503
    assert response.headers["retry-after"] == "20"
    problem = response.json()
    assert problem["title"] == "Service Unavailable"
    assert problem["detail"] == "inventory is unavailable (circuit open)"


def test_deadline_from_the_lambda_context():
    deadline = Deadline.from_context(LambdaContext(timeout_s=3.0))
    assert 2.5 < deadline.remaining() <= 2.8  # 3 s minus the 200 ms reserve
    assert deadline.timeout(at_most=1.0) == 1.0
    assert Deadline.from_context(None).remaining() == pytest.approx(2.8, abs=0.1)


def test_deadline_counts_down_with_the_clock():
    clock = Clock()
    deadline = Deadline.from_context(LambdaContext(timeout_s=1.0), reserve_ms=200, clock=clock)
    assert deadline.remaining() == pytest.approx(0.8, abs=0.02)
    clock.now += 0.5
    assert deadline.timeout() == pytest.approx(0.3, abs=0.02)
    clock.now += 0.29
    with pytest.raises(DeadlineExceeded) as exceeded:
        deadline.timeout(at_least=0.05)
    assert exceeded.value.status == 503


def test_a_handler_out_of_time_answers_503():
    app = App("orders", health_path=None)

    @app.get("/report")
    def report(req):
        deadline = Deadline.from_context(req.context, reserve_ms=500)
        return {"timeout": deadline.timeout()}

    client = TestClient(app)
    assert client.get("/report").json()["timeout"] > 2
    short = client.invoke(client.get("/report").event, LambdaContext(timeout_s=0.3))
    assert short.status == 503 and short.headers["retry-after"] == "1"
