"""Catch-up sweeps against fakes: what a change feed lists becomes notices, once, and only what is missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import CrossReference, SyncAction
from shared.domain.sweeps import ChangeWindow, SweptChange
from shared.sync.account_sweep import OVERLAP, AccountSweep, AccountSweeps, SweepFailed, SweepRole
from tests.fakes import FakeMetrics, InMemoryLedger

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class FakeFeed:
    """A change feed that answers from a list of changes, capped at `cap` like QuickBooks' CDC."""

    def __init__(self, system: SystemName, cap: int | None = None) -> None:
        self.system = system
        self.cap = cap
        self.changes: list[SweptChange] = []
        self.reads: list[tuple[datetime, datetime]] = []

    def change(self, record_id: str, version: str, at: datetime, *, deleted: bool = False) -> None:
        kind = "Account" if self.system is SystemName.SALESFORCE else "Customer"
        self.changes.append(
            SweptChange(
                record_id=record_id, vendor_type=kind, version=version, changed_at=at, deleted=deleted
            )
        )

    def changed_accounts(self, since: datetime, until: datetime) -> ChangeWindow:
        self.reads.append((since, until))
        listed = sorted(
            (c for c in self.changes if since < c.changed_at <= until), key=lambda c: c.changed_at
        )
        if self.cap is not None and len(listed) >= self.cap:
            page = listed[: self.cap]
            return ChangeWindow(changes=tuple(page), covered_until=page[-1].changed_at, complete=False)
        return ChangeWindow(changes=tuple(listed), covered_until=until, realm="org1")


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[ChangeNotice] = []
        self.fail = False

    def publish(self, notices: list[ChangeNotice]) -> None:
        if self.fail:
            raise ConnectionError("EventBridge is unreachable")
        self.published.extend(notices)


def _sweep(feed: FakeFeed, ledger: InMemoryLedger, publisher: FakePublisher, clock: list[datetime]):
    role = SweepRole.OWNER if feed.system is SystemName.SALESFORCE else SweepRole.COPY
    return AccountSweep(
        system=feed.system,
        role=role,
        feed=lambda: feed,
        max_look_back=timedelta(days=15),
        ledger=ledger,
        publisher=lambda: publisher,
        metrics=FakeMetrics(),
        clock=lambda: clock[0],
    )


def _synced(ledger: InMemoryLedger, account_id: str, version: str, *, target_version: str = "0") -> None:
    ledger.record_sync(
        CrossReference(
            entity=EntityType.ACCOUNT,
            source=SourceRef(system=SystemName.SALESFORCE, type="Account", id=account_id, version=version),
            target=SourceRef(system=SystemName.QUICKBOOKS, type="customer", id="58", version=target_version),
            checksum="c",
            synced_at=NOW,
        ),
        SyncAction.CREATED,
    )


def test_an_edit_whose_notice_was_lost_is_published_once_even_when_the_overlap_reads_it_again() -> None:
    # given a CRM edit no webhook announced, and a sweep that ran ten minutes before it
    feed, ledger, publisher, clock = FakeFeed(SystemName.SALESFORCE), InMemoryLedger(), FakePublisher(), [NOW]
    sweep = _sweep(feed, ledger, publisher, clock)
    sweep.run()
    feed.change("001A", "2026-12-01T12:09:30.000Z", NOW + timedelta(minutes=9, seconds=30))
    # when the sweep runs at 12:10 and again at 12:10:30 (the change is inside the second window's overlap)
    clock[0] = NOW + timedelta(minutes=10)
    first = sweep.run()
    clock[0] = NOW + timedelta(minutes=10, seconds=30)
    second = sweep.run()
    # then one notice about the account went on the bus, as a webhook's would have
    assert [(n.provider, n.record_id, n.operation) for n in publisher.published] == [
        (SystemName.SALESFORCE, "001A", Operation.CHANGED)
    ]
    assert (first.published, second.published, second.seen) == (1, 0, 1)
    # and the second window started the overlap before where the first one ended
    assert feed.reads[2][0] == NOW + timedelta(minutes=10) - OVERLAP


def test_a_change_the_webhook_already_synced_is_not_published_again() -> None:
    # given an edit whose webhook arrived and was synced (the copy was written from that version)
    feed, ledger, publisher, clock = FakeFeed(SystemName.SALESFORCE), InMemoryLedger(), FakePublisher(), [NOW]
    _synced(ledger, "001A", "2026-12-01T11:59:00.000Z")
    feed.change("001A", "2026-12-01T11:59:00.000Z", NOW - timedelta(minutes=1))
    # when the sweep reads the same change
    outcome = _sweep(feed, ledger, publisher, clock).run()
    # then nothing is published: the ledger already holds it
    assert publisher.published == []
    assert (outcome.seen, outcome.already_synced, outcome.reads) == (1, 1, 1)


def test_a_delete_is_published_until_every_copy_is_inactive() -> None:
    feed, ledger, publisher, clock = FakeFeed(SystemName.SALESFORCE), InMemoryLedger(), FakePublisher(), [NOW]
    _synced(ledger, "001A", "2026-12-01T11:00:00.000Z")
    # given an account deleted in the CRM (no outbound message is sent for a delete)
    feed.change("001A", "2026-12-01T11:59:00.000Z", NOW - timedelta(minutes=1), deleted=True)
    # when the sweep runs
    _sweep(feed, ledger, publisher, clock).run()
    # then a DELETED notice goes out for it
    assert [(n.record_id, n.operation) for n in publisher.published] == [("001A", Operation.DELETED)]


def test_the_cursor_stays_put_when_publishing_fails_and_the_next_run_publishes() -> None:
    feed, ledger, publisher, clock = FakeFeed(SystemName.SALESFORCE), InMemoryLedger(), FakePublisher(), [NOW]
    sweep = _sweep(feed, ledger, publisher, clock)
    feed.change("001A", "2026-12-01T11:59:00.000Z", NOW - timedelta(minutes=1))
    # given the bus is unreachable during a sweep
    publisher.fail = True
    with pytest.raises(ConnectionError):
        sweep.run()
    # then the cursor has not moved past the change
    assert ledger.cursor(sweep.cursor_name) is None
    # and when the bus is back, the next run publishes it
    publisher.fail = False
    clock[0] = NOW + timedelta(minutes=15)
    assert sweep.run().published == 1
    assert ledger.cursor(sweep.cursor_name) == clock[0].isoformat()


def test_quickbooks_echoes_and_unmanaged_customers_are_not_published_but_a_bookkeepers_edit_is() -> None:
    feed, ledger, publisher, clock = FakeFeed(SystemName.QUICKBOOKS), InMemoryLedger(), FakePublisher(), [NOW]
    # given a customer the hub wrote at SyncToken 3, and a customer the hub does not manage
    _synced(ledger, "001A", "v1", target_version="3")
    feed.change("58", "3", NOW - timedelta(minutes=3))  # the hub's own write
    feed.change("77", "0", NOW - timedelta(minutes=2))  # keyed in by hand, not linked
    sweep = _sweep(feed, ledger, publisher, clock)
    # when the sweep reads both
    assert sweep.run().published == 0
    # then nothing is published; and when a bookkeeper edits the hub's customer (SyncToken 4)
    feed.change("58", "4", NOW + timedelta(minutes=5))
    clock[0] = NOW + timedelta(minutes=15)
    sweep.run()
    # then its notice goes out as a QuickBooks webhook's would, for drift and ownership checks
    assert [(n.provider, n.record_id, n.vendor_type) for n in publisher.published] == [
        (SystemName.QUICKBOOKS, "58", "Customer")
    ]


def test_a_capped_answer_is_read_on_from_where_it_stopped() -> None:
    # given 5 changes and a feed that answers at most 2 at a time
    feed, ledger, publisher, clock = (
        FakeFeed(SystemName.SALESFORCE, cap=2),
        InMemoryLedger(),
        FakePublisher(),
        [NOW],
    )
    for minute in range(5):
        feed.change(f"001{minute}", f"v{minute}", NOW - timedelta(minutes=10 - minute))
    # when the sweep runs
    outcome = _sweep(feed, ledger, publisher, clock).run()
    # then every change is published once, over several reads
    assert sorted(n.record_id for n in publisher.published) == [f"001{m}" for m in range(5)]
    assert outcome.reads == 3


def test_a_cursor_older_than_the_feed_keeps_starts_where_the_feed_does() -> None:
    feed, ledger, publisher, clock = FakeFeed(SystemName.SALESFORCE), InMemoryLedger(), FakePublisher(), [NOW]
    sweep = _sweep(feed, ledger, publisher, clock)
    # given the last sweep ran 40 days ago (the feed keeps 15)
    ledger.set_cursor(sweep.cursor_name, (NOW - timedelta(days=40)).isoformat())
    # when the sweep runs
    sweep.run()
    # then it asks only for what the feed still has
    assert feed.reads[0][0] == NOW - timedelta(days=15) + timedelta(minutes=1)


def test_one_vendor_failing_does_not_hold_up_the_others() -> None:
    ledger, publisher, clock = InMemoryLedger(), FakePublisher(), [NOW]
    broken, working = FakeFeed(SystemName.QUICKBOOKS), FakeFeed(SystemName.SALESFORCE)
    working.change("001A", "v1", NOW - timedelta(minutes=1))

    def down(since: datetime, until: datetime) -> ChangeWindow:
        raise ConnectionError("QuickBooks is down")

    broken.changed_accounts = down  # type: ignore[method-assign]
    failed: list[SystemName] = []
    sweeps = AccountSweeps(
        [_sweep(broken, ledger, publisher, clock), _sweep(working, ledger, publisher, clock)],
        on_failure=lambda system, exc: failed.append(system),
    )
    # when both are swept and QuickBooks is down
    with pytest.raises(SweepFailed, match="quickbooks"):
        sweeps.run()
    # then Salesforce's change was still published, and the failure was reported for QuickBooks
    assert [n.record_id for n in publisher.published] == ["001A"]
    assert failed == [SystemName.QUICKBOOKS]
