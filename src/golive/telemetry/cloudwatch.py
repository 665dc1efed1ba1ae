"""CloudWatch Logs for a deployed stage: FilterLogEvents over a time window (every page), and tailing (Live Tail on
AWS, FilterLogEvents polling elsewhere); every AWS failure as one line.

boto3 finds credentials and the Region as the AWS CLI does (environment, AWS_PROFILE, ~/.aws/config and
credentials, SSO, the instance or container role) and honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_CLOUDWATCH_LOGS,
which the tests point at a moto server."""

from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from golive.telemetry.store import StoreError

LIVE_TAIL_GROUPS = 10  # StartLiveTail takes at most this many log groups per session


class CloudWatchError(StoreError):
    """The stage's logs cannot be read from AWS: one line saying why and what to do."""


class MissingLogGroup(CloudWatchError):
    """A log group the template names does not exist (yet)."""


@dataclass(frozen=True, slots=True)
class LogEvent:
    group: str
    stream: str
    timestamp_ms: int
    message: str
    event_id: str  # FilterLogEvents' eventId; Live Tail has none, so golive makes one from what it has

    @property
    def key(self) -> str:
        """What identifies the event when windows overlap (moto numbers events per stream, AWS per group)."""
        return f"{self.stream}/{self.event_id}"


def client() -> Any:
    """A CloudWatch Logs client configured the way the AWS CLI is; no AWS call is made yet."""
    try:
        import boto3  # type: ignore[import-untyped]
        import botocore.exceptions  # type: ignore[import-untyped]
    except ImportError:
        raise CloudWatchError("reading a deployed stage needs boto3: pip install 'golive[aws]'") from None
    try:
        # the AWS CLI (v2) and the other SDKs read AWS_REGION before AWS_DEFAULT_REGION; botocore only the latter
        return boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None).client("logs")
    except botocore.exceptions.NoRegionError:
        raise CloudWatchError("no AWS Region: set AWS_REGION (or AWS_DEFAULT_REGION), or `aws configure set region "
                              "REGION` for your profile") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise CloudWatchError(f"cannot configure AWS: {exc}") from None


def is_aws(logs: Any) -> bool:
    """True when the client talks to AWS itself (not an endpoint override such as a moto server)."""
    return ".amazonaws.com" in str(logs.meta.endpoint_url) or ".api.aws" in str(logs.meta.endpoint_url)


def translate(exc: Exception, group: str | None = None) -> CloudWatchError:
    """A botocore failure as the one line the CLI prints."""
    import botocore.exceptions  # type: ignore[import-untyped]

    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return CloudWatchError("no AWS credentials: run `aws configure` (or `aws sso login`, or set AWS_PROFILE / "
                               "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and try again")
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return CloudWatchError(f"cannot reach CloudWatch Logs at {exc.kwargs.get('endpoint_url')}: check the network "
                               f"or AWS_ENDPOINT_URL")
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        if code == "ResourceNotFoundException":
            return MissingLogGroup(f"log group {group} does not exist")
        if code in ("AccessDeniedException", "AccessDenied"):
            return CloudWatchError(f"AWS refused to read {group or 'the logs'}: {message} (the caller needs "
                                   f"logs:FilterLogEvents on the stage's log groups)")
        if code in ("ExpiredTokenException", "ExpiredToken", "UnrecognizedClientException",
                    "InvalidSignatureException"):
            return CloudWatchError(f"AWS rejected the credentials ({code}): refresh them (`aws sso login`, or new "
                                   f"keys) and try again")
        if code in ("ThrottlingException", "LimitExceededException"):
            return CloudWatchError(f"CloudWatch Logs throttled the request ({code}): wait a moment and try again")
        return CloudWatchError(f"CloudWatch Logs answered {code}: {message}")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return CloudWatchError(f"AWS: {exc}")
    return CloudWatchError(f"AWS: {type(exc).__name__}: {exc}")


def filter_events(logs: Any, group: str, start_ms: int, end_ms: int) -> Iterator[LogEvent]:
    """Every event of `group` with start_ms <= timestamp <= end_ms, page by page (FilterLogEvents returns up to
    10,000 events or 1 MB per call, and may return an empty page with a token while it searches on)."""
    import botocore.exceptions  # type: ignore[import-untyped]

    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=start_ms, endTime=end_ms)
    try:
        for page in pages:
            for event in page.get("events", ()):
                yield LogEvent(group, event.get("logStreamName", ""), int(event["timestamp"]), event["message"],
                               str(event.get("eventId", "")))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise translate(exc, group) from None


def group_arns(logs: Any, groups: list[str]) -> dict[str, str]:
    """The ARN (without the trailing :*) of each existing group, which StartLiveTail asks for."""
    import botocore.exceptions  # type: ignore[import-untyped]

    found: dict[str, str] = {}
    try:
        for group in groups:
            for item in logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", ()):
                if item.get("logGroupName") == group:
                    found[group] = item.get("logGroupArn") or str(item.get("arn", "")).removesuffix(":*")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise translate(exc) from None
    return found


class LiveTail:
    """StartLiveTail over up to ten groups in a background thread; `drain()` hands over what arrived since.

    A session ends after three hours or when AWS closes it: the thread starts a new one. Live Tail bills per
    minute of session (docs/telemetry.md), so it runs only while `golive logs --tail` does."""

    def __init__(self, logs: Any, arns: dict[str, str]) -> None:
        self.logs = logs
        self.names = {arn: name for name, arn in arns.items()}
        self.arns = list(arns.values())[:LIVE_TAIL_GROUPS]
        self._events: list[LogEvent] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.error: CloudWatchError | None = None
        self._thread = threading.Thread(target=self._run, name="golive-live-tail", daemon=True)

    def start(self) -> LiveTail:
        self._thread.start()
        return self

    def _group_of(self, identifier: str) -> str:
        # sessionResults name the group as an ARN or as ACCOUNT:NAME; match it back to the name golive asked for
        for arn, name in self.names.items():
            if identifier in (arn, name) or identifier.endswith(":" + name):
                return name
        return identifier.split(":", 1)[-1]

    def _run(self) -> None:
        import botocore.exceptions  # type: ignore[import-untyped]

        while not self._stop.is_set():
            try:
                response = self.logs.start_live_tail(logGroupIdentifiers=self.arns)
                for item in response["responseStream"]:
                    if self._stop.is_set():
                        return
                    update = item.get("sessionUpdate")
                    if update:
                        self._take(update.get("sessionResults", ()))
            except botocore.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "SessionTimeoutException":
                    continue  # a session lasts at most three hours: open the next one
                self.error = translate(exc)
                return
            except botocore.exceptions.BotoCoreError as exc:
                self.error = translate(exc)
                return

    def _take(self, results: Any) -> None:
        events = [LogEvent(self._group_of(str(r.get("logGroupIdentifier", ""))), str(r.get("logStreamName", "")),
                           int(r.get("timestamp", 0)), str(r.get("message", "")),
                           f"live-{r.get('timestamp')}-{r.get('ingestionTime')}-{zlib.crc32(str(r.get('message')).encode())}")
                  for r in results]
        with self._lock:
            self._events.extend(events)

    def drain(self) -> list[LogEvent]:
        if self.error is not None:
            raise self.error
        with self._lock:
            events, self._events = self._events, []
        return events

    def stop(self) -> None:
        self._stop.set()
