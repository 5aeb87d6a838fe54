"""SQS visibility: a message whose work must wait (Retry-After, a full budget) comes back after the wait.

A Lambda must not sleep past its timeout, and the queue's own visibility timeout (six times the
function's) is unrelated to what the vendor asked for. So when a record fails with a wait the
vendor named (`TransientError.retry_after`), the handler sets that record's visibility timeout to
the wait and reports it as a batch item failure: SQS hands it out again when the wait is over,
without counting anything but one more receive.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

from shared.domain.errors import TransientError
from shared.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS's ceiling for a visibility timeout: 12 hours (ChangeMessageVisibility, above).
MAX_VISIBILITY_SECONDS = 43_200


def queue_url(queue_arn: str) -> str:
    """The queue URL of `arn:aws:sqs:<region>:<account>:<name>` (what ChangeMessageVisibility takes)."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {queue_arn!r}")
    _, partition, _, region, account, name = parts
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{suffix}/{account}/{name}"


class SqsMessageDelay:
    """Delays one received SQS message by the wait its failure asked for."""

    def __init__(self, *, client: SQSClient | None = None) -> None:
        self._client = client

    def _sqs(self) -> SQSClient:
        if self._client is None:
            self._client = boto3.client("sqs")
        return self._client

    def delay(self, queue_arn: str, receipt_handle: str, seconds: float) -> int:
        """Make the message invisible for `seconds` (rounded up, at most 12 h); returns what was set."""
        timeout = min(MAX_VISIBILITY_SECONDS, max(1, math.ceil(seconds)))
        self._sqs().change_message_visibility(
            QueueUrl=queue_url(queue_arn), ReceiptHandle=receipt_handle, VisibilityTimeout=timeout
        )
        return timeout

    @contextmanager
    def on_retry_after(self, queue_arn: str, receipt_handle: str) -> Iterator[None]:
        """Around one record: a TransientError with `retry_after` delays the message, then propagates."""
        try:
            yield
        except TransientError as exc:
            if exc.retry_after is not None and exc.retry_after > 0:
                try:
                    timeout = self.delay(queue_arn, receipt_handle, exc.retry_after)
                    logger.info("message delayed", seconds=timeout, reason=str(exc))
                except ClientError:
                    # The message still comes back, after the queue's own visibility timeout.
                    logger.exception("could not delay the message; the queue's visibility timeout applies")
            raise
