"""Approved billable work reaches accounting exactly once: the delivery sync use case against fakes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.domain.delivery_ports import BookedEngagement
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.postings import Approval, Posting, PostingState, WorkKind, work_key
from shared.governance.landscape import Landscape
from shared.governance.loader import load_landscape, parse_landscape
from shared.governance.mappings import Mappings
from shared.governance.routing import Routing
from shared.sync.delivery.sync import DeliverySync
from tests.delivery_fakes import FakeAccounting, FakePsa, InMemoryPostings
from tests.fakes import FakeMetrics, HandClock, InMemoryLedger

DEMO = Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml"
PROJECT = "7001"


class World:
    def __init__(
        self,
        landscape_text: str | None = None,
        *,
        targets: tuple[SystemName, ...] = (SystemName.QUICKBOOKS,),
        bus: Any = None,
    ) -> None:
        self.bus = bus  # the bus the flow states its facts on (None: it states none)
        self.clock = HandClock(datetime(2026, 11, 3, 9, 0, tzinfo=UTC))
        landscape = parse_landscape(landscape_text) if landscape_text else load_landscape(DEMO)
        self.psa = FakePsa(self.clock)
        self.accounting = {system: FakeAccounting(system) for system in targets}
        self.store = InMemoryPostings()
        self.ledger = InMemoryLedger()
        self.metrics = FakeMetrics()
        self.sync = self.sync_under(landscape)

    def sync_under(self, landscape: Landscape) -> DeliverySync:
        """The delivery flow under `landscape`, on this world's PSA, accounting, store and ledger."""
        return DeliverySync(
            source=lambda: self.psa,
            target=lambda system: self.accounting[system],
            connected=lambda system: system in self.accounting,
            store=self.store,
            ledger=self.ledger,
            metrics=self.metrics,
            mappings=Mappings(landscape),
            routing=Routing(landscape),
            clock=self.clock,
            events=(lambda: self.bus) if self.bus is not None else None,
        )

    @property
    def qbo(self) -> FakeAccounting:
        return self.accounting[SystemName.QUICKBOOKS]

    def book(
        self,
        status: EngagementStatus = EngagementStatus.ACTIVE,
        *,
        project: str = PROJECT,
        rates: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.store.save_engagement(
            BookedEngagement(
                psa=SourceRef(system=SystemName.PRODUCTIVE, type="projects", id=project),
                opportunity=SourceRef(system=SystemName.SALESFORCE, type="opportunity", id="006A"),
                name="Acme rollout",
                legal_entity="US01",
                currency="USD",
                status=status,
                accounting={system: "88" for system in self.accounting},
                dimensions={"accounting_class": "100000000000128001", "department": "1", "location": "3"},
                rates=dict(rates or {"Consultant": Decimal("180.00"), "Partner": Decimal("350.00")}),
                updated_at=self.clock(),
            )
        )

    def notice(
        self, entry_id: str, kind: WorkKind = WorkKind.TIME, operation: Operation = Operation.UPDATED
    ) -> ChangeNotice:
        work = self.psa.works.get((kind, entry_id))
        return ChangeNotice(
            provider=SystemName.PRODUCTIVE,
            event_id=f"evt-{entry_id}-{self.clock().timestamp()}",
            entity=EntityType.TIME_ENTRY if kind is WorkKind.TIME else EntityType.EXPENSE_ENTRY,
            vendor_type="time_entries" if kind is WorkKind.TIME else "expenses",
            record_id=entry_id,
            operation=operation,
            occurred_at=work.changed_at if work is not None else self.clock(),
        )

    def posted_entry(self, minutes: int = 60, role: str = "Consultant") -> str:
        """An entry logged, approved and posted on the booked engagement."""
        entry = self.psa.log(PROJECT, role, minutes)
        self.psa.approve(entry)
        self.sync.on_notices([self.notice(entry)])
        return entry

    def record(self, entry_id: str, kind: WorkKind = WorkKind.TIME):
        return self.store.records[work_key(SystemName.PRODUCTIVE, kind, entry_id)]


def test_an_approved_entry_posts_once_with_its_minutes_rate_and_codes() -> None:
    # given an active engagement and 55 minutes logged as a Consultant, then approved
    world = World()
    world.book()
    entry = world.psa.log(PROJECT, "Consultant", 55, note="Workshop")
    world.clock.advance(minutes=5)
    world.psa.approve(entry)
    # when its notice arrives twice (a redelivery)
    world.sync.on_notices([world.notice(entry)])
    calls = world.psa.calls
    report = world.sync.on_notices([world.notice(entry)])
    # then QuickBooks holds one record: 55 minutes at 180.00 is 165.00 exactly, on the sub-customer
    [posting] = world.qbo.postings()
    assert isinstance(posting, Posting)
    assert (posting.minutes, str(posting.amount.amount), posting.customer, posting.item) == (
        55,
        "165.00",
        "88",
        "9003",
    )
    # the engagement's class, department and location as the ledger names them
    codes = (posting.accounting_class, posting.department, posting.location)
    assert codes == ("100000000000128001", "1", "3")
    assert (posting.tax_code, posting.worker) == ("NON", "55")
    assert "close2cash productive/time_entries/" in posting.description and "Workshop" in posting.description
    # and the redelivery was not even fetched from the PSA
    assert report.skipped == 1 and world.psa.calls == calls
    assert world.record(entry).state is PostingState.POSTED


def test_unapproved_and_non_billable_work_never_posts() -> None:
    world = World()
    world.book()
    pending = world.psa.log(PROJECT, "Consultant", 60)
    internal = world.psa.log(PROJECT, "Consultant", 60, billable=False)
    world.psa.approve(internal)
    world.sync.on_notices([world.notice(pending), world.notice(internal)])
    assert world.qbo.postings() == []


def test_sweep_and_webhook_overlap_post_each_entry_once() -> None:
    # given 25 approved entries whose webhooks were lost for 20 of them
    world = World()
    world.book()
    entries = [world.psa.log(PROJECT, "Consultant", 30 + i) for i in range(25)]
    world.clock.advance(minutes=1)
    for entry in entries:
        world.psa.approve(entry)
    world.sync.on_notices([world.notice(e) for e in entries[:5]])
    # when the sweep reads everything changed, and then a late webhook arrives
    world.clock.advance(minutes=15)
    world.sync.sweep(WorkKind.TIME, look_back=timedelta(days=1), overlap=timedelta(minutes=10))
    world.sync.on_notices([world.notice(entries[-1])])
    # then accounting holds 25 records, written in batches of 10
    assert len(world.qbo.postings()) == 25
    assert world.qbo.batch_calls == 1 + 2  # 5 from the webhook batch, 20 from the sweep
    # and a second sweep finds nothing new to write
    world.clock.advance(minutes=15)
    world.sync.sweep(WorkKind.TIME, look_back=timedelta(days=1), overlap=timedelta(minutes=10))
    assert len(world.qbo.postings()) == 25


def test_a_crash_between_the_accounting_write_and_the_ledger_posts_once() -> None:
    # given QuickBooks writes the batch but its reply is lost (the worker then dies)
    world = World()
    world.book()
    entries = [world.psa.log(PROJECT, "Consultant", 60) for _ in range(3)]
    for entry in entries:
        world.psa.approve(entry)
    world.qbo.lose_reply_next = 1
    report = world.sync.on_notices([world.notice(e) for e in entries])
    assert len(report.retry) == 3 and len(world.qbo.postings()) == 3
    # when the notices come back before the claim is stale, they wait
    again = world.sync.on_notices([world.notice(e) for e in entries])
    assert len(again.retry) == 3
    # and once stale, the recorded batch is resent with its request id: QuickBooks replays
    world.clock.advance(minutes=5)
    world.sync.on_notices([world.notice(e) for e in entries])
    assert len(world.qbo.postings()) == 3 and world.qbo.batch_calls == 1
    assert all(world.record(e).state is PostingState.POSTED for e in entries)


def test_an_edit_before_billing_updates_and_after_billing_opens_an_exception() -> None:
    world = World()
    world.book()
    entry = world.posted_entry()
    # when the hours are edited while unbilled
    world.clock.advance(minutes=1)
    world.psa.change(WorkKind.TIME, entry, minutes=90)
    world.sync.on_notices([world.notice(entry)])
    [posting] = world.qbo.postings()
    assert isinstance(posting, Posting) and posting.minutes == 90 and str(posting.amount.amount) == "270.00"
    assert world.record(entry).state is PostingState.CORRECTED
    # and edited again once it is billed on invoice 1042
    record_id = world.record(entry).record.id  # type: ignore[union-attr]
    world.qbo.bill(record_id, "1042")
    world.clock.advance(minutes=1)
    world.psa.change(WorkKind.TIME, entry, minutes=120)
    world.sync.on_notices([world.notice(entry)])
    # then accounting is untouched and an exception names the entry, the invoice and the change
    [posting] = world.qbo.postings()
    assert isinstance(posting, Posting) and posting.minutes == 90
    [exception] = world.ledger.exceptions.values()
    assert exception.kind == "changed_after_billing"
    assert (
        entry in exception.reason and "1042" in exception.reason and "minutes 90 -> 120" in exception.reason
    )


def test_unapproval_and_deletion_remove_the_posting() -> None:
    world = World()
    world.book()
    first, second = world.psa.log(PROJECT, "Consultant", 60), world.psa.log(PROJECT, "Partner", 30)
    world.psa.approve(first)
    world.psa.approve(second)
    world.sync.on_notices([world.notice(first), world.notice(second)])
    assert len(world.qbo.postings()) == 2
    world.clock.advance(minutes=1)
    world.psa.change(WorkKind.TIME, first, approval=Approval.PENDING, approved_at=None)
    world.psa.delete(second)
    world.sync.on_notices([world.notice(first), world.notice(second, operation=Operation.DELETED)])
    assert world.qbo.postings() == []
    assert world.record(first).state is world.record(second).state is PostingState.REMOVED


def test_work_for_an_engagement_waiting_for_approval_is_parked_then_posted() -> None:
    world = World()
    world.book(EngagementStatus.DRAFT)
    entry = world.psa.log(PROJECT, "Consultant", 45)
    world.psa.approve(entry)
    report = world.sync.on_notices([world.notice(entry)])
    assert report.parked == 1 and world.qbo.postings() == []
    assert world.record(entry).state is PostingState.PARKED and "draft" in (world.record(entry).reason or "")
    # when the engagement becomes active, the parked work posts
    world.book(EngagementStatus.ACTIVE)
    world.sync.release()
    assert len(world.qbo.postings()) == 1 and world.record(entry).state is PostingState.POSTED


def test_a_service_without_an_item_mapping_opens_an_exception_naming_the_table_and_value() -> None:
    world = World()
    world.book()
    world.store.booked[SystemName.PRODUCTIVE, PROJECT] = world.store.booked[
        SystemName.PRODUCTIVE, PROJECT
    ].model_copy(update={"rates": {"Data Scientist": Decimal("200")}})
    entry = world.psa.log(PROJECT, "Data Scientist", 60)
    world.psa.approve(entry)
    world.sync.on_notices([world.notice(entry)])
    [exception] = world.ledger.exceptions.values()
    assert exception.kind == "mapping_missing"
    assert "service_tax_codes" in exception.reason or "service_items" in exception.reason
    assert "'Data Scientist'" in exception.reason
    assert world.record(entry).state is PostingState.EXCEPTION


def test_a_throttled_batch_releases_its_claims_and_asks_for_the_wait() -> None:
    world = World()
    world.book()
    entry = world.psa.log(PROJECT, "Consultant", 60)
    world.psa.approve(entry)
    world.qbo.throttle_next = 1
    report = world.sync.on_notices([world.notice(entry)])
    [why] = report.retry.values()
    assert why.retry_after == 60
    assert all(record.batch is None for record in world.store.records.values())
    # and the retry (after the wait) posts it
    world.sync.on_notices([world.notice(entry)])
    assert len(world.qbo.postings()) == 1


def _with_second_ledger(text: str) -> str:
    """The demo landscape with Xero beside QuickBooks: US01 moves to Xero on 2026-11-15."""
    xero = 'source_system = "productive", target_system = "xero"'
    return (
        text.replace(
            '[[systems]]\nname = "quickbooks"\nrole = "accounting"',
            '[[systems]]\nname = "quickbooks"\nrole = "accounting"\n\n'
            '[[systems]]\nname = "xero"\nrole = "accounting"',
        )
        .replace(
            '[[routing]]\nlegal_entity = "UK01"',
            '[[routing]]\nlegal_entity = "US01"\nsystem = "xero"\nfrom_date = 2026-11-15\n\n'
            '[[routing]]\nlegal_entity = "UK01"',
        )
        .replace(
            "service_items = [",
            f'service_items = [\n  {{ source = "Consultant", target = "X-CONS", {xero} }},',
        )
        .replace(
            "service_tax_codes = [",
            'service_tax_codes = [\n  { source = "Consultant", target = "NONE", '
            f'{xero}, legal_entity = "US01" }},',
        )
    )


def test_routing_decides_per_posting_by_the_work_date() -> None:
    # given US01 moves from QuickBooks to Xero on 2026-11-15
    world = World(_with_second_ledger(DEMO.read_text()), targets=(SystemName.QUICKBOOKS, SystemName.XERO))
    world.book()
    before = world.psa.log(PROJECT, "Consultant", 60, worked_on=date(2026, 11, 14))
    after = world.psa.log(PROJECT, "Consultant", 60, worked_on=date(2026, 11, 16))
    world.psa.approve(before)
    world.psa.approve(after)
    # when both are posted in one run
    world.sync.on_notices([world.notice(before), world.notice(after)])
    # then each went where the routing names for its date, with that system's codes
    [old] = world.qbo.postings()
    [new] = world.accounting[SystemName.XERO].postings()
    assert isinstance(old, Posting) and isinstance(new, Posting)
    assert (old.work.id, old.item, new.work.id, new.item) == (before, "9003", after, "X-CONS")


def test_an_expense_posts_its_amount_to_the_expense_and_payment_accounts() -> None:
    world = World()
    world.book()
    expense = world.psa.spend(PROJECT, "412.37")
    world.psa.approve(expense, WorkKind.EXPENSE)
    world.sync.on_notices([world.notice(expense, WorkKind.EXPENSE)])
    [posting] = world.qbo.postings()
    assert isinstance(posting, Posting)
    assert (str(posting.amount.amount), posting.expense_account, posting.payment_account) == (
        "412.37",
        "9101",
        "9102",
    )


@pytest.mark.parametrize("minutes, expected", [(1, "3.00"), (59, "177.00"), (61, "183.00"), (7, "21.00")])
def test_amounts_are_rate_times_minutes_rounded_once(minutes: int, expected: str) -> None:
    world = World()
    world.book()
    entry = world.psa.log(PROJECT, "Consultant", minutes)
    world.psa.approve(entry)
    world.sync.on_notices([world.notice(entry)])
    [posting] = world.qbo.postings()
    assert isinstance(posting, Posting) and str(posting.amount.amount) == expected


def test_two_workers_that_read_the_same_approval_post_it_once() -> None:
    # given the webhook worker and the sweep both read an approved entry before either wrote
    world = World()
    world.book()
    entry = world.psa.log(PROJECT, "Consultant", 60)
    world.psa.approve(entry)
    before = dict(world.store.records)
    real_works = world.store.works
    # when the first one posts it, and the second decides from what it read before that
    world.sync.on_notices([world.notice(entry)])
    world.store.works = lambda keys: {k: before[k] for k in keys if k in before}  # type: ignore[method-assign]
    late = world.sync.sweep(WorkKind.TIME, look_back=timedelta(days=1), overlap=timedelta(minutes=10))
    world.store.works = real_works  # type: ignore[method-assign]
    # then the second is refused (the work changed since it read it) and tries again later
    assert set(late.retry) == {work_key(SystemName.PRODUCTIVE, WorkKind.TIME, entry)}
    world.clock.advance(minutes=1)
    world.sync.on_notices([world.notice(entry)])
    # and accounting holds the entry once
    assert len(world.qbo.postings()) == 1 and world.qbo.batch_calls == 1


def test_an_entry_the_psa_has_but_cannot_be_read_is_an_exception_not_a_delete() -> None:
    # given a posted entry
    world = World()
    world.book()
    entry = world.posted_entry()
    # when its budget loses its project in the PSA (the entry can no longer be read as work)
    world.clock.advance(minutes=1)
    world.psa.change(WorkKind.TIME, entry, minutes=75)
    world.psa.broken[entry] = "budget 7 of service 5 names no project"
    world.sync.on_notices([world.notice(entry)])
    # then its posting stays, and an exception says why it cannot be read
    assert len(world.qbo.postings()) == 1
    [exception] = world.ledger.exceptions.values()
    assert exception.kind == "unreadable_in_psa" and "names no project" in exception.reason
    assert world.record(entry).state is PostingState.EXCEPTION


def test_posting_latency_is_measured_from_the_approval() -> None:
    world = World()
    world.book()
    entry = world.psa.log(PROJECT, "Consultant", 60)
    world.psa.approve(entry)
    world.clock.advance(minutes=3)
    world.sync.on_notices([world.notice(entry)])
    assert world.metrics.totals["SyncLatency[flow=time]"] == 180


def test_a_change_after_billing_that_a_person_settled_is_not_reopened_by_the_sweeps() -> None:
    # given a billed entry edited in the PSA: an exception is open
    world = World()
    world.book()
    entry = world.posted_entry()
    world.qbo.bill(world.record(entry).record.id, "1042")  # type: ignore[union-attr]
    world.clock.advance(minutes=1)
    world.psa.change(WorkKind.TIME, entry, minutes=90)
    world.sync.on_notices([world.notice(entry)])
    [exception_id] = world.ledger.exceptions
    # when a person settles it (a credit memo) and resolves the exception, and the sweeps run on
    world.ledger.resolve_exception(exception_id, resolution="credit memo 77", at=world.clock())
    for _ in range(3):
        world.clock.advance(minutes=15)
        world.sync.sweep(WorkKind.TIME, look_back=timedelta(days=1), overlap=timedelta(minutes=10))
    # then it stays resolved, and QuickBooks is untouched
    assert world.ledger.exceptions[exception_id].state == "resolved"
    [posting] = world.qbo.postings()
    assert isinstance(posting, Posting) and posting.minutes == 60


def test_an_entry_removed_in_the_psa_whose_record_a_person_already_deleted_is_simply_removed() -> None:
    world = World()
    world.book()
    entry = world.posted_entry()
    # given a bookkeeper deleted the TimeActivity by hand, and then the entry is deleted in the PSA
    del world.qbo.records[world.record(entry).record.id]  # type: ignore[union-attr]
    world.clock.advance(minutes=1)
    world.psa.delete(entry)
    world.sync.on_notices([world.notice(entry, operation=Operation.DELETED)])
    # then nothing is written and nobody is asked to do anything
    assert world.record(entry).state is PostingState.REMOVED and world.ledger.exceptions == {}


def test_an_edit_of_an_entry_whose_record_a_person_deleted_opens_an_exception() -> None:
    world = World()
    world.book()
    entry = world.posted_entry()
    del world.qbo.records[world.record(entry).record.id]  # type: ignore[union-attr]
    world.clock.advance(minutes=1)
    world.psa.change(WorkKind.TIME, entry, minutes=75)
    world.sync.on_notices([world.notice(entry)])
    [exception] = world.ledger.exceptions.values()
    assert exception.kind == "deleted_in_accounting" and world.qbo.postings() == []
