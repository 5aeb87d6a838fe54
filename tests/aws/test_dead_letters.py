"""SQS dead-letter queues on moto: listing keeps every message, redrive moves them back intact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared.aws.dead_letters import DeadLetterQueue, QueueLimits


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def _queues(sqs: Any) -> tuple[str, str, str]:
    dlq = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    source = sqs.create_queue(QueueName="work", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return source, dlq, arn


def _event(event_id: str) -> str:
    return json.dumps({"detail-type": "notice", "detail": {"event_id": event_id, "record_id": "001A"}})


def test_the_max_receive_count_is_read_from_the_queues_redrive_policy(sqs: Any) -> None:
    _, _, arn = _queues(sqs)
    limits = QueueLimits(client=sqs)
    assert limits.max_receive_count(arn) == 3
    assert limits.max_receive_count("not-an-arn") is None


def test_listing_keeps_every_message_and_redrive_moves_the_chosen_ones_back(sqs: Any) -> None:
    source, dlq, _ = _queues(sqs)
    for event_id in ("e1", "e2"):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=_event(event_id),
            MessageAttributes={"origin": {"DataType": "String", "StringValue": "bus"}},
        )
    dead = DeadLetterQueue(source_url=source, dlq_url=dlq, client=sqs)
    # listing twice shows both both times: nothing is consumed
    assert sorted(m.notice["event_id"] for m in dead.messages()) == ["e1", "e2"]
    assert sorted(m.notice["event_id"] for m in dead.messages()) == ["e1", "e2"]
    # redrive of one moves exactly that one, with its body and attributes
    moved = dead.redrive(lambda m: m.notice["event_id"] == "e1")
    assert [m.notice["event_id"] for m in moved] == ["e1"]
    back = sqs.receive_message(QueueUrl=source, MessageAttributeNames=["All"])["Messages"]
    assert [json.loads(m["Body"])["detail"]["event_id"] for m in back] == ["e1"]
    assert back[0]["MessageAttributes"]["origin"]["StringValue"] == "bus"
    assert [m.notice["event_id"] for m in dead.messages()] == ["e2"]
