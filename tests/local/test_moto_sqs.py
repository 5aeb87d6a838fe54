"""The local runtime's SQS: receiving does not recount the whole queue for each message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs.models import Queue

from infra.local import moto_patches
from infra.local.clock import Clock
from infra.local.moto_patches import Invoker


@pytest.fixture
def sqs() -> Iterator[Any]:
    moto_patches.install(Invoker(()), Clock())
    try:
        with mock_aws():
            yield boto3.client("sqs", region_name="us-east-1")
    finally:
        moto_patches.uninstall()


def _backlog(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[int]]:
    """A queue of 50 notices, and a list that gets an entry each time moto counts its messages."""
    url = sqs.create_queue(QueueName="account-changes")["QueueUrl"]
    for n in range(50):
        sqs.send_message(QueueUrl=url, MessageBody=f"notice {n}")
    counted: list[int] = []
    original = Queue.approximate_number_of_messages
    monkeypatch.setattr(
        Queue,
        "approximate_number_of_messages",
        property(lambda queue: counted.append(1) or original.fget(queue)),  # type: ignore[attr-defined]
    )
    return url, counted


def test_a_backlog_is_received_ten_at_a_time_without_recounting_the_queue(
    sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a queue with a backlog of 50 notices
    url, counted = _backlog(sqs, monkeypatch)
    # when a worker receives ten
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    # then it gets ten, and the queue was not counted for each of them (moto counted it 30 times)
    assert len(got) == 10
    assert counted == []


def test_a_message_past_its_retention_period_is_not_received(sqs: Any) -> None:
    # given a queue that keeps messages for 60 s and one message sent 61 s ago
    url = sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    from moto.sqs.models import sqs_backends

    queue = sqs_backends["123456789012"]["us-east-1"].get_queue("short")
    for message in queue._messages:
        message.sent_timestamp -= 61_000
    # when it is received, then nothing comes back, as SQS drops expired messages
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []


def test_sending_to_a_backlog_does_not_recount_the_queue(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a queue with a backlog of 50 notices
    url, counted = _backlog(sqs, monkeypatch)
    # when one more is sent (moto counted the whole queue to read a FIFO-only attribute)
    sqs.send_message(QueueUrl=url, MessageBody="one more", DelaySeconds=5)
    # then the queue was not counted, and the message waits out its delay as SQS's does
    assert counted == []
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesDelayed"]) == (
        "50",
        "1",
    )


def test_a_fifo_queue_with_content_based_deduplication_still_drops_the_same_body(sqs: Any) -> None:
    # given a FIFO queue that deduplicates on the body
    url = sqs.create_queue(
        QueueName="changes.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    # when the same body is sent twice in one group
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="same notice", MessageGroupId="account-1")
    # then one message is on the queue
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == 1
