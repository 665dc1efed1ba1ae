"""Users in DynamoDB (one table, pk/sk): conditional writes for versions, a claim item per email, idempotency items.

Items:
  user         pk=USER#<id>             sk=PROFILE   id, name, email, email_key, age, phone, created_at,
                                                     updated_at, version, gsi1pk=USERS, gsi1sk=<created_at>#<id>
  email claim  pk=EMAIL#<email_key>     sk=CLAIM     user_id
  idempotency  pk=IDEM#<caller>         sk=KEY#<key> request_hash, response (JSON), expires_at (TTL attribute)
Every write that touches more than one item is one TransactWriteItems, so a user and its email claim never diverge.

Every call goes through one circuit breaker per store: after BREAKER_FAILURES calls in a row that DynamoDB did not
answer (network errors, timeouts, throttling, 5xx), calls fail fast with 503 + Retry-After for BREAKER_RECOVERY_S
seconds instead of holding each request until Lambda's timeout; then one probe call decides whether it closes again.
A refused condition (ConditionalCheckFailed, a cancelled transaction) is DynamoDB answering "no": it never counts.
"""

from __future__ import annotations

import _thread  # _thread is built in; threading costs ~1.7 ms to import at cold start
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from golive.resilience import CircuitBreaker, DeadlineExceeded
from users.model import User
from users.store.base import (
    IDEMPOTENCY_TTL_S,
    Created,
    EmailTaken,
    IdempotencyKey,
    IdempotencyMismatch,
    Page,
    StoreError,
    StoreUnavailable,
    UserExists,
    UserNotFound,
    UserStore,
    VersionConflict,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LIST_INDEX = "by_created"
LIST_PARTITION = "USERS"
PROFILE = "PROFILE"
CLAIM = "CLAIM"
# Transactions cancelled by a concurrent transaction on the same items are retried this many times.
MAX_ATTEMPTS = 8
# The SDK's budget per attempt, inside the function's 3 s: DynamoDB answers in milliseconds, so a second without a
# byte means trouble. Standard retries back off 25-50 ms on network errors (longer on throttling).
CONNECT_TIMEOUT_S = 0.25
READ_TIMEOUT_S = 1.0
SDK_ATTEMPTS = 3
# An attempt (the SDK's retries included) starts only while a whole attempt still fits in the invocation, past
# Deadline's own reserve: a 503 the client can retry beats Lambda killing the invocation mid-call and the gateway
# answering 504 with no body.
ATTEMPT_BUDGET_S = CONNECT_TIMEOUT_S + READ_TIMEOUT_S
BREAKER_FAILURES = 5
BREAKER_RECOVERY_S = 10.0
# Error codes meaning DynamoDB could not serve the call right now (any 5xx counts too); every other ClientError
# (validation, missing table, access denied) is a bug or a misconfiguration that no amount of waiting fixes.
UNAVAILABLE_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException",
                               "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable"})


def table_spec(name: str) -> dict[str, Any]:
    """CreateTable arguments for the Users table; golive.toml [tables.users] declares the same schema."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gsi1pk", "gsi1sk")],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [{
            "IndexName": LIST_INDEX,
            "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                          {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
    }


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": str(value)}


def _user_key(user_id: str) -> dict[str, Any]:
    return {"pk": _s(f"USER#{user_id}"), "sk": _s(PROFILE)}


def _claim_key(key: str) -> dict[str, Any]:
    return {"pk": _s(f"EMAIL#{key}"), "sk": _s(CLAIM)}


def _idempotency_key(idempotency: IdempotencyKey) -> dict[str, Any]:
    return {"pk": _s(f"IDEM#{idempotency.scope}"), "sk": _s(f"KEY#{idempotency.key}")}


def _list_position(created_at: str, user_id: str) -> str:
    # created_at is fixed-width, so "<created_at>#<id>" sorts exactly like the pair (created_at, id).
    return f"{created_at}#{user_id}"


def _user_item(user: User) -> dict[str, Any]:
    item = {
        **_user_key(user.id),
        "id": _s(user.id), "name": _s(user.name), "email": _s(user.email), "email_key": _s(user.email_key),
        "created_at": _s(user.created_at), "updated_at": _s(user.updated_at), "version": _n(user.version),
        "gsi1pk": _s(LIST_PARTITION), "gsi1sk": _s(_list_position(user.created_at, user.id)),
    }
    if user.age is not None:
        item["age"] = _n(user.age)
    if user.phone is not None:
        item["phone"] = _s(user.phone)
    return item


def _from_item(item: dict[str, Any]) -> User:
    return User(item["id"]["S"], item["name"]["S"], item["email"]["S"],
                age=int(item["age"]["N"]) if "age" in item else None,
                phone=item["phone"]["S"] if "phone" in item else None,
                created_at=item["created_at"]["S"], updated_at=item["updated_at"]["S"],
                version=int(item["version"]["N"]))


def _reasons(exc: Exception) -> list[str]:
    """Why each item of a cancelled transaction failed ("None" where it did not)."""
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]


def unavailable(exc: BaseException) -> bool:
    """Whether a botocore error means DynamoDB did not answer (counts against the breaker) rather than said no."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
        return error.get("Code") in UNAVAILABLE_CODES or int(status) >= 500
    return False


def _backoff(attempt: int) -> None:
    time.sleep(min(0.2, 0.005 * 2 ** attempt) * (0.5 + int.from_bytes(os.urandom(1), "big") / 510))


class DynamoUserStore(UserStore):
    """The Users store on DynamoDB; boto3 loads on first use, never at import."""

    def __init__(self, table: str, *, endpoint_url: str | None = None, region: str | None = None,
                 clock: Callable[[], float] = time.time, client: Any = None,
                 failure_threshold: int = BREAKER_FAILURES, recovery_timeout: float = BREAKER_RECOVERY_S) -> None:
        self.table = table
        self.endpoint_url = endpoint_url
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.clock = clock
        self._lock = _thread.allocate_lock()
        self._local = _thread._local()  # the deadline of the invocation this thread serves
        self._client = None
        if client is not None:
            self._client = self._watch_deadline(client)
        # No fallback: a user record has no stale copy worth serving, so failing fast with 503 + Retry-After is the
        # degraded answer, and it keeps a retry storm away from a table that is already struggling.
        self.breaker = CircuitBreaker(f"dynamodb:{table}", failure_threshold=failure_threshold,
                                      recovery_timeout=recovery_timeout, expected=(StoreUnavailable,))

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:  # boto3's default session is not safe to build from several threads at once
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    # Short timeouts: a Lambda with a 3 s budget must fail fast, not hang on the network.
                    config = Config(connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
                                    retries={"total_max_attempts": SDK_ATTEMPTS, "mode": "standard"})
                    self._client = self._watch_deadline(boto3.client(
                        "dynamodb", region_name=self.region, endpoint_url=self.endpoint_url, config=config))
        return self._client

    def _watch_deadline(self, client: Any) -> Any:
        # before-send fires for every attempt, the SDK's retries included, so they too stop at the deadline.
        client.meta.events.register("before-send.dynamodb", self._check_deadline)
        return client

    def _check_deadline(self, **_: Any) -> None:
        deadline = getattr(self._local, "deadline", None)
        if deadline is not None:
            deadline.timeout(at_least=ATTEMPT_BUDGET_S)  # raises DeadlineExceeded (503, Retry-After: 1)
        self._local.attempts = getattr(self._local, "attempts", 0) + 1

    @contextmanager
    def bounded_by(self, deadline: Any) -> Iterator[None]:
        previous = getattr(self._local, "deadline", None)
        self._local.deadline = deadline
        try:
            yield
        finally:
            self._local.deadline = previous

    def _call(self, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one backend operation through the breaker, outages turned into StoreUnavailable."""
        return self.breaker.call(self._translated, operation, *args, **kwargs)

    def _translated(self, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._local.attempts = 0
        try:
            return operation(*args, **kwargs)
        except DeadlineExceeded as exc:
            if self._local.attempts:
                # Attempts failed and no time is left for another: DynamoDB did not answer in time.
                raise StoreUnavailable("DynamoDB did not answer within the invocation's time") from exc
            raise  # out of time before asking DynamoDB anything: not the table's fault, not counted
        except Exception as exc:
            if unavailable(exc):
                raise StoreUnavailable(f"DynamoDB did not answer ({type(exc).__name__})") from exc
            raise

    def create_table(self) -> None:
        """Create the table and wait for it (tests and local set-up; in AWS the SAM template owns the table)."""
        self.client.create_table(**table_spec(self.table))
        self.client.get_waiter("table_exists").wait(TableName=self.table, WaiterConfig={"Delay": 0.2})

    def delete_table(self) -> None:
        self.client.delete_table(TableName=self.table)

    def _transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction; None when it committed, else the per-item cancellation reasons."""
        return self._call(self._transact_once, items)

    def _transact_once(self, items: list[dict[str, Any]]) -> list[str] | None:
        client = self.client
        try:
            # The token makes the SDK's own retries of this call idempotent instead of failing their conditions.
            client.transact_write_items(TransactItems=items, ClientRequestToken=os.urandom(16).hex())
        except client.exceptions.TransactionCanceledException as exc:
            return (_reasons(exc) + ["None"] * len(items))[:len(items)]
        return None

    # -- operations ------------------------------------------------------------------------
    def create(self, user: User, idempotency: IdempotencyKey | None = None) -> Created:
        t = self.table
        for attempt in range(MAX_ATTEMPTS):
            now = self.clock()
            items: list[dict[str, Any]] = [
                {"Put": {"TableName": t, "Item": _user_item(user), "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Put": {"TableName": t, "Item": {**_claim_key(user.email_key), "user_id": _s(user.id)},
                         "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
            if idempotency is not None:
                items.append({"Put": {
                    "TableName": t,
                    "Item": {**_idempotency_key(idempotency), "request_hash": _s(idempotency.request_hash),
                             "response": _s(json.dumps(user.to_json())),
                             "expires_at": _n(int(now + IDEMPOTENCY_TTL_S))},
                    # An expired record may still be there: DynamoDB's TTL deletes lazily, within days.
                    "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
                    "ExpressionAttributeValues": {":now": _n(int(now))},
                }})
            reasons = self._transact(items)
            if reasons is None:
                return Created(user)
            if idempotency is not None and len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                replay = self._replay(idempotency, now)
                if replay is not None:
                    return replay
            elif reasons[1] == "ConditionalCheckFailed":
                raise EmailTaken(user.id)
            elif reasons[0] == "ConditionalCheckFailed":
                raise UserExists(user.id)
            _backoff(attempt)  # a concurrent transaction touched the same items: try again
        raise StoreError("create kept conflicting with concurrent writes")

    def _replay(self, idempotency: IdempotencyKey, now: float) -> Created | None:
        item = self._call(self.client.get_item, TableName=self.table, Key=_idempotency_key(idempotency),
                          ConsistentRead=True).get("Item")
        if item is None or float(item["expires_at"]["N"]) <= now:
            return None  # gone since the transaction looked: the caller retries as a first request
        if item["request_hash"]["S"] != idempotency.request_hash:
            raise IdempotencyMismatch(idempotency.key)
        return Created(User.from_json(json.loads(item["response"]["S"])), replayed=True)

    def get(self, user_id: str) -> User | None:
        item = self._call(self.client.get_item, TableName=self.table, Key=_user_key(user_id),
                          ConsistentRead=True).get("Item")
        return _from_item(item) if item else None

    def list(self, limit: int, after: tuple[str, str] | None = None) -> Page:
        # Index queries are eventually consistent: a user created a moment ago may show up a moment later.
        query: dict[str, Any] = {"TableName": self.table, "IndexName": LIST_INDEX, "Limit": limit + 1,
                                 "KeyConditionExpression": "gsi1pk = :p",
                                 "ExpressionAttributeValues": {":p": _s(LIST_PARTITION)}}
        if after is not None:
            query["KeyConditionExpression"] += " AND gsi1sk > :after"
            query["ExpressionAttributeValues"][":after"] = _s(_list_position(*after))
        reply = self._call(self.client.query, **query)
        items = reply.get("Items", [])
        users = [_from_item(item) for item in items[:limit]]
        # More follow when the extra item came back, or when DynamoDB stopped early at its 1 MB page limit.
        more = len(items) > limit or bool(reply.get("LastEvaluatedKey"))
        return Page(users, users[-1].sort_key if more and users else None)

    def replace(self, user_id: str, fields: dict[str, Any], expected_version: int | None = None) -> User:
        t = self.table
        for attempt in range(MAX_ATTEMPTS):
            current = self._current(user_id, expected_version)
            updated = current.replaced(fields)
            items: list[dict[str, Any]] = [{"Put": {
                "TableName": t, "Item": _user_item(updated), "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": _n(current.version)}}}]
            if updated.email_key != current.email_key:
                items.append({"Delete": {"TableName": t, "Key": _claim_key(current.email_key),
                                         "ConditionExpression": "user_id = :id",
                                         "ExpressionAttributeValues": {":id": _s(user_id)}}})
                items.append({"Put": {"TableName": t, "Item": {**_claim_key(updated.email_key), "user_id": _s(user_id)},
                                      "ConditionExpression": "attribute_not_exists(pk)"}})
            reasons = self._transact(items)
            if reasons is None:
                return updated
            if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                raise EmailTaken(user_id)
            if reasons[0] == "ConditionalCheckFailed" and expected_version is not None:
                raise VersionConflict(user_id)
            # Without an expected version a concurrent write is not a conflict: re-read and write on top of it.
            _backoff(attempt)
        raise VersionConflict(user_id)

    def delete(self, user_id: str, expected_version: int | None = None) -> User:
        t = self.table
        for attempt in range(MAX_ATTEMPTS):
            current = self._current(user_id, expected_version)
            reasons = self._transact([
                {"Delete": {"TableName": t, "Key": _user_key(user_id), "ConditionExpression": "version = :v",
                            "ExpressionAttributeValues": {":v": _n(current.version)}}},
                {"Delete": {"TableName": t, "Key": _claim_key(current.email_key)}},
            ])
            if reasons is None:
                return current
            if reasons[0] == "ConditionalCheckFailed" and expected_version is not None:
                raise VersionConflict(user_id)
            _backoff(attempt)
        raise VersionConflict(user_id)

    def _current(self, user_id: str, expected_version: int | None) -> User:
        current = self.get(user_id)
        if current is None:
            raise UserNotFound(user_id)
        if expected_version is not None and current.version != expected_version:
            raise VersionConflict(user_id)
        return current

    def ping(self) -> bool:
        # A read of a key that never exists: proves reachability and credentials with the function's own grants.
        self._call(self.client.get_item, TableName=self.table, Key={"pk": _s("HEALTH"), "sk": _s("PING")})
        return True

    def count(self) -> int:
        """How many users exist (tests and diagnostics; a full index scan)."""
        total, start = 0, None
        while True:
            query: dict[str, Any] = {"TableName": self.table, "IndexName": LIST_INDEX, "Select": "COUNT",
                                     "KeyConditionExpression": "gsi1pk = :p",
                                     "ExpressionAttributeValues": {":p": _s(LIST_PARTITION)}}
            if start:
                query["ExclusiveStartKey"] = start
            reply = self._call(self.client.query, **query)
            total += reply["Count"]
            start = reply.get("LastEvaluatedKey")
            if not start:
                return total

