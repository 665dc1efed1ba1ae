"""golive.toml: the service description every command reads, validated with errors a person can act on."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILE = "golive.toml"
# Accepted spellings of documented keys (alias -> documented name, docs/deploy.md). load_config renames them once,
# so the template and the local gateway read one name and cannot disagree about which spelling wins.
_API_ALIASES = {"throttle": "throttling"}
_CORS_ALIASES = {"origins": "allow_origins", "headers": "allow_headers", "expose": "expose_headers",
                 "credentials": "allow_credentials"}
_AUTH_ALIASES = {"ttl": "cache_ttl"}
_KEY_ALIASES = {"hash_key": "partition_key", "hash_key_type": "partition_key_type", "range_key": "sort_key",
                "range_key_type": "sort_key_type"}  # a table's keys and each of its indexes'
DEFAULT_DEV_SECRET = "golive-dev-secret-change-me-not-for-production"


class ConfigError(Exception):
    """A problem with the service directory or golive.toml; the message says what and how to fix it."""


@dataclass
class FunctionConfig:
    name: str
    handler: str = "handler.handler"
    memory: int = 512
    timeout: float = 3.0
    concurrency: int = 10
    reserved_concurrency: int | None = None
    environment: dict[str, str] = field(default_factory=dict)
    runtime: str = "python3.12"
    architecture: str = "arm64"
    routes: list[str] = field(default_factory=list)  # route keys this function serves; empty: all of its app's
    provisioned_concurrency: int | None = None  # kept warm on the live alias (deployed only)

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass
class ServiceConfig:
    """Everything golive.toml says, with defaults filled in."""

    root: Path
    service: str
    version: str = "0.1.0"
    api: dict[str, Any] = field(default_factory=dict)
    auth: dict[str, Any] = field(default_factory=dict)
    functions: dict[str, FunctionConfig] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    alarms: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def api_type(self) -> str:
        return self.api.get("type", "rest")

    @property
    def stage(self) -> str:
        return self.api.get("stage", "prod" if self.api_type == "rest" else "$default")

    @property
    def state_dir(self) -> Path:
        """Where local state (embedded databases, telemetry) lives: SERVICE_DIR/.golive."""
        return self.root / ".golive"

    @property
    def dev_secret(self) -> str:
        return self.auth.get("dev_secret") or DEFAULT_DEV_SECRET

    @property
    def cors_origins(self) -> list[str]:
        """[api.cors] allow_origins, as the functions receive them."""
        cors = self.api.get("cors") or {}
        origins = cors.get("allow_origins") if isinstance(cors, dict) else None
        return [str(origin) for origin in origins] if isinstance(origins, list) else []

    def service_environment(self) -> dict[str, str]:
        """Variables every function gets, locally and in the deployed template alike."""
        env = {"GOLIVE_SERVICE": self.service, "GOLIVE_VERSION": self.version, "GOLIVE_STAGE": self.stage}
        if self.cors_origins:
            # A proxy integration's answers get no CORS headers from API Gateway: the function adds them.
            env["GOLIVE_CORS_ALLOW_ORIGINS"] = ",".join(self.cors_origins)
        return env

    def local_environment(self, function: FunctionConfig) -> dict[str, str]:
        """Environment variables a function gets when run locally (golive dev, invoke, local cloud)."""
        env = {**self.service_environment(), "GOLIVE_STATE_DIR": str(self.state_dir)}
        if self.auth.get("type", "jwt") == "jwt" and self.auth:
            env["GOLIVE_JWT_SECRET"] = self.dev_secret
            if self.auth.get("issuer"):
                env["GOLIVE_JWT_ISSUER"] = self.auth["issuer"]
            if self.auth.get("audience"):
                env["GOLIVE_JWT_AUDIENCE"] = self.auth["audience"]
            if self.auth.get("require_sub") is False:
                env["GOLIVE_JWT_REQUIRE_SUB"] = "0"
        env.update({k: str(v) for k, v in function.environment.items()})
        return env


_TOP_KEYS = {"service", "version", "api", "auth", "functions", "tables", "alarms", "tags", "package", "check",
             "waf", "dashboard", "stages", "deployment"}
_FUNCTION_KEYS = {"handler", "memory", "timeout", "concurrency", "reserved_concurrency", "environment", "runtime",
                  "architecture", "routes", "provisioned_concurrency"}


def load_config(service_dir: str | os.PathLike[str], stage: str | None = None) -> ServiceConfig:
    """Read and check SERVICE_DIR/golive.toml, with the overrides of [stages.STAGE] (else the default stage's)."""
    root = Path(service_dir).resolve()
    if not root.exists():
        raise ConfigError(f"service directory {service_dir} does not exist; pass the folder holding golive.toml")
    if not root.is_dir():
        raise ConfigError(f"{service_dir} is a file; pass the folder holding golive.toml")
    path = root / CONFIG_FILE
    if not path.exists():
        raise ConfigError(f"no {CONFIG_FILE} in {service_dir}; create one with at least: service = \"name\"")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}); fix the syntax at that line") from None
    from golive.service.stages import apply_stage

    raw = apply_stage(raw, stage, path)
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown section or key {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(_TOP_KEYS))}")
    service = raw.get("service")
    if not isinstance(service, str) or not service.replace("-", "").isalnum():
        raise ConfigError(f"{path}: 'service' must be a name of letters, digits and dashes, e.g. service = \"users\"")
    functions: dict[str, FunctionConfig] = {}
    for name, spec in (raw.get("functions") or {"api": {}}).items():
        if not isinstance(spec, dict):
            raise ConfigError(f"{path}: [functions.{name}] must be a table")
        bad = set(spec) - _FUNCTION_KEYS
        if bad:
            raise ConfigError(f"{path}: [functions.{name}] has unknown key {', '.join(sorted(bad))}; "
                              f"known: {', '.join(sorted(_FUNCTION_KEYS))}")
        function = FunctionConfig(name=name, **{k: v for k, v in spec.items()})
        if "." not in function.handler:
            raise ConfigError(f"{path}: [functions.{name}] handler must be 'module.attribute', "
                              f"e.g. handler = \"handler.handler\"")
        for key in ("memory", "concurrency"):
            value = getattr(function, key)
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{path}: [functions.{name}] {key} must be a positive integer")
        if not 128 <= function.memory <= 10240:
            raise ConfigError(f"{path}: [functions.{name}] memory must be between 128 and 10240 MB")
        if not isinstance(function.timeout, int | float) or not 0 < function.timeout <= 900:
            raise ConfigError(f"{path}: [functions.{name}] timeout must be more than 0 and at most 900 seconds")
        functions[name] = function
    api = _documented(raw.get("api") or {}, _API_ALIASES, "[api]", path)
    if api.get("type", "rest") not in ("rest", "http"):
        raise ConfigError(f"{path}: [api] type must be \"rest\" (payload v1) or \"http\" (payload v2)")
    if isinstance(api.get("cors"), dict):
        api["cors"] = _documented(api["cors"], _CORS_ALIASES, "[api.cors]", path)
    tables = dict(raw.get("tables") or {})
    for name, spec in tables.items():
        if isinstance(spec, dict):
            spec = tables[name] = _documented(spec, _KEY_ALIASES, f"[tables.{name}]", path)
            if isinstance(spec.get("indexes"), dict):
                spec["indexes"] = {index: _documented(value, _KEY_ALIASES, f"[tables.{name}.indexes.{index}]", path)
                                   if isinstance(value, dict) else value for index, value in spec["indexes"].items()}
    return ServiceConfig(
        root=root, service=service, version=str(raw.get("version", "0.1.0")), api=api,
        auth=_documented(raw.get("auth") or {}, _AUTH_ALIASES, "[auth]", path), functions=functions, tables=tables,
        alarms=dict(raw.get("alarms") or {}), tags={k: str(v) for k, v in (raw.get("tags") or {}).items()}, raw=raw,
    )


def _documented(section: dict[str, Any], aliases: dict[str, str], where: str, path: Path) -> dict[str, Any]:
    """A copy of a golive.toml table with accepted aliases renamed to their documented names."""
    result = dict(section)
    for alias, name in aliases.items():
        if alias in result:
            value = result.pop(alias)
            if name in result and result[name] != value:
                raise ConfigError(f"{path}: {where} sets both {name} and its alias {alias}; keep {name}")
            result[name] = value
    return result
