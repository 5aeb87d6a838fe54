"""The delivery flow states what it reads: approvals (billable or not), corrections, withdrawals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.engagement_ports import EngagementStatus
from shared.domain.errors import TransientError
from shared.domain.events import ExpenseApproved, RecordWithdrawn, TimeApproved
from shared.domain.notices import Operation
from shared.domain.postings import Approval, PostingState, WorkKind
from shared.sync.delivery.facts import hours_of
from tests.engagement_fakes import FakeEvents
from tests.sync.test_delivery import PROJECT, World


class FailingBus:
    """A bus that is down: every publish fails as the EventBridge adapter then does."""

    def __init__(self) -> None:
        self.calls = 0

    def publish_events(self, events: list[Any]) -> None:
        self.calls += 1
        raise TransientError("EventBridge did not take 1 event(s)")


class FactWorld(World):
    """The delivery test world, with the bus the flow publishes its facts on."""

    def __init__(self) -> None:
        super().__init__(bus=FakeEvents())

    def of(self, cls: type) -> list[Any]:
        return [e for e in self.bus.events if isinstance(e, cls)]


def test_an_approved_entry_is_stated_once_with_its_hours_rate_and_amount() -> None:
    # given 55 minutes logged as a Consultant (180.00 an hour) on a booked engagement, then approved
    world = FactWorld()
    world.book()
    entry = world.psa.log(PROJECT, "Consultant", 55, note="Workshop")
    world.clock.advance(minutes=5)
    world.psa.approve(entry)
    # when its notice arrives, and the sweep reads it again later
    world.sync.on_notices([world.notice(entry)])
    world.clock.advance(minutes=15)
    world.sync.sweep(WorkKind.TIME, look_back=timedelta(days=1), overlap=timedelta(minutes=10))
    # then the bus carries one "time approved" whose amount equals what accounting was posted
    [fact] = world.of(TimeApproved)
    [posting] = world.qbo.postings()
    assert fact.data.amount == posting.amount  # type: ignore[attr-defined]
    assert (fact.data.rate.amount, fact.data.billable, fact.data.role) == (
        Decimal("180.00"),
        True,
        "Consultant",
    )
    assert (fact.data.project.id, fact.subject, fact.correlation_id) == (
        PROJECT,
        entry,
        world.record(entry).key,
    )
    # and it happened when the PSA changed the entry, not when the hub read it
    assert fact.occurred_at == world.psa.works[WorkKind.TIME, entry].changed_at


def test_the_same_entry_read_twice_is_the_same_event_and_a_correction_a_new_one() -> None:
    # given an approved entry parked (its engagement is not active yet), so each release reads it again
    world = FactWorld()
    world.book(EngagementStatus.DRAFT)
    entry = world.psa.log(PROJECT, "Consultant", 60)
    world.psa.approve(entry)
    world.sync.on_notices([world.notice(entry)])
    # when it is read a second time, unchanged
    world.sync.release()
    # then both reads state the same event (landing counts it once)
    first, again = world.of(TimeApproved)
    assert again.id == first.id and again == first
    # when the engagement is active and the person corrects the hours in the PSA
    world.book()
    world.sync.release()
    world.clock.advance(minutes=3)
    world.psa.change(WorkKind.TIME, entry, minutes=90)
    world.sync.on_notices([world.notice(entry)])
    # then one new event, with its own id and the new figures, supersedes the first
    assert len({e.id for e in world.of(TimeApproved)}) == 2
    newer = world.of(TimeApproved)[-1]
    assert (newer.data.hours, newer.data.amount.amount) == (Decimal("1.5"), Decimal("270.00"))
    assert newer.occurred_at > first.occurred_at


def test_non_billable_approved_time_is_stated_too_for_utilization() -> None:
    # given an internal hour, approved but not billable, and a role the rate card does not price
    world = FactWorld()
    world.book()
    internal = world.psa.log(PROJECT, "Consultant", 60, billable=False)
    training = world.psa.log(PROJECT, "Trainee", 30, billable=False)
    world.psa.approve(internal)
    world.psa.approve(training)
    world.sync.on_notices([world.notice(internal), world.notice(training)])
    # then both are stated (no posting), one at the card's rate, the other at a nil rate
    facts = {f.subject: f.data for f in world.of(TimeApproved)}
    assert world.qbo.postings() == []
    assert (facts[internal].billable, facts[internal].rate.amount) == (False, Decimal("180.00"))
    assert (facts[training].hours, facts[training].rate.amount) == (Decimal("0.5"), Decimal("0"))


def test_an_approved_expense_is_stated_with_its_amount() -> None:
    world = FactWorld()
    world.book()
    expense = world.psa.spend(PROJECT, "42.50")
    world.psa.approve(expense, WorkKind.EXPENSE)
    world.sync.on_notices([world.notice(expense, WorkKind.EXPENSE)])
    [fact] = world.of(ExpenseApproved)
    assert (fact.data.amount.amount, fact.data.category, fact.data.billable) == (
        Decimal("42.50"),
        "Expenses",
        True,
    )


def test_pending_work_is_not_stated_and_one_batch_is_one_publish_call() -> None:
    # given twelve approved entries and one still pending, in one notice batch
    world = FactWorld()
    world.book()
    entries = [world.psa.log(PROJECT, "Consultant", 30) for _ in range(12)]
    pending = world.psa.log(PROJECT, "Consultant", 30)
    for entry in entries:
        world.psa.approve(entry)
    world.sync.on_notices([world.notice(e) for e in [*entries, pending]])
    # then twelve events go out in one call (the adapter chunks by PutEvents' 10), the pending one none
    assert [len(call) for call in world.bus.calls] == [12]
    assert pending not in {f.subject for f in world.of(TimeApproved)}


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("deleted", "deleted in the PSA"),
        ("unapproved", "no longer approved in the PSA"),
        ("rejected", "rejected in the PSA"),
    ],
)
def test_an_approval_withdrawn_in_the_psa_is_stated_as_withdrawn(how: str, reason: str) -> None:
    # given an approved, posted entry
    world = FactWorld()
    world.book()
    entry = world.posted_entry()
    world.clock.advance(minutes=2)
    # when it is deleted, un-approved or rejected in the PSA
    if how == "deleted":
        world.psa.delete(entry)
        notice = world.notice(entry, operation=Operation.DELETED)
    else:
        world.psa.change(
            WorkKind.TIME, entry, approval=Approval.PENDING if how == "unapproved" else Approval.REJECTED
        )
        notice = world.notice(entry)
    world.sync.on_notices([notice])
    # then the bus says its approval is withdrawn, and why, once
    [withdrawn] = world.of(RecordWithdrawn)
    assert withdrawn.data.withdraws == "close2cash.time.approved"
    assert (withdrawn.data.record.id, withdrawn.data.reason) == (entry, reason)
    assert withdrawn.occurred_at > world.of(TimeApproved)[0].occurred_at
    assert world.record(entry).state is PostingState.REMOVED
    world.sync.on_notices([notice])
    assert len(world.of(RecordWithdrawn)) == 1


def test_a_deleted_non_billable_entry_is_withdrawn_too() -> None:
    # given an approved internal hour (never posted)
    world = FactWorld()
    world.book()
    internal = world.psa.log(PROJECT, "Consultant", 60, billable=False)
    world.psa.approve(internal)
    world.sync.on_notices([world.notice(internal)])
    # when it is deleted in the PSA
    world.clock.advance(minutes=1)
    world.psa.delete(internal)
    world.sync.on_notices([world.notice(internal, operation=Operation.DELETED)])
    # then its approval is withdrawn (utilization no longer counts it)
    [withdrawn] = world.of(RecordWithdrawn)
    assert withdrawn.data.record.id == internal


def test_a_bus_that_fails_loses_no_fact_the_redelivery_states_it() -> None:
    # given the bus down when an approved entry's notice is handled
    world = FactWorld()
    world.book()
    entry = world.psa.log(PROJECT, "Consultant", 60)
    world.psa.approve(entry)
    world.bus = FailingBus()
    with pytest.raises(TransientError):
        world.sync.on_notices([world.notice(entry)])
    # then nothing was recorded as handled (nor posted), so the redelivery is not skipped
    assert world.qbo.postings() == []
    world.bus = FakeEvents()
    world.sync.on_notices([world.notice(entry)])
    [fact] = world.of(TimeApproved)
    assert fact.subject == entry and len(world.qbo.postings()) == 1


def test_hours_are_exact_or_rounded_up_at_the_tenth_place() -> None:
    assert hours_of(90) == Decimal("1.5")
    assert hours_of(55) == Decimal("0.9166666667")
    assert hours_of(20) == Decimal("0.3333333334")
