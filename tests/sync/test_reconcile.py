"""A reconciliation run files each break once, keeps it current, and resolves it when the systems agree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from shared.domain.account_ports import TargetRecord
from shared.domain.delivery_ports import BookedEngagement
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.models import Account, EntityType, SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.ports import CrossReference, SyncAction
from shared.domain.reconciliation_ports import HeldEngagement, HeldInvoice, HeldWork
from shared.sync.reconcile.run import KIND, Reconciliation
from tests.billing_fakes import InMemoryBilling
from tests.delivery_fakes import InMemoryPostings
from tests.fakes import FakeMetrics, HandClock, InMemoryLedger

SF, PR, QB = SystemName.SALESFORCE, SystemName.PRODUCTIVE, SystemName.QUICKBOOKS
ACCOUNT = SourceRef(system=SF, type="Account", id="001A")
DEAL = SourceRef(system=SF, type="Opportunity", id="006A")


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


@dataclass
class Census:
    """One system's census, as a connector would answer it (every call counted)."""

    system: SystemName
    customers: list[TargetRecord] = field(default_factory=list)
    engagements: list[HeldEngagement] = field(default_factory=list)
    calls: int = 0

    def census_customers(self) -> Iterator[TargetRecord]:
        self.calls += 1
        yield from self.customers

    def census_engagements(self) -> Iterator[HeldEngagement]:
        self.calls += 1
        yield from self.engagements


@dataclass
class Books(Census):
    work: list[HeldWork] = field(default_factory=list)
    invoices: list[HeldInvoice] = field(default_factory=list)

    def census_work(self, since: date) -> Iterator[HeldWork]:
        self.calls += 1
        yield from (w for w in self.work if w.worked_on >= since)

    def census_invoices(self, since: date) -> Iterator[HeldInvoice]:
        self.calls += 1
        yield from (i for i in self.invoices if i.issued_on >= since)


def customer(
    system: SystemName, record: str, email: str, origin: SourceRef | None = None, name: str = "Northwind Ltd"
) -> TargetRecord:
    source = SourceRef(system=system, type="customer", id=record)
    return TargetRecord(ref=source, view=Account(source=source, name=name, email=email), origin=origin)


def engagement(system: SystemName, record: str, booked: Money | None = None) -> HeldEngagement:
    return HeldEngagement(
        system=system,
        ref=SourceRef(system=system, type="engagement", id=record),
        name="Operating model review",
        opportunity=DEAL,
        customer="001A",
        status=EngagementStatus.ACTIVE,
        booked=booked,
    )


class World:
    def __init__(self) -> None:
        self.clock = HandClock(datetime(2026, 12, 2, 3, 0, tzinfo=UTC))
        self.ledger = InMemoryLedger()
        self.metrics = FakeMetrics()
        self.postings = InMemoryPostings()
        self.crm = Census(
            SF, [customer(SF, "001A", "ap@northwind.example")], [engagement(SF, "006A", usd("46400.00"))]
        )
        self.crm.engagements[0] = self.crm.engagements[0].model_copy(update={"ref": DEAL, "customer": "001A"})
        self.psa = Books(
            PR,
            [customer(PR, "501", "ap@northwind.example", ACCOUNT)],
            [engagement(PR, "10", usd("46400.00"))],
        )
        self.books = Books(QB, [customer(QB, "58", "ap@northwind.example", ACCOUNT)], [engagement(QB, "7")])
        for system, record in ((PR, "501"), (QB, "58")):
            self.ledger.record_sync(
                CrossReference(
                    entity=EntityType.ACCOUNT,
                    source=ACCOUNT,
                    target=SourceRef(system=system, type="customer", id=record),
                    checksum="-",
                    synced_at=self.clock(),
                ),
                SyncAction.CREATED,
            )
        self.postings.save_engagement(
            BookedEngagement(
                psa=SourceRef(system=PR, type="projects", id="10"),
                opportunity=DEAL,
                name="Operating model review",
                legal_entity="US01",
                currency="USD",
                status=EngagementStatus.ACTIVE,
                accounting={QB: "7"},
                rates={"Consultant": 180},
                account=ACCOUNT,
                updated_at=self.clock(),
            )
        )
        self.reconciliation = Reconciliation(
            crm=lambda: self.crm,  # type: ignore[arg-type,return-value]
            psa=lambda: self.psa,
            accounting=lambda: [self.books],
            ledger=self.ledger,  # type: ignore[arg-type]
            desk=self.ledger,
            postings=self.postings,  # type: ignore[arg-type]
            billing=InMemoryBilling(),  # type: ignore[arg-type]
            expected=lambda account, system, xrefs: account,
            namesake=lambda account: account.name.casefold(),
            metrics=self.metrics,
            vendor_calls=lambda: {"quickbooks": self.books.calls, "productive": self.psa.calls},
            clock=self.clock,
        )

    def reconcile(self, engagement: str | None = None):  # type: ignore[no-untyped-def]
        return self.reconciliation.run(since=date(2026, 1, 1), engagement=engagement)

    def open_breaks(self) -> list[str]:
        return sorted(e.id for e in self.ledger.exceptions.values() if e.kind == KIND and e.state == "open")


def test_agreeing_systems_give_no_break_and_the_run_says_what_it_read_and_spent() -> None:
    world = World()
    report = world.reconcile()
    assert report.breaks == [] and report.backlog == 0
    assert report.census.customers == {"productive": 1, "quickbooks": 1, "salesforce": 1}
    # one census call per kind per system: pages, not records
    assert report.vendor_calls == {"productive": 4, "quickbooks": 4}
    assert world.metrics.latest["ReconciliationBacklog"] == 0


def test_a_break_opens_once_stays_current_and_is_resolved_when_the_systems_agree_again() -> None:
    world = World()
    # given a bookkeeper changed the customer's email in QuickBooks
    world.books.customers[0] = customer(QB, "58", "someone@else.example", ACCOUNT)
    # when reconciliation runs, twice
    first = world.reconcile()
    world.clock.advance(hours=24)
    second = world.reconcile()
    # then one exception of kind reconciliation is open, with both sides and an action
    [opened] = world.open_breaks()
    assert opened == "reconciliation:customer:salesforce:001A:fields:quickbooks"
    assert (first.opened, second.opened, second.backlog) == (1, 0, 1)
    assert second.oldest_seconds == 24 * 3600
    exception = world.ledger.exceptions[opened]
    assert [e.value for e in exception.evidence] == [
        "email='ap@northwind.example'",
        "email='someone@else.example'",
    ]
    assert exception.action and "CRM owns" in exception.action
    # when the bookkeeper puts it back, the next run resolves it
    world.books.customers[0] = customer(QB, "58", "ap@northwind.example", ACCOUNT)
    third = world.reconcile()
    assert (third.resolved, third.backlog, world.open_breaks()) == (1, 0, [])
    assert world.ledger.resolutions[opened] == "the systems agree again"


def test_a_customer_made_twice_by_hand_is_counted_as_a_duplicate_created() -> None:
    world = World()
    # given a bookkeeper created the hub's customer again by hand in QuickBooks
    world.books.customers.append(customer(QB, "71", "ap@northwind.example"))
    # when reconciliation runs
    report = world.reconcile()
    # then the dashboard's DuplicatesCreated shows the one duplicate standing, beside the break
    assert [b.check for b in report.breaks] == ["duplicate:quickbooks"]
    assert world.metrics.latest["DuplicatesCreated"] == 1
    # and once it is merged away, the next run shows none
    world.books.customers.pop()
    world.reconcile()
    assert world.metrics.latest["DuplicatesCreated"] == 0


def test_a_run_for_one_engagement_leaves_other_breaks_alone() -> None:
    world = World()
    world.books.customers.append(
        customer(QB, "90", "x@gone.example", SourceRef(system=SF, type="Account", id="001Z"), "Gone Corp")
    )
    world.reconcile()
    [orphan] = world.open_breaks()
    assert orphan.endswith(":90:orphan")
    # an engagement's run reads its deal and customer only: the orphan is not in it, so stays open
    report = world.reconcile(engagement="10")
    assert report.resolved == 0 and world.open_breaks() == [orphan]
