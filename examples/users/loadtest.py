"""Load test of the Users API: virtual users walk the journey a real client makes, at a bounded rate.

Each journey signs up (POST /users), reads the record back (GET /users/{id}), updates it conditionally (PUT with
If-Match: the ETag it just read) and lists (GET /users). It prints p50/p95/p99 latency per step and every error,
and exits 1 when any request failed, so CI can gate on it.

    golive dev examples/users                 # in one terminal
    python examples/users/loadtest.py         # in another: http://127.0.0.1:3000, 5 users, 20 req/s, 10 s
    python examples/users/loadtest.py --url https://API_ID.execute-api.REGION.amazonaws.com/prod \\
        --token "$ADMIN_TOKEN" --users 20 --rate 40 --duration 120

Against golive dev, tokens are minted with golive.toml's development secret: each journey is a new user signing
itself up. Against a deployed stage pass an admin token from the identity provider (--token or
USERS_LOADTEST_TOKEN): journeys then create users as an admin would. Either way the users it made are deleted at
the end (--keep leaves them). Only the URL given is ever called. Keep --rate under the stage's throttling
(golive.toml [api.throttling], 50 req/s per method for this service) unless throttling is what you want to see:
429s count as errors.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SERVICE_DIR = Path(__file__).resolve().parent
STEPS = ("sign_up", "read", "update", "list")
LIMITS = {"users": (1, 100), "rate": (0.1, 500.0), "duration": (1.0, 600.0), "max_requests": (1, 100_000)}
REQUEST_TIMEOUT_S = 10.0


class Target:
    """One keep-alive connection to the API under test (one per virtual user, as a client keeps one)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.secure = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.secure else 80)
        self.base_path = parts.path.rstrip("/")
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, headers: dict[str, str],
                body: Any = None) -> tuple[int, dict[str, str], bytes]:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {**headers, **({"Content-Type": "application/json"} if payload is not None else {})}
        for attempt in (1, 2):  # a keep-alive connection the server closed meanwhile is reopened once
            if self.connection is None:
                kind = http.client.HTTPSConnection if self.secure else http.client.HTTPConnection
                self.connection = kind(self.host, self.port, timeout=REQUEST_TIMEOUT_S)
            try:
                self.connection.request(method, self.base_path + path, body=payload, headers=headers)
                response = self.connection.getresponse()
                return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class Pacer:
    """Spaces requests evenly so that all virtual users together send at most `rate` per second."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def wait(self, stop_at: float) -> bool:
        with self.lock:
            slot = max(self.next, time.monotonic())
            self.next = slot + self.interval
        if slot >= stop_at:
            return False
        time.sleep(max(0.0, slot - time.monotonic()))
        return True


class Results:
    """Latencies and failures per step, shared by the virtual users."""

    def __init__(self) -> None:
        self.latencies_ms: dict[str, list[float]] = {step: [] for step in STEPS}
        self.errors: dict[str, dict[str, int]] = {step: {} for step in STEPS}
        self.created: list[str] = []  # locations, for the clean-up
        self.journeys = 0
        self.lock = threading.Lock()

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies_ms.values())

    def record(self, step: str, elapsed_ms: float, error: str | None) -> None:
        with self.lock:
            self.latencies_ms[step].append(elapsed_ms)
            if error:
                self.errors[step][error] = self.errors[step].get(error, 0) + 1

    def summary(self, seconds: float) -> dict[str, Any]:
        steps = {step: {"requests": len(values), "errors": sum(self.errors[step].values()), **percentiles(values)}
                 for step, values in self.latencies_ms.items()}
        everything = [v for values in self.latencies_ms.values() for v in values]
        failures = {f"{step} {error}": n for step, errors in self.errors.items() for error, n in errors.items()}
        return {"requests": len(everything), "errors": sum(failures.values()), "journeys": self.journeys,
                "seconds": round(seconds, 2), "throughput_rps": round(len(everything) / seconds, 2) if seconds else 0,
                "latency_ms": percentiles(everything), "steps": steps, "failures": failures}


def percentiles(values: list[float]) -> dict[str, float | None]:
    """Nearest-rank p50/p95/p99 and the maximum, in milliseconds."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(-(-p * len(ordered) // 100)) - 1))], 2)

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99), "max": round(ordered[-1], 2)}


class Journeys:
    """The user journey, and where its tokens come from."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.url = args.url
        self.admin_token = args.token or os.environ.get("USERS_LOADTEST_TOKEN") or ""
        self.run_id = os.urandom(3).hex()
        self._config: Any = None
        self.counter = 0
        self.lock = threading.Lock()

    def _dev_token(self, sub: str, roles: tuple[str, ...] = ()) -> str:
        from golive.commands.token import mint_token
        from golive.service.config import load_config

        if self._config is None:
            self._config = load_config(str(SERVICE_DIR))
        return mint_token(self._config, sub, roles=roles, ttl=3600)

    def admin(self) -> str:
        return self.admin_token or self._dev_token(f"loadtest-admin-{self.run_id}", ("admin",))

    def next_user(self) -> tuple[int, dict[str, str]]:
        with self.lock:
            self.counter += 1
            n = self.counter
        # With an admin token the admin creates users; with golive dev each journey is a user signing itself up.
        token = self.admin_token or self._dev_token(f"loadtest-{self.run_id}-{n}")
        return n, {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def walk(self, target: Target, pacer: Pacer, stop_at: float, budget: threading.Semaphore,
             results: Results) -> bool:
        """One journey; False once time or the request budget ran out."""
        n, auth = self.next_user()
        profile = {"name": f"Load Test {n}", "email": f"loadtest-{self.run_id}-{n}@example.com", "age": 30 + n % 50}

        def step(name: str, method: str, path: str, expected: int, headers: dict[str, str] | None = None,
                 body: Any = None) -> tuple[int, dict[str, str], bytes] | None:
            if not budget.acquire(blocking=False) or not pacer.wait(stop_at):
                raise StopIteration
            started = time.perf_counter()
            try:
                status, response_headers, content = target.request(method, path, {**auth, **(headers or {})}, body)
            except (OSError, http.client.HTTPException) as exc:
                results.record(name, (time.perf_counter() - started) * 1000, f"connection error ({type(exc).__name__})")
                target.close()
                return None
            results.record(name, (time.perf_counter() - started) * 1000,
                           None if status == expected else f"HTTP {status}")
            return (status, response_headers, content) if status == expected else None

        try:
            created = step("sign_up", "POST", "/users", 201, body=profile)
            if created is None:
                return True
            location = created[1].get("location", "")
            with results.lock:
                results.created.append(location)
            read = step("read", "GET", location, 200)
            if read is None:
                return True
            updated = step("update", "PUT", location, 200, {"If-Match": read[1].get("etag", "")},
                           {**profile, "name": f"Load Test {n} (updated)"})
            if updated is None:
                return True
            step("list", "GET", "/users?limit=20", 200)
            with results.lock:
                results.journeys += 1
            return True
        except StopIteration:
            return False


def clean_up(journeys: Journeys, results: Results) -> tuple[int, int]:
    """Delete the users the run created (not measured); returns (deleted, failed)."""
    target, auth = Target(journeys.url), {"Authorization": f"Bearer {journeys.admin()}"}
    deleted = failed = 0
    for location in results.created:
        try:
            status, _, _ = target.request("DELETE", location, auth)
        except (OSError, http.client.HTTPException):
            status = 0
        deleted, failed = (deleted + 1, failed) if status in (204, 404) else (deleted, failed + 1)
    target.close()
    return deleted, failed


def run(args: argparse.Namespace) -> dict[str, Any]:
    journeys, results = Journeys(args), Results()
    pacer, budget = Pacer(args.rate), threading.Semaphore(args.max_requests)
    started = time.monotonic()
    stop_at = started + args.duration

    def virtual_user() -> None:
        target = Target(args.url)
        try:
            while time.monotonic() < stop_at and journeys.walk(target, pacer, stop_at, budget, results):
                pass
        finally:
            target.close()

    users = [threading.Thread(target=virtual_user, name=f"vu-{i}", daemon=True) for i in range(args.users)]
    for user in users:
        user.start()
    for user in users:
        user.join(args.duration + REQUEST_TIMEOUT_S * 3)
    summary = results.summary(time.monotonic() - started)
    summary.update(url=args.url, users=args.users, target_rps=args.rate)
    if not args.keep:
        summary["cleaned_up"], summary["clean_up_failed"] = clean_up(journeys, results)
    return summary


def as_text(summary: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    lines = [f"Users load test: {summary['url']}, {summary['users']} users, target {summary['target_rps']:g} req/s, "
             f"{summary['seconds']:g} s", "",
             f"{'step':<10}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"]
    for name, step in [*summary["steps"].items(), ("total", {"requests": summary["requests"],
                                                              "errors": summary["errors"], **summary["latency_ms"]})]:
        lines.append(f"{name:<10}{step['requests']:>9}{step['errors']:>8}{ms(step['p50']):>9}{ms(step['p95']):>9}"
                     f"{ms(step['p99']):>9}{ms(step['max']):>9}")
    lines += ["", f"{summary['journeys']} journeys completed, {summary['throughput_rps']:g} req/s"]
    if "cleaned_up" in summary:
        lines.append(f"clean-up: {summary['cleaned_up']} users deleted"
                     + (f", {summary['clean_up_failed']} could not be" if summary["clean_up_failed"] else ""))
    if summary["failures"]:
        lines.append("errors: " + ", ".join(f"{what} x{n}" for what, n in sorted(summary["failures"].items())))
    else:
        lines.append("errors: none")
    return "\n".join(lines) + "\n"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="the API to load (default: golive dev)")
    parser.add_argument("--users", type=int, default=5, help="concurrent virtual users (default 5)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second, all users together (20)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to run (default 10)")
    parser.add_argument("--max-requests", type=int, default=10_000, help="stop after this many requests")
    parser.add_argument("--token", help="an admin bearer token (deployed stages); default: golive dev tokens")
    parser.add_argument("--keep", action="store_true", help="keep the users the run created")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if urlsplit(args.url).scheme not in ("http", "https") or not urlsplit(args.url).hostname:
        parser.error(f"--url must be an http(s) URL such as http://127.0.0.1:3000, not {args.url!r}")
    for name, (low, high) in LIMITS.items():
        value = getattr(args, name)
        if not low <= value <= high:
            parser.error(f"--{name.replace('_', '-')} must be between {low:g} and {high:g}, not {value:g}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    summary = run(args)
    sys.stdout.write(json.dumps(summary, indent=2) + "\n" if args.json else as_text(summary))
    return 1 if summary["errors"] or not summary["requests"] else 0


if __name__ == "__main__":
    sys.exit(main())
