"""`NoticeArchive` on the EventBridge archive of the hub's bus: one replay per window, read off a queue.

A replay resends the archived events of a window to the bus, to the rules its Destination.FilterArns
names: here only the `replays` rule (infra/wiring.py), which matches events carrying `replay-name`
(live events never do) and routes them to the replayed-notices queue. This adapter starts the
replay, waits until EventBridge says it is complete, then drains that queue of its own replay's
messages (another replay's are left for it).
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-archive.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-replay-archived-event.html
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from pydantic import ValidationError
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from shared.domain.errors import TransientError
from shared.domain.notices import ChangeNotice

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import DescribeReplayResponseTypeDef
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

REPLAY_NAME_PREFIX = "c2c-replay-"  # infra/cdk/constructs/functions.py grants replays of this name only
NOTICE_SOURCE_PREFIX = "close2cash.webhooks."  # shared/aws/events.py: source_for(provider)
# ReceiveMessage and DeleteMessageBatch take at most 10 messages per call.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessageBatch.html
SQS_BATCH = 10
TERMINAL_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
ENV = {
    "archive_arn": "EVENT_ARCHIVE_ARN",
    "bus_arn": "EVENT_BUS_ARN",
    "rule_arn": "REPLAY_RULE_ARN",
    "queue_url": "REPLAY_QUEUE_URL",
}


class ReplayFailed(TransientError):
    """EventBridge ended the replay FAILED or CANCELLED, or it did not complete in time."""


class BusArchive:
    """`NoticeArchive` port: the notices of [start, end) replayed from the bus's archive.

    `calls` counts the AWS calls made (StartReplay, DescribeReplay, ReceiveMessage, DeleteMessageBatch).
    In AWS a replay may take minutes to start: DescribeReplay is polled every `poll_seconds` for up to
    `max_wait_seconds`. Once the replay is COMPLETED, its events may still be on their way to the queue,
    so the queue is received (long polling `receive_wait_seconds`) until `empty_receives` receives in
    a row return none.
    """

    def __init__(
        self,
        *,
        archive_arn: str,
        bus_arn: str,
        rule_arn: str,
        queue_url: str,
        events_client: EventBridgeClient | None = None,
        sqs_client: SQSClient | None = None,
        poll_seconds: float = 5.0,
        max_wait_seconds: float = 600.0,
        receive_wait_seconds: int = 5,
        empty_receives: int = 2,
    ) -> None:
        self.archive_arn = archive_arn
        self.bus_arn = bus_arn
        self.rule_arn = rule_arn
        self.queue_url = queue_url
        self._events: EventBridgeClient = events_client or boto3.client("events")
        self._sqs: SQSClient = sqs_client or boto3.client("sqs")
        self.poll_seconds = poll_seconds
        self.max_wait_seconds = max_wait_seconds
        self.receive_wait_seconds = receive_wait_seconds
        self.empty_receives = empty_receives
        self.calls: Counter[str] = Counter()
        # Bodies of this replay that are not change notices the current model reads (deleted all the same).
        self.unreadable = 0
        self.last_replay_name: str | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **options: Any) -> BusArchive:
        """From EVENT_ARCHIVE_ARN, EVENT_BUS_ARN, REPLAY_RULE_ARN and REPLAY_QUEUE_URL (the wiring's
        `replay` function); clients from the environment (AWS_ENDPOINT_URL reaches moto locally).
        Optional REPLAY_POLL_SECONDS / REPLAY_RECEIVE_WAIT_SECONDS shorten the waits; `options`
        (constructor keywords) override everything."""
        env = os.environ if environ is None else environ
        missing = [name for name in ENV.values() if not env.get(name)]
        if missing:
            raise KeyError(f"BusArchive needs the environment variables {missing}")
        settings: dict[str, Any] = {key: env[name] for key, name in ENV.items()}
        if env.get("REPLAY_POLL_SECONDS"):
            settings["poll_seconds"] = float(env["REPLAY_POLL_SECONDS"])
        if env.get("REPLAY_RECEIVE_WAIT_SECONDS"):
            settings["receive_wait_seconds"] = int(env["REPLAY_RECEIVE_WAIT_SECONDS"])
        return cls(**{**settings, **options})

    # --- the port ---------------------------------------------------------------------------

    def notices(self, start: datetime, end: datetime) -> list[ChangeNotice]:
        """Each change notice published on the bus in [start, end), once, oldest first.

        In whole seconds, as EventBridge keeps time: an event's `time` is to the second, and the SDK
        sends EventStartTime/EventEndTime as epoch seconds, so both ends are truncated to the second
        (an event stamped in the second `start` falls in is in the window, one in `end`'s is not)."""
        start, end = _utc(start).replace(microsecond=0), _utc(end).replace(microsecond=0)
        if not start < end:
            raise ValueError(f"a replay window must end after it starts, in whole seconds: [{start}, {end})")
        name = self._start(start, end)
        self._wait(name)
        return _oldest_first_once(self._drain(name))

    # --- EventBridge ------------------------------------------------------------------------

    def _start(self, start: datetime, end: datetime) -> str:
        name = f"{REPLAY_NAME_PREFIX}{uuid.uuid4().hex}"  # 43 characters; AWS allows 64
        self.last_replay_name = name
        self.calls["StartReplay"] += 1
        # https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_StartReplay.html
        self._events.start_replay(
            ReplayName=name,
            Description=f"close2cash replay of [{start.isoformat()}, {end.isoformat()})",
            EventSourceArn=self.archive_arn,
            EventStartTime=start,
            EventEndTime=end,
            Destination={"Arn": self.bus_arn, "FilterArns": [self.rule_arn]},
        )
        return name

    def _describe(self, name: str) -> DescribeReplayResponseTypeDef:
        self.calls["DescribeReplay"] += 1
        # https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeReplay.html
        return self._events.describe_replay(ReplayName=name)

    def _wait(self, name: str) -> None:
        """Poll DescribeReplay until the replay is COMPLETED; FAILED, CANCELLED or too long raise."""
        retrying = Retrying(
            retry=retry_if_result(lambda replay: replay.get("State") not in TERMINAL_STATES),
            wait=wait_fixed(self.poll_seconds),
            stop=stop_after_delay(self.max_wait_seconds),
        )
        try:
            replay = retrying(self._describe, name)
        except RetryError as exc:
            last = exc.last_attempt.result()
            raise ReplayFailed(
                f"replay {name} still {last.get('State')} after {self.max_wait_seconds:.0f} s"
            ) from None
        if replay["State"] != "COMPLETED":
            reason = replay.get("StateReason") or "no reason given"
            raise ReplayFailed(f"replay {name} ended {replay['State']}: {reason}")

    # --- SQS --------------------------------------------------------------------------------

    def _drain(self, name: str) -> list[tuple[str, ChangeNotice]]:
        """(event time, notice) of every message of replay `name`; those messages are deleted."""
        taken: list[tuple[str, ChangeNotice]] = []
        empty = 0
        while empty < self.empty_receives:
            self.calls["ReceiveMessage"] += 1
            # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
            messages = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=SQS_BATCH,
                WaitTimeSeconds=self.receive_wait_seconds,
            ).get("Messages", [])
            empty = 0 if messages else empty + 1
            ours = []
            for message in messages:
                body = _body(message)
                if body is None or body.get("replay-name") != name:
                    continue  # another replay's: it becomes visible again for that one
                ours.append(message)
                notice = _notice(body)
                if notice is None:
                    self.unreadable += 1
                else:
                    taken.append((str(body.get("time", "")), notice))
            self._delete(ours)
        return taken

    def _delete(self, messages: list[MessageTypeDef]) -> None:
        for first in range(0, len(messages), SQS_BATCH):
            chunk = messages[first : first + SQS_BATCH]
            self.calls["DeleteMessageBatch"] += 1
            # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessageBatch.html
            response = self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            if response.get("Failed"):
                # Not fatal: the notices were read; a message left behind is only ever this replay's.
                self.calls["DeleteMessageFailed"] += len(response["Failed"])


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _body(message: MessageTypeDef) -> dict[str, Any] | None:
    try:
        body = json.loads(message.get("Body", ""))
    except json.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _notice(body: dict[str, Any]) -> ChangeNotice | None:
    """The change notice an EventBridge event carries as its detail (None: not a notice)."""
    if not str(body.get("source", "")).startswith(NOTICE_SOURCE_PREFIX):
        return None
    try:
        return ChangeNotice.model_validate(body.get("detail"))
    except ValidationError:
        return None


def _oldest_first_once(taken: list[tuple[str, ChangeNotice]]) -> list[ChangeNotice]:
    """By event time, then when the change occurred; one notice per (provider, realm, event id)."""
    floor = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(taken, key=lambda t: (_event_time(t[0]) or floor, t[1].occurred_at or floor))
    seen: set[tuple[str, str | None, str]] = set()
    notices = []
    for _, notice in ordered:
        key = (str(notice.provider), notice.realm, notice.event_id)
        if key not in seen:
            seen.add(key)
            notices.append(notice)
    return notices


def _event_time(text: str) -> datetime | None:
    """An EventBridge event's `time` (ISO 8601, `...Z`)."""
    try:
        return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None
