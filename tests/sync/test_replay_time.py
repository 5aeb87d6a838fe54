"""Replay of the time and expense flow on fakes: corrected item and tax-code rows reach posted work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from shared.domain.errors import PermanentError
from shared.domain.models import SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.postings import Posting, PostingState, WorkKind
from shared.governance.loader import parse_landscape
from shared.sync.replay.diff import Change, ReplayReport
from shared.sync.replay.run import Replay
from shared.sync.replay.time import TimeReplay, request_id
from tests.fakes import FakeMetrics
from tests.sync import test_delivery as delivery

DEMO = (Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml").read_text()
START = datetime(2026, 11, 3, tzinfo=UTC)  # the delivery world's day
_ITEM = (
    '{ source = "Consultant",        target = "9003", source_system = "productive", '
    'target_system = "quickbooks" },'
)
_PARTNER_TAX = (
    '{ source = "Partner",           target = "NON", source_system = "productive", '
    'target_system = "quickbooks", legal_entity = "US01" },'
)
_EXPENSE_TAX = (
    '{ source = "Expenses",          target = "NON", source_system = "productive", '
    'target_system = "quickbooks", legal_entity = "US01" },'
)
_ARCHITECT = (
    '{ source = "Architect",         target = "9004", source_system = "productive", '
    'target_system = "quickbooks" },'
)
# The version that went live with wrong rows: Consultant time got the Senior Consultant item, Partner
# time and expenses a taxable code, and the Architect had no item row at all.
WRONG = (
    DEMO.replace(_ITEM, _ITEM.replace('"9003"', '"9002"'))
    .replace(_PARTNER_TAX, _PARTNER_TAX.replace('"NON"', '"TAX"'))
    .replace(_EXPENSE_TAX, _EXPENSE_TAX.replace('"NON"', '"TAX"'))
    .replace(_ARCHITECT, "")
)
assert WRONG.count('"TAX"') == DEMO.count('"TAX"') + 2 and '"9004"' not in WRONG and DEMO.count(_ITEM) == 1


RATES = {
    "Consultant": Decimal("180.00"),
    "Partner": Decimal("350.00"),
    "Senior Consultant": Decimal("250.00"),
    "Architect": Decimal("300.00"),
}


class World(delivery.World):
    """Work posted under the wrong landscape (`sync`), its notices in the bus archive."""

    def __init__(self) -> None:
        super().__init__(WRONG)
        self.published: list[tuple[datetime, ChangeNotice]] = []
        self.entries: dict[str, str] = {}
        self.book(rates=RATES)

    def notice(
        self, entry_id: str, kind: WorkKind = WorkKind.TIME, operation: Operation = Operation.UPDATED
    ) -> ChangeNotice:
        notice = super().notice(entry_id, kind, operation)
        self.published.append((self.clock(), notice))
        return notice

    def posted(self, role: str, minutes: int = 60) -> str:
        entry = self.posted_entry(minutes, role)
        self.clock.advance(minutes=1)
        return entry

    def spent(self, amount: str) -> str:
        expense = self.psa.spend(delivery.PROJECT, amount)
        self.psa.approve(expense, WorkKind.EXPENSE)
        self.sync.on_notices([self.notice(expense, WorkKind.EXPENSE)])
        self.clock.advance(minutes=1)
        return expense

    def held(self, entry: str, kind: WorkKind = WorkKind.TIME) -> Posting:
        record = self.record(entry, kind).record
        assert record is not None
        posting = self.qbo.records[record.id]["posting"]
        assert isinstance(posting, Posting)
        return posting

    def replay(self, text: str = DEMO) -> Replay:
        flow = TimeReplay(
            sync=self.sync_under(parse_landscape(text)),
            source=lambda: self.psa,
            target=lambda system: self.qbo,
            store=self.store,
        )

        class Archive:
            calls: dict[str, int] = {}

            def notices(_, start: datetime, end: datetime) -> list[ChangeNotice]:
                return [n for at, n in self.published if start <= at < end]

        return Replay(archive=Archive, flows=[flow], landscape="demo 2", metrics=FakeMetrics())

    def window(self, text: str = DEMO, *, dry_run: bool) -> ReplayReport:
        return self.replay(text).run(START, START + timedelta(days=1), dry_run=dry_run)


@pytest.fixture
def world() -> World:
    """Posted under the wrong rows: a Consultant's and a Partner's time, an expense, a Senior
    Consultant's time (right under both), a Consultant's time since billed, an Architect's never posted."""
    world = World()
    world.entries = {
        "consultant": world.posted("Consultant"),
        "partner": world.posted("Partner", 90),
        "senior": world.posted("Senior Consultant"),
        "billed": world.posted("Consultant", 30),
        "architect": world.posted("Architect"),
        "expense": world.spent("42.50"),
    }
    billed = world.record(world.entries["billed"]).record
    world.qbo.bill(billed.id, "1042")
    assert world.held(world.entries["consultant"]).item == "9002"
    assert world.record(world.entries["architect"]).state is PostingState.EXCEPTION
    world.clock.advance(days=2)
    return world


def _found(report: ReplayReport) -> list[tuple[str, list[tuple[str, object, object]]]]:
    return [(d.source.id, [(c.field, c.now, c.then) for c in d.fields]) for d in report.diffs]


def test_a_dry_run_shows_exactly_the_wrong_field_per_entry_and_writes_nothing(world: World) -> None:
    entries = world.entries
    before = (world.qbo.batch_calls, dict(world.store.records), dict(world.qbo.records))
    report = world.window(dry_run=True)
    # then each entry posted under a wrong row shows that field, from what QuickBooks holds to the right one
    assert report.by_flow == {"time": 6} and report.notices == 6
    assert _found(report) == [
        (entries["consultant"], [("item", "9002", "9003")]),
        (entries["partner"], [("tax_code", "TAX", "NON")]),
        (entries["expense"], [("tax_code", "TAX", "NON")]),
    ]
    assert all(d.change is Change.UPDATE and d.system is SystemName.QUICKBOOKS for d in report.diffs)
    assert [d.record.type for d in report.diffs] == ["time", "time", "expense"]  # type: ignore[union-attr]
    # and the billed entry is left aside, naming itself and the invoice; the unposted one is the sweep's
    [architect, billed] = report.left_aside
    assert f"time entry {entries['billed']}" in billed and "invoice 1042" in billed and "item" in billed
    assert f"time entry {entries['architect']}" in architect and "not posted" in architect
    # and nothing was written anywhere
    assert report.applied == ()
    assert (world.qbo.batch_calls, dict(world.store.records), dict(world.qbo.records)) == before


def test_apply_writes_exactly_the_diff_and_a_second_replay_finds_nothing(world: World) -> None:
    entries = world.entries
    billed_before = world.held(entries["billed"])
    calls = world.qbo.batch_calls
    report = world.window(dry_run=False)
    # then the three records are updated, one batch write each, with the corrected values
    assert [d.source.id for d in report.applied] == [
        entries["consultant"],
        entries["partner"],
        entries["expense"],
    ]
    assert world.qbo.batch_calls == calls + 3
    assert world.held(entries["consultant"]).item == "9003"
    assert world.held(entries["partner"]).tax_code == "NON"
    assert world.held(entries["expense"], WorkKind.EXPENSE).tax_code == "NON"
    # and only those fields changed: the minutes, rates and amounts are as they were
    assert (world.held(entries["partner"]).minutes, str(world.held(entries["partner"]).amount.amount)) == (
        90,
        "525.00",
    )
    # and the ledger holds what accounting holds, as after any correction
    for name, kind in (
        ("consultant", WorkKind.TIME),
        ("partner", WorkKind.TIME),
        ("expense", WorkKind.EXPENSE),
    ):
        record = world.record(entries[name], kind)
        assert record.state is PostingState.CORRECTED and record.batch is None
        assert record.posted == world.held(entries[name], kind)
    # and the applied diffs name the records' new versions
    assert all(d.record.version == "1" for d in report.applied)  # type: ignore[union-attr]
    # and the billed entry was not touched
    assert world.held(entries["billed"]) == billed_before
    # when the window is replayed again, nothing differs and nothing is written
    again = world.window(dry_run=False)
    assert again.diffs == () and again.applied == () and world.qbo.batch_calls == calls + 3
    assert len(again.left_aside) == 2  # still the billed entry (a person's) and the unposted one
    # and the delivery flow, under the corrected landscape, writes nothing for them: its sweep only
    # posts the Architect's time, whose item row was missing (its mapping exception is retried)
    swept = world.sync_under(parse_landscape(DEMO)).sweep(
        WorkKind.TIME, look_back=timedelta(days=5), overlap=timedelta(minutes=10)
    )
    assert swept.written == {"create": 1} and world.record(entries["architect"]).state is PostingState.POSTED


def test_a_diff_applied_twice_writes_once(world: World) -> None:
    entries = world.entries
    replay = world.replay()
    [flow] = replay._flows.values()
    diffs, _ = flow.diff([world.notice(entries["consultant"])])
    calls = world.qbo.batch_calls
    flow.apply(diffs[0])
    assert flow.apply(diffs[0]) == diffs[0]  # the target already holds it: nothing to write
    assert world.qbo.batch_calls == calls + 1


def test_a_lost_reply_is_resent_with_the_same_request_id_and_written_once(world: World) -> None:
    entries = world.entries
    [flow] = world.replay()._flows.values()
    [diff], _ = flow.diff([world.notice(entries["consultant"])])
    # when QuickBooks writes the update but its reply is lost
    world.qbo.lose_reply_next = 1
    with pytest.raises(PermanentError, match="not written now"):
        flow.apply(diff)
    assert world.held(entries["consultant"]).item == "9003"
    assert world.record(entries["consultant"]).batch == request_id(diff)
    # then a replay meanwhile leaves it aside (a batch holds it), and writes nothing
    report = world.window(dry_run=False)
    assert entries["consultant"] not in [d.source.id for d in report.diffs]
    assert any("being written by batch" in note for note in report.left_aside)
    # and once the claim is stale the flow resends the recorded batch: QuickBooks replays its answer
    calls = world.qbo.batch_calls
    world.clock.advance(minutes=5)
    assert world.sync.recover() == 1
    assert world.qbo.batch_calls == calls
    record = world.record(entries["consultant"])
    assert record.state is PostingState.CORRECTED and record.posted == world.held(entries["consultant"])


def test_an_entry_edited_in_accounting_after_the_dry_run_is_not_written_over(world: World) -> None:
    entries = world.entries
    [flow] = world.replay()._flows.values()
    [diff], _ = flow.diff([world.notice(entries["consultant"])])
    # when a bookkeeper saves the record between the dry run and the apply
    record_id = world.record(entries["consultant"]).record.id
    world.qbo.edit_by_hand(record_id)
    # then the write names the version read and QuickBooks refuses it: nothing is written over
    with pytest.raises(PermanentError, match=r"not written now.*Stale Object"):
        flow.apply(diff)
    assert world.held(entries["consultant"]).item == "9002"
    assert world.record(entries["consultant"]).batch is None
    # and a diff from an earlier read, applied by another replay, is refused before anything is sent
    [other] = world.replay()._flows.values()
    calls = world.qbo.batch_calls
    with pytest.raises(PermanentError, match="changed since it was compared"):
        other.apply(diff)
    assert world.qbo.batch_calls == calls
    # and replaying the window again finds the record at its new version, and corrects it
    report = world.window(dry_run=False)
    assert [d.source.id for d in report.applied] == [
        entries["consultant"],
        entries["partner"],
        entries["expense"],
    ]
    assert world.held(entries["consultant"]).item == "9003"
