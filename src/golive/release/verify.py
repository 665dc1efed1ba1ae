"""`golive verify`'s engine: property-based requests generated from the service's OpenAPI document (schemathesis)
against any base URL, checked for 5xx, undocumented statuses, response schemas, security headers, CORS and routes
that answer anonymous callers they should refuse."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from golive.service.config import ConfigError

SECURITY_HEADERS = {"x-content-type-options": "nosniff", "strict-transport-security": None}
ANONYMOUS_REFUSALS = (401, 403)
HOSTILE_ORIGIN = "https://verify.invalid"
REQUEST_TIMEOUT_S = 10.0


@dataclass
class Finding:
    """One failed check, with the request that shows it (as a curl command a person can rerun)."""

    operation: str
    check: str
    message: str
    request: str
    status: int | None = None

    def line(self) -> str:
        status = f" -> {self.status}" if self.status is not None else ""
        return f"FAIL {self.operation} [{self.check}]{status}: {self.message}\n     request: {self.request}"


@dataclass
class Result:
    base_url: str
    operations: int = 0
    requests: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # operations not reached within --max-seconds
    pacts: dict[str, int] = field(default_factory=dict)  # Pact file -> interactions verified

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "ok": self.ok, "operations": self.operations, "requests": self.requests,
                "seconds": round(self.seconds, 2), "skipped": self.skipped, "pacts": self.pacts,
                "findings": [finding.__dict__ for finding in self.findings]}


def load_spec(spec: str | None, service_dir: str | None) -> dict[str, Any]:
    """The OpenAPI document: a file or URL given with --spec, else the one golive derives from SERVICE_DIR."""
    if spec:
        try:
            if spec.startswith(("http://", "https://")):
                with urllib.request.urlopen(spec, timeout=REQUEST_TIMEOUT_S) as answer:
                    text = answer.read().decode("utf-8")
            else:
                text = Path(spec).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read --spec {spec}: {getattr(exc, 'strerror', None) or exc}; pass an OpenAPI "
                              f"JSON file (golive openapi -o openapi.json) or its URL") from None
        try:
            document = json.loads(text)
        except ValueError:
            try:
                import yaml

                document = yaml.safe_load(text)
            except Exception:
                raise ConfigError(f"--spec {spec} is neither JSON nor YAML; pass an OpenAPI document") from None
        if not isinstance(document, dict) or "paths" not in document:
            raise ConfigError(f"--spec {spec} has no paths: not an OpenAPI document")
        return document
    from golive.local.devserver import load_targets
    from golive.openapi import build_openapi
    from golive.service.config import load_config

    config = load_config(service_dir or ".")
    apps = {name: target.app for name, target in load_targets(config).items() if target.app is not None}
    if not apps:
        raise ConfigError("no route table to derive requests from: pass --spec openapi.json")
    return build_openapi(config, apps)


def verify(base_url: str, document: dict[str, Any], token: str | None = None, origin: str | None = None,
           max_examples: int = 10, max_seconds: float = 60.0, seed: int | None = 0) -> Result:
    """Run every operation's generated requests against BASE_URL; stop drawing new ones after MAX_SECONDS."""
    try:
        import schemathesis
        from hypothesis import HealthCheck, Phase, given, settings
        from schemathesis.core.result import Ok
        from schemathesis.specs.openapi import checks as openapi_checks
    except ImportError:
        raise ConfigError("golive verify needs schemathesis: pip install 'golive[verify]'") from None
    import requests

    base_url = base_url.rstrip("/")
    result = Result(base_url)
    started = time.monotonic()
    deadline = started + max_seconds
    document = {**document, "servers": [{"url": base_url}]}
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if origin:
        headers["Origin"] = origin
    checks = [schemathesis.checks.not_a_server_error, openapi_checks.status_code_conformance,
              openapi_checks.content_type_conformance, openapi_checks.response_schema_conformance]
    operations = []
    for item in schema.get_all_operations():
        if isinstance(item, Ok):
            operations.append(item.ok())
        else:  # an operation schemathesis cannot generate requests for: the document is wrong, say where
            error = item.err()
            result.findings.append(Finding(str(getattr(error, "path", "") or "spec"), "invalid_schema",
                                           str(error).splitlines()[0], "-"))
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        if time.monotonic() >= deadline:
            result.skipped.append(label)
            continue
        result.operations += 1
        failed: list[Finding] = []
        secured = bool(_security(document, operation.path, operation.method))

        _explore(operation, label, failed, result, session, headers, checks, origin, deadline, max_examples,
                 seed is not None, settings, given, Phase, HealthCheck)
        if secured and not failed and time.monotonic() < deadline:
            failed.extend(_anonymous(session, base_url, operation, label))
            result.requests += 1
        result.findings.extend(failed)
    if time.monotonic() < deadline:
        result.findings.extend(_cors(session, base_url, document, origin))
        result.requests += 1
    result.seconds = time.monotonic() - started
    return result


def _explore(operation: Any, label: str, failed: list[Finding], result: Result, session: Any,
             headers: dict[str, str], checks: list[Any], origin: str | None, deadline: float, max_examples: int,
             derandomize: bool, settings: Any, given: Any, phase: Any, health_check: Any) -> None:
    """Draw up to MAX_EXAMPLES requests for one operation; the first failed check is its finding."""

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=derandomize,
              phases=[phase.explicit, phase.generate], suppress_health_check=list(health_check))
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        if failed or time.monotonic() >= deadline:
            return  # one finding per operation is enough to fail it; stay within the time budget
        response = case.call(base_url=result.base_url, session=session, headers=headers, timeout=REQUEST_TIMEOUT_S)
        result.requests += 1
        request = case.as_curl_command(headers=headers, base_url=result.base_url)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # schemathesis raises its failures as an exception group
            failed.append(Finding(label, _check_name(exc), _failure_message(exc), request, response.status_code))
            return
        problem = _header_problem(response.headers, origin)
        if problem:
            failed.append(Finding(label, *problem, request=request, status=response.status_code))

    run()


def _security(document: dict[str, Any], path: str, method: str) -> list[Any]:
    operation = (document.get("paths") or {}).get(path, {}).get(method.lower(), {})
    security = operation.get("security", document.get("security"))
    return [s for s in security or [] if s]


def _check_name(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", None) or [exc]
    names = {type(e).__name__ for e in inner}
    return ",".join(sorted(names))


def _failure_message(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", None) or [exc]
    parts = []
    for failure in inner:
        title = getattr(failure, "title", "") or type(failure).__name__
        message = (getattr(failure, "message", "") or str(failure)).strip().splitlines()
        first = message[0] if message else ""
        parts.append(title if first in ("", title) else f"{title}: {first}")
    return "; ".join(parts)


def _header_problem(headers: Any, origin: str | None) -> tuple[str, str] | None:
    lower = {k.lower(): v if isinstance(v, str) else ", ".join(v) for k, v in headers.items()}
    for name, value in SECURITY_HEADERS.items():
        if name not in lower or (value is not None and lower[name].lower() != value):
            return "security_headers", f"response lacks {name}{': ' + value if value else ''}"
    allowed = lower.get("access-control-allow-origin")
    if origin and allowed not in (origin,):
        return "cors", f"Origin {origin} got Access-Control-Allow-Origin {allowed!r}, expected {origin!r}"
    return None


def _anonymous(session: Any, base_url: str, operation: Any, label: str) -> list[Finding]:
    """A protected operation called with no credentials must answer 401 or 403, never serve the request."""
    path = operation.path
    for parameter in operation.path_parameters:
        path = path.replace("{" + parameter.name + "}", "1")
    url = base_url + path
    response = session.request(operation.method.upper(), url, timeout=REQUEST_TIMEOUT_S,
                               json={} if operation.method.lower() in ("post", "put", "patch") else None)
    if response.status_code in ANONYMOUS_REFUSALS:
        return []
    return [Finding(label, "anonymous_refused", f"a protected route answered an anonymous caller with "
                                                f"{response.status_code}, expected 401 or 403",
                    f"curl -X {operation.method.upper()} '{url}'", response.status_code)]


def _cors(session: Any, base_url: str, document: dict[str, Any], origin: str | None) -> list[Finding]:
    """Preflight of the first path: an unknown origin is never allowed; --origin, when given, is."""
    paths = [p for p in (document.get("paths") or {}) if "{" not in p] or list(document.get("paths") or {})
    if not paths:
        return []
    url = base_url + paths[0].replace("{", "").replace("}", "")
    findings = []
    for candidate, must_allow in ((HOSTILE_ORIGIN, False), *(((origin, True),) if origin else ())):
        response = session.options(url, timeout=REQUEST_TIMEOUT_S, headers={
            "Origin": candidate, "Access-Control-Request-Method": "GET"})
        allowed = response.headers.get("Access-Control-Allow-Origin")
        if must_allow and allowed != candidate:
            findings.append(Finding(f"OPTIONS {paths[0]}", "cors", f"preflight from {candidate} got "
                                    f"Access-Control-Allow-Origin {allowed!r}", _curl_preflight(url, candidate),
                                    response.status_code))
        if not must_allow and allowed in ("*", candidate):
            findings.append(Finding(f"OPTIONS {paths[0]}", "cors", f"preflight from an unknown origin {candidate} "
                                    f"was allowed ({allowed!r})", _curl_preflight(url, candidate),
                                    response.status_code))
    return findings


def _curl_preflight(url: str, origin: str) -> str:
    return f"curl -X OPTIONS -H 'Origin: {origin}' -H 'Access-Control-Request-Method: GET' '{url}'"
