"""CORS with an origin allowlist (exact and *.example.com patterns), preflight handling and Vary: Origin."""

from __future__ import annotations

import re

from golive.http import Response

DEFAULT_ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match",
                         "X-Api-Key", "X-Request-ID", "traceparent"]
DEFAULT_EXPOSE_HEADERS = ["ETag", "Location", "X-Request-ID"]


class CORS:
    """Which browser origins may call the API, and with what."""

    def __init__(self, allow_origins: list[str], allow_headers: list[str] | None = None,
                 expose_headers: list[str] | None = None, allow_credentials: bool = False,
                 max_age: int = 600) -> None:
        if "*" in allow_origins and allow_credentials:
            raise ValueError("CORS: allow_origins='*' cannot be combined with allow_credentials=True; "
                             "list the origins that may send credentials")
        self.allow_origins = list(allow_origins)
        self.allow_headers = list(DEFAULT_ALLOW_HEADERS if allow_headers is None else allow_headers)
        self.expose_headers = list(DEFAULT_EXPOSE_HEADERS if expose_headers is None else expose_headers)
        self.allow_credentials = allow_credentials
        self.max_age = max_age
        self._exact = {o.rstrip("/").lower() for o in self.allow_origins if "*" not in o}
        self._any = "*" in self.allow_origins
        self._patterns = [_pattern(o) for o in self.allow_origins if "*" in o and o != "*"]

    def allowed(self, origin: str | None) -> bool:
        if not origin:
            return False
        origin = origin.rstrip("/").lower()
        return self._any or origin in self._exact or any(p.match(origin) for p in self._patterns)

    def allow_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for this origin, or None when it is refused: "*" for an open API
        without credentials, else the origin itself (never "*" with credentials)."""
        if not self.allowed(origin):
            return None
        return "*" if self._any and not self.allow_credentials else origin

    def decorate(self, response: Response, origin: str | None) -> None:
        """Add CORS headers to an actual (non-preflight) response."""
        add_vary(response)
        allowed = self.allow_origin(origin)
        if allowed is None:
            return
        response.headers["Access-Control-Allow-Origin"] = allowed
        if self.allow_credentials:
            response.headers["Access-Control-Allow-Credentials"] = "true"
        if self.expose_headers:
            response.headers["Access-Control-Expose-Headers"] = ", ".join(self.expose_headers)

    def preflight(self, origin: str | None, request_method: str, request_headers: str | None,
                  methods: list[str]) -> Response:
        """The answer to an OPTIONS preflight: 204 with the grants, or 403 when origin or method is refused."""
        response = Response(None, 204)
        add_vary(response)
        allowed = self.allow_origin(origin)
        if allowed is None or request_method.upper() not in methods:
            response.status = 403
            return response
        allowed_headers = {h.lower() for h in self.allow_headers}
        asked = [h.strip() for h in (request_headers or "").split(",") if h.strip()]
        if any(h.lower() not in allowed_headers for h in asked):
            response.status = 403
            return response
        response.headers["Access-Control-Allow-Origin"] = allowed
        response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        response.headers["Access-Control-Allow-Headers"] = ", ".join(self.allow_headers)
        response.headers["Access-Control-Max-Age"] = str(self.max_age)
        if self.allow_credentials:
            response.headers["Access-Control-Allow-Credentials"] = "true"
        return response


def _pattern(origin: str) -> re.Pattern[str]:
    # "https://*.example.com" allows any subdomain (one or more labels) of example.com, not example.com itself.
    scheme, _, host = origin.lower().rstrip("/").rpartition("://")
    host_re = re.escape(host).replace(r"\*", r"[a-z0-9-]+(?:\.[a-z0-9-]+)*")
    prefix = re.escape(scheme + "://") if scheme else r"https?://"
    return re.compile(f"^{prefix}{host_re}(?::\\d+)?$")


def add_vary(response: Response) -> None:
    """Make caches key the response on Origin (every response: allowed, refused, or without Origin)."""
    vary = response.get_header("Vary")
    if vary is None:
        response.headers["Vary"] = "Origin"
    elif "origin" not in vary.lower():
        for name in list(response.headers):
            if name.lower() == "vary":
                response.headers[name] = f"{vary}, Origin"
