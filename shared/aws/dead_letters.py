"""SQS dead-letter queues: a queue's maxReceiveCount, what its DLQ holds, and moving it back.

Redrive is receive / send / delete, not StartMessageMoveTask: moto 5.2.5 (the local runtime) has
no message move tasks, and one code path that runs the same in AWS and locally is worth more than
the server-side move. The order is send first, then delete: a crash in between leaves the message
in both queues, which the consumers' idempotency (one result per notice) makes harmless; the other
order could lose it.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

# While listing, each message is held out of sight this long, then released at once: long enough
# for one listing of a large DLQ, short enough that a crashed listing hides nothing for long.
LIST_HOLD_SECONDS = 60
SQS_MAX_RECEIVE = 10


@dataclass(frozen=True)
class DeadLetter:
    """One message in a dead-letter queue, and the notice it carries (EventBridge `detail`)."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    first_received_at: datetime | None
    attributes: dict[str, Any]

    @property
    def notice(self) -> dict[str, Any]:
        """The change notice inside the EventBridge event (empty when the body is not one)."""
        try:
            detail = json.loads(self.body).get("detail")
        except (ValueError, AttributeError):
            return {}
        return detail if isinstance(detail, dict) else {}


def _epoch_ms(value: str | None) -> datetime | None:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC) if value and value.isdigit() else None


class QueueLimits:
    """maxReceiveCount of the queues a function consumes, read once per queue from its RedrivePolicy.

    The wiring sets it on each queue (infra/cdk, infra/local/provision.py); reading it back from the
    queue means the handler and SQS can never disagree. The event source mapping's role may
    GetQueueAttributes on the queue it polls.
    """

    def __init__(self, *, client: SQSClient | None = None) -> None:
        self._client_value = client
        self._known: dict[str, int | None] = {}

    def _client(self) -> SQSClient:
        if self._client_value is None:
            self._client_value = boto3.client("sqs")
        return self._client_value

    def max_receive_count(self, queue_arn: str) -> int | None:
        """The queue's maxReceiveCount, or None when it has no dead-letter queue (or no such ARN)."""
        if queue_arn not in self._known:
            parts = queue_arn.split(":")
            if len(parts) != 6:
                return None
            client = self._client()
            url = client.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
            policy = client.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
            raw = policy.get("Attributes", {}).get("RedrivePolicy")
            self._known[queue_arn] = int(json.loads(raw)["maxReceiveCount"]) if raw else None
        return self._known[queue_arn]


class DeadLetterQueue:
    """The DLQ of one source queue: list its messages without consuming them, or move them back."""

    def __init__(self, *, source_url: str, dlq_url: str, client: SQSClient | None = None) -> None:
        self.source_url = source_url
        self.dlq_url = dlq_url
        self._client: SQSClient = client or boto3.client("sqs")

    def _receive_all(self, hold: int) -> list[DeadLetter]:
        """Every message, each held invisible for `hold` seconds (the caller releases or deletes)."""
        seen: dict[str, DeadLetter] = {}
        while True:
            batch: list[MessageTypeDef] = self._client.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=SQS_MAX_RECEIVE,
                VisibilityTimeout=hold,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not batch:
                return list(seen.values())
            for message in batch:
                attributes = dict(message.get("Attributes", {}))
                seen[message["MessageId"]] = DeadLetter(
                    message_id=message["MessageId"],
                    receipt_handle=message["ReceiptHandle"],
                    body=message["Body"],
                    receive_count=int(attributes.get("ApproximateReceiveCount", "0")),
                    first_received_at=_epoch_ms(attributes.get("ApproximateFirstReceiveTimestamp")),
                    # Sent back as received, minus the list values SendMessage does not take.
                    attributes={
                        name: {
                            k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")
                        }
                        for name, value in message.get("MessageAttributes", {}).items()
                    },
                )

    def _release(self, letters: Iterable[DeadLetter]) -> None:
        for letter in letters:
            self._client.change_message_visibility(
                QueueUrl=self.dlq_url, ReceiptHandle=letter.receipt_handle, VisibilityTimeout=0
            )

    def messages(self) -> list[DeadLetter]:
        """What the DLQ holds, oldest first receive first; every message stays in it."""
        letters = self._receive_all(LIST_HOLD_SECONDS)
        self._release(letters)
        return sorted(letters, key=lambda m: m.first_received_at or datetime.max.replace(tzinfo=UTC))

    def redrive(self, chosen: Callable[[DeadLetter], bool] = lambda _: True) -> list[DeadLetter]:
        """Move the messages `chosen` accepts back to the source queue (send, then delete)."""
        letters = self._receive_all(LIST_HOLD_SECONDS)
        moved = [m for m in letters if chosen(m)]
        self._release(m for m in letters if not chosen(m))
        for letter in moved:
            self._client.send_message(
                QueueUrl=self.source_url, MessageBody=letter.body, MessageAttributes=letter.attributes
            )
            self._client.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=letter.receipt_handle)
        return moved
