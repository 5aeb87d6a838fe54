"""A cutover's shadow invoices: each invoice of the shadow period, composed for the new ledger, against
what the old ledger holds for it, to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.domain.billing_runs import BillingTerms, CompletedMilestone, MilestoneTerm
from shared.domain.cutover import CutoverLine, LineKind
from shared.domain.engagements import BillingModel
from shared.domain.models import SystemName
from shared.domain.money import Money
from shared.governance.loader import parse_landscape
from shared.governance.routing import Routing
from shared.sync.cutover import Cutovers
from shared.sync.cutover_invoices import ShadowInvoices
from tests.sync.test_billing import World as BillingWorld
from tests.sync.test_cutover import FakeCutoverBook, coexistence

OLD, NEW = SystemName.QUICKBOOKS, SystemName.XERO


FIXED_ITEM = 'fixed_item = { quickbooks = "9010" }'
TAX_RATES = "tax_rates = ["


def landscape(*, xero_rate: bool = True, xero_fixed_item: bool = False) -> str:
    """The coexistence landscape; Xero's tax code NONE at 0 % for US01, Xero's item for fixed lines."""
    text = coexistence()
    assert FIXED_ITEM in text and TAX_RATES in text
    if xero_rate:
        row = '\n  { legal_entity = "US01", code = "NONE", rate = "0" },'
        text = text.replace(TAX_RATES, TAX_RATES + row)
    if xero_fixed_item:
        text = text.replace(FIXED_ITEM, 'fixed_item = { quickbooks = "9010", xero = "X-FIX" }')
    return text


class World(BillingWorld):
    """The billing world on the coexistence landscape (US01 to Xero on 1 December, shadowed from
    15 November), with the cutover's diff."""

    def __init__(self, terms: BillingTerms | None = None, *, landscape_text: str | None = None) -> None:
        text = landscape_text or landscape()
        super().__init__(terms, landscape_text=text, ledgers=(OLD, NEW))
        parsed = parse_landscape(text)
        self.book = FakeCutoverBook()
        self.cutovers = Cutovers(
            routing=Routing(parsed),
            delivery=self.delivery,
            source=lambda: self.psa,
            target=lambda system: self.books[system],
            store=self.postings,
            book=self.book,
            invoices=ShadowInvoices(
                landscape=parsed, store=self.store, target=lambda system: self.invoicings[system]
            ),
            clock=self.clock,
        )

    def invoice_lines(self) -> list[CutoverLine]:
        return [line for line in self.cutovers.diff("US01").lines if ":invoice:" in line.id]


def test_an_invoice_of_the_shadow_period_the_new_ledger_would_hold_to_the_cent_is_no_line() -> None:
    # given November's time (one entry before the shadow period began, one in it), invoiced in QuickBooks
    world = World()
    world.work(90, worked_on=date(2026, 11, 3))
    world.work(45, worked_on=date(2026, 11, 20))
    world.clock.advance(days=28)
    assert world.bill()["status"] == "reported"
    [invoice_id] = world.invoicing.invoices
    # when the diff is run
    diff = world.cutovers.diff("US01")
    # then it compared the entry of the shadow period and the invoice (all its month), and found them
    # the same in both ledgers: 405.00 in QuickBooks, 405.00 as Xero would hold it
    assert diff.documents == 2 and diff.lines == [] and diff.clear
    assert world.invoicing.invoices[invoice_id]["total"] == Money.of("405.00", "USD")
    # nothing was written to Xero
    assert world.invoicings[NEW].invoices == {} and world.books[NEW].postings() == []


def test_a_tax_code_of_the_new_ledger_without_a_rate_is_a_line_saying_where_to_add_it() -> None:
    # given November's time invoiced in QuickBooks, and no rate for Xero's tax code NONE in US01
    world = World(landscape_text=landscape(xero_rate=False))
    world.work(60, worked_on=date(2026, 11, 20))
    world.clock.advance(days=28)
    world.bill()
    # then the invoice could not be composed for Xero, and the line says what to add
    [line] = world.invoice_lines()
    assert line.kind is LineKind.CANNOT_POST
    reason = line.new or ""
    assert "'NONE' has no rate for legal entity US01" in reason and "[[tax_rates]]" in reason


def test_an_invoice_changed_in_the_old_ledger_differs_by_what_it_moves() -> None:
    world = World()
    world.work(120, worked_on=date(2026, 11, 20))
    world.clock.advance(days=28)
    world.bill()
    [(invoice_id, stored)] = world.invoicing.invoices.items()
    # given a bookkeeper changed the invoice's total in QuickBooks by hand (a discount line)
    stored["total"] = Money.of("340.00", "USD")
    # then the diff has one line for that invoice: its amount, 20.00 at stake
    [line] = world.invoice_lines()
    assert line.kind is LineKind.DIFFERS and line.field == "amount"
    assert (line.old, line.new) == ("340.00 USD", "360.00 USD")
    assert line.at_stake == Money.of("20.00", "USD")
    assert invoice_id in line.document and "2026-11" in line.document
    # when it is acknowledged, the diff is clear
    world.cutovers.acknowledge("US01", line.id, by="controller", note="discount agreed with Acme")
    assert world.cutovers.diff("US01").clear


def test_an_invoice_billing_an_entry_the_new_ledger_cannot_take_names_the_entry() -> None:
    # given a Partner's hour in the shadow period, billed in QuickBooks; Xero has no item for Partners
    world = World()
    entry = world.work(60, role="Partner", worked_on=date(2026, 11, 21))
    world.clock.advance(days=28)
    world.bill()
    lines = world.cutovers.diff("US01").lines
    # then the entry is a line, and so is the invoice, naming the entry
    kinds = {line.id.split(":")[1]: line for line in lines}
    assert kinds["time"].kind is LineKind.CANNOT_POST
    assert kinds["invoice"].kind is LineKind.CANNOT_POST and entry in (kinds["invoice"].new or "")


def test_a_milestone_invoice_needs_a_fixed_item_in_the_new_ledger() -> None:
    terms = BillingTerms(
        model=BillingModel.FIXED_FEE,
        fixed_fee=Decimal("10000.00"),
        milestones=(MilestoneTerm(code="M1", name="Discovery", amount=Decimal("4000.00")),),
    )
    # given a milestone completed and invoiced in QuickBooks in the shadow period
    world = World(terms)
    world.milestones.done = [CompletedMilestone(code="M1", completed_on=date(2026, 11, 16))]
    world.clock.advance(days=28)
    world.bill()
    # then, with no fixed item for Xero in [billing], the invoice is a line saying what to add
    [line] = world.invoice_lines()
    assert line.kind is LineKind.CANNOT_POST and "fixed_item" in (line.new or "")
    # when the landscape names Xero's item for milestone lines, the invoice is the same in both
    fixed = World(terms, landscape_text=landscape(xero_fixed_item=True))
    fixed.milestones.done = list(world.milestones.done)
    fixed.clock.advance(days=28)
    fixed.bill()
    assert fixed.invoice_lines() == []


def test_a_retainer_invoice_counts_every_hour_of_its_month_in_the_shadow() -> None:
    terms = BillingTerms(
        model=BillingModel.RETAINER, retainer_amount=Decimal("2000.00"), retainer_hours=Decimal("10")
    )
    # given 11 h in November (1 h over the retainer), invoiced in QuickBooks: 2,000.00 + 180.00
    world = World(terms, landscape_text=landscape(xero_fixed_item=True))
    world.work(6 * 60, worked_on=date(2026, 11, 5))
    world.work(5 * 60, worked_on=date(2026, 11, 25))
    world.clock.advance(days=28)
    world.bill()
    [stored] = world.invoicing.invoices.values()
    assert stored["total"] == Money.of("2180.00", "USD")
    # then Xero's shadow of it bills the same fee and the same hour over: no invoice line
    assert world.invoice_lines() == []
