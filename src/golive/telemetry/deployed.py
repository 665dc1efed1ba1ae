"""A deployed stage's telemetry: its CloudWatch Logs events, fetched incrementally, fed through the local
collector's parsing into a per-stage store (`SERVICE_DIR/.golive/telemetry-STAGE.duckdb`, the same tables), so every
command reads a stage exactly as it reads golive dev's store.

The log groups are the ones the template creates (`golive.service.names`): API Gateway's access log (the JSON
format `golive template` writes) and each function's group (START / END / REPORT, JSON records, EMF, tracebacks).
CloudWatch does not say which invocation a function line belongs to; Lambda runs one invocation at a time per
execution environment and each environment writes its own log stream, so a line belongs to the invocation whose
START preceded it in its stream."""

from __future__ import annotations

import json
import os
import re
import time
import tomllib
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from golive.telemetry import cloudwatch
from golive.telemetry.cloudwatch import CloudWatchError, LogEvent, MissingLogGroup
from golive.telemetry.collector import REPORT_SQL, Collector
from golive.telemetry.model import state_dir
from golive.telemetry.store import Store, StoreError

FIRST_LOOKBACK_S = 3600.0  # a stage's first fetch without --since: the last hour (a busy stage's week is large)
OVERLAP_MS = 120_000  # each fetch re-reads this much before the previous one ended: CloudWatch may index late
TAIL_POLL_S = 2.0  # `golive logs --stage S --tail` without Live Tail: one FilterLogEvents round per group this often
SYNC_VERSION = 1

_RID = re.compile(r"RequestId: ([0-9A-Za-z-]+)")
# Lambda's timeout line, written by the platform into the function's stream: "2026-12-04T18:00:03.004Z <id> Task
# timed out after 3.00 seconds"
_TIMEOUT = re.compile(r"^\S+ ([0-9a-f-]{36}) Task timed out after ")
_PLATFORM_PREFIXES = ("START RequestId: ", "END RequestId: ", "REPORT RequestId: ", "INIT_START ", "INIT_REPORT ",
                      "RESTORE_START ", "RESTORE_REPORT ", "EXTENSION\t", "TELEMETRY\t", "XRAY TraceId: ")
# A request stored before its invocation's REPORT line reached CloudWatch (the next fetch brings it) takes the
# line's facts and function then. Only requests of the last BACKFILL_S are looked at.
BACKFILL_S = 20 * 60
BACKFILL_SQL = f"""UPDATE requests SET duration_ms = f.duration, billed_ms = f.billed, max_memory_mb = f.memory,
    init_ms = f.init, cold_start = f.init IS NOT NULL, function = coalesce(requests.function, f.function)
FROM (SELECT lambda_request_id AS rid, any_value(function) AS function,
          TRY_CAST(any_value(report.duration) AS DOUBLE) AS duration,
          TRY_CAST(any_value(report.billed) AS INTEGER) AS billed,
          TRY_CAST(any_value(report.memory) AS SMALLINT) AS memory,
          TRY_CAST(nullif(any_value(report.init), '') AS DOUBLE) AS init
      FROM (SELECT lambda_request_id, function, regexp_extract(line, {REPORT_SQL}) AS report FROM logs
            WHERE ts >= make_timestamp(?::BIGINT) AND stream = 'platform' AND starts_with(line, 'REPORT '))
      GROUP BY lambda_request_id) f
WHERE requests.lambda_request_id = f.rid AND requests.duration_ms IS NULL
    AND requests.ts >= make_timestamp(?::BIGINT)"""
STORE_BUSY_S = 10.0  # another golive fetching the same stage holds the file this long at most, typically

_NUMBERS = ("requestTimeEpoch", "status", "responseLength", "responseLatency", "integrationLatency",
            "authorizerLatency", "integrationStatus", "authorizerStatus")


@dataclass(frozen=True)
class StageLogs:
    """Where a deployed stage writes: its stack and the log groups the template names under it."""

    stage: str
    stack: str
    access_group: str
    function_groups: dict[str, str]  # log group -> golive.toml function

    @property
    def groups(self) -> list[str]:
        return [self.access_group, *self.function_groups]


@dataclass(slots=True)
class FunctionLine:
    """A function's line in the shape the collector takes from the local Lambda service (LogRecord's fields)."""

    function: str
    request_id: str | None
    stream: str
    line: str
    timestamp: float


@dataclass
class SyncState:
    """What was fetched per group (the window's edges, the keys of events inside the overlap) and which
    invocation each log stream was inside when the last fetch ended."""

    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    open: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> SyncState:
        try:
            data = json.loads(path.read_text())
            if data.get("version") == SYNC_VERSION:
                return cls(dict(data.get("groups", {})), dict(data.get("open", {})))
        except (OSError, ValueError, AttributeError):
            pass
        return cls()

    def save(self, path: Path) -> None:
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps({"version": SYNC_VERSION, "groups": self.groups, "open": self.open}))
        temporary.replace(path)  # a crash mid-write leaves the previous state, never half of one


def stage_file(stage: str) -> str:
    """`prod` → `prod`; `$default` → `_default` (a file name, whatever the stage is called)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stage)


def stage_store_path(service_root: Path, stage: str) -> Path:
    return state_dir(service_root) / f"telemetry-{stage_file(stage)}.duckdb"


def sync_state_path(service_root: Path, stage: str) -> Path:
    return state_dir(service_root) / f"telemetry-{stage_file(stage)}.sync.json"


def stage_logs(service_root: Path, stage: str) -> StageLogs:
    """The stage's log groups, named as the template names them; an unknown stage is one line."""
    from golive.service.config import CONFIG_FILE, ConfigError, load_config
    from golive.service.names import access_log_group, deployed_functions, function_log_group, stack_name
    from golive.service.stages import default_stage, stage_names

    path = Path(service_root) / CONFIG_FILE
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        raw = None
    if raw is not None:
        known = stage_names(raw) or [default_stage(raw)]
        if stage not in known:
            where = "its [stages] are" if stage_names(raw) else "it defines no [stages]; its one stage is"
            raise ConfigError(f"stage {stage!r} is not in {path}: {where} {', '.join(known)} (add "
                              f"[stages.{stage}] to deploy it)")
    config = load_config(service_root, stage)
    stack = stack_name(config.service, stage)
    functions = {function_log_group(stack, name): name for name in deployed_functions(config)}
    return StageLogs(stage, stack, access_log_group(stack), functions)


def sync_stage(service_root: Path, stage: str, since_s: float | None = None, *, logs_client: Any = None) -> Path:
    """Fetch the stage's new CloudWatch events into its store and return the store's path.

    The first fetch covers `since_s` (default the last hour); later ones start where the previous one ended
    (minus a two-minute overlap, deduplicated), and reach further back only when `since_s` asks for more than was
    fetched. Raises CloudWatchError (one line) for missing credentials, refused calls, or a stage with no log
    groups; ConfigError for a stage golive.toml does not define."""
    service_root = Path(service_root)
    names = stage_logs(service_root, stage)
    logs = logs_client if logs_client is not None else cloudwatch.client()
    state_path = sync_state_path(service_root, stage)
    path = stage_store_path(service_root, stage)
    # what was fetched is only worth remembering while the store holding it exists (deleted to start over)
    state = SyncState.load(state_path) if path.exists() else SyncState()
    now_ms = int(time.time() * 1000)
    fetched: list[LogEvent] = []
    missing = []
    for group in names.groups:
        known = state.groups.get(group, {})
        windows = _windows(known, now_ms, since_s)
        try:
            events = [event for start, end in windows for event in cloudwatch.filter_events(logs, group, start, end)]
        except MissingLogGroup:
            missing.append(group)
            continue
        fetched += _unseen(events, set(known.get("seen", ())))
        first = windows[0][0]
        state.groups[group] = {"from_ms": min(known.get("from_ms", first), first), "until_ms": now_ms,
                               "seen": _overlap_keys(events, now_ms)}
    if len(missing) == len(names.groups):
        raise CloudWatchError(
            f"no log groups for stage {stage}: has it been deployed? `golive template` names them "
            f"{', '.join(names.groups)} (stack {names.stack}, as `golive ci` deploys it: sam deploy --stack-name "
            f"{names.stack})")
    ingest(path, names, fetched, state)
    state.save(state_path)
    return path


def _windows(known: dict[str, Any], now_ms: int, since_s: float | None) -> list[tuple[int, int]]:
    """The [start, end] spans (epoch ms) to fetch for one group."""
    wanted = None if since_s is None else now_ms - int(since_s * 1000)
    if "until_ms" not in known:
        return [(wanted if wanted is not None else now_ms - int(FIRST_LOOKBACK_S * 1000), now_ms)]
    spans = [(int(known["until_ms"]) - OVERLAP_MS, now_ms)]
    if wanted is not None and wanted < int(known["from_ms"]):
        spans.insert(0, (wanted, int(known["from_ms"]) - 1))  # --since reaches before the first fetch
    return spans


def _keys(events: Iterable[LogEvent]) -> list[str]:
    """Content keys (stream, time, text, occurrence): the same for an event whether FilterLogEvents or Live Tail
    delivered it, so overlapping windows and both sources deduplicate against each other."""
    counts: dict[str, int] = {}
    keys = []
    for event in events:
        base = f"{event.group}|{event.stream}|{event.timestamp_ms}|{zlib.crc32(event.message.encode()):08x}"
        counts[base] = counts.get(base, -1) + 1
        keys.append(f"{base}|{counts[base]}")
    return keys


def _key_time(key: str) -> int:
    """The event time (epoch ms) inside a key made by _keys."""
    try:
        return int(key.rsplit("|", 3)[1])
    except (IndexError, ValueError):
        return 0


def _unseen(events: list[LogEvent], seen: set[str]) -> list[LogEvent]:
    return [event for event, key in zip(events, _keys(events), strict=True) if key not in seen]


def _overlap_keys(events: list[LogEvent], now_ms: int) -> list[str]:
    """The keys of the events the next fetch will read again (its window starts OVERLAP_MS before now)."""
    return [key for event, key in zip(events, _keys(events), strict=True)
            if event.timestamp_ms >= now_ms - OVERLAP_MS]


def ingest(path: Path, names: StageLogs, events: list[LogEvent], state: SyncState) -> int:
    """Feed the events through the collector into the store at `path` (created if new); returns rows written."""
    lines = function_lines(events, names, state.open)
    functions = {line.request_id: line.function for line in lines if line.request_id}
    access = [record for record in (access_record(e.message) for e in events if e.group == names.access_group)
              if record is not None]
    store = open_writer(path)
    try:
        unknown = {record["integrationRequestId"] for record in access
                   if record["integrationRequestId"] not in functions and record["integrationRequestId"] != "-"}
        if unknown:  # invocations whose lines an earlier fetch stored
            rows = store.cursor().execute(
                "SELECT DISTINCT lambda_request_id::VARCHAR, function FROM logs "
                "WHERE lambda_request_id::VARCHAR IN (SELECT unnest(?::VARCHAR[]))", [sorted(unknown)]).fetchall()
            functions.update({str(rid): str(function) for rid, function in rows})
        collector = Collector(store)
        for line in lines:
            collector.on_function_log(line)
        for record in access:
            record["functionName"] = functions.get(record["integrationRequestId"], "-")
            collector.on_access_log(record)
        written = collector.flush(final=True)  # one batch: lines first, so each request joins its REPORT line
        if events:
            cutoff = [int((min(e.timestamp_ms for e in events) / 1000 - BACKFILL_S) * 1_000_000)] * 2
            store.cursor().execute(BACKFILL_SQL, cutoff)
        store.prune()
    finally:
        store.close()
    return written


def open_writer(path: Path) -> Store:
    """The stage's store for writing; while another golive fetches the same stage (DuckDB has one writer), wait."""
    deadline = time.monotonic() + STORE_BUSY_S
    while True:
        try:
            return Store(path)
        except StoreError:
            if time.monotonic() > deadline:
                raise StoreError(f"{path} is busy: another golive is fetching this stage or reading it "
                                 f"(golive dashboard?); try again when it is done") from None
            time.sleep(0.2)


def open_reader(path: Path, service_root: Path, stage: str) -> Any:
    """FileSource over the stage's store, waiting like open_writer while another process writes it."""
    from golive.telemetry.source import FileSource

    deadline = time.monotonic() + STORE_BUSY_S
    while True:
        try:
            return FileSource(path, service_root, stage)
        except StoreError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def function_lines(events: Iterable[LogEvent], names: StageLogs, open_invocations: dict[str, str]
                   ) -> list[FunctionLine]:
    """The function groups' events as collector lines, each attributed to its invocation through its stream."""
    by_stream: dict[tuple[str, str], list[LogEvent]] = {}
    for event in events:
        if event.group in names.function_groups:
            by_stream.setdefault((event.group, event.stream), []).append(event)
    lines = []
    for (group, stream), stream_events in by_stream.items():
        function = names.function_groups[group]
        key = f"{group}|{stream}"
        current = open_invocations.get(key)
        for event in sorted(stream_events, key=lambda e: e.timestamp_ms):  # stable: fetch order within a stamp
            text = event.message[:-1] if event.message.endswith("\n") else event.message
            if text.startswith(_PLATFORM_PREFIXES) or text.startswith("RequestId: "):  # Lambda's own lines
                found = _RID.search(text)
                rid = found.group(1) if found else None
                if text.startswith("START "):
                    current = rid
                elif text.startswith("END ") and rid == current:
                    current = None
                lines.append(FunctionLine(function, rid, "platform", text, event.timestamp_ms / 1000))
            elif timeout := _TIMEOUT.match(text):
                lines.append(FunctionLine(function, timeout.group(1), "platform", text, event.timestamp_ms / 1000))
            else:
                lines.append(FunctionLine(function, current, "stdout", text, event.timestamp_ms / 1000))
        if current is None:
            open_invocations.pop(key, None)
        else:
            open_invocations[key] = current
    return lines


def access_record(message: str) -> dict[str, Any] | None:
    """An access-log event (the template's JSON format: every value quoted, "-" when absent) as the record the
    local gateway hands the collector: numbers as numbers, a REST API's route key from method and resource."""
    try:
        record = json.loads(message)
    except ValueError:
        return None
    if not isinstance(record, dict) or "requestId" not in record:
        return None
    for name, value in list(record.items()):
        if name in _NUMBERS:
            record[name] = _number(value)
        elif value is None or value == "":
            record[name] = "-"
        elif not isinstance(value, str):
            record[name] = str(value)
    if "routeKey" not in record:  # REST: $context.resourcePath, "-" when no resource matched
        resource = record.get("resourcePath", "-")
        record["routeKey"] = f"{record.get('httpMethod', '-')} {resource}" if resource != "-" else "-"
    record.setdefault("integrationRequestId", "-")
    return record


def _number(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


class StageSource:
    """A deployed stage for the commands: synced once, then read like golive dev's store (FileSource); `refresh()`
    (called by `golive logs --tail`) fetches what is new — through Live Tail on AWS, FilterLogEvents polling
    elsewhere (moto and other endpoints implement no Live Tail)."""

    def __init__(self, service_root: Path, stage: str, since_s: float | None, tail: bool = False) -> None:
        self.service_root, self.stage = Path(service_root), stage
        names = stage_logs(self.service_root, stage)  # an unknown stage is told before any AWS problem
        self.logs_client = cloudwatch.client()
        self.path = sync_stage(self.service_root, stage, 0.0 if tail and since_s is None else since_s,
                               logs_client=self.logs_client)
        self.file = open_reader(self.path, self.service_root, self.stage)
        self.where = f"CloudWatch Logs of stage {stage} (stored in {self.path})"
        self._last_sync = time.monotonic()
        self._live: cloudwatch.LiveTail | None = None
        if tail and cloudwatch.is_aws(self.logs_client) and hasattr(self.logs_client, "start_live_tail") \
                and not os.environ.get("GOLIVE_NO_LIVE_TAIL"):
            arns = cloudwatch.group_arns(self.logs_client, names.groups)
            if arns:
                self._live = cloudwatch.LiveTail(self.logs_client, arns).start()

    def __getattr__(self, name: str) -> Any:  # stats, logs, request, errors, query, alarms: the store's answers
        if name == "file":  # not opened (yet): never recurse
            raise AttributeError(name)
        return getattr(self.file, name)

    def refresh(self) -> None:
        if time.monotonic() - self._last_sync < TAIL_POLL_S:
            return
        self._last_sync = time.monotonic()
        self.file.close()  # one process may not hold the file read-only and for writing at once
        try:
            if self._live is not None:
                self._ingest_live(self._live.drain())
            else:
                sync_stage(self.service_root, self.stage, None, logs_client=self.logs_client)
        finally:
            self.file = open_reader(self.path, self.service_root, self.stage)

    def _ingest_live(self, events: list[LogEvent]) -> None:
        if not events:
            return
        names = stage_logs(self.service_root, self.stage)
        state_path = sync_state_path(self.service_root, self.stage)
        state = SyncState.load(state_path)
        now_ms = int(time.time() * 1000)
        fresh: list[LogEvent] = []
        for group in names.groups:
            known = state.groups.setdefault(group, {"from_ms": now_ms, "until_ms": now_ms, "seen": []})
            new = _unseen([event for event in events if event.group == group], set(known.get("seen", ())))
            # the next FilterLogEvents fetch starts OVERLAP_MS before now: it must skip these
            kept = [key for key in known.get("seen", ()) if _key_time(key) >= now_ms - OVERLAP_MS]
            known["seen"] = [*kept, *_overlap_keys(new, now_ms)]
            known["until_ms"] = now_ms
            fresh += new
        ingest(self.path, names, fresh, state)
        state.save(state_path)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
        self.file.close()
