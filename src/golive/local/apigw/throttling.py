"""Token-bucket throttling as API Gateway applies it: account, stage default and per-route (method) limits."""

from __future__ import annotations

import time
from typing import Any

from golive.service.config import ConfigError

# API Gateway's default account-level limits per Region (steady rate, burst).
ACCOUNT_RATE = 10000.0
ACCOUNT_BURST = 5000


class TokenBucket:
    """`burst` tokens, refilled at `rate` per second; each request takes one or is throttled."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = float(rate), int(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens = self.tokens + (now - self.stamp) * self.rate
        self.stamp = now
        if tokens > self.burst:
            tokens = self.burst
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False


def parse_limits(value: Any, where: str, default: tuple[float, int] | None = None) -> tuple[float, int] | None:
    """{rate = N, burst = M} as (rate, burst), a missing half taken from `default`; None when absent."""
    if value is None:
        return default
    if not isinstance(value, dict) or ("rate" not in value and default is None):
        raise ConfigError(f"{where} must be a table like {{ rate = 100, burst = 200 }} (requests per second)")
    rate = value.get("rate", default[0] if default else None)
    burst = value.get("burst", default[1] if default else max(1, int(rate or 1)))
    if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0 \
            or isinstance(burst, bool) or not isinstance(burst, int | float) or burst < 0:
        raise ConfigError(f"{where}: rate must be a number >= 0 and burst a whole number >= 0")
    return float(rate), int(burst)


class Throttler:
    """API Gateway's order: the route's own bucket ([api.route_throttling], else the route's throttle=, else the
    stage default [api] throttling applied to each method separately), then the account bucket every request
    shares. `settings` is service/settings.api_settings."""

    def __init__(self, settings: dict[str, Any]) -> None:
        account = settings["account_throttling"]
        self.account = TokenBucket(account["rate"], account["burst"]) if account else TokenBucket(ACCOUNT_RATE,
                                                                                                  ACCOUNT_BURST)
        self.stage = (float(settings["rate"]), int(settings["burst"]))
        self.overrides = {key: (limits["rate"], int(limits["burst"]))
                          for key, limits in settings["route_throttling"].items()}
        self._buckets: dict[str, TokenBucket] = {}

    def prepare(self, routes: list[tuple[str, dict | None]]) -> None:
        """Check every route's limits now, so a bad throttle is a start-up error rather than a failed request."""
        for key, throttle in routes:
            self._buckets.pop(key, None)
            self.allow(key, throttle, take=False)

    def allow(self, route_key: str, route_throttle: dict | None, take: bool = True) -> bool:
        """Take a token for one request on this route; False means 429 Too Many Requests."""
        bucket = self._buckets.get(route_key)
        if bucket is None:
            limits = self.overrides.get(route_key) or parse_limits(route_throttle, f"route {route_key} throttle",
                                                                   self.stage) or self.stage
            bucket = self._buckets[route_key] = TokenBucket(*limits)
        if not take:
            return True
        now = time.monotonic()
        if not bucket.take(now):
            return False
        return self.account.take(now)
