"""SQS on moto at a cost per received message that does not grow with the queue (moto 5.2.5).

moto checks each message it hands out against the queue's retention period by asking for the
queue's attributes, and those are computed afresh each time, counting every message in the queue
(ApproximateNumberOfMessages and the like) three times over. With a backlog of a thousand notices a
ReceiveMessage of ten walked the queue some ninety times. Here the check reads the retention period
alone; what is received, and when a message has outlived its retention, is unchanged.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
"""

from __future__ import annotations

from typing import Any

from moto.core.utils import unix_time
from moto.sqs.models import Message, SQSBackend


def is_message_valid_based_on_retention_period(self: SQSBackend, queue_name: str, message: Message) -> bool:
    """moto's check, reading `MessageRetentionPeriod` from the queue instead of all its attributes."""
    queue: Any = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000  # type: ignore[operator]
    return bool(retain_until > unix_time())
