"""Queue workers' failures: retried quietly, until the last receive or a failure no retry can fix."""

from __future__ import annotations

import pytest

from shared.domain.errors import NotFoundError, TransientError
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.sync.exceptions import LastReceive, dead_letter_exception_id
from tests.fakes import FakeMetrics, InMemoryLedger

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:close2cash-account-changes"
NOTICE = ChangeNotice(
    provider=SystemName.SALESFORCE,
    event_id="n1",
    entity=EntityType.ACCOUNT,
    vendor_type="Account",
    record_id="001A",
    operation=Operation.CHANGED,
)


def _guard(ledger: InMemoryLedger) -> LastReceive:
    return LastReceive(ledger=ledger, metrics=FakeMetrics(), max_receive_count=lambda arn: 5)


def test_a_transient_failure_before_the_last_receive_is_retried_without_an_exception() -> None:
    ledger = InMemoryLedger()
    with (
        pytest.raises(TransientError),
        _guard(ledger).guard(NOTICE, step="account_sync", queue_arn=QUEUE_ARN, receive_count=4),
    ):
        raise TransientError("503 from salesforce")
    assert ledger.exceptions == {}


def test_the_last_receive_opens_an_exception_saying_dlq_and_how_to_redrive() -> None:
    ledger = InMemoryLedger()
    with (
        pytest.raises(TransientError),
        _guard(ledger).guard(NOTICE, step="account_sync", queue_arn=QUEUE_ARN, receive_count=5),
    ):
        raise TransientError("503 from salesforce")
    exception = ledger.exceptions[dead_letter_exception_id(NOTICE)]
    assert exception.kind == "dead_lettered" and exception.step == "account_sync"
    assert "dead-letter queue" in exception.reason
    assert "close2cash dlq redrive close2cash-account-changes" in exception.reason
    assert "001A" in exception.reason


def test_a_permanent_failure_opens_its_exception_on_the_first_receive() -> None:
    ledger = InMemoryLedger()
    with (
        pytest.raises(NotFoundError),
        _guard(ledger).guard(NOTICE, step="account_sync", queue_arn=QUEUE_ARN, receive_count=1),
    ):
        raise NotFoundError("no such connection")
    (exception,) = ledger.exceptions.values()
    assert exception.kind == "NotFoundError" and "no such connection" in exception.reason
