"""Stages in golive.toml: [stages.NAME] overrides merged into the service description before anything reads it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

# Shortcuts a stage may set directly, and where each lands in golive.toml.
FUNCTION_SHORTCUTS = ("memory", "timeout", "concurrency", "reserved_concurrency", "provisioned_concurrency",
                      "environment")
API_SHORTCUTS = ("throttling", "log_retention_days", "domain")
# Whole sections a stage may override (deep-merged into the service's own).
SECTIONS = ("api", "auth", "functions", "alarms", "tags", "waf", "dashboard", "deployment", "check")
STAGE_KEYS = (*FUNCTION_SHORTCUTS, *API_SHORTCUTS, "waf", *SECTIONS)


def default_stage(raw: dict[str, Any]) -> str:
    """The stage a command uses without --stage: [api] stage, else prod (REST API) or $default (HTTP API)."""
    api = raw.get("api") if isinstance(raw.get("api"), dict) else {}
    assert isinstance(api, dict)
    if api.get("stage"):
        return str(api["stage"])
    return "$default" if api.get("type") == "http" else "prod"


def apply_stage(raw: dict[str, Any], stage: str | None, path: Path) -> dict[str, Any]:
    """golive.toml's tables with [stages.STAGE] merged in; the stage's name becomes the API stage.

    Without --stage the default stage's overrides apply when golive.toml defines it, so `golive template` and
    `golive template --stage prod` write the same file."""
    stages = raw.get("stages")
    if stages is None:
        if stage is None:
            return raw
        merged = copy.deepcopy(raw)
        merged.setdefault("api", {})["stage"] = stage
        return merged
    if not isinstance(stages, dict) or not all(isinstance(v, dict) for v in stages.values()):
        raise _error(path, "[stages] must hold one table per stage, e.g. [stages.dev] and [stages.prod]")
    name = stage if stage is not None else default_stage(raw)
    if name not in stages:
        if stage is None:
            return raw  # the default stage has no overrides of its own
        raise _error(path, f"stage {name!r} is not defined: add [stages.{name}] or pass one of "
                           f"{', '.join(sorted(stages))} to --stage")
    overrides = stages[name]
    unknown = sorted(set(overrides) - set(STAGE_KEYS))
    if unknown:
        raise _error(path, f"[stages.{name}] has unknown key {', '.join(unknown)}; known: {', '.join(STAGE_KEYS)}")
    merged = copy.deepcopy(raw)
    for key, value in overrides.items():
        if key in FUNCTION_SHORTCUTS:
            if not merged.get("functions"):
                merged["functions"] = {"api": {}}  # load_config's default single function
            for function in merged["functions"].values():
                if isinstance(function, dict):
                    _set(function, key, value)
        elif key in API_SHORTCUTS:
            _set(merged.setdefault("api", {}), key, value)
        elif key == "waf" and isinstance(value, bool):
            merged.setdefault("waf", {})["enabled"] = value
        elif not isinstance(value, dict):
            raise _error(path, f"[stages.{name}] {key} must be a table of golive.toml's [{key}] keys")
        else:
            merged[key] = _deep_merge(merged.get(key) or {}, value)
    merged.setdefault("api", {})["stage"] = name
    return merged


def stage_names(raw: dict[str, Any]) -> list[str]:
    stages = raw.get("stages")
    return sorted(stages) if isinstance(stages, dict) else []


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    if isinstance(value, dict) and isinstance(target.get(key), dict):
        target[key] = _deep_merge(target[key], value)
    else:
        target[key] = copy.deepcopy(value)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _error(path: Path, message: str) -> Exception:
    from golive.service.config import ConfigError

    return ConfigError(f"{path}: {message}")
