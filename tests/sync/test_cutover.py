"""A cutover: the shadow diff against the old ledger, acknowledgements, and the go-ahead it gates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from shared.domain.cutover import Acknowledgement, Confirmation, LineKind
from shared.domain.delivery_ports import BookedEngagement
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import CrossReference, SyncAction
from shared.domain.postings import Posting, PostingState, WorkKind, work_key
from shared.governance.loader import parse_landscape
from shared.governance.mappings import Mappings
from shared.governance.ownership import Ownership
from shared.governance.routing import Routing
from shared.sync.cutover import CutoverNotClear, CutoverRequestInvalid, Cutovers
from shared.sync.cutover_setup import CutoverSetup
from shared.sync.delivery.sync import DeliverySync
from tests.delivery_fakes import FakeAccounting, FakePsa, InMemoryPostings
from tests.engagement_fakes import FakeEngagementTarget, FakeOpportunities
from tests.fakes import FakeMetrics, HandClock, InMemoryLedger

DEMO = Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml"
PROJECT = "7001"
OLD, NEW = SystemName.QUICKBOOKS, SystemName.XERO
XERO_ROW = 'source_system = "productive", target_system = "xero"'


def coexistence() -> str:
    """The demo landscape with Xero beside QuickBooks: US01 moves to Xero on 2026-12-01, shadowed
    from 2026-11-15; Xero has a service item for Consultants only."""
    text = DEMO.read_text()
    for old, new in (
        (
            '[[systems]]\nname = "quickbooks"\nrole = "accounting"',
            '[[systems]]\nname = "quickbooks"\nrole = "accounting"\n\n'
            '[[systems]]\nname = "xero"\nrole = "accounting"',
        ),
        (
            '[[routing]]\nlegal_entity = "UK01"',
            '[[routing]]\nlegal_entity = "US01"\nsystem = "xero"\nfrom_date = 2026-12-01\n'
            'shadow_from = 2026-11-15\n\n[[routing]]\nlegal_entity = "UK01"',
        ),
        (
            "service_items = [",
            f'service_items = [\n  {{ source = "Consultant", target = "X-CONS", {XERO_ROW} }},',
        ),
        (
            "service_tax_codes = [",
            'service_tax_codes = [\n  { source = "Consultant", target = "NONE", '
            f'{XERO_ROW}, legal_entity = "US01" }},',
        ),
        (
            "classes = [",
            'classes = [\n  { source = "Advisory", target = "X-ADV", source_system = "salesforce", '
            'target_system = "xero" },',
        ),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    return text


class FakeCutoverBook:
    def __init__(self) -> None:
        self.nods: dict[tuple[str, SystemName], dict[str, Acknowledgement]] = {}
        self.confirmed: dict[tuple[str, SystemName], Confirmation] = {}

    def acknowledgements(self, legal_entity: str, new: SystemName) -> dict[str, Acknowledgement]:
        return dict(self.nods.get((legal_entity, new), {}))

    def acknowledge(self, legal_entity: str, new: SystemName, line_id: str, nod: Acknowledgement) -> None:
        self.nods.setdefault((legal_entity, new), {})[line_id] = nod

    def confirmation(self, legal_entity: str, new: SystemName) -> Confirmation | None:
        return self.confirmed.get((legal_entity, new))

    def confirm(self, legal_entity: str, new: SystemName, confirmation: Confirmation) -> bool:
        return self.confirmed.setdefault((legal_entity, new), confirmation) is confirmation


class World:
    def __init__(self, *, in_new_ledger: bool = True) -> None:
        self.clock = HandClock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
        landscape = parse_landscape(coexistence())
        self.psa = FakePsa(self.clock)
        self.accounting = {OLD: FakeAccounting(OLD), NEW: FakeAccounting(NEW)}
        self.store = InMemoryPostings()
        self.book = FakeCutoverBook()
        self.ledger = InMemoryLedger()
        self.crm = FakeOpportunities()
        self.crm.put("006A", "001A", close_date=date(2026, 10, 1))
        self.xero_projects = FakeEngagementTarget(NEW)
        routing = Routing(landscape)
        self.sync = DeliverySync(
            source=lambda: self.psa,
            target=lambda system: self.accounting[system],
            connected=lambda system: system in self.accounting,
            store=self.store,
            ledger=self.ledger,
            metrics=FakeMetrics(),
            mappings=Mappings(landscape),
            routing=routing,
            clock=self.clock,
            cutover_confirmed=lambda entity, system: self.book.confirmation(entity, system) is not None,
        )
        self.cutovers = Cutovers(
            routing=routing,
            delivery=self.sync,
            source=lambda: self.psa,
            target=lambda system: self.accounting[system],
            store=self.store,
            book=self.book,
            setup=CutoverSetup(
                opportunities=lambda: self.crm,
                target=lambda system: self.xero_projects,
                ledger=self.ledger,
                book=self.store,
                mappings=Mappings(landscape),
                ownership=Ownership(landscape),
            ),
            clock=self.clock,
        )
        # the engagement, set up in QuickBooks (its record "88"), and in Xero ("X-88") when set up there
        self.store.save_engagement(
            BookedEngagement(
                psa=SourceRef(system=SystemName.PRODUCTIVE, type="projects", id=PROJECT),
                opportunity=SourceRef(system=SystemName.SALESFORCE, type="opportunity", id="006A"),
                name="Acme rollout",
                legal_entity="US01",
                currency="USD",
                status=EngagementStatus.ACTIVE,
                accounting={OLD: "88", **({NEW: "X-88"} if in_new_ledger else {})},
                dimensions={"accounting_class": "100000000000128001", "department": "1", "location": "3"},
                rates={"Consultant": Decimal("180.00"), "Partner": Decimal("350.00")},
                account=SourceRef(system=SystemName.SALESFORCE, type="Account", id="001A"),
                updated_at=self.clock(),
            )
        )

    def post(self, role: str, minutes: int, day: date, *, project: str = PROJECT) -> str:
        entry = self.psa.log(project, role, minutes, worked_on=day)
        self.psa.approve(entry)
        work = self.psa.works[WorkKind.TIME, entry]
        notice = ChangeNotice(
            provider=SystemName.PRODUCTIVE,
            event_id=f"evt-{entry}",
            entity=EntityType.TIME_ENTRY,
            vendor_type="time_entries",
            record_id=entry,
            operation=Operation.UPDATED,
            occurred_at=work.changed_at,
        )
        self.sync.on_notices([notice])
        return entry

    def state(self, entry: str) -> PostingState:
        return self.store.records[work_key(SystemName.PRODUCTIVE, WorkKind.TIME, entry)].state


def test_work_of_the_shadow_period_posts_to_the_old_ledger_and_agrees_with_its_shadow() -> None:
    # given US01's cutover to Xero on 1 December, shadowed from 15 November
    world = World(in_new_ledger=False)
    # when a Consultant's 90 minutes of 20 November are approved
    entry = world.post("Consultant", 90, date(2026, 11, 20))
    # then they went to QuickBooks only, and nothing was written to Xero
    assert len(world.accounting[OLD].postings()) == 1 and world.accounting[NEW].postings() == []
    # and the shadow diff compared that document and found it the same, to the cent
    diff = world.cutovers.diff("US01")
    assert (diff.old, diff.new, diff.cutover_on, diff.documents) == (OLD, NEW, date(2026, 12, 1), 1)
    assert diff.lines == [] and diff.clear
    # the engagement is named as one the cutover sets up in Xero
    assert diff.to_set_up == ["Acme rollout"]
    assert world.state(entry) is PostingState.POSTED


def test_a_document_the_new_ledger_could_not_take_is_a_line_until_acknowledged() -> None:
    world = World()
    # given a Partner's hour in the shadow period: Xero has no service item for Partners
    entry = world.post("Partner", 60, date(2026, 11, 21))
    diff = world.cutovers.diff("US01")
    [line] = diff.lines
    assert line.kind is LineKind.CANNOT_POST and "Partner" in (line.new or "") and entry in line.document
    # then the cutover is refused, naming the open line
    with pytest.raises(CutoverNotClear, match=line.id):
        world.cutovers.confirm("US01", by="controller@northwind.example")
    # a line the diff does not have cannot be acknowledged
    with pytest.raises(CutoverRequestInvalid, match="no line"):
        world.cutovers.acknowledge("US01", "US01:time:nope:post", by="controller", note="-")
    # when the controller acknowledges it, the diff is clear and the cutover goes ahead
    world.cutovers.acknowledge(
        "US01", line.id, by="controller@northwind.example", note="Partners bill in Xero by hand"
    )
    assert world.cutovers.diff("US01").clear
    confirmed = world.cutovers.confirm("US01", by="controller@northwind.example")
    assert confirmed.confirmed is not None and confirmed.confirmed.acknowledged == 1


def test_work_from_the_cutover_waits_for_the_go_ahead_then_posts_as_its_shadow_said() -> None:
    world = World()
    # given an hour worked on the cutover day, before anyone confirmed the cutover
    entry = world.post("Consultant", 60, date(2026, 12, 1))
    record = world.store.records[work_key(SystemName.PRODUCTIVE, WorkKind.TIME, entry)]
    # then it is parked, saying why and what to run, and no ledger holds it
    assert record.state is PostingState.PARKED and "cutover diff --legal-entity US01" in (record.reason or "")
    assert world.accounting[OLD].postings() == [] and world.accounting[NEW].postings() == []
    # and a day before the cutover still goes to QuickBooks
    world.post("Consultant", 30, date(2026, 11, 30))
    assert len(world.accounting[OLD].postings()) == 1
    # when the cutover is confirmed (the diff is clear), the parked hour posts to Xero
    work = world.psa.works[WorkKind.TIME, entry]
    [shadow] = world.sync.expected([work], {}, shadow_of=NEW).values()
    world.cutovers.confirm("US01", by="controller@northwind.example")
    [posted] = world.accounting[NEW].postings()
    assert isinstance(posted, Posting) and isinstance(shadow, Posting)
    # exactly what its shadow computed before the go-ahead
    assert posted.checksum() == shadow.checksum() and posted.item == "X-CONS"
    assert world.state(entry) is PostingState.POSTED


def test_an_entity_without_a_cutover_has_no_diff() -> None:
    with pytest.raises(CutoverRequestInvalid, match="UK01"):
        World().cutovers.diff("UK01")


def test_confirming_sets_each_live_engagement_up_in_the_new_ledger_under_its_customer_there() -> None:
    # given an engagement set up in QuickBooks only, whose customer the customer master keeps in Xero
    world = World(in_new_ledger=False)
    entry = world.post("Consultant", 60, date(2026, 12, 2))
    account = SourceRef(system=SystemName.SALESFORCE, type="Account", id="001A")
    # the confirmation is refused while the customer is not in Xero: nothing is confirmed
    with pytest.raises(CutoverRequestInvalid, match="not in xero yet"):
        world.cutovers.confirm("US01", by="controller@northwind.example")
    assert world.book.confirmation("US01", NEW) is None
    world.ledger.record_sync(
        CrossReference(
            entity=EntityType.ACCOUNT,
            source=account,
            target=SourceRef(system=NEW, type="contact", id="X-CUST-9"),
            checksum="-",
            synced_at=world.clock(),
        ),
        SyncAction.CREATED,
    )
    # when the cutover is confirmed
    world.cutovers.confirm("US01", by="controller@northwind.example")
    # then the engagement has an active project in Xero under its Xero customer, set up once
    [project] = world.xero_projects.records.values()
    assert project.status is EngagementStatus.ACTIVE
    assert world.xero_projects.customers[project.ref.id] == "X-CUST-9"
    held = world.xero_projects.engagements[project.ref.id]
    assert held.dimensions.accounting_class == "X-ADV"  # the new ledger's own class
    assert {line.role: line.rate.amount for line in world.xero_projects.rate_cards[project.ref.id].lines} == {
        "Consultant": Decimal("180.00"),
        "Partner": Decimal("350.00"),
    }
    # and the work that waited for the go-ahead posted to it
    [posted] = world.accounting[NEW].postings()
    assert isinstance(posted, Posting) and posted.customer == project.ref.id
    assert posted.accounting_class == "X-ADV"  # the new ledger's class, not QuickBooks' id
    assert world.state(entry) is PostingState.POSTED
    world.cutovers.confirm("US01", by="controller@northwind.example")
    assert len(world.xero_projects.records) == 1


def test_an_engagement_activated_after_the_go_ahead_is_set_up_by_confirming_again() -> None:
    # given the cutover confirmed, with the Xero customer the customer master keeps
    world = World()
    world.ledger.record_sync(
        CrossReference(
            entity=EntityType.ACCOUNT,
            source=SourceRef(system=SystemName.SALESFORCE, type="Account", id="001A"),
            target=SourceRef(system=NEW, type="contact", id="X-CUST-9"),
            checksum="-",
            synced_at=world.clock(),
        ),
        SyncAction.CREATED,
    )
    world.cutovers.confirm("US01", by="controller@northwind.example")
    # and a second engagement, begun before the go-ahead (so set up in QuickBooks), activated after it
    world.crm.put("006B", "001A", close_date=date(2026, 12, 1))
    later = world.store.engagement(SystemName.PRODUCTIVE, PROJECT)
    assert later is not None
    world.store.save_engagement(
        later.model_copy(
            update={
                "psa": SourceRef(system=SystemName.PRODUCTIVE, type="projects", id="7002"),
                "opportunity": SourceRef(system=SystemName.SALESFORCE, type="opportunity", id="006B"),
                "name": "Acme phase two",
                "accounting": {OLD: "89"},
            }
        )
    )
    # when its December hour is approved, it waits, saying what sets the engagement up in Xero
    entry = world.post("Consultant", 60, date(2026, 12, 3), project="7002")
    assert world.state(entry) is PostingState.PARKED
    reason = world.store.records[work_key(SystemName.PRODUCTIVE, WorkKind.TIME, entry)].reason or ""
    assert "no record in xero" in reason and "cutover confirm --legal-entity US01" in reason
    # then confirming again sets it up in Xero, and the hour posts there
    world.cutovers.confirm("US01", by="controller@northwind.example")
    [project] = world.xero_projects.records.values()  # the first engagement was in Xero already
    assert world.state(entry) is PostingState.POSTED
    [posted] = world.accounting[NEW].postings()
    assert isinstance(posted, Posting) and posted.customer == project.ref.id
