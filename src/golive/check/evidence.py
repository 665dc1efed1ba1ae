"""What only a service directory can show: tests, load tests, a published spec, circuit breakers, custom metrics."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from golive.deploy.service import SKIP_DIRS, find_custom_metrics, service_sources

MAX_BYTES = 200_000  # a source file bigger than this is data, not code worth scanning
MAX_REPOSITORY_TESTS = 5_000  # test files looked at outside the service directory (a monorepo stays cheap)
CI_FILES = (".github/workflows", ".gitlab-ci.yml", ".ci", "Makefile", "makefile", "justfile", "Justfile",
            "buildspec.yml", "bitbucket-pipelines.yml", "Jenkinsfile")

_HTTP_CLIENT = re.compile(r"\b(httpx|requests\.(get|post|put|patch|delete|request|Session)|aiohttp|urlopen|"
                          r"http\.client|HTTPS?Connection|urllib\.request)\b")
_LIVE_TARGET = re.compile(r"https?://|BASE_URL|API_URL|base_url|golive\W+dev|\bdev_server\b|\bserve\(")
# A contract *verified*, not a contract tool imported or a pact written down: a verifier run (Pact's Verifier,
# schemathesis calling the API and validating the answer, golive verify, dredd). Validating the document itself
# (openapi_spec_validator) is no contract test either: nothing checks the API against it.
_CONTRACT_RUN = re.compile(r"\bVerifier\s*\(|\.verify_with_broker\s*\(|\bcall_and_validate\s*\(|"
                           r"\.validate_response\s*\(|golive\W+verify\b|\bschemathesis\s+run\b|\bst\s+run\b|"
                           r"\bpact[-_]verifier\b|\bpact[-_]provider[-_]verifier\b|\bdredd\s+\S")
# A live answer handed to a schema validator: the call, not the import.
_SCHEMA_CHECK_CALL = re.compile(r"Draft\d+Validator\([^)]*\)\.(validate|iter_errors|is_valid)\(|"
                                r"\b\w*validator\w*\.(validate|iter_errors|is_valid)\(|\bjsonschema\.validate\(|"
                                r"\bvalidate\(\s*(instance=)?\w*(response|answer|body|json)", re.IGNORECASE)
# A pipeline: what deploys, what gates it, and what checks the deployed stage.
_DEPLOY = re.compile(r"\bsam\s+deploy\b|\bcdk\s+deploy\b|\b(serverless|sls)\s+deploy\b|"
                     r"\baws\s+cloudformation\s+(deploy|create-stack|update-stack)\b")
_AUDIT_GATE = re.compile(r"golive\s+check\b")
_TEST_GATE = re.compile(r"\bmake\s+test\b|\bpytest\b|\b(npm|yarn|pnpm)\s+test\b|\btox\b")
_DEPLOYED_CHECK = re.compile(r"golive\s+verify\b|\bschemathesis\s+run\b|\bst\s+run\b|\bpact[-_]verifier\b|"
                             r"\bnewman\s+run\b")
_STORED_KEYS = re.compile(r"aws-access-key-id\s*:|AWS_SECRET_ACCESS_KEY\s*:\s*\$\{\{", re.IGNORECASE)
# A test that holds live responses to the OpenAPI document with a JSON Schema validator.
_OPENAPI_DOCUMENT = re.compile(r"openapi", re.IGNORECASE)
_SCHEMA_VALIDATOR = re.compile(r"\b(jsonschema|fastjsonschema|Draft\d+Validator|openapi_core)\b")
_LOAD = re.compile(r"\b(from locust|import locust|k6/http|artillery|gatling|vegeta|molotov|bombardier|\bwrk\b|"
                   r"\boha\b|\bhey -|\bab -n)")
# A load script of the project's own: named for what it is, and it sends HTTP requests.
_LOAD_SCRIPT = re.compile(r"^(?!test_|conftest)(\w*[-_])?(load|stress|soak|spike|perf)[-_]?tests?([-_.]\w+)*"
                          r"\.(py|js|ts|sh)$", re.IGNORECASE)
_SCRIPT_HTTP = re.compile(_HTTP_CLIENT.pattern + r"|\bfetch\(|\bcurl\b")
_PUBLISH = re.compile(r"golive\s+openapi|get-export|getExport|export_api|openapi\.(json|ya?ml)")
_BREAKER = re.compile(r"\b(CircuitBreaker\s*\(|pybreaker|circuitbreaker|aiobreaker|@circuit\b)")
_SPEC_FILES = re.compile(r"^(openapi|swagger)([-_.][\w.-]+)?\.(json|ya?ml)$", re.IGNORECASE)


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _walk(root: Path, include_tests: bool = True) -> Iterable[Path]:
    skip = SKIP_DIRS - ({"tests", "test"} if include_tests else set())
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.startswith("."))
        for name in sorted(files):
            yield Path(folder) / name


def _first_match(path: Path, pattern: re.Pattern[str], root: Path) -> str | None:
    for number, line in enumerate(_read(path).splitlines(), start=1):
        if pattern.search(line):
            return f"{_rel(path, root)}:{number}: {line.strip()[:100]}"
    return None


def _first_step(path: Path, patterns: tuple[re.Pattern[str], ...], root: Path) -> str | None:
    """Like _first_match over CI steps: comments skipped, and the first pattern that matches anywhere wins."""
    lines = [(n, line) for n, line in enumerate(_read(path).splitlines(), start=1)
             if not line.lstrip().startswith("#") and "pip install" not in line]
    for pattern in patterns:
        for number, line in lines:
            if pattern.search(line):
                return f"{_rel(path, root)}:{number}: {line.strip()[:100]}"
    return None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, root)).as_posix()


def _is_test(relative: Path) -> bool:
    in_tests = any(part in ("tests", "test") for part in relative.parts[:-1])
    return in_tests or relative.name.startswith("test_") or relative.name.endswith("_test.py")


def _operations(document: object) -> set[str] | None:
    """'METHOD /path' for each operation of an OpenAPI/Swagger document, path parameters named {} alike."""
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        return None
    verbs = ("get", "put", "post", "delete", "patch", "head")
    return {f"{verb.upper()} {re.sub(r'{[^}]*}', '{}', path)}" for path, item in document["paths"].items()
            if isinstance(item, dict) for verb in item if verb in verbs}


def _stale_operations(path: Path, routes: list[str], optional: set[str]) -> str:
    """What the spec file gets wrong about the route table, or '' when it matches (or cannot be read as a spec).
    Routes in `optional` (health checks) may be left out of a hand-written spec."""
    if not routes:
        return ""
    text = _read(path)
    try:
        if path.suffix == ".json":
            document = json.loads(text)
        else:
            import yaml  # the CLI extra; a spec golive cannot parse is taken at its word

            document = yaml.safe_load(text)
    except Exception:
        return ""
    described = _operations(document)
    if described is None:
        return ""
    declared = {re.sub(r"{[^}]*}", "{}", key) for key in routes}
    missing = sorted(declared - described - {re.sub(r"{[^}]*}", "{}", key) for key in optional})
    gone = sorted(described - declared)
    parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"no longer served: {', '.join(gone)}"]
                                                                     if gone else [])
    return "; ".join(parts)


class ServiceEvidence:
    """Facts found in SERVICE_DIR, each as 'file:line: text' a reader can open (paths relative to SERVICE_DIR)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.repository = next((p for p in (self.root, *self.root.parents) if (p / ".git").exists()), None)

    def test_files(self) -> list[Path]:
        found = []
        for path in _walk(self.root):
            rel = _rel(path, self.root)
            if path.suffix == ".py" and _is_test(Path(rel)):
                found.append(path)
        return found

    def repository_tests(self) -> list[Path]:
        """Test files elsewhere in the repository that name this service's directory: projects often keep their
        end-to-end tests in one place (tests/e2e/...) rather than beside each service."""
        if self.repository is None or self.repository == self.root:
            return []
        parts = self.root.relative_to(self.repository).parts
        names_service = re.compile(r"\b" + r"""['"]?\s*[/,]\s*['"]?""".join(map(re.escape, parts)) + r"\b")
        found: list[Path] = []
        scanned = 0
        for path in _walk(self.repository):
            if self.root in path.parents or path.suffix != ".py" or not _is_test(path.relative_to(self.repository)):
                continue
            scanned += 1
            if scanned > MAX_REPOSITORY_TESTS:
                break
            if names_service.search(_read(path)):
                found.append(path)
        return found

    def end_to_end_tests(self) -> list[str]:
        found = []
        for path in self.test_files():
            content = _read(path)
            if _HTTP_CLIENT.search(content) and _LIVE_TARGET.search(content):
                hit = _first_match(path, _HTTP_CLIENT, self.root)
                if hit:
                    found.append(hit)
        for path in self.repository_tests():
            content = _read(path)
            if _HTTP_CLIENT.search(content) and _LIVE_TARGET.search(content):
                hit = _first_match(path, _HTTP_CLIENT, self.root)
                if hit:
                    found.append(f"{hit} (repository test of this service)")
        return found

    def contract_tests(self) -> list[str]:
        """Where the API is verified against a contract: a verifier run in a test or in CI, or a test holding live
        responses to the OpenAPI document with a schema validator call."""
        found = []
        for path in [*self.test_files(), *self.repository_tests()]:
            content = _read(path)
            hit = _first_match(path, _CONTRACT_RUN, self.root)
            if (hit is None and _OPENAPI_DOCUMENT.search(content) and _SCHEMA_VALIDATOR.search(content)
                    and _HTTP_CLIENT.search(content) and _LIVE_TARGET.search(content)):
                hit = _first_match(path, _SCHEMA_CHECK_CALL, self.root)
                hit = f"{hit} (live responses checked against the OpenAPI document)" if hit else None
            if hit:
                found.append(hit)
        for path in self._ci_files():
            hit = _first_match(path, _CONTRACT_RUN, self.root)
            if hit:
                found.append(f"{hit} (contract verification in CI)")
        return found

    def pipeline(self) -> tuple[list[str], list[str]]:
        """(evidence, problems) of a CI pipeline that gates each deploy and checks the deployed stage."""
        evidence: list[str] = []
        problems: list[str] = []
        for path in self._ci_files():
            deploy = _first_step(path, (_DEPLOY,), self.root)
            if deploy is None:
                continue
            gate = _first_step(path, (_AUDIT_GATE, _TEST_GATE), self.root)
            checked = _first_step(path, (_DEPLOYED_CHECK,), self.root)
            keys = _first_match(path, _STORED_KEYS, self.root)
            where = _rel(path, self.root)
            if keys:
                problems.append(f"{keys}: long-lived AWS keys; assume a role through OIDC "
                                f"(configure-aws-credentials role-to-assume)")
            if gate is None:
                problems.append(f"{where} deploys ({deploy}) with no test or golive check before it")
            if checked is None:
                problems.append(f"{where} deploys with nothing checking the deployed stage (golive verify)")
            if gate and checked and not keys:
                evidence.extend([f"{gate} (gate)", f"{deploy} (deploy)", f"{checked} (deployed stage checked)"])
        return evidence, problems

    def load_tests(self) -> list[str]:
        found = []
        for path in _walk(self.root):
            name = path.name.lower()
            if name.startswith("locustfile") or name.endswith(".jmx") or (name.endswith(".js") and "k6" in name):
                found.append(_rel(path, self.root))
                continue
            hit = None
            if path.suffix in (".py", ".js", ".ts", ".yml", ".yaml", ".sh", ".scala") or name in ("makefile",):
                hit = _first_match(path, _LOAD, self.root)
            if hit is None and _LOAD_SCRIPT.match(path.name):
                hit = _first_match(path, _SCRIPT_HTTP, self.root)
                hit = f"{hit} (load test script sending HTTP requests)" if hit else None
            if hit:
                found.append(hit)
        return found

    def published_spec(self, routes: Mapping[str, Mapping[str, Any]] | Iterable[str] = ()
                       ) -> tuple[list[str], list[str]]:
        """(evidence, problems): spec files, CI steps publishing one, routes serving one; a spec file that does not
        describe the route table (an operation missing or gone) is a problem, not evidence. `routes` are route keys,
        or golive's route facts by key (their health routes may be left out of a spec)."""
        facts = routes if isinstance(routes, Mapping) else {}
        optional = {key for key, fact in facts.items() if fact.get("health")}
        routes = [key for key in routes if not key.startswith("OPTIONS ")]
        found: list[str] = []
        problems: list[str] = []
        for path in _walk(self.root, include_tests=False):
            if not _SPEC_FILES.match(path.name):
                continue
            stale = _stale_operations(path, routes, optional)
            if stale:
                here = Path(os.path.relpath(self.root)).as_posix()  # as the user would type it from where they are
                target = Path(os.path.relpath(path)).as_posix()
                problems.append(f"{_rel(path, self.root)} is out of date with the route table ({stale}); regenerate "
                                f"it with `golive openapi {here} -o {target}`")
            else:
                found.append(_rel(path, self.root) + (" (describes every route)" if routes else ""))
        for path in self._ci_files():
            hit = _first_match(path, _PUBLISH, self.root)
            if hit:
                found.append(hit)
        found.extend(f"route {key} serves the spec" for key in routes
                     if key.startswith("GET ") and re.search(r"openapi|swagger|api-docs", key))
        return found, problems

    def _ci_files(self) -> list[Path]:
        roots = [self.root]
        if self.repository is not None and self.repository != self.root:
            roots.append(self.repository)
        files: list[Path] = []
        for root in roots:
            for name in CI_FILES:
                target = root / name
                if target.is_dir():
                    files.extend(p for p in sorted(target.rglob("*")) if p.is_file())
                elif target.is_file():
                    files.append(target)
            files.extend(p for p in sorted(root.glob("*.sh")) if p.is_file())
        return files

    def circuit_breakers(self) -> list[str]:
        found = []
        for path in service_sources(self.root):
            hit = _first_match(path, _BREAKER, self.root)
            if hit:
                found.append(hit)
        return found

    def custom_metrics(self) -> list[str]:
        return sorted(set(find_custom_metrics(self.root)))
