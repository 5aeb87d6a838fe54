"""Billing runs and cash feedback against fakes: what an engagement's month bills, once, and what the
PSA and the CRM hear back, whatever order the ledger's notices come in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.domain.billing_runs import (
    BillingPeriod,
    BillingTerms,
    CompletedMilestone,
    MilestoneTerm,
    RunState,
)
from shared.domain.cash import Standing
from shared.domain.delivery_ports import BookedEngagement
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.engagements import BillingModel
from shared.domain.errors import ValidationFailed
from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.postings import WorkKind
from shared.governance.loader import load_landscape, parse_landscape
from shared.governance.mappings import Mappings
from shared.governance.routing import Routing
from shared.sync.billing.cash import CashFeedback
from shared.sync.billing.runs import BillingRuns, RunStepState
from shared.sync.delivery.sync import DeliverySync
from tests.billing_fakes import FakeHealth, FakeInvoicing, FakeMilestones, FakeMirror, InMemoryBilling
from tests.delivery_fakes import FakeAccounting, FakePsa, InMemoryPostings
from tests.engagement_fakes import FakeStarter, InMemoryApprovals
from tests.fakes import FakeMetrics, HandClock, InMemoryLedger

DEMO = Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml"
PROJECT = "7001"
NOVEMBER = BillingPeriod(month="2026-11")
ENGAGEMENT = SourceRef(system=SystemName.PRODUCTIVE, type="projects", id=PROJECT)


class World:
    def __init__(
        self,
        terms: BillingTerms | None = None,
        *,
        landscape_text: str | None = None,
        ledgers: tuple[SystemName, ...] = (SystemName.QUICKBOOKS,),
        bus: Any = None,
    ) -> None:
        self.bus = bus  # the bus billing and cash feedback state their facts on (None: none)
        events = (lambda: self.bus) if bus is not None else None
        self.clock = HandClock(datetime(2026, 11, 3, 9, 0, tzinfo=UTC))
        landscape = parse_landscape(landscape_text) if landscape_text else load_landscape(DEMO)
        self.psa = FakePsa(self.clock)
        self.books = {system: FakeAccounting(system) for system in ledgers}
        self.invoicings = {system: FakeInvoicing(self.books[system], self.clock) for system in ledgers}
        self.qbo = self.books[SystemName.QUICKBOOKS]
        self.invoicing = self.invoicings[SystemName.QUICKBOOKS]
        self.confirmed: set[tuple[str, SystemName]] = set()
        self.postings = InMemoryPostings()
        self.store = InMemoryBilling()
        self.ledger = InMemoryLedger()
        self.metrics = FakeMetrics()
        self.mirror = FakeMirror()
        self.crm = FakeHealth()
        self.milestones = FakeMilestones()
        self.approvals = InMemoryApprovals()
        self.starter = FakeStarter()
        self.delivery = DeliverySync(
            source=lambda: self.psa,
            target=lambda system: self.books[system],
            connected=lambda system: system in self.books,
            store=self.postings,
            ledger=self.ledger,
            metrics=self.metrics,
            mappings=Mappings(landscape),
            routing=Routing(landscape),
            clock=self.clock,
            cutover_confirmed=lambda entity, system: (entity, system) in self.confirmed,
        )
        self.cash = CashFeedback(
            store=self.store,
            postings=self.postings,
            target=lambda system: self.invoicings[system],
            mirror=lambda: self.mirror,
            health=lambda: self.crm,
            ledger=self.ledger,
            metrics=self.metrics,
            clock=self.clock,
            events=events,
        )
        self.runs = BillingRuns(
            store=self.store,
            postings=self.postings,
            target=lambda system: self.invoicings[system],
            milestones=lambda: self.milestones,
            approvals=self.approvals,
            starter=lambda: self.starter,
            ledger=self.ledger,
            metrics=self.metrics,
            landscape=landscape,
            feedback=self.cash.after_post,
            clock=self.clock,
            cutover_confirmed=lambda entity, system: (entity, system) in self.confirmed,
            events=events,
        )
        self.postings.save_engagement(
            BookedEngagement(
                psa=ENGAGEMENT,
                opportunity=SourceRef(system=SystemName.SALESFORCE, type="opportunity", id="006A"),
                account=SourceRef(system=SystemName.SALESFORCE, type="account", id="001A"),
                name="Acme rollout",
                legal_entity="US01",
                currency="USD",
                status=EngagementStatus.ACTIVE,
                accounting={
                    system: "88" if system is SystemName.QUICKBOOKS else f"{system}-88" for system in ledgers
                },
                dimensions={"accounting_class": "100000000000128001", "department": "1", "location": "3"},
                rates={"Consultant": Decimal("180.00"), "Partner": Decimal("350.00")},
                billing=terms or BillingTerms(),
                updated_at=self.clock(),
            )
        )

    def work(self, minutes: int, role: str = "Consultant", worked_on: date = date(2026, 11, 3)) -> str:
        entry = self.psa.log(PROJECT, role, minutes, worked_on=worked_on)
        self.psa.approve(entry)
        self.delivery.on_notices([self._work_notice(entry, WorkKind.TIME)])
        return entry

    def _work_notice(self, entry: str, kind: WorkKind) -> ChangeNotice:
        return ChangeNotice(
            provider=SystemName.PRODUCTIVE,
            event_id=f"evt-{entry}",
            entity=EntityType.TIME_ENTRY if kind is WorkKind.TIME else EntityType.EXPENSE_ENTRY,
            vendor_type="time_entries" if kind is WorkKind.TIME else "expenses",
            record_id=entry,
            operation=Operation.UPDATED,
            occurred_at=self.clock(),
        )

    def expense(self, amount: str) -> str:
        expense = self.psa.spend(PROJECT, amount)
        self.psa.approve(expense, WorkKind.EXPENSE)
        self.delivery.on_notices([self._work_notice(expense, WorkKind.EXPENSE)])
        return expense

    def bill(self, period: BillingPeriod = NOVEMBER, *, approve: bool = True) -> dict[str, object]:
        """What the workflow does: compose, (approval), post, feedback; the last state."""
        name, started = self.runs.start(ENGAGEMENT, period)
        if not started:
            return {"status": "not started", "execution": name}
        state = dict(self.starter.started[name]["state"])  # type: ignore[arg-type]
        state = self.runs.step("compose", state)
        if state["status"] != "composed":
            return state
        if state["needs_approval"]:
            state = self.runs.step("request_approval", state, token=f"token-{name}")
            if not approve:
                return self.runs.step(
                    "rejected", {**state, "error": {"Error": "Rejected", "Cause": "too high"}}
                )
        state = self.runs.step("post", state)
        if state["status"] == "posted":
            state = self.runs.step("feedback", state)
        return state

    def notice(
        self, entity: EntityType, record_id: str, operation: Operation = Operation.UPDATED
    ) -> ChangeNotice:
        return ChangeNotice(
            provider=SystemName.QUICKBOOKS,
            event_id=f"qbo-{entity}-{record_id}-{self.clock().timestamp()}",
            entity=entity,
            vendor_type=entity.value,
            record_id=record_id,
            operation=operation,
            occurred_at=self.clock(),
        )

    def run(self):
        [run] = self.store.runs(ENGAGEMENT)
        return run


def test_time_and_materials_run_bills_the_months_posted_work_once_to_the_cent() -> None:
    # given 55 min and 2 h of Consultant time and a 42.50 expense, approved and posted in November
    world = World()
    world.work(55)
    world.work(120, worked_on=date(2026, 11, 20))
    world.expense("42.50")
    world.work(60, worked_on=date(2026, 12, 1))  # December: not this run's
    world.clock.advance(days=28)
    # when the November run runs
    state = world.bill()
    # then one invoice of 165.00 + 360.00 + 42.50 is posted on the sub-customer, lines linked
    assert state["status"] == "reported"
    run = world.run()
    assert run.state is RunState.POSTED and run.invoice is not None
    assert [str(line.net.amount) for line in run.invoice.lines] == ["165.00", "42.50", "360.00"]
    assert str(run.invoice.total.amount) == "567.50" and run.invoice.customer.id == "88"
    assert all(line.bills for line in run.invoice.lines)
    assert len(run.invoice.number) <= 21 and "006A" in (run.invoice.memo or "")
    # and accounting says the time is billed; the PSA mirrors it; the CRM shows it open
    assert sum(1 for r in world.qbo.records.values() if r.get("invoice")) == 3
    assert world.mirror.copies[run.invoice.number].balance.amount == Decimal("567.50")
    assert world.crm.deals["006A"].open.amount == Decimal("567.50")
    assert world.metrics.totals["InvoicesPosted[system=quickbooks]"] == 1


def test_a_repeated_run_creates_nothing_new() -> None:
    world = World()
    world.work(60)
    world.bill()
    # when the same engagement and period are run again (the schedule, then a person)
    again = world.bill()
    # then nothing was started or created
    assert again["status"] == "not started"
    assert world.invoicing.creates == 1
    # and even a workflow started anew (its name reused after 90 days) composes nothing to post
    state = world.runs.step(
        "compose",
        {
            "run": world.run().id,
            "engagement": ENGAGEMENT.model_dump(),
            "period": {"month": "2026-11"},
            "execution": "bill-x-9",
        },
    )
    assert state["status"] == "posted" and world.invoicing.creates == 1


def test_a_month_with_nothing_billable_posts_no_invoice() -> None:
    world = World()
    state = world.bill()
    assert state["status"] == RunState.NOTHING_TO_BILL.value
    assert world.invoicing.creates == 0


def test_fixed_fee_bills_completed_milestones_once_never_over_the_fee() -> None:
    terms = BillingTerms(
        model=BillingModel.FIXED_FEE,
        fixed_fee=Decimal("10000.00"),
        milestones=(
            MilestoneTerm(code="M1", name="Discovery", amount=Decimal("4000.00")),
            MilestoneTerm(code="M2", name="Delivery", amount=Decimal("6000.00")),
        ),
    )
    world = World(terms)
    world.work(600)  # time on a fixed fee is not billed by the hour
    world.milestones.done = [CompletedMilestone(code="M1", completed_on=date(2026, 11, 14))]
    world.clock.advance(days=28)
    world.bill()
    first = world.run()
    assert first.invoice is not None
    assert [line.origin for line in first.invoice.lines] == ["milestone:M1"]
    assert str(first.invoice.total.amount) == "4000.00"
    # when December's run sees M1 (billed) and M2 completed
    world.milestones.done.append(CompletedMilestone(code="M2", completed_on=date(2026, 12, 10)))
    world.bill(BillingPeriod(month="2026-12"), approve=True)
    december = next(r for r in world.store.runs(ENGAGEMENT) if r.period.month == "2026-12")
    assert december.invoice is not None
    assert [line.origin for line in december.invoice.lines] == ["milestone:M2"]


def test_retainer_bills_the_fee_and_hours_over_the_allowance_with_rollover() -> None:
    terms = BillingTerms(
        model=BillingModel.RETAINER,
        retainer_amount=Decimal("2000.00"),
        retainer_hours=Decimal("10"),
        rollover=True,
    )
    world = World(terms)
    world.work(8 * 60, worked_on=date(2026, 10, 10))  # October: 2 h unused, rolled over
    world.bill(BillingPeriod(month="2026-10"))
    october = world.run()
    assert october.unused_minutes == 120
    world.work(13 * 60, worked_on=date(2026, 11, 5))  # 13 h against 10 + 2 rolled over
    world.bill()
    november = next(r for r in world.store.runs(ENGAGEMENT) if r.period.month == "2026-11")
    assert november.invoice is not None
    # then the fee plus one hour over at the Consultant rate
    assert [str(line.net.amount) for line in november.invoice.lines] == ["2000.00", "180.00"]
    # the overage line names the role the hours were worked in, as the customer knows it
    assert november.invoice.lines[1].description.startswith("Hours over the retainer: Consultant, 2026-11-05")


def test_an_invoice_over_the_threshold_waits_for_approval_and_a_rejection_posts_nothing() -> None:
    world = World()
    world.work(16 * 60, role="Partner")  # 5,600.00: over the demo's 2,500.00 USD threshold
    state = world.bill(approve=False)
    assert state["status"] == "rejected"
    [request] = world.approvals.requests.values()
    assert request.subject == "invoice" and request.budget.startswith("5600.00")
    assert world.run().state is RunState.REJECTED and world.invoicing.creates == 0


def test_a_refused_invoice_opens_an_exception_and_a_retry_posts_it() -> None:
    world = World()
    world.work(60)
    world.invoicing.refuse_next = "The books are closed for this period"
    state = world.bill()
    # then the run is refused and an exception names the invoice, the reason and the retry
    assert state["status"] == "refused"
    run = world.run()
    assert run.state is RunState.REFUSED
    [exception] = world.ledger.exceptions.values()
    assert exception.kind == "invoice_rejected" and "books are closed" in exception.reason
    assert f"close2cash billing retry {run.id}" in exception.reason
    assert world.metrics.totals["InvoiceRejections[system=quickbooks]"] == 1
    # when a person fixes it and retries
    name, started = world.runs.retry(run.id)
    assert started and name.endswith("-2")
    state = world.runs.step("compose", dict(world.starter.started[name]["state"]))  # type: ignore[arg-type]
    state = world.runs.step("post", state)
    assert state["status"] == "posted"
    assert [e.state for e in world.ledger.exceptions.values()] == ["resolved"]


def test_partial_then_full_payment_reaches_psa_and_crm_whatever_the_order() -> None:
    world = World()
    world.work(120)
    world.bill()
    invoice_id = world.run().invoice_id
    assert invoice_id is not None
    # when a partial payment arrives, its notice twice
    payment = world.invoicing.receive(invoice_id, "100.00", date(2026, 11, 20))
    world.cash.on_notice(world.notice(EntityType.PAYMENT, payment))
    world.cash.on_notice(world.notice(EntityType.PAYMENT, payment))
    number = world.run().invoice.number  # type: ignore[union-attr]
    assert world.mirror.copies[number].standing is Standing.PARTIAL
    assert world.crm.deals["006A"].paid.amount == Decimal("100.00")
    assert world.crm.accounts["001A"].open.amount == Decimal("260.00")
    # days sales outstanding: 260.00 open of 360.00 invoiced in the last 90 days, x 90
    assert world.crm.accounts["001A"].days_sales_outstanding == Decimal("65.0")
    dso = next(k for k in world.metrics.latest if k.startswith("DaysSalesOutstanding["))
    assert "customer=" in dso and "001A" in dso and world.metrics.latest[dso] == 65.0
    # and the rest, announced only by an invoice notice (the payment's own notice lost)
    world.invoicing.receive(invoice_id, "260.00", date(2026, 11, 25))
    world.cash.on_notice(world.notice(EntityType.INVOICE, invoice_id))
    assert world.mirror.copies[number].standing is Standing.PAID
    health = world.crm.deals["006A"]
    assert (health.paid.amount, health.open.amount, health.last_payment) == (
        Decimal("360.00"),
        Decimal("0.00"),
        date(2026, 11, 25),
    )
    assert world.metrics.totals["CashCollected"] == 360.0
    assert world.crm.accounts["001A"].days_sales_outstanding == Decimal("0.0")
    assert world.metrics.latest[dso] == 0.0


def test_a_payment_before_its_invoice_is_parked_and_applied_when_the_invoice_arrives() -> None:
    world = World()
    world.work(60)
    # the invoice exists in the ledger (posted by the run's first attempt) but the hub has no record
    # of it yet: the payment's notice comes first
    name, _ = world.runs.start(ENGAGEMENT, NOVEMBER)
    state = world.runs.step("compose", dict(world.starter.started[name]["state"]))  # type: ignore[arg-type]
    invoice = world.run().invoice
    assert invoice is not None
    standing = world.invoicing.post_invoice("early", invoice)
    payment = world.invoicing.receive(standing.id, "180.00", date(2026, 11, 28))
    world.cash.on_notice(world.notice(EntityType.PAYMENT, payment))
    assert len(world.store.all_parked_payments()) == 1
    # when the run posts (it finds the invoice by number) and reports
    state = world.runs.step("post", state)
    world.runs.step("feedback", state)
    # then the payment is applied: paid in full everywhere, nothing parked
    assert world.store.all_parked_payments() == []
    assert world.mirror.copies[invoice.number].standing is Standing.PAID
    assert world.crm.deals["006A"].paid.amount == Decimal("180.00")


def test_a_voided_invoice_and_a_credit_memo_change_what_is_owed() -> None:
    world = World()
    world.work(120)
    world.bill()
    invoice_id = world.run().invoice_id
    assert invoice_id is not None
    # a credit memo for a disputed hour, applied to the invoice
    world.invoicing.credit(invoice_id, "180.00", date(2026, 11, 26))
    world.cash.sweep(SystemName.QUICKBOOKS)  # no notice: the change-data sweep finds it
    world.cash.on_notice(world.notice(EntityType.INVOICE, invoice_id))
    health = world.crm.deals["006A"]
    assert (health.credited.amount, health.paid.amount, health.open.amount) == (
        Decimal("180.00"),
        Decimal("0.00"),
        Decimal("180.00"),
    )
    # then the bookkeeper voids the invoice: nothing is invoiced or open any more
    world.invoicing.void(invoice_id)
    world.cash.on_notice(world.notice(EntityType.INVOICE, invoice_id, Operation.VOIDED))
    health = world.crm.deals["006A"]
    assert (health.invoiced.amount, health.open.amount, health.invoices) == (Decimal("0"), Decimal("0"), 0)


@pytest.mark.parametrize("text", ["2026-13", "Nov 2026", "2026-1"])
def test_a_period_that_is_not_a_month_is_refused_with_the_expected_form(text: str) -> None:
    from shared.domain.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="expected YYYY-MM"):
        BillingPeriod.parse(text)


def test_a_won_deal_books_the_terms_billing_runs_need() -> None:
    from shared.sync.engagements.terms import billing_terms
    from tests.engagement_fakes import FakeOpportunities

    deals = FakeOpportunities()
    # a fixed-fee deal sold as two milestone lines that add up to the fee
    fixed = deals.put(
        "006F", "001A", amount="10000.00", lines=(("Discovery", "1", "4000.00"), ("Delivery", "1", "6000.00"))
    ).model_copy(update={"billing_model": BillingModel.FIXED_FEE})
    terms = billing_terms(fixed)
    assert [(m.code, m.name, str(m.amount)) for m in terms.milestones] == [
        ("M1", "Discovery", "4000.00"),
        ("M2", "Delivery", "6000.00"),
    ]
    assert terms.fixed_fee == Decimal("10000.00") and terms.contract == "006F"
    # a retainer: the amount each month, the hours it includes, rollover as the deal says
    retainer = deals.put("006R", "001A", amount="2000.00").model_copy(
        update={"billing_model": BillingModel.RETAINER, "retainer_hours": Decimal("10"), "rollover": True}
    )
    terms = billing_terms(retainer)
    assert (terms.retainer_amount, terms.retainer_hours, terms.rollover) == (
        Decimal("2000.00"),
        Decimal("10"),
        True,
    )


XERO_ROW = 'source_system = "productive", target_system = "xero"'


def _cutover_to_xero() -> str:
    """The demo landscape with Xero beside QuickBooks: US01's postings go to Xero from 1 December."""
    text = DEMO.read_text()
    for old, new in (
        (
            '[[systems]]\nname = "quickbooks"\nrole = "accounting"',
            '[[systems]]\nname = "quickbooks"\nrole = "accounting"\n\n'
            '[[systems]]\nname = "xero"\nrole = "accounting"',
        ),
        (
            '[[routing]]\nlegal_entity = "UK01"',
            '[[routing]]\nlegal_entity = "US01"\nsystem = "xero"\nfrom_date = 2026-12-01\n\n'
            '[[routing]]\nlegal_entity = "UK01"',
        ),
        (
            "service_items = [",
            f'service_items = [\n  {{ source = "Consultant", target = "X-CONS", {XERO_ROW} }},',
        ),
        (
            "service_tax_codes = [",
            'service_tax_codes = [\n  { source = "Consultant", target = "NON", '
            f'{XERO_ROW}, legal_entity = "US01" }},',
        ),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    return text


def test_a_payment_after_the_cutover_follows_its_invoice_to_the_old_ledger() -> None:
    # given November's work invoiced in QuickBooks, then US01's cutover to Xero on 1 December confirmed
    world = World(landscape_text=_cutover_to_xero(), ledgers=(SystemName.QUICKBOOKS, SystemName.XERO))
    world.work(120)
    world.clock.advance(days=28)
    world.bill()
    november = world.run()
    assert november.invoice is not None and november.invoice_id is not None
    world.confirmed.add(("US01", SystemName.XERO))
    # when the customer pays the November invoice in December, in QuickBooks where it was issued
    world.clock.advance(days=10)
    payment = world.invoicing.receive(november.invoice_id, "360.00", date(2026, 12, 10))
    world.cash.on_notice(world.notice(EntityType.PAYMENT, payment))
    # then the invoice is paid where it lives; Xero holds no invoice and heard of no payment
    assert world.mirror.copies[november.invoice.number].standing is Standing.PAID
    assert world.crm.deals["006A"].paid.amount == Decimal("360.00")
    assert world.invoicings[SystemName.XERO].invoices == {}


def test_december_bills_in_the_new_ledger_only_after_the_go_ahead() -> None:
    world = World(landscape_text=_cutover_to_xero(), ledgers=(SystemName.QUICKBOOKS, SystemName.XERO))
    world.clock.advance(days=28)
    # given December's work, waiting for the cutover's go-ahead (parked, posted nowhere)
    entry = world.work(60, worked_on=date(2026, 12, 2))
    assert world.books[SystemName.XERO].postings() == [] and world.qbo.postings() == []
    # and December's run, started before the go-ahead, is refused saying what to run
    with pytest.raises(ValidationFailed, match="cutover diff --legal-entity US01"):
        world.runs.compose(
            RunStepState(
                run="r-early", engagement=ENGAGEMENT, period=BillingPeriod(month="2026-12"), execution="x"
            )
        )
    # when the cutover is confirmed, the work posts to Xero; December's run invoices it there
    world.confirmed.add(("US01", SystemName.XERO))
    world.delivery.release()
    assert len(world.books[SystemName.XERO].postings()) == 1
    world.clock.advance(days=30)
    state = world.bill(BillingPeriod(month="2026-12"))
    assert state["status"] == "reported", state
    [invoice] = world.invoicings[SystemName.XERO].invoices.values()
    assert invoice is not None and world.invoicing.invoices == {}
    del entry
