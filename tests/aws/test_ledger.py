"""The DynamoDB ledger on moto: references both ways, notices claimed once, leases exclusive."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from shared.aws.events import EventBridgePublisher
from shared.aws.ledger import DynamoLedger
from shared.aws.ledger_notices import NOTICE_CLAIM_SECONDS
from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import CrossReference, ExceptionRecord, NoticeClaim, SyncAction

SF = SourceRef(system=SystemName.SALESFORCE, type="Account", id="001A", version="2026-11-28T10:00:00Z")
QBO = SourceRef(system=SystemName.QUICKBOOKS, type="customer", id="58", version="0")


@pytest.fixture
def ledger(dynamodb) -> DynamoLedger:
    return DynamoLedger("ledger", client=dynamodb)


def _notice(event_id: str) -> ChangeNotice:
    return ChangeNotice(
        provider=SystemName.QUICKBOOKS,
        event_id=event_id,
        entity=EntityType.ACCOUNT,
        vendor_type="Customer",
        record_id="58",
        operation=Operation.UPDATED,
        realm="9130",
    )


def test_a_recorded_sync_is_found_from_the_source_and_from_the_target(ledger: DynamoLedger) -> None:
    xref = CrossReference(
        entity=EntityType.ACCOUNT, source=SF, target=QBO, checksum="abc", synced_at=datetime.now(UTC)
    )
    ledger.record_sync(xref, SyncAction.CREATED)
    assert ledger.cross_reference(EntityType.ACCOUNT, SF, SystemName.QUICKBOOKS) == xref
    assert ledger.cross_reference(EntityType.ACCOUNT, SF, SystemName.PRODUCTIVE) is None
    found = ledger.find_by_target(
        EntityType.ACCOUNT, SourceRef(system=SystemName.QUICKBOOKS, type="Customer", id="58")
    )
    assert found is not None and found.source == SF and found.checksum == "abc"
    assert ledger.cross_references(EntityType.ACCOUNT, SF) == [xref]


def test_the_references_of_an_account_name_the_version_each_copy_was_written_from(
    ledger: DynamoLedger,
) -> None:
    # given a copy written from one version of the account
    xref = CrossReference(
        entity=EntityType.ACCOUNT, source=SF, target=QBO, checksum="abc", synced_at=datetime.now(UTC)
    )
    ledger.record_sync(xref, SyncAction.CREATED)
    # when the references are looked up by the account alone (no version: the sweep does not know it)
    unversioned = SF.model_copy(update={"version": None})
    # then they say which version was written, as the lookup by target does
    assert [x.source.version for x in ledger.cross_references(EntityType.ACCOUNT, unversioned)] == [
        SF.version
    ]
    found = ledger.cross_reference(EntityType.ACCOUNT, unversioned, SystemName.QUICKBOOKS)
    assert found is not None and found.source == SF


def test_a_notice_is_claimed_by_one_request_until_published(ledger: DynamoLedger) -> None:
    # given a notice claimed by one request
    assert ledger.claim_notice(_notice("e1"), holder="a") is NoticeClaim.CLAIMED
    # when the same notice arrives again while that request is still publishing
    # then the second request is told it is in flight, not handed the notice too
    assert ledger.claim_notice(_notice("e1"), holder="b") is NoticeClaim.IN_FLIGHT
    # and once published every redelivery is a duplicate
    ledger.mark_published(_notice("e1"))
    assert ledger.claim_notice(_notice("e1"), holder="c") is NoticeClaim.PUBLISHED
    assert ledger.claim_notice(_notice("e2"), holder="c") is NoticeClaim.CLAIMED


def test_notices_claimed_in_bulk_are_each_answered_as_claimed_alone(dynamodb) -> None:
    now = [1_800_000_000.0]
    ledger = DynamoLedger("ledger", client=dynamodb, clock=lambda: now[0])
    # given a notification of 250 notices (more than one transaction holds) of which one was
    # published already, one is held by a live request and one by a request that died long ago
    notices = [_notice(f"e{n}") for n in range(250)]
    ledger.claim_notice(notices[7], holder="earlier")
    ledger.mark_published(notices[7])
    ledger.claim_notice(notices[120], holder="dead")
    now[0] += NOTICE_CLAIM_SECONDS + 1
    ledger.claim_notice(notices[230], holder="live")
    # when one request claims them all at once
    claims = ledger.claim_notices(notices, holder="bulk")
    # then each is answered as one claim would be, in order: only the live request's is held back
    assert claims[7] is NoticeClaim.PUBLISHED
    assert claims[230] is NoticeClaim.IN_FLIGHT
    assert [n for n, claim in enumerate(claims) if claim is NoticeClaim.CLAIMED] == [
        n for n in range(250) if n not in (7, 230)
    ]
    # and once marked published in bulk, every redelivery is a duplicate
    claimed = [notice for notice, claim in zip(notices, claims, strict=True) if claim is NoticeClaim.CLAIMED]
    ledger.mark_all_published(claimed)
    again = ledger.claim_notices(notices, holder="redelivery")
    assert again.count(NoticeClaim.PUBLISHED) == 249
    assert again[230] is NoticeClaim.IN_FLIGHT


def test_a_released_claim_lets_the_redelivery_through_at_once(ledger: DynamoLedger) -> None:
    # given a request whose publish failed (the bus answered 503) and released its claim
    assert ledger.claim_notice(_notice("e1"), holder="a") is NoticeClaim.CLAIMED
    ledger.release_notice(_notice("e1"), holder="a")
    # then the vendor's redelivery claims it
    assert ledger.claim_notice(_notice("e1"), holder="b") is NoticeClaim.CLAIMED
    # and a late release by the first request does not free the second one's claim
    ledger.release_notice(_notice("e1"), holder="a")
    assert ledger.claim_notice(_notice("e1"), holder="c") is NoticeClaim.IN_FLIGHT


def test_a_stuck_claim_is_taken_over_only_after_the_claim_timeout(dynamodb) -> None:
    now = [1_800_000_000.0]
    ledger = DynamoLedger("ledger", client=dynamodb, clock=lambda: now[0])
    # given a request that claimed a notice and died before publishing or releasing it
    assert ledger.claim_notice(_notice("e1"), holder="dead") is NoticeClaim.CLAIMED
    # when a redelivery arrives within the webhook function's timeout, it is held off
    now[0] += 10
    assert ledger.claim_notice(_notice("e1"), holder="b") is NoticeClaim.IN_FLIGHT
    # and one after the claim timeout takes the notice over
    now[0] += NOTICE_CLAIM_SECONDS
    assert ledger.claim_notice(_notice("e1"), holder="c") is NoticeClaim.CLAIMED


def test_twenty_concurrent_claims_of_one_notice_give_it_to_exactly_one(ledger: DynamoLedger) -> None:
    # given 20 requests carrying the same notice at the same moment
    with ThreadPoolExecutor(max_workers=20) as pool:
        claims = list(pool.map(lambda n: ledger.claim_notice(_notice("e1"), holder=f"h{n}"), range(20)))
    # then one of them claims it and the others see it in flight
    assert claims.count(NoticeClaim.CLAIMED) == 1
    assert claims.count(NoticeClaim.IN_FLIGHT) == 19


def test_a_lease_is_exclusive_until_released(ledger: DynamoLedger) -> None:
    assert ledger.acquire_lease("account:001A", "w1", 60) is True
    assert ledger.acquire_lease("account:001A", "w2", 60) is False
    ledger.release_lease("account:001A", "w2")  # not the holder: no effect
    assert ledger.acquire_lease("account:001A", "w2", 60) is False
    ledger.release_lease("account:001A", "w1")
    assert ledger.acquire_lease("account:001A", "w2", 60) is True


OPENED = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _exception(exception_id: str, kind: str, reason: str) -> ExceptionRecord:
    return ExceptionRecord(
        id=exception_id, kind=kind, entity=EntityType.ACCOUNT, subject=QBO, reason=reason, opened_at=OPENED
    )


def test_the_same_exception_twice_stays_one_record(ledger: DynamoLedger) -> None:
    opened = OPENED
    record = _exception("drift:quickbooks:58:e1", "drift", "edited")
    assert ledger.record_exception(record) is True
    assert ledger.record_exception(record.model_copy(update={"opened_at": datetime.now(UTC)})) is False
    [only] = ledger.open_exceptions()
    assert only["opened_at"] == opened.isoformat() and only["kind"] == "drift"


def test_a_resolved_exception_leaves_the_open_list_and_opens_again_when_it_recurs(
    ledger: DynamoLedger,
) -> None:
    opened = OPENED
    record = _exception(
        "setup:opp-006A-1", "engagement_setup_failed", "step generate_shell failed: class inactive"
    )
    ledger.record_exception(record)
    resolved_at = opened + timedelta(hours=2)
    assert ledger.resolve_exception(record.id, resolution="engagement active", at=resolved_at) == opened
    assert ledger.resolve_exception(record.id, resolution="again", at=resolved_at) is None  # not open
    assert ledger.resolve_exception("setup:unknown", resolution="x", at=resolved_at) is None
    assert ledger.open_exceptions() == []
    [kept] = ledger.exceptions()
    assert kept["state"] == "resolved" and kept["resolution"] == "engagement active"
    assert kept["id"] == record.id and kept["resolved_at"] == resolved_at.isoformat()
    # the same failure on a later retry is open again, with its new reason and time
    later = opened + timedelta(days=1)
    assert ledger.record_exception(
        record.model_copy(update={"reason": "step activate failed", "opened_at": later})
    )
    [again] = ledger.open_exceptions()
    assert again["reason"] == "step activate failed" and again["opened_at"] == later.isoformat()


def test_notices_reach_the_bus_in_chunks_of_ten() -> None:
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        events.create_event_bus(Name="close2cash")
        publisher = EventBridgePublisher("close2cash", client=events)
        publisher.publish([_notice(f"e{i}") for i in range(23)])
        assert publisher.calls == 3


def test_domain_events_the_bus_cannot_take_fail_transient_so_the_message_is_retried() -> None:
    from shared.domain.errors import TransientError
    from shared.domain.events import AccountChanged
    from shared.domain.models import Account

    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        # given no bus of that name (EventBridge answers ResourceNotFoundException)
        publisher = EventBridgePublisher("no-such-bus", client=events)
        fact = AccountChanged.fact(Account(source=SF, name="Acme"), correlation_id="c")
        # when an event is published, then the caller sees a transient failure, not a lost fact
        with pytest.raises(TransientError):
            publisher.publish_events([fact])
