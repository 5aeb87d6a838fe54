"""SQS on moto at a cost per sent or received message that does not grow with the queue (moto 5.2.5).

moto checks each message it hands out against the queue's retention period by asking for the
queue's attributes, and those are computed afresh each time, counting every message in the queue
(ApproximateNumberOfMessages and the like) three times over. With a backlog of a thousand notices a
ReceiveMessage of ten walked the queue some ninety times. Here the check reads the retention period
alone; what is received, and when a message has outlived its retention, is unchanged. SendMessage
asked for the same attributes to read ContentBasedDeduplication, which only a FIFO queue has: it is
read from the queue itself, and everything else SendMessage does is moto's.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
"""

from __future__ import annotations

import hashlib
import string
from typing import Any

from moto.core.utils import unix_time
from moto.moto_api._internal import mock_random as random
from moto.sqs.exceptions import InvalidParameterValue
from moto.sqs.models import MAXIMUM_MESSAGE_DELAY, Message, SQSBackend


def is_message_valid_based_on_retention_period(self: SQSBackend, queue_name: str, message: Message) -> bool:
    """moto's check, reading `MessageRetentionPeriod` from the queue instead of all its attributes."""
    queue: Any = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000  # type: ignore[operator]
    return bool(retain_until > unix_time())


def send_message(
    self: SQSBackend,
    queue_name: str,
    message_body: str,
    message_attributes: dict[str, Any] | None = None,
    delay_seconds: int | None = None,
    deduplication_id: str | None = None,
    group_id: str | None = None,
    system_attributes: dict[str, Any] | None = None,
    validate_group_id: bool = True,
) -> Message:
    """moto's `SQSBackend.send_message`, line for line, but for where ContentBasedDeduplication is read."""
    queue: Any = self.get_queue(queue_name)
    self._validate_message(
        queue,
        message_body=message_body,
        delay_seconds=int(delay_seconds or 0),
        deduplication_id=deduplication_id,
        group_id=group_id,
        validate_group_id=validate_group_id,
    )
    delay = int(delay_seconds) if delay_seconds is not None else int(queue.delay_seconds)
    message = Message(str(random.uuid4()), message_body, system_attributes)
    # A standard queue has no ContentBasedDeduplication (a FIFO attribute): no need to count its messages.
    if queue.fifo_queue and str(queue.content_based_deduplication).lower() == "true":
        message.deduplication_id = hashlib.sha256(message_body.encode("utf-8")).hexdigest()
    if deduplication_id is not None:
        message.deduplication_id = deduplication_id
        message.sequence_number = "".join(random.choice(string.digits) for _ in range(20))
    if group_id is not None:
        message.group_id = group_id
    if message_attributes:
        message.message_attributes = message_attributes
    if delay > MAXIMUM_MESSAGE_DELAY:
        raise InvalidParameterValue(
            f"Value {delay} for parameter DelaySeconds is invalid. "
            "Reason: DelaySeconds must be >= 0 and <= 900."
        )
    message.mark_sent(delay_seconds=delay)
    queue.add_message(message)
    return message
