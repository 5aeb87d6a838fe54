"""Cash feedback: invoices as the ledger holds them, the payments and credits applied, and the
commercial health account teams see in the CRM.

The ledger's own figures are the truth. An invoice's `balance` as the accounting system returns it
after every notice (and every change-data sweep) decides what is open; payments and credit memos
are hints that say when to read it again and who paid. Settled = total - balance; of that, what the
credit memos applied to the invoice account for is `credited`, the rest is `paid`.

Days sales outstanding (DSO), per customer, is the textbook ratio over a trailing window: open AR
today / invoiced in the last `DSO_WINDOW_DAYS` days x those days. A customer with AR open but nothing
invoiced in the window has no such ratio; its DSO is then the age of its open AR (days since issue,
weighted by balance), which is at least the window: the debt is older than every recent sale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from shared.domain.models import CanonicalModel, SystemName, UtcDateTime
from shared.domain.money import Money, sum_money


class Standing(StrEnum):
    """Where an invoice stands, as its ledger says."""

    OPEN = "open"  # nothing settled
    PARTIAL = "partial"  # part settled
    PAID = "paid"  # balance zero
    VOID = "void"


class Applied(CanonicalModel):
    """One payment or credit memo applied to an invoice."""

    id: str = Field(min_length=1, description="the payment or credit memo in the ledger")
    amount: Money
    on: date
    credit: bool = Field(default=False, description="a credit memo, not cash")


class InvoiceStanding(CanonicalModel):
    """An invoice as the accounting system holds it now."""

    system: SystemName
    id: str = Field(min_length=1)
    number: str | None = None
    customer: str = Field(min_length=1, description="the (sub-)customer invoiced, in the ledger's ids")
    total: Money
    balance: Money
    issued_on: date
    due_on: date | None = None
    voided: bool = False
    sent: bool = False
    applied: tuple[Applied, ...] = Field(default=(), description="payments and credits naming it")
    version: str | None = None
    read_at: UtcDateTime

    @property
    def settled(self) -> Money:
        return self.total - self.balance

    @property
    def credited(self) -> Money:
        """What credit memos settled, never more than settled."""
        credits = sum_money((a.amount for a in self.applied if a.credit), self.total.currency)
        return min(credits, self.settled) if credits.amount > 0 else credits

    @property
    def paid(self) -> Money:
        return self.settled - self.credited

    @property
    def standing(self) -> Standing:
        if self.voided:
            return Standing.VOID
        if self.balance.amount <= 0:
            return Standing.PAID
        return Standing.PARTIAL if self.settled.amount > 0 else Standing.OPEN

    def overdue(self, today: date) -> bool:
        return not self.voided and self.balance.amount > 0 and self.due_on is not None and self.due_on < today

    @property
    def last_payment(self) -> date | None:
        days = [a.on for a in self.applied if not a.credit]
        return max(days) if days else None


class PaymentApplication(CanonicalModel):
    """One line of a payment: the invoice (or credit memo) it applies to, and how much."""

    invoice: str | None = None
    credit_memo: str | None = None
    amount: Money


class ReceivedPayment(CanonicalModel):
    """A payment as the ledger holds it: the invoices its lines name."""

    system: SystemName
    id: str = Field(min_length=1)
    customer: str
    total: Money
    unapplied: Money
    received_on: date
    voided: bool = False
    lines: tuple[PaymentApplication, ...] = ()

    @property
    def invoices(self) -> list[str]:
        return sorted({line.invoice for line in self.lines if line.invoice})


class IssuedCredit(CanonicalModel):
    """A credit memo as the ledger holds it."""

    system: SystemName
    id: str = Field(min_length=1)
    number: str | None = None
    customer: str
    total: Money
    remaining: Money
    issued_on: date
    voided: bool = False
    credits_invoice: str | None = Field(
        default=None, description="the invoice it was issued against, if known"
    )


# The trailing window DSO is measured over: a quarter, as finance teams usually report it.
DSO_WINDOW_DAYS = 90
DSO_PLACES = Decimal("0.1")


def days_sales_outstanding(
    standings: Sequence[InvoiceStanding], currency: str, today: date, *, window_days: int = DSO_WINDOW_DAYS
) -> Decimal | None:
    """DSO of the invoices in `standings` (one customer's) in `currency`, in days to one decimal;
    None when nothing was ever invoiced, 0.0 when nothing is open."""
    kept = [s for s in standings if not s.voided and s.total.currency == currency and s.issued_on <= today]
    if not kept:
        return None
    open_ar = sum((s.balance.amount for s in kept if s.balance.amount > 0), Decimal(0))
    if open_ar == 0:
        return Decimal("0.0")
    start = today - timedelta(days=window_days)
    sales = sum((s.total.amount for s in kept if s.issued_on > start), Decimal(0))
    if sales > 0:
        return (open_ar / sales * window_days).quantize(DSO_PLACES)
    aged = sum(
        (s.balance.amount * (today - s.issued_on).days for s in kept if s.balance.amount > 0), Decimal(0)
    )
    return (aged / open_ar).quantize(DSO_PLACES)


class CommercialHealth(CanonicalModel):
    """What an account team sees of a deal or a customer: invoiced, paid, open and overdue."""

    currency: str
    invoiced: Money
    credited: Money
    paid: Money
    open: Money
    overdue: Money
    last_payment: date | None = None
    days_sales_outstanding: Decimal | None = Field(
        default=None, description="open AR / invoiced in the trailing 90 days x 90 (see the module)"
    )
    invoices: int = 0
    as_of: date


def health_of(standings: Iterable[InvoiceStanding], currency: str, today: date) -> CommercialHealth:
    """The figures over `standings` (void ones count for nothing), in `currency` only."""
    every = list(standings)
    kept = [s for s in every if not s.voided and s.total.currency == currency]
    zero = Money.zero(currency)
    payments = [s.last_payment for s in kept if s.last_payment is not None]
    return CommercialHealth(
        currency=currency,
        invoiced=sum_money((s.total for s in kept), currency),
        credited=sum_money((s.credited for s in kept), currency),
        paid=sum_money((s.paid for s in kept), currency),
        open=sum_money((s.balance for s in kept), currency) if kept else zero,
        overdue=sum_money((s.balance for s in kept if s.overdue(today)), currency),
        last_payment=max(payments) if payments else None,
        days_sales_outstanding=days_sales_outstanding(every, currency, today),
        invoices=len(kept),
        as_of=today,
    )


class ParkedPayment(CanonicalModel):
    """A payment naming an invoice the hub has not seen: applied when the invoice arrives."""

    system: SystemName
    payment: str
    invoice: str
    parked_at: UtcDateTime
