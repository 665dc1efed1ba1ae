"""CloudWatch Embedded Metric Format: per-route metrics plus custom ones, flushed once per invocation."""

from __future__ import annotations

import json
import math
import os
import time

from golive.observability.logging import write_line

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    _Entry: TypeAlias = tuple[str, str, int, list[float], int]  # name, unit, resolution, values, group

UNITS = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
})
MAX_METRICS = 100  # metric definitions per EMF document
MAX_VALUES = 100  # values of one metric per document
MAX_DIMENSIONS = 30  # dimensions per dimension set
ROUTE_METRICS = ("Latency", "Count", "4xx", "5xx", "ColdStart")
_ENCODE = json.JSONEncoder(default=str, separators=(",", ":")).encode  # reused: one per flush costs ~1.5 µs


class MetricsError(ValueError):
    """A metric, unit or dimension CloudWatch would reject."""


class Metrics:
    """Collects metrics during an invocation and writes them as EMF documents when it ends."""

    def __init__(self, namespace: str | None = None, service: str | None = None) -> None:
        env = os.environ
        self.service = service or env.get("GOLIVE_SERVICE") or env.get("POWERTOOLS_SERVICE_NAME") or "service"
        self.namespace = namespace or os.environ.get("GOLIVE_METRICS_NAMESPACE") or os.environ.get(
            "POWERTOOLS_METRICS_NAMESPACE") or ""
        self.disabled = os.environ.get("GOLIVE_METRICS", "on").lower() in ("off", "0", "false")
        self.stream: Any = None
        self._custom: dict[str, tuple[str, int, list[float]]] = {}
        self._dimensions: dict[str, str] = {}
        self._metadata: dict[str, Any] = {}
        self._directive_cache: dict[tuple, str] = {}

    def add(self, name: str, value: float = 1, unit: str = "Count", resolution: int = 60) -> None:
        """Record a custom metric (repeated names accumulate values, as EMF arrays)."""
        if not name or len(name) > 255:
            raise MetricsError(f"metric name must be 1-255 characters, got {name!r}")
        if name in ROUTE_METRICS or name in ("service", "route") or name in self._dimensions:
            raise MetricsError(f"metric name {name!r} is reserved by golive's per-route metrics or a dimension")
        if unit not in UNITS:
            raise MetricsError(f"unit {unit!r} is not a CloudWatch unit; use one of Count, Milliseconds, Bytes, ...")
        if resolution not in (1, 60):
            raise MetricsError("resolution must be 1 (high resolution) or 60 seconds")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise MetricsError(f"metric {name!r} needs a finite number, got {value!r}")
        entry = self._custom.get(name)
        if entry is None:
            self._custom[name] = (unit, resolution, [value])
        else:
            if entry[0] != unit:
                raise MetricsError(f"metric {name!r} was recorded in {entry[0]} and now in {unit}")
            entry[2].append(value)

    def add_dimension(self, name: str, value: str) -> None:
        """A dimension for this invocation's custom metrics (service is always one)."""
        if len(self._dimensions) + 1 >= MAX_DIMENSIONS:
            raise MetricsError(f"a dimension set holds at most {MAX_DIMENSIONS} dimensions, service included")
        if not name or not isinstance(value, str) or not value:
            raise MetricsError("dimension name and value must be non-empty strings")
        if name in ("service", "route") or name in ROUTE_METRICS or name in self._custom:
            raise MetricsError(f"dimension name {name!r} is already a golive dimension or a metric name")
        self._dimensions[name] = value

    def add_metadata(self, key: str, value: Any) -> None:
        """A searchable field on the EMF document that is not a metric."""
        self._metadata[key] = value

    def flush(self, route: str | None = None, status: int | None = None, latency_ms: float | None = None,
              cold_start: bool = False, now_ms: int | None = None) -> list[str]:
        """Write this invocation's EMF document(s) to stdout and reset; returns the lines written."""
        if self.disabled:
            self._reset()
            return []
        entries: list[_Entry] = []  # name, unit, resolution, values, group
        if route is not None and status is not None:
            entries.append(("Latency", "Milliseconds", 60, [round(latency_ms or 0.0, 3)], 0))
            entries.append(("Count", "Count", 60, [1], 0))
            entries.append(("4xx", "Count", 60, [1 if 400 <= status < 500 else 0], 0))
            entries.append(("5xx", "Count", 60, [1 if status >= 500 else 0], 0))
            if cold_start:
                entries.append(("ColdStart", "Count", 60, [1], 0))
        for name, (unit, resolution, values) in self._custom.items():
            entries.append((name, unit, resolution, values, 1))
        if not entries:
            self._reset()
            return []
        timestamp = now_ms if now_ms is not None else int(time.time() * 1000)
        namespace = self.namespace or self.service
        if len(entries) <= MAX_METRICS and all(len(entry[3]) <= MAX_VALUES for entry in entries):
            lines = [self._document(entries, namespace, route, timestamp)]  # the usual case: one document
            pending = []
        else:
            lines = []
            pending = entries
        while pending:
            chunk: list[_Entry] = []
            later: list[_Entry] = []
            for name, unit, resolution, values, group in pending:
                if len(chunk) < MAX_METRICS:
                    chunk.append((name, unit, resolution, values[:MAX_VALUES], group))
                    if len(values) > MAX_VALUES:
                        later.append((name, unit, resolution, values[MAX_VALUES:], group))
                else:
                    later.append((name, unit, resolution, values, group))
            lines.append(self._document(chunk, namespace, route, timestamp))
            pending = later
        for line in lines:
            write_line(line, self.stream)
        self._reset()
        return lines

    def _document(self, chunk: list, namespace: str, route: str | None, timestamp: int) -> str:
        """One EMF document as a JSON line; the directive part is cached (it repeats for every invocation)."""
        key = (namespace, tuple((name, unit, resolution, group) for name, unit, resolution, _, group in chunk),
               tuple(self._dimensions))
        directives = self._directive_cache.get(key)
        if directives is None:
            directives = json.dumps(self._directives(chunk, namespace), separators=(",", ":"))
            if len(self._directive_cache) < 1024:
                self._directive_cache[key] = directives
        root: dict[str, Any] = {"service": self.service}
        for name, _unit, _resolution, values, _group in chunk:
            root[name] = values[0] if len(values) == 1 else values
        if route is not None:
            root["route"] = route
        root.update(self._dimensions)
        for field_name, value in self._metadata.items():
            root.setdefault(field_name, value)
        values_json = _ENCODE(root)
        return f'{{"_aws":{{"Timestamp":{timestamp},"CloudWatchMetrics":{directives}}},{values_json[1:]}'

    def _directives(self, chunk: list, namespace: str) -> list[dict[str, Any]]:
        directives = []
        for group, dimension_set in ((0, ["service", "route"]), (1, ["service", *self._dimensions])):
            definitions = []
            for name, unit, resolution, _values, metric_group in chunk:
                if metric_group != group:
                    continue
                definition: dict[str, Any] = {"Name": name, "Unit": unit}
                if resolution == 1:
                    definition["StorageResolution"] = 1
                definitions.append(definition)
            if definitions:
                directives.append({"Namespace": namespace, "Dimensions": [dimension_set], "Metrics": definitions})
        return directives

    def _reset(self) -> None:
        self._custom = {}
        self._dimensions = {}
        self._metadata = {}


metrics = Metrics()
