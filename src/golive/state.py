"""Local state for handlers: the state directory golive sets (GOLIVE_STATE_DIR) and SQLite databases in it (WAL).

A module-level dict is not state: `golive dev` runs several execution environments of a function, each with its
own copy, and a reload starts new ones (AWS does the same). Data that must outlive one environment lives in a
store every environment shares; locally that is a SQLite file under the state directory, opened here.

    from golive import state

    db = state.database("todos", schema="CREATE TABLE IF NOT EXISTS todos (id TEXT PRIMARY KEY, title TEXT)")

    with db.transaction() as tx:                       # BEGIN IMMEDIATE: one writer at a time, across processes
        tx.execute("INSERT INTO todos VALUES (?, ?)", ("1", "write docs"))
    db.query("SELECT * FROM todos")                    # [{"id": "1", "title": "write docs"}]

Nothing is opened (nor is sqlite3 imported) until the first query: a cold start pays nothing for it. In AWS a
function's disk is its own and temporary (/tmp); deployed services keep shared data in a table ([tables.*]).
"""

from __future__ import annotations

import _thread  # not threading, pathlib or contextlib: together ~6 ms of cold start for a handler importing this
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Mapping, Sequence
    from types import TracebackType
    from typing import Any

    Params = Sequence[object] | Mapping[str, object]

__all__ = ["Database", "database", "state_dir"]

STATE_DIR_ENV = "GOLIVE_STATE_DIR"
LAMBDA_STATE_DIR = "/tmp/golive"  # the only writable place in Lambda; the task root is read-only


def state_dir() -> str:
    """$GOLIVE_STATE_DIR (golive dev, golive invoke and TestClient.from_service set it: SERVICE_DIR/.golive or a
    temporary folder), else /tmp/golive inside Lambda, else .golive in the current folder."""
    configured = os.environ.get(STATE_DIR_ENV)
    if configured:
        return configured
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return LAMBDA_STATE_DIR
    return os.path.join(os.getcwd(), ".golive")


class Database:
    """One SQLite file under the state directory, shared by every thread and process that opens it.

    The file is found and opened on first use, in WAL mode (readers never wait for the writer); other processes
    writing at the same moment are waited for up to `timeout` seconds, not failed."""

    def __init__(self, name: str, *, schema: str | None = None, timeout: float = 10.0) -> None:
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"database name {name!r} must be a plain file name, e.g. 'todos'")
        self.name = name
        self.schema = schema
        self.timeout = timeout
        self._lock = _thread.RLock()  # one connection, used by one thread at a time (threaded dev servers)
        self._conn: sqlite3.Connection | None = None
        self._directory: str | None = None
        self.path: str | None = None  # the file, once opened

    def connection(self) -> sqlite3.Connection:
        """The open connection (opened, migrated and switched to WAL on first call).

        Reopened when the state directory changes, so one imported handler serves several TestClients, each
        on its own temporary folder."""
        directory = state_dir()
        with self._lock:
            if self._conn is None or self._directory != directory:
                self.close()
                self._conn = self._open(directory)
                self._directory = directory
            return self._conn

    def _open(self, directory: str) -> sqlite3.Connection:
        import sqlite3  # ~5 ms: paid on the first query, not at cold start

        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, self.name if self.name.endswith(".db") else f"{self.name}.db")
        # isolation_level=None: each statement commits on its own unless inside transaction().
        conn = sqlite3.connect(path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")  # stored in the file: later openers find it set
        conn.execute("PRAGMA synchronous = NORMAL")  # in WAL mode: durable across a crash of the process
        if self.schema:
            # One process creates the tables; the others wait for it (BEGIN IMMEDIATE) and find them there.
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in self.schema.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                conn.close()
                raise
        self.path = path
        return conn

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement in its own transaction; the number of rows it changed."""
        with self._lock:
            return self.connection().execute(sql, params).rowcount

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Every row of a SELECT, as dicts keyed by column name."""
        with self._lock:
            return [dict(row) for row in self.connection().execute(sql, params).fetchall()]

    def one(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        """The first row of a SELECT as a dict, or None."""
        with self._lock:
            row = self.connection().execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def transaction(self) -> _Transaction:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK when the block raises (the exception goes on)."""
        return _Transaction(self)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class _Transaction:
    """`with db.transaction() as tx:` the connection, inside BEGIN IMMEDIATE; the database's lock is held."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db._lock.acquire()
        try:
            conn = self.conn = self.db.connection()
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.db._lock.release()
            raise
        return conn

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            self.conn.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self.db._lock.release()


def database(name: str, *, schema: str | None = None, timeout: float = 10.0) -> Database:
    """A Database named `name` (the file STATE_DIR/name.db), opened lazily; `schema` runs once when it opens
    (write it with CREATE … IF NOT EXISTS)."""
    return Database(name, schema=schema, timeout=timeout)
