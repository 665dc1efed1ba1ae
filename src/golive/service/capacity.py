"""Whether a gateway throttle admits more requests at once than a function's reserved concurrency can run."""

from __future__ import annotations

import math


def overload(rate: float, burst: int, reserve: int, timeout: float) -> str | None:
    """What goes wrong and which values fit, in one sentence; None when the throttle fits the reserve.

    A burst of N requests arriving together needs N execution environments at once. Beyond the reserve Lambda
    throttles, and API Gateway answers those requests 500 Internal Server Error, not 429 Too Many Requests
    with a chance to retry. The steady rate matters once calls slow down: at the timeout, the reserve serves
    reserve / timeout requests per second."""
    if burst <= reserve:
        return None
    steady = max(1, math.floor(reserve / timeout)) if timeout > 0 else reserve
    advice = f"set burst = {reserve}, or raise the function's concurrency to {burst}"
    if rate > steady:
        advice += (f"; a rate of {rate:g} then holds while calls take under {reserve / rate:.2g} s ({reserve} "
                   f"environments serve {steady} requests per second at the {timeout:g} s timeout)")
    return (f"burst {burst} admits {burst} requests at once, but the function's reserved concurrency is {reserve}: "
            f"Lambda throttles the rest and API Gateway answers them 500, not 429; {advice}")
