"""The cash feedback handler answers a notice that must wait as an item failure, not a function error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.cash_feedback.handler import handler
from shared import bootstrap
from shared.domain.errors import ConflictError
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation


@dataclass
class Context:
    function_name: str = "cash-feedback"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cash-feedback"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class ReportHeldElsewhere:
    """The use case as another worker's report lease leaves it: every notice must wait."""

    def on_notice(self, notice: ChangeNotice) -> list[str]:
        raise ConflictError(f"invoice {notice.record_id} is being reported by another worker; retried")


class Services:
    cash_feedback = ReportHeldElsewhere()

    @contextmanager
    def queued_notice(self, notice: ChangeNotice, record: Any, *, step: str) -> Iterator[None]:
        yield


def _record(message_id: str) -> dict[str, Any]:
    notice = ChangeNotice(
        provider=SystemName.QUICKBOOKS,
        event_id=f"evt-{message_id}",
        entity=EntityType.INVOICE,
        vendor_type="Invoice",
        record_id="130",
        operation=Operation.UPDATED,
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": json.dumps({"detail": notice.model_dump(mode="json")}),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:cash-changes",
        "awsRegion": "us-east-1",
    }


def test_a_batch_whose_every_notice_must_wait_is_redelivered_without_a_function_error() -> None:
    # given an invoice another worker is reporting
    bootstrap.override(Services())  # type: ignore[arg-type]
    try:
        # when a batch of only notices about it arrives
        answer = handler({"Records": [_record("m-1"), _record("m-2")]}, Context())
    finally:
        bootstrap.override(None)
    # then each comes back for redelivery, and the function did not fail (no error alarm for a wait)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}
