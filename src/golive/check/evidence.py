"""What only a service directory can show: tests, load tests, a published spec, circuit breakers, custom metrics."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from golive.deploy.service import SKIP_DIRS, find_custom_metrics, service_sources

MAX_BYTES = 200_000  # a source file bigger than this is data, not code worth scanning
CI_FILES = (".github/workflows", ".gitlab-ci.yml", ".ci", "Makefile", "makefile", "justfile", "Justfile",
            "buildspec.yml", "bitbucket-pipelines.yml", "Jenkinsfile")

_HTTP_CLIENT = re.compile(r"\b(httpx|requests\.(get|post|put|patch|delete|request|Session)|aiohttp|urlopen|"
                          r"http\.client|HTTPConnection)\b")
_LIVE_TARGET = re.compile(r"https?://|BASE_URL|API_URL|base_url|golive\W+dev|\bdev_server\b|\bserve\(")
# Contract tooling, not the word: "store contract tests" are not consumer-driven API contracts.
_CONTRACT = re.compile(r"\b(pact|pact_python|schemathesis|dredd|openapi_core|openapi_spec_validator|"
                       r"consumer[-_ ]driven)\b", re.IGNORECASE)
_LOAD = re.compile(r"\b(from locust|import locust|k6/http|artillery|gatling|vegeta|\bwrk\b|\boha\b|\bhey -)")
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


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


class ServiceEvidence:
    """Facts found in SERVICE_DIR, each as 'file:line: text' a reader can open."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def test_files(self) -> list[Path]:
        found = []
        for path in _walk(self.root):
            rel = _rel(path, self.root)
            in_tests = any(part in ("tests", "test") for part in Path(rel).parts[:-1])
            if path.suffix == ".py" and (in_tests or path.name.startswith("test_") or path.name.endswith("_test.py")):
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
        return found

    def contract_tests(self) -> list[str]:
        found = []
        for path in self.test_files():
            if "contract" in path.name.lower() or "pact" in path.name.lower():
                found.append(_rel(path, self.root))
                continue
            hit = _first_match(path, _CONTRACT, self.root)
            if hit:
                found.append(hit)
        return found

    def load_tests(self) -> list[str]:
        found = []
        for path in _walk(self.root):
            name = path.name.lower()
            if name.startswith("locustfile") or name.endswith(".jmx") or (name.endswith(".js") and "k6" in name):
                found.append(_rel(path, self.root))
            elif path.suffix in (".py", ".js", ".ts", ".yml", ".yaml", ".sh", ".scala") or name in ("makefile",):
                hit = _first_match(path, _LOAD, self.root)
                if hit:
                    found.append(hit)
        return found

    def published_spec(self, routes: Iterable[str] = ()) -> list[str]:
        found = [_rel(p, self.root) for p in _walk(self.root, include_tests=False) if _SPEC_FILES.match(p.name)]
        for path in self._ci_files():
            hit = _first_match(path, _PUBLISH, self.root)
            if hit:
                found.append(hit)
        found.extend(f"route {key} serves the spec" for key in routes
                     if key.startswith("GET ") and re.search(r"openapi|swagger|api-docs", key))
        return found

    def _ci_files(self) -> list[Path]:
        roots = [self.root]
        repository = next((p for p in (self.root, *self.root.parents) if (p / ".git").exists()), None)
        if repository is not None and repository != self.root:
            roots.append(repository)
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
