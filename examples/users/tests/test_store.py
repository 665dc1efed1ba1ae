"""One store test suite, run against SQLite and against DynamoDB (moto's server over HTTP on loopback)."""

from __future__ import annotations

import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from users.model import User, digest, new_id
from users.store.base import (
    IDEMPOTENCY_TTL_S,
    EmailTaken,
    IdempotencyKey,
    IdempotencyMismatch,
    UserExists,
    UserNotFound,
    UserStore,
    VersionConflict,
)

# Every contract test runs on both backends: make_store builds the parametrised one.
both_backends = pytest.mark.parametrize("make_store", ["sqlite", "dynamodb"], indirect=True)
SERVICE_DIR = Path(__file__).resolve().parents[1]


def fields(n: int = 0, **extra: object) -> dict:
    return {"name": f"User {n}", "email": f"user{n}@example.com", **extra}


def new_user(n: int = 0, **extra: object) -> User:
    return User.new(new_id(), fields(n, **extra))


def idem(key: str, body: dict, scope: str = "alice") -> IdempotencyKey:
    return IdempotencyKey(scope, key, digest(body))


@both_backends
def test_create_then_get_returns_the_same_user(store: UserStore) -> None:
    user = new_user(1, age=36, phone="+14155550123")
    created = store.create(user)
    assert not created.replayed and created.user == user
    stored = store.get(user.id)
    assert stored == user
    assert stored is not None and stored.version == 1 and stored.age == 36 and stored.phone == "+14155550123"
    assert store.get("no-such-id") is None
    assert store.ping() is True


@both_backends
def test_an_id_is_created_once(store: UserStore) -> None:
    user = new_user(1)
    store.create(user)
    with pytest.raises(UserExists):
        store.create(User.new(user.id, fields(2)))
    assert store.get(user.id) == user


@both_backends
def test_email_is_unique_case_insensitively(store: UserStore) -> None:
    store.create(User.new("a", {"name": "A", "email": "Ada@Example.com"}))
    with pytest.raises(EmailTaken):
        store.create(User.new("b", {"name": "B", "email": "ada@EXAMPLE.COM"}))
    assert store.get("b") is None
    assert [u.id for u in store.list(10).users] == ["a"]


@both_backends
def test_list_pages_in_creation_order_without_gaps_or_repeats(store: UserStore) -> None:
    created = [store.create(new_user(n)).user for n in range(7)]
    seen, after, pages = [], None, 0
    while True:
        page = store.list(3, after)
        pages += 1
        seen.extend(page.users)
        if page.next is None:
            break
        after = page.next
    assert pages == 3
    assert [u.id for u in seen] == [u.id for u in sorted(created, key=lambda u: u.sort_key)]


@both_backends
def test_a_full_last_page_says_there_is_no_next(store: UserStore) -> None:
    for n in range(4):
        store.create(new_user(n))
    first = store.list(2)
    assert first.next is not None
    second = store.list(2, first.next)
    assert len(second.users) == 2 and second.next is None
    assert store.list(2, second.users[-1].sort_key).users == []


@both_backends
def test_replace_writes_the_next_version_and_drops_omitted_fields(store: UserStore) -> None:
    user = store.create(new_user(1, age=30, phone="+441632960961")).user
    updated = store.replace(user.id, {"name": "Renamed", "email": "renamed@example.com"})
    assert updated.version == 2 and updated.name == "Renamed"
    assert updated.age is None and updated.phone is None
    assert updated.created_at == user.created_at and updated.updated_at >= user.updated_at
    assert store.get(user.id) == updated
    with pytest.raises(VersionConflict):
        store.replace(user.id, fields(1), expected_version=1)
    assert store.replace(user.id, fields(1), expected_version=2).version == 3
    with pytest.raises(UserNotFound):
        store.replace("no-such-id", fields(9))


@both_backends
def test_replace_moves_the_email_claim(store: UserStore) -> None:
    a = store.create(new_user(1)).user
    b = store.create(new_user(2)).user
    with pytest.raises(EmailTaken):
        store.replace(b.id, {"name": "B", "email": "USER1@example.com"})
    assert store.get(b.id) == b  # refused writes change nothing
    store.replace(a.id, {"name": "A", "email": "a-new@example.com"})
    store.replace(b.id, {"name": "B", "email": "user1@example.com"})  # a's old email is free again
    same_mailbox = store.replace(b.id, {"name": "B", "email": "User1@Example.com"})  # own email, new case
    assert same_mailbox.email == "User1@Example.com"


@both_backends
def test_delete_removes_the_user_and_frees_the_email(store: UserStore) -> None:
    user = store.create(new_user(1)).user
    with pytest.raises(VersionConflict):
        store.delete(user.id, expected_version=7)
    assert store.delete(user.id, expected_version=1) == user
    assert store.get(user.id) is None
    with pytest.raises(UserNotFound):
        store.delete(user.id)
    again = store.create(new_user(1)).user
    assert again.email == user.email


@both_backends
def test_idempotent_create_replays_the_first_result(store: UserStore) -> None:
    body = fields(1)
    first = store.create(User.new("first", body), idem("k1", body))
    replay = store.create(User.new("second", body), idem("k1", body))
    assert replay.replayed and replay.user == first.user
    assert store.get("second") is None
    with pytest.raises(IdempotencyMismatch):
        store.create(User.new("third", fields(3)), idem("k1", fields(3)))
    assert store.get("third") is None
    # Keys belong to the caller: another caller's k1 is a new request.
    other = store.create(User.new("other", fields(4)), idem("k1", fields(4), scope="bob"))
    assert not other.replayed


@both_backends
def test_a_replay_after_delete_still_creates_nothing(store: UserStore) -> None:
    body = fields(1)
    store.create(User.new("u1", body), idem("k", body))
    store.delete("u1")
    replay = store.create(User.new("u2", body), idem("k", body))
    assert replay.replayed and replay.user.id == "u1"
    assert store.get("u1") is None and store.get("u2") is None


@both_backends
def test_idempotency_keys_expire(make_store: Callable[..., UserStore]) -> None:
    now = [1_700_000_000.0]
    store = make_store(clock=lambda: now[0])
    body = fields(1)
    store.create(User.new("u1", body), idem("k", body))
    store.delete("u1")
    now[0] += IDEMPOTENCY_TTL_S + 1
    again = store.create(User.new("u2", body), idem("k", body))
    assert not again.replayed and store.get("u2") is not None


@both_backends
def test_a_failed_create_does_not_consume_its_key(store: UserStore) -> None:
    store.create(new_user(1))
    body = fields(1)
    with pytest.raises(EmailTaken):
        store.create(User.new("dup", body), idem("k", body))
    fixed = fields(2)
    assert not store.create(User.new("ok", fixed), idem("k", fixed)).replayed


@both_backends
def test_concurrent_conditional_writes_let_exactly_one_win(store: UserStore) -> None:
    user = store.create(new_user(1)).user
    writers = 6
    barrier = threading.Barrier(writers)

    def write(n: int) -> str:
        barrier.wait()
        try:
            store.replace(user.id, {"name": f"writer {n}", "email": user.email}, expected_version=1)
            return "won"
        except VersionConflict:
            return "conflict"

    with ThreadPoolExecutor(writers) as pool:
        outcomes = list(pool.map(write, range(writers)))
    assert sorted(outcomes) == ["conflict"] * (writers - 1) + ["won"]
    stored = store.get(user.id)
    assert stored is not None and stored.version == 2


@both_backends
def test_read_modify_write_loses_no_update(store: UserStore) -> None:
    user = store.create(new_user(1, age=0)).user
    threads, rounds = 4, 5

    def increment(_: int) -> None:
        for _ in range(rounds):
            while True:
                current = store.get(user.id)
                assert current is not None
                try:
                    store.replace(user.id, {"name": current.name, "email": current.email, "age": current.age + 1},
                                  expected_version=current.version)
                    break
                except VersionConflict:
                    continue

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(increment, range(threads)))
    final = store.get(user.id)
    assert final is not None and final.age == threads * rounds and final.version == 1 + threads * rounds


@both_backends
def test_concurrent_creates_with_one_email_keep_one(store: UserStore) -> None:
    writers = 6
    barrier = threading.Barrier(writers)

    def create(n: int) -> str:
        barrier.wait()
        try:
            store.create(User.new(f"u{n}", {"name": "Same", "email": "same@example.com"}))
            return "created"
        except EmailTaken:
            return "taken"

    with ThreadPoolExecutor(writers) as pool:
        outcomes = list(pool.map(create, range(writers)))
    assert outcomes.count("created") == 1
    assert len(store.list(100).users) == 1


@both_backends
def test_two_store_instances_share_one_database(make_store: Callable[..., UserStore]) -> None:
    first, second = make_store(), make_store()
    user = first.create(new_user(1)).user
    assert second.get(user.id) == user
    with pytest.raises(EmailTaken):
        second.create(new_user(1))


def test_sqlite_is_safe_across_processes(tmp_path: Path) -> None:
    from users.store.sqlite import SQLiteUserStore

    path = str(tmp_path / "users.db")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from users.model import User, new_id\n"
        "from users.store.sqlite import SQLiteUserStore\n"
        "store = SQLiteUserStore(sys.argv[2])\n"
        "for n in range(25):\n"
        "    store.create(User.new(new_id(), {'name': 'P', 'email': f'{sys.argv[3]}-{n}@example.com'}))\n"
    )
    processes = [subprocess.Popen([sys.executable, "-c", script, str(SERVICE_DIR), path, f"p{i}"]) for i in range(3)]
    assert [p.wait(60) for p in processes] == [0, 0, 0]
    store = SQLiteUserStore(path)
    assert store.count() == 75
    store.close()


def test_golive_toml_declares_the_table_the_store_uses() -> None:
    from users.store.dynamodb import table_spec

    spec = table_spec("users")
    declared = tomllib.loads((SERVICE_DIR / "golive.toml").read_text())["tables"]["users"]
    keys = {k["KeyType"]: k["AttributeName"] for k in spec["KeySchema"]}
    assert (declared["partition_key"], declared["sort_key"]) == (keys["HASH"], keys["RANGE"])
    for index in spec["GlobalSecondaryIndexes"]:
        keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
        declared_index = declared["indexes"][index["IndexName"]]
        assert (declared_index["partition_key"], declared_index["sort_key"]) == (keys["HASH"], keys["RANGE"])
    assert declared["env"] == "USERS_TABLE"
