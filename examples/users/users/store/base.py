"""The storage contract every Users backend meets (SQLite locally, DynamoDB in AWS), and its errors."""

from __future__ import annotations

from contextlib import nullcontext

from users.model import User

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# How long an Idempotency-Key is remembered: long enough for any client retry loop.
IDEMPOTENCY_TTL_S = 24 * 3600


class StoreError(Exception):
    """A storage failure the API turns into a client-facing status."""


class UserNotFound(StoreError):
    """No user has this id."""


class StoreUnavailable(StoreError):
    """The backend did not answer (network, throttling, outage): nothing was decided, the caller may retry."""


class UserExists(StoreError):
    """A user with this id already exists."""


class EmailTaken(StoreError):
    """Another user already has this email (compared case-insensitively)."""


class VersionConflict(StoreError):
    """The user changed since the caller read it: the write was refused, nothing was lost."""


class IdempotencyMismatch(StoreError):
    """The Idempotency-Key was used before with a different request body."""


class IdempotencyKey:
    """A client's Idempotency-Key, scoped to the caller, with a hash of the request it first came with."""

    __slots__ = ("key", "request_hash", "scope")

    def __init__(self, scope: str, key: str, request_hash: str) -> None:
        self.scope, self.key, self.request_hash = scope, key, request_hash


class Created:
    """What create() did: the user, and whether it is a replay of an earlier request with the same key."""

    __slots__ = ("replayed", "user")

    def __init__(self, user: User, replayed: bool = False) -> None:
        self.user, self.replayed = user, replayed


class Page:
    """One page of users in (created_at, id) order; `next` is the last key when more users follow."""

    __slots__ = ("next", "users")

    def __init__(self, users: list[User], next: tuple[str, str] | None) -> None:
        self.users, self.next = users, next


class UserStore:
    """What the API needs from storage. Every write is atomic; conditional writes never lose an update."""

    def create(self, user: User, idempotency: IdempotencyKey | None = None) -> Created:
        """Insert a new user (UserExists, EmailTaken); with a key, a repeat returns the first user
        (replayed=True) and a different request under the same key raises IdempotencyMismatch."""
        raise NotImplementedError

    def get(self, user_id: str) -> User | None:
        """The current version of a user, or None."""
        raise NotImplementedError

    def list(self, limit: int, after: tuple[str, str] | None = None) -> Page:
        """Up to `limit` users whose (created_at, id) follows `after`, oldest first."""
        raise NotImplementedError

    def replace(self, user_id: str, fields: dict[str, Any], expected_version: int | None = None) -> User:
        """Write the next version of a user (UserNotFound, EmailTaken); with expected_version, only if the
        stored version still equals it (VersionConflict otherwise)."""
        raise NotImplementedError

    def delete(self, user_id: str, expected_version: int | None = None) -> User:
        """Remove a user and free its email; returns what was deleted (UserNotFound, VersionConflict)."""
        raise NotImplementedError

    def ping(self) -> bool:
        """True when the backend answers (the /health check)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""

    def bounded_by(self, deadline: Any) -> Any:
        """A context manager in which no backend call starts once `deadline` (golive.resilience.Deadline) is
        nearly spent; backends that cannot hang (a local file) ignore it."""
        return nullcontext()
