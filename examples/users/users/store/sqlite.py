"""Users in SQLite (stdlib sqlite3, WAL): the embedded store `golive dev` uses, safe across threads and processes."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from users.model import User
from users.store.base import (
    IDEMPOTENCY_TTL_S,
    Created,
    EmailTaken,
    IdempotencyKey,
    IdempotencyMismatch,
    Page,
    UserExists,
    UserNotFound,
    UserStore,
    VersionConflict,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from typing import Any

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    age INTEGER,
    phone TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS users_by_created ON users (created_at, id);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_at);
"""
_COLUMNS = "id, name, email, age, phone, created_at, updated_at, version"


def _user(row: Any) -> User:
    return User(row[0], row[1], row[2], age=row[3], phone=row[4], created_at=row[5], updated_at=row[6],
                version=row[7])


class SQLiteUserStore(UserStore):
    """One database file shared by every thread and process: pooled connections, writes under BEGIN IMMEDIATE
    (one writer at a time, the others wait up to busy_timeout), uniqueness by unique index."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = 10.0, max_idle: int = 8,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = os.fspath(path)
        self.busy_timeout_s = busy_timeout_s
        self.max_idle = max_idle
        self.clock = clock
        self._lock = threading.Lock()
        # Writers of this process queue here rather than in SQLite's busy handler, which polls with sleeps of up
        # to 100 ms and lets an unlucky writer starve under load; other processes still meet the file lock.
        self._write_lock = threading.Lock()
        # Idle connections; a thread takes one per operation and puts it back. Servers that start a thread per
        # request (golive dev) so reuse a few connections instead of opening, and leaking, one per thread.
        self._idle: list[sqlite3.Connection] = []
        self._migrated = False

    # -- connections -----------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        import sqlite3  # ~5 ms: paid on the first request, not at cold start

        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), never implicit.
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")  # in WAL mode: durable across crashes of the process
        self._migrate(conn)
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection this thread alone uses until the block ends."""
        try:
            conn = self._idle.pop()  # atomic: two threads never get the same connection
        except IndexError:
            conn = self._open()
        try:
            yield conn
        finally:
            if len(self._idle) < self.max_idle:
                self._idle.append(conn)
            else:
                conn.close()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        if self._migrated:
            return
        with self._lock:
            if self._migrated:
                return
            self._enable_wal(conn)
            conn.execute("BEGIN IMMEDIATE")  # another process may be creating the same tables right now
            try:
                if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._migrated = True

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL (readers never block the writer); the mode is stored in the file itself."""
        import sqlite3

        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError:
                # Changing the mode skips the busy handler: another process is switching it right now.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database's write lock from its first statement."""
        with self._write_lock, self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read(self, sql: str, params: tuple = ()) -> list[Any]:
        with self._connection() as conn:
            return conn.execute(sql, params).fetchall()

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- operations ------------------------------------------------------------------------
    def create(self, user: User, idempotency: IdempotencyKey | None = None) -> Created:
        import sqlite3

        now = self.clock()
        with self._write() as conn:
            if idempotency is not None:
                row = conn.execute(
                    "SELECT request_hash, response FROM idempotency WHERE scope = ? AND key = ? AND expires_at > ?",
                    (idempotency.scope, idempotency.key, now)).fetchone()
                if row is not None:
                    if row[0] != idempotency.request_hash:
                        raise IdempotencyMismatch(idempotency.key)
                    return Created(User.from_json(json.loads(row[1])), replayed=True)
            try:
                conn.execute(f"INSERT INTO users ({_COLUMNS}, email_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (user.id, user.name, user.email, user.age, user.phone, user.created_at,
                              user.updated_at, user.version, user.email_key))
            except sqlite3.IntegrityError as exc:
                raise _integrity_error(exc, user.id) from None
            if idempotency is not None:
                conn.execute("DELETE FROM idempotency WHERE expires_at <= ?", (now,))
                conn.execute("INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?)",
                             (idempotency.scope, idempotency.key, idempotency.request_hash,
                              json.dumps(user.to_json()), now + IDEMPOTENCY_TTL_S))
        return Created(user)

    def get(self, user_id: str) -> User | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    def list(self, limit: int, after: tuple[str, str] | None = None) -> Page:
        # One more row than asked tells whether another page exists without a second query.
        if after is None:
            rows = self._read(f"SELECT {_COLUMNS} FROM users ORDER BY created_at, id LIMIT ?", (limit + 1,))
        else:
            rows = self._read(f"SELECT {_COLUMNS} FROM users WHERE (created_at, id) > (?, ?) "
                              f"ORDER BY created_at, id LIMIT ?", (after[0], after[1], limit + 1))
        users = [_user(row) for row in rows[:limit]]
        return Page(users, users[-1].sort_key if len(rows) > limit else None)

    def replace(self, user_id: str, fields: dict[str, Any], expected_version: int | None = None) -> User:
        import sqlite3

        with self._write() as conn:
            current = self._current(conn, user_id, expected_version)
            updated = current.replaced(fields)
            try:
                # The version guard is redundant under BEGIN IMMEDIATE; it keeps the write safe on its own.
                changed = conn.execute(
                    "UPDATE users SET name = ?, email = ?, email_key = ?, age = ?, phone = ?, updated_at = ?, "
                    "version = ? WHERE id = ? AND version = ?",
                    (updated.name, updated.email, updated.email_key, updated.age, updated.phone,
                     updated.updated_at, updated.version, user_id, current.version)).rowcount
            except sqlite3.IntegrityError as exc:
                raise _integrity_error(exc, user_id) from None
            if changed != 1:
                raise VersionConflict(user_id)
        return updated

    def delete(self, user_id: str, expected_version: int | None = None) -> User:
        with self._write() as conn:
            current = self._current(conn, user_id, expected_version)
            if conn.execute("DELETE FROM users WHERE id = ? AND version = ?",
                            (user_id, current.version)).rowcount != 1:
                raise VersionConflict(user_id)
        return current

    def _current(self, conn: sqlite3.Connection, user_id: str, expected_version: int | None) -> User:
        row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise UserNotFound(user_id)
        current = _user(row)
        if expected_version is not None and current.version != expected_version:
            raise VersionConflict(user_id)
        return current

    def ping(self) -> bool:
        return self._read("SELECT 1")[0][0] == 1

    def count(self) -> int:
        """How many users exist (tests and diagnostics)."""
        return self._read("SELECT COUNT(*) FROM users")[0][0]


def _integrity_error(exc: Exception, user_id: str) -> Exception:
    text = str(exc)
    if "email_key" in text:
        return EmailTaken(user_id)
    if "users.id" in text:
        return UserExists(user_id)
    return exc
