"""Replay of the customer flow on fakes: a corrected mapping table rolled out over a window's accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.governance.landscape import Landscape
from shared.governance.loader import parse_landscape
from shared.governance.mappings import Mappings
from shared.governance.matching import Matcher
from shared.governance.ownership import Ownership
from shared.sync.accounts import AccountSync
from shared.sync.replay.customers import CustomerReplay
from shared.sync.replay.diff import Change
from shared.sync.replay.run import Replay, ReplayRequestInvalid
from tests.fakes import FakeCrm, FakeMetrics, FakeTarget, InMemoryLedger

DEMO = (Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml").read_text()
# The version that went live with a wrong row: QuickBooks term 3 ("Net 30") became 45 days in Productive.
WRONG = DEMO.replace(
    '{ source = "3", target = "30",     source_system = "quickbooks", target_system = "productive" }',
    '{ source = "3", target = "45",     source_system = "quickbooks", target_system = "productive" }',
)
START = datetime(2026, 11, 2, tzinfo=UTC)


class Archive:
    """The bus archive: what was published, by when."""

    def __init__(self) -> None:
        self.published: list[tuple[datetime, ChangeNotice]] = []
        self.calls: dict[str, int] = {}

    def notices(self, start: datetime, end: datetime) -> list[ChangeNotice]:
        return [n for at, n in self.published if start <= at < end]


def _notice(
    provider: SystemName, record_id: str, event_id: str, op: Operation = Operation.UPDATED
) -> ChangeNotice:
    return ChangeNotice(
        provider=provider,
        event_id=event_id,
        entity=EntityType.ACCOUNT,
        vendor_type="Account" if provider is SystemName.SALESFORCE else "Customer",
        record_id=record_id,
        operation=op,
    )


def _sync(
    landscape: Landscape, crm: FakeCrm, psa: FakeTarget, erp: FakeTarget, ledger: InMemoryLedger
) -> AccountSync:
    return AccountSync(
        source=lambda: crm,
        targets=lambda: [psa, erp],
        ledger=ledger,
        metrics=FakeMetrics(),
        ownership=Ownership(landscape),
        mappings=Mappings(landscape),
        matcher=Matcher(landscape.matching),
    )


@pytest.fixture
def world():
    """Two customers synced under the wrong row, both given term 3 in QuickBooks; one untouched since."""
    crm, psa, erp, ledger, archive = (
        FakeCrm(),
        FakeTarget(SystemName.PRODUCTIVE),
        FakeTarget(SystemName.QUICKBOOKS),
        InMemoryLedger(),
        Archive(),
    )
    live = _sync(parse_landscape(WRONG), crm, psa, erp, ledger)
    for n, (account, name) in enumerate((("001A", "Acme Consulting"), ("001B", "Borealis Partners"))):
        crm.put(account, name)
        notice = _notice(SystemName.SALESFORCE, account, f"s{n}")
        erp_id = live.on_notice(notice).results[1].target_id
        archive.published.append((START + timedelta(hours=n), notice))
        erp.edit_by_hand(erp_id, payment_terms="3")
        notice = _notice(SystemName.QUICKBOOKS, erp_id, f"q{n}")
        live.on_notice(notice)
        archive.published.append((START + timedelta(hours=n, minutes=5), notice))
    crm.put("001C", "Cirrus Advisory")
    live.on_notice(_notice(SystemName.SALESFORCE, "001C", "s9"))  # before the window: not replayed
    archive.published.insert(0, (START - timedelta(days=1), _notice(SystemName.SALESFORCE, "001C", "s9")))
    assert sorted(a.payment_terms or "" for a in psa.records.values()) == ["", "45", "45"]
    return crm, psa, erp, ledger, archive


def _replay(world, text: str = DEMO) -> Replay:
    crm, psa, erp, ledger, archive = world
    landscape = parse_landscape(text)
    flow = CustomerReplay(
        sync=_sync(landscape, crm, psa, erp, ledger),
        source=lambda: crm,
        targets=lambda: [psa, erp],
        ledger=ledger,
    )
    return Replay(archive=lambda: archive, flows=[flow], landscape="demo 2", metrics=FakeMetrics())


def test_a_dry_run_shows_the_corrected_rows_effect_and_writes_nothing(world):
    _, psa, erp, _, _ = world
    writes = (psa.writes, erp.writes)
    report = _replay(world).run(START, START + timedelta(days=1), dry_run=True)
    # then: two notices of each account, and the two PSA companies would take 30 days, not 45
    assert report.notices == 4 and report.by_flow == {"customers": 4}
    assert [(d.source.id, d.system, d.change) for d in report.diffs] == [
        ("001A", SystemName.PRODUCTIVE, Change.UPDATE),
        ("001B", SystemName.PRODUCTIVE, Change.UPDATE),
    ]
    assert [(c.field, c.now, c.then) for d in report.diffs for c in d.fields] == [
        ("payment_terms", "45", "30")
    ] * 2
    assert "payment_terms: '45' -> '30'" in report.diffs[0].summary
    assert (psa.writes, erp.writes) == writes and not report.applied


def test_applying_writes_exactly_the_diff_and_a_second_replay_writes_nothing(world):
    _, psa, erp, ledger, _ = world
    window = (START, START + timedelta(days=1))
    dry = _replay(world).run(*window, dry_run=True)
    psa_writes, erp_writes = psa.writes, erp.writes
    applied = _replay(world).run(*window, dry_run=False)
    # then the records written are the dry run's, with its values, and nothing else was written
    assert [(d.source.id, d.system, d.fields) for d in applied.applied] == [
        (d.source.id, d.system, d.fields) for d in dry.diffs
    ]
    assert psa.writes == psa_writes + 2 and erp.writes == erp_writes
    by_account = {
        x.source.id: psa.records[x.target.id]
        for x in ledger.xrefs.values()
        if x.target.system is SystemName.PRODUCTIVE
    }
    assert by_account["001A"].payment_terms == "30" and by_account["001B"].payment_terms == "30"
    assert by_account["001C"].payment_terms is None  # outside the window
    # and the ledger knows what Productive now holds: its echo is recognised, a replay finds nothing
    again = _replay(world).run(*window, dry_run=False)
    assert not again.diffs and not again.applied and psa.writes == psa_writes + 2


def test_replaying_under_the_landscape_in_force_finds_nothing_to_do(world):
    report = _replay(world, WRONG).run(START, START + timedelta(days=1), dry_run=False)
    assert report.notices == 4 and not report.diffs and not report.applied


def test_an_account_the_crm_no_longer_has_is_left_aside_with_the_reason(world):
    crm, *_ = world
    crm.delete("001B")
    report = _replay(world).run(START, START + timedelta(days=1), dry_run=True)
    assert [d.source.id for d in report.diffs] == ["001A"]
    assert any("001B" in note and "no longer" in note for note in report.left_aside)


@pytest.mark.parametrize(
    ("start", "end", "flow", "says"),
    [
        (START, START, None, "must be after"),
        (START, START + timedelta(days=40), None, "at most 31"),
        (START, START + timedelta(days=1), "invoices", "unknown flow 'invoices'"),
        (START, START + timedelta(days=1), "time", "not replayed"),
        (START, START + timedelta(days=1), "engagements", "passed a person's approval"),
        (START.replace(tzinfo=None), START + timedelta(days=1), None, "time zone"),
    ],
)
def test_a_request_it_cannot_serve_is_refused_before_anything_is_read(world, start, end, flow, says):
    with pytest.raises(ReplayRequestInvalid, match=says):
        _replay(world).run(start, end, flow=flow)


def test_a_copy_changed_by_hand_is_drift_left_to_its_exception_not_overwritten(world):
    _, psa, _, ledger, _ = world
    # given a person renamed one Productive company by hand (the CRM owns names: drift)
    company = next(
        x.target.id
        for x in ledger.xrefs.values()
        if x.source.id == "001A" and x.target.system is SystemName.PRODUCTIVE
    )
    psa.edit_by_hand(company, name="ACME (old)")
    writes = psa.writes
    report = _replay(world).run(START, START + timedelta(days=1), dry_run=False)
    # then that company is neither listed nor written; the note says why and what else would change
    assert [d.source.id for d in report.diffs] == ["001B"]
    note = next(n for n in report.left_aside if "001A" in n)
    assert "by hand" in note and "'ACME (old)'" in note and "also write payment_terms" in note
    assert psa.records[company].name == "ACME (old)" and psa.writes == writes + 1


class CensusCrm(FakeCrm):
    """A CRM that lists every account in pages (Salesforce's SOQL), counting reads of either kind."""

    reads = 0
    censuses = 0

    def fetch_account(self, account_id: str):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().fetch_account(account_id)

    def census_customers(self):  # type: ignore[no-untyped-def]
        from shared.domain.account_ports import TargetRecord

        self.censuses += 1
        return iter([TargetRecord(ref=a.source, view=a) for a in self.accounts.values()])


class CensusTarget(FakeTarget):
    reads = 0
    censuses = 0

    def read_account(self, record_id: str):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().read_account(record_id)

    def census_customers(self):  # type: ignore[no-untyped-def]
        self.censuses += 1
        return iter([self._record(record_id) for record_id in self.records])


def test_a_window_of_many_accounts_reads_each_system_whole_once_not_each_account():
    crm, psa, erp = CensusCrm(), CensusTarget(SystemName.PRODUCTIVE), CensusTarget(SystemName.QUICKBOOKS)
    ledger, archive = InMemoryLedger(), Archive()
    live = _sync(parse_landscape(WRONG), crm, psa, erp, ledger)
    for n in range(60):
        crm.put(f"001{n:03}", f"Customer {n:03} LLP")
        notice = _notice(SystemName.SALESFORCE, f"001{n:03}", f"s{n}")
        erp_id = live.on_notice(notice).results[1].target_id
        archive.published.append((START, notice))
        if n % 2:
            erp.edit_by_hand(erp_id, payment_terms="3")
            live.on_notice(_notice(SystemName.QUICKBOOKS, erp_id, f"q{n}"))
    reads = (crm.reads, psa.reads, erp.reads)
    flow = CustomerReplay(
        sync=_sync(parse_landscape(DEMO), crm, psa, erp, ledger),
        source=lambda: crm,
        targets=lambda: [psa, erp],
        ledger=ledger,
    )
    replay = Replay(archive=lambda: archive, flows=[flow], landscape="demo 2", metrics=FakeMetrics())
    report = replay.run(START, START + timedelta(days=1), dry_run=True)
    # then each system was listed once and no account or copy was read on its own
    assert (crm.censuses, psa.censuses, erp.censuses) == (1, 1, 1)
    assert (crm.reads, psa.reads, erp.reads) == reads
    # and the diff is the same as one read at a time would find: the 30 companies on term 3
    assert len(report.diffs) == 30 and {d.system for d in report.diffs} == {SystemName.PRODUCTIVE}
    assert {(c.now, c.then) for d in report.diffs for c in d.fields} == {("45", "30")}
