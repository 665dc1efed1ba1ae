"""The user record and what is derived from it: ids, timestamps, the public JSON shape and its ETag."""

from __future__ import annotations

import json
import os
import time

TYPE_CHECKING = False  # typing costs milliseconds at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

OPTIONAL_FIELDS = ("age", "phone")


def new_id() -> str:
    """A random UUID (version 4 layout) without importing uuid, which is slow at cold start."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def now_iso(now: float | None = None) -> str:
    """UTC time with microseconds; fixed width, so text order is time order (lists sort on it)."""
    now = time.time() if now is None else now
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1_000_000) % 1_000_000:06d}Z"


def email_key(email: str) -> str:
    """The form an email is unique under: addresses are compared case-insensitively."""
    return email.strip().lower()


class User:
    """One user as stored: the client's fields plus id, timestamps and a version bumped on every write."""

    __slots__ = ("age", "created_at", "email", "id", "name", "phone", "updated_at", "version")

    def __init__(self, id: str, name: str, email: str, *, age: int | None = None, phone: str | None = None,
                 created_at: str = "", updated_at: str = "", version: int = 1) -> None:
        self.id = id
        self.name = name
        self.email = email
        self.age = age
        self.phone = phone
        self.created_at = created_at
        self.updated_at = updated_at or created_at
        self.version = version

    @classmethod
    def new(cls, user_id: str, fields: dict[str, Any], now: str | None = None) -> User:
        """A first version of a user from the validated request body."""
        stamp = now or now_iso()
        return cls(user_id, fields["name"], fields["email"], age=fields.get("age"), phone=fields.get("phone"),
                   created_at=stamp, updated_at=stamp, version=1)

    def replaced(self, fields: dict[str, Any], now: str | None = None) -> User:
        """The next version after a full replace: optional fields left out of `fields` are removed."""
        return User(self.id, fields["name"], fields["email"], age=fields.get("age"), phone=fields.get("phone"),
                    created_at=self.created_at, updated_at=now or now_iso(), version=self.version + 1)

    @property
    def email_key(self) -> str:
        return email_key(self.email)

    @property
    def sort_key(self) -> tuple[str, str]:
        """Position in GET /users: creation time, then id for users created in the same microsecond."""
        return self.created_at, self.id

    def to_json(self) -> dict[str, Any]:
        """The representation clients see (and the ETag is computed from)."""
        body: dict[str, Any] = {"id": self.id, "name": self.name, "email": self.email}
        if self.age is not None:
            body["age"] = self.age
        if self.phone is not None:
            body["phone"] = self.phone
        body.update(createdAt=self.created_at, updatedAt=self.updated_at, version=self.version)
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> User:
        return cls(body["id"], body["name"], body["email"], age=body.get("age"), phone=body.get("phone"),
                   created_at=body["createdAt"], updated_at=body["updatedAt"], version=int(body["version"]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, User) and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]  # mutable record: equal by value, never a dict key

    def __repr__(self) -> str:
        return f"<User {self.id} v{self.version}>"  # never the email: reprs end up in logs


def canonical(value: Any) -> bytes:
    """One byte string per JSON value, whatever its key order or spacing (for hashes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(value: Any) -> str:
    import hashlib  # loads OpenSSL bindings: paid on first use, not at import

    return hashlib.sha256(canonical(value)).hexdigest()


def etag(user: User) -> str:
    """A strong ETag: a hash of the representation, so a delete and re-create never reuses an old tag."""
    return f'"{digest(user.to_json())[:32]}"'
