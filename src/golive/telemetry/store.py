"""The telemetry store: one DuckDB file per service, batched NDJSON ingest, size and age pruning, id lookups.

One process writes (golive dev, through its collector); DuckDB allows a single writer, so other processes read
through the dev server's HTTP API while it runs, or open the file read-only when it does not."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from golive.telemetry.model import DEFAULT_MAX_AGE_S, DEFAULT_MAX_BYTES, SCHEMA_VERSION, TABLES, ddl

# DuckDB checkpoints (compresses the write-ahead log's rows into the file) once the log passes its threshold,
# inside the commit that crossed it: at the default 16 MB, a server under load paid ~7 us per request for it in
# the collector's commits. The writer raises the threshold and checkpoints when the server is idle instead
# (Store.checkpoint); a sustained load still checkpoints at this size, so the log, and a restart's replay of it,
# stay bounded.
WAL_CHECKPOINT = "128MB"

# Rows go to DuckDB as one NDJSON file per batch, one JSON array per row, parsed by DuckDB in C++: a batch of
# 10,000 rows is one statement. Values are JSON scalars; timestamps travel as epoch milliseconds.
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False, ensure_ascii=False).encode


def _select_list(table: str) -> str:
    parts = []
    for index, (_, kind, _) in enumerate(TABLES[table], start=1):
        if kind == "TIMESTAMP":
            parts.append(f"make_timestamp((j[{index}]::DOUBLE * 1000)::BIGINT)")
        elif kind == "VARCHAR":
            parts.append(f"j[{index}]")
        elif kind == "UUID":
            parts.append(f"TRY_CAST(j[{index}] AS UUID)")  # a request id that is not a UUID is stored as NULL
        else:
            parts.append(f"j[{index}]::{kind}")
    return ", ".join(parts)


class StoreError(Exception):
    """The store cannot be opened or read: one line saying why and what to do."""


class Store:
    """A DuckDB telemetry file. `Store(path)` opens it for writing (creating tables); `read_only=True` for readers."""

    def __init__(self, path: Path, *, read_only: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_age_s: float = DEFAULT_MAX_AGE_S) -> None:
        import duckdb  # CLI side only: never imported by a function's runtime

        self.path = Path(path)
        self.read_only = read_only
        self.max_bytes, self.max_age_s = max_bytes, max_age_s
        self._lock = threading.Lock()  # one connection object; each caller thread uses its own cursor
        if read_only and not self.path.exists():
            raise StoreError(f"no telemetry at {self.path}: run `golive dev` and send it a request first")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = self._connect(duckdb)
        if not read_only and self._version() not in (None, SCHEMA_VERSION):
            # another golive's layout: kept beside, never rewritten or mixed with rows of this layout
            self.connection.close()
            aside = self.path.with_name(f"{self.path.stem}-v{self._old_version}{self.path.suffix}")
            self.path.replace(aside)
            print(f"golive: telemetry store layout changed; the old one is kept as {aside}", file=sys.stderr)
            self.connection = self._connect(duckdb)
        if not read_only:
            # the writer shares the machine with the gateway and the workers it records: one thread, so a batch
            # never takes more than one core from them (and small batches skip the cost of parallel plans)
            self.connection.execute("SET threads = 1")
            self.connection.execute(f"SET checkpoint_threshold = '{WAL_CHECKPOINT}'")
            for statement in ddl():
                self.connection.execute(statement)
            if self._version() is None:
                self.connection.execute("INSERT INTO golive_schema VALUES (?)", [SCHEMA_VERSION])
        self._selects = {table: _select_list(table) for table in TABLES}

    def _connect(self, duckdb: Any) -> Any:
        try:
            return duckdb.connect(str(self.path), read_only=self.read_only)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open {self.path}: {str(exc).splitlines()[0]} (is another golive dev "
                             f"writing it? stop it, or read through its HTTP API)") from None

    def _version(self) -> int | None:
        """The layout version the file was written with (0: tables without a version); None for a new file."""
        tables = {row[0] for row in self.connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
        if "golive_schema" in tables:
            row = self.connection.execute("SELECT max(version) FROM golive_schema").fetchone()
            self._old_version = int(row[0]) if row and row[0] is not None else 0
        else:
            self._old_version = 0 if "requests" in tables else -1
        return None if self._old_version == -1 or (self._old_version == 0 and "golive_schema" in tables) \
            else self._old_version

    def cursor(self) -> Any:
        """A cursor for this thread (DuckDB connections are not shared across threads; cursors are)."""
        with self._lock:
            return self.connection.cursor()

    @contextmanager
    def staged(self, lines: Sequence[str]) -> Iterator[str]:
        """The lines as an NDJSON file beside the store (DuckDB reads it in C++, in parallel), removed after."""
        fd, name = tempfile.mkstemp(prefix=".batch-", suffix=".ndjson", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write("\n".join(lines))
            yield name
        finally:
            os.unlink(name)

    def run(self, sql: str, params: Any, cursor: Any = None) -> int:
        """Execute one INSERT ... SELECT; returns the rows it inserted."""
        row = (cursor or self.cursor()).execute(sql, params).fetchone()
        return int(row[0]) if row else 0

    def insert(self, table: str, rows: Sequence[Sequence[Any]], cursor: Any = None) -> int:
        """Append finished rows (tuples in TABLES[table] order) in one statement; returns how many."""
        if not rows:
            return 0
        with self.staged([_encode(row) for row in rows]) as name:
            return self.run(f"INSERT INTO {table} SELECT {self._selects[table]} FROM "
                            f"(SELECT from_json(json, '[\"VARCHAR\"]') AS j FROM read_ndjson_objects(?))", [name],
                            cursor)

    def wal_bytes(self) -> int:
        """The size of the write-ahead log: rows committed but not yet checkpointed into the file."""
        try:
            return self.path.with_name(self.path.name + ".wal").stat().st_size
        except OSError:
            return 0

    def checkpoint(self, cursor: Any = None) -> bool:
        """Move the write-ahead log's rows into the file (what an idle writer does); False when DuckDB declined
        (another thread's transaction was open: the next idle moment tries again)."""
        import duckdb

        try:
            (cursor or self.cursor()).execute("CHECKPOINT")
        except duckdb.Error:
            return False
        return True

    def used_bytes(self, cursor: Any = None) -> int:
        """Bytes the data occupies: blocks in use inside the file (a DuckDB file never shrinks; freed blocks are
        reused) plus the write-ahead log not yet checkpointed."""
        row = (cursor or self.cursor()).execute(
            "SELECT (total_blocks - free_blocks) * block_size FROM pragma_database_size()").fetchone()
        return (int(row[0]) if row and row[0] is not None else 0) + self.wal_bytes()

    def prune(self, now: float | None = None, cursor: Any = None) -> int:
        """Delete what is older than max_age_s, then the oldest tenth until the data fits in max_bytes; returns
        the requests deleted."""
        cur = cursor or self.cursor()
        cutoff = (now or time.time()) - self.max_age_s
        deleted = self._delete_before(cur, cutoff)
        for _ in range(10):
            if self.used_bytes(cur) <= self.max_bytes:
                break
            row = cur.execute("SELECT epoch_ms(quantile_disc(ts, 0.1)) FROM requests").fetchone()
            if row is None or row[0] is None:
                break
            deleted += self._delete_before(cur, row[0] / 1000 + 0.001)
            cur.execute("CHECKPOINT")
        return deleted

    @staticmethod
    def _delete_before(cur: Any, epoch_s: float) -> int:
        cutoff = [epoch_s * 1_000_000]
        row = cur.execute("SELECT count(*) FROM requests WHERE ts < make_timestamp(?::BIGINT)", cutoff).fetchone()
        count = int(row[0]) if row else 0
        for table in TABLES:
            cur.execute(f"DELETE FROM {table} WHERE ts < make_timestamp(?::BIGINT)", cutoff)
        return count

    def close(self) -> None:
        with self._lock:
            try:
                if not self.read_only:
                    self.connection.execute("CHECKPOINT")
            finally:
                self.connection.close()
