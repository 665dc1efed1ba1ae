"""API keys and the usage plan (REST APIs), as `golive template` deploys them: with [api] usage_plan set, every
non-public route requires x-api-key; the plan's throttle and quota apply to each key separately."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from golive.local.apigw.throttling import TokenBucket

_PERIODS = ("DAY", "WEEK", "MONTH")


def dev_key(service: str) -> str:
    """The API key golive dev accepts when [api] api_keys lists none (AWS creates real keys outside the template)."""
    return f"golive-dev-{service}-" + hashlib.sha256(service.encode()).hexdigest()[:16]


class UsagePlan:
    """[api] usage_plan = { quota = 10000, period = "MONTH", rate = 50, burst = 100 } with [api] api_keys (or the dev
    key golive dev prints)."""

    def __init__(self, settings: dict[str, Any], service: str) -> None:
        plan = settings["usage_plan"]  # checked once by service/settings.api_settings
        self.quota: int | None = plan["quota"]
        self.period = plan["period"]
        self.limits = (plan["rate"], plan["burst"]) if plan["rate"] is not None else None
        keys = settings["api_keys"]
        self.keys = list(keys) if keys is not None else [dev_key(service)]
        self._buckets: dict[str, TokenBucket] = {}
        self._usage: dict[str, tuple[str, int]] = {}

    def check(self, presented: str | None) -> str | None:
        """None when the request may go on; else the gateway response type: INVALID_API_KEY, THROTTLED or
        QUOTA_EXCEEDED."""
        if not presented or not self._known(presented):
            return "INVALID_API_KEY"
        if self.limits is not None:
            bucket = self._buckets.get(presented)
            if bucket is None:
                bucket = self._buckets[presented] = TokenBucket(*self.limits)
            if not bucket.take():
                return "THROTTLED"
        if self.quota is not None:
            window = _window(self.period)
            used_window, used = self._usage.get(presented, (window, 0))
            if used_window != window:
                used = 0
            if used >= self.quota:
                return "QUOTA_EXCEEDED"
            self._usage[presented] = (window, used + 1)
        return None

    def _known(self, presented: str) -> bool:
        found = False
        for key in self.keys:
            # Constant time over every key: no timing oracle on partial matches.
            found |= hmac.compare_digest(key.encode(), presented.encode())
        return found


def _window(period: str) -> str:
    now = time.gmtime()
    if period == "DAY":
        return time.strftime("%Y-%m-%d", now)
    if period == "WEEK":
        return time.strftime("%G-W%V", now)
    return time.strftime("%Y-%m", now)
