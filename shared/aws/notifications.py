"""`Notifier` port on an SNS topic (delivery operations, approval reminders)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3

# SNS subjects are at most 100 printable ASCII characters.
# https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
SUBJECT_MAX = 100


class SnsNotifier:
    """Publishes to one topic; attributes let subscribers filter (kind = engagement_activated, ...)."""

    # Typed Any: the project pins no mypy_boto3_sns stubs (pyproject is not ours to change here).
    def __init__(self, topic_arn: str, *, client: Any = None) -> None:
        self._topic = topic_arn
        self._client: Any = client or boto3.client("sns")

    def notify(self, subject: str, message: str, *, attributes: Mapping[str, str] | None = None) -> None:
        safe_subject = "".join(c if 32 <= ord(c) < 127 else "?" for c in subject)[:SUBJECT_MAX]
        values: dict[str, dict[str, str]] = {
            key: {"DataType": "String", "StringValue": value} for key, value in (attributes or {}).items()
        }
        self._client.publish(
            TopicArn=self._topic, Subject=safe_subject, Message=message, MessageAttributes=values
        )
