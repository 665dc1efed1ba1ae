"""golive.state: SQLite under the state directory, in WAL mode, shared by processes, opened on first use."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest

from golive import state

SCHEMA = "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, owner TEXT NOT NULL)"


def test_database_lives_in_the_state_dir_in_wal_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_STATE_DIR", str(tmp_path / "state"))
    db = state.database("items", schema=SCHEMA)
    assert not (tmp_path / "state").exists()  # nothing touched before the first query
    assert db.execute("INSERT INTO items (owner) VALUES (?)", ("ada",)) == 1
    assert db.query("SELECT id, owner FROM items") == [{"id": 1, "owner": "ada"}]
    assert db.one("SELECT owner FROM items WHERE id = :id", {"id": 1}) == {"owner": "ada"}
    assert db.one("SELECT owner FROM items WHERE id = 9") is None
    assert db.path == str(tmp_path / "state" / "items.db")
    with sqlite3.connect(db.path) as other:  # the mode is in the file: every opener gets WAL
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failed_transaction_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_STATE_DIR", str(tmp_path))
    db = state.database("items", schema=SCHEMA)
    with pytest.raises(LookupError), db.transaction() as tx:
        tx.execute("INSERT INTO items (owner) VALUES ('ada')")
        raise LookupError("the handler gave up")
    assert db.query("SELECT * FROM items") == []
    with db.transaction() as tx:
        tx.execute("INSERT INTO items (owner) VALUES ('bob')")
    assert db.query("SELECT owner FROM items") == [{"owner": "bob"}]


def test_a_new_state_dir_opens_a_new_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = state.database("items", schema=SCHEMA)
    monkeypatch.setenv("GOLIVE_STATE_DIR", str(tmp_path / "one"))
    db.execute("INSERT INTO items (owner) VALUES ('ada')")
    monkeypatch.setenv("GOLIVE_STATE_DIR", str(tmp_path / "two"))
    assert db.query("SELECT * FROM items") == []
    assert db.path == str(tmp_path / "two" / "items.db")


def test_state_dir_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOLIVE_STATE_DIR", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert state.state_dir() == str(tmp_path / ".golive")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "users-api")  # the task root is read-only in Lambda
    assert state.state_dir() == "/tmp/golive"


@pytest.mark.parametrize("name", ["", "../escape", ".hidden", "a/b"])
def test_database_names_are_plain_file_names(name: str) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        state.database(name)


WRITER = textwrap.dedent("""
    import sys
    from golive import state
    db = state.database("items", schema=sys.argv[1])
    for i in range(40):
        with db.transaction() as tx:   # read-then-write: safe only because BEGIN IMMEDIATE serialises writers
            count = tx.execute("SELECT COUNT(*) FROM items").fetchone()[0]
            tx.execute("INSERT INTO items (id, owner) VALUES (?, ?)", (count + 1, sys.argv[2]))
""")


@pytest.mark.slow
def test_processes_share_one_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import subprocess
    import sys

    src = str(Path(state.__file__).resolve().parents[1])
    env = {**os.environ, "GOLIVE_STATE_DIR": str(tmp_path), "PYTHONPATH": src}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, SCHEMA, owner], env=env, stderr=subprocess.PIPE,
                                text=True) for owner in ("ada", "bob")]
    for writer in writers:
        _, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err
    monkeypatch.setenv("GOLIVE_STATE_DIR", str(tmp_path))
    rows = state.database("items").query("SELECT id, owner FROM items ORDER BY id")
    assert [row["id"] for row in rows] == list(range(1, 81))  # no lost or duplicated write
    assert {row["owner"] for row in rows} == {"ada", "bob"}


def test_import_loads_no_sqlite(run_python) -> None:
    result = run_python("import sys, json, golive; before = set(sys.modules); from golive import state;"
                        "db = state.database('x', schema=''); print(json.dumps(sorted(set(sys.modules) - before)))")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["golive.state"]  # no sqlite3, pathlib or threading at cold start
