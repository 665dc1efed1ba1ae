"""API keys and the usage plan (REST APIs), as `golive template` deploys them: with [api] usage_plan set, every
non-public route requires x-api-key; the plan's throttle and quota apply to each key separately."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from golive.local.apigw.throttling import TokenBucket, parse_limits
from golive.service.config import ConfigError

_PERIODS = ("DAY", "WEEK", "MONTH")


def dev_key(service: str) -> str:
    """The API key golive dev accepts when [api] api_keys lists none (AWS creates real keys outside the template)."""
    return f"golive-dev-{service}-" + hashlib.sha256(service.encode()).hexdigest()[:16]


class UsagePlan:
    """[api] usage_plan = { quota = 10000, period = "MONTH", rate = 50, burst = 100 } with [api] api_keys."""

    def __init__(self, api: dict[str, Any], service: str) -> None:
        plan = api.get("usage_plan")
        if not isinstance(plan, dict):
            raise ConfigError("[api] usage_plan must be a table, e.g. usage_plan = { quota = 10000, "
                              "period = \"MONTH\" }")
        quota = plan.get("quota")
        if quota is not None and (not isinstance(quota, int) or isinstance(quota, bool) or quota < 1):
            raise ConfigError("[api] usage_plan quota must be a whole number of requests >= 1")
        self.quota: int | None = quota
        self.period = str(plan.get("period", "MONTH")).upper()
        if self.period not in _PERIODS:
            raise ConfigError("[api] usage_plan period must be DAY, WEEK or MONTH")
        self.limits = parse_limits({"rate": plan["rate"], "burst": plan.get("burst", int(plan["rate"]))},
                                   "[api] usage_plan") if "rate" in plan else None
        keys = api.get("api_keys")
        if keys is None:
            keys = [dev_key(service)]
        if not isinstance(keys, list) or not all(isinstance(k, str) and len(k) >= 20 for k in keys):
            # API Gateway refuses keys shorter than 20 characters.
            raise ConfigError("[api] api_keys must be a list of strings of at least 20 characters each")
        self.keys = list(keys)
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
