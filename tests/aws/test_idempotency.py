"""A redelivered notice runs once (Powertools Idempotency on moto); a failed one runs again."""

from __future__ import annotations

import pytest

from shared.aws.idempotency import OncePerNotice
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.results import SyncReport
from tests.fakes import FakeMetrics


def _notice(event_id: str) -> ChangeNotice:
    return ChangeNotice(
        provider=SystemName.SALESFORCE,
        event_id=event_id,
        entity=EntityType.ACCOUNT,
        vendor_type="Account",
        record_id="001A",
        operation=Operation.CHANGED,
        realm="00D",
    )


def test_the_same_notice_is_processed_once_and_counted_as_a_duplicate(dynamodb) -> None:
    seen: list[str] = []
    metrics = FakeMetrics()

    def process(notice: ChangeNotice) -> SyncReport:
        seen.append(notice.event_id)
        return SyncReport()

    once = OncePerNotice(process, table_name="idempotency", metrics=metrics, client=dynamodb)
    once(_notice("04l1"))
    once(_notice("04l1"))
    once(_notice("04l2"))
    assert seen == ["04l1", "04l2"]
    assert metrics.totals["DuplicatesPrevented"] == 1


def test_a_notice_whose_processing_failed_is_processed_again(dynamodb) -> None:
    attempts: list[int] = []

    def flaky(notice: ChangeNotice) -> SyncReport:
        attempts.append(1)
        if len(attempts) == 1:
            raise TimeoutError("QuickBooks did not answer")
        return SyncReport()

    once = OncePerNotice(flaky, table_name="idempotency", metrics=FakeMetrics(), client=dynamodb)
    with pytest.raises(TimeoutError):
        once(_notice("04l9"))
    once(_notice("04l9"))
    assert len(attempts) == 2
