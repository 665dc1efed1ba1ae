"""CORS at the gateway ([api.cors]): preflights answered without the function, as API Gateway does."""

from __future__ import annotations

from typing import Any

from golive.security.cors import CORS
from golive.service.config import ConfigError


class GatewayCORS:
    """HTTP APIs answer every preflight (204) and add CORS headers to every response; REST APIs answer the
    preflight of an existing resource (200, the mock integration "Enable CORS" creates) and their own errors."""

    def __init__(self, spec: dict[str, Any], api_type: str) -> None:
        # as api_settings normalised [api.cors] for the template too
        try:
            self.rules = CORS(spec["origins"], allow_headers=spec["headers"], expose_headers=spec["expose"],
                              allow_credentials=spec["credentials"], max_age=spec["max_age"])
        except ValueError as exc:
            raise ConfigError(f"[api] cors: {exc}") from None
        self.methods = list(spec["methods"])
        self.api_type = api_type

    def preflight(self, origin: str | None, methods: list[str]) -> tuple[int, list[tuple[str, str]]]:
        """Status and headers of the answer to OPTIONS with Origin and Access-Control-Request-Method."""
        status = 204 if self.api_type == "http" else 200
        headers: list[tuple[str, str]] = []
        allowed = self.rules.allow_origin(origin)
        if allowed is None:
            return status, headers
        headers.append(("Access-Control-Allow-Origin", allowed))
        headers.append(("Access-Control-Allow-Methods", ",".join(self.methods or methods)))
        if self.rules.allow_headers:
            headers.append(("Access-Control-Allow-Headers", ",".join(self.rules.allow_headers)))
        headers.append(("Access-Control-Max-Age", str(self.rules.max_age)))
        if self.rules.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return status, headers

    def decorate(self, headers: list[tuple[str, str]], origin: str | None) -> None:
        """CORS headers on an actual response (they replace the function's own on an HTTP API)."""
        allowed = self.rules.allow_origin(origin)
        if allowed is None:
            return
        if self.api_type == "http":
            headers[:] = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
        elif any(k.lower() == "access-control-allow-origin" for k, _ in headers):
            return
        headers.append(("Access-Control-Allow-Origin", allowed))
        if self.rules.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        if self.rules.expose_headers:
            headers.append(("Access-Control-Expose-Headers", ",".join(self.rules.expose_headers)))
