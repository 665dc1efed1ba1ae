"""Security headers added to every response, errors included."""

from __future__ import annotations

from golive.http import Response

DEFAULT_HEADERS: dict[str, str] = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # A JSON API never needs to load anything: deny all, forbid framing.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
}
DEFAULT_CACHE_CONTROL = "no-store"


def apply(response: Response, cache_control: str | None = None, extra: dict[str, str] | None = None) -> None:
    """Set every security header the handler did not set itself."""
    present = {name.lower() for name in response.headers}
    for name, value in DEFAULT_HEADERS.items():
        if name.lower() not in present:
            response.headers[name] = value
    if "cache-control" not in present:
        response.headers["Cache-Control"] = cache_control or DEFAULT_CACHE_CONTROL
    if extra:
        for name, value in extra.items():
            if name.lower() not in present:
                response.headers[name] = value
