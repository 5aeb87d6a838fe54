"""What the customer is billed and pays: invoices, credit memos and payments (the ERP's records).

Rounding rule: each line's net (quantity x unit price) and each line's tax (net x rate) is rounded
half-up to the currency's minor unit, and every total is the sum of those rounded line figures.
So subtotal + tax_total == total to the minor unit, and the hub's totals equal the totals of any
ledger that rounds per line. (Rounding tax once on the document subtotal can differ from the sum
of line taxes by a few minor units; the ERP mapper says so where a vendor does that.)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from shared.domain._rules import Code, in_currency, on_minor_unit
from shared.domain.decimals import CONTEXT, ExactDecimal
from shared.domain.dimensions import FinancialDimensions
from shared.domain.models import CanonicalModel, SourceRef
from shared.domain.money import CURRENCIES, ROUNDING, CurrencyCode, Money, sum_money
from shared.domain.refs import AccountRef, ContractRef, EngagementRef, InvoiceRef


class InvoiceLine(CanonicalModel):
    """One line of an invoice or credit memo, net of tax."""

    description: str = Field(min_length=1)
    quantity: ExactDecimal = Field(gt=0)
    # Negative for a discount line; the tax on it is then negative too.
    unit_price: Money
    tax_code: Code
    tax_rate: ExactDecimal = Field(ge=0, le=100)  # a percentage: 20 means 20 %
    dimensions: FinancialDimensions | None = None
    revenue_mapping: Code | None = None
    engagement: EngagementRef | None = None
    service_date: date | None = None
    # What the line was made from (a work key, `milestone:<code>`, `retainer:<period>`), and the
    # accounting record it bills (the time activity or expense posted for that work), if any.
    origin: str | None = Field(default=None, max_length=200)
    item: Code | None = None
    bills: str | None = Field(default=None, max_length=64)

    def figures(self) -> tuple[Decimal, Decimal]:
        """(net, tax) as Decimals on the minor unit: the one place the line's rounding happens."""
        quantum = Decimal(1).scaleb(-CURRENCIES[self.unit_price.currency])
        net = CONTEXT.multiply(self.unit_price.amount, self.quantity).quantize(quantum, ROUNDING, CONTEXT)
        tax = CONTEXT.multiply(net, CONTEXT.divide(self.tax_rate, 100)).quantize(quantum, ROUNDING, CONTEXT)
        return net, tax

    @property
    def net(self) -> Money:
        """Quantity times unit price, rounded half-up to the minor unit."""
        return Money.of(self.figures()[0], self.unit_price.currency)

    @property
    def tax(self) -> Money:
        """The rounded net times the tax rate, rounded half-up to the minor unit (per line, see module)."""
        return Money.of(self.figures()[1], self.unit_price.currency)

    @property
    def total(self) -> Money:
        """Net plus tax."""
        net, tax = self.figures()
        return Money.of(CONTEXT.add(net, tax), self.unit_price.currency)


class InvoiceStatus(StrEnum):
    """Where an invoice stands in the accounting system."""

    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


class BillingDocument(CanonicalModel):
    """What invoices and credit memos share: a customer, one currency, lines and their totals."""

    source: SourceRef
    number: str = Field(min_length=1)
    customer: AccountRef
    legal_entity: Code
    currency: CurrencyCode
    issue_date: date
    lines: tuple[InvoiceLine, ...] = Field(min_length=1)
    engagement: EngagementRef | None = None
    contract: ContractRef | None = None
    memo: str | None = None
    # The customer's account in the CRM (the customer master) when the hub links the ledger's customer
    # to it: one customer across systems, which the analytics slices documents by.
    account: AccountRef | None = None

    @model_validator(mode="after")
    def _lines_in_document_currency(self) -> BillingDocument:
        for index, line in enumerate(self.lines):
            if line.unit_price.currency != self.currency:
                raise ValueError(
                    f"lines[{index}].unit_price is in {line.unit_price.currency}; "
                    f"every line must be in the document currency {self.currency}"
                )
        return self

    # Totals add the lines' rounded Decimal figures and wrap the sum once: documents of hundreds of
    # lines are summed in bulk by reconciliation, and a Money per addition costs more than the sum.
    @property
    def subtotal(self) -> Money:
        """The sum of the lines' rounded nets."""
        return self._sum(0)

    @property
    def tax_total(self) -> Money:
        """The sum of the lines' rounded taxes."""
        return self._sum(1)

    @property
    def total(self) -> Money:
        """Subtotal plus tax total (equal to the sum of the line totals, to the minor unit)."""
        return self.subtotal + self.tax_total

    def _sum(self, which: int) -> Money:
        total = Money.zero(self.currency).amount
        for line in self.lines:
            total = CONTEXT.add(total, line.figures()[which])
        return Money.of(total, self.currency)


class Invoice(BillingDocument):
    """An invoice the firm issued to a customer."""

    due_date: date
    status: InvoiceStatus = InvoiceStatus.OPEN
    purchase_order: str | None = None
    balance: Money | None = Field(
        default=None, description="what is still owed on it as the ledger says (None: not read from it)"
    )

    @model_validator(mode="after")
    def _due_after_issue(self) -> Invoice:
        if self.due_date < self.issue_date:
            raise ValueError(f"due_date {self.due_date} must not be before issue_date {self.issue_date}")
        if self.balance is not None:
            in_currency("balance", self.balance, self.currency)
        return self


class CreditMemo(BillingDocument):
    """A credit against an invoice: its lines and totals are positive; it reduces what is owed."""

    credits_invoice: InvoiceRef
    reason: str | None = None

    @model_validator(mode="after")
    def _positive(self) -> CreditMemo:
        if self.total.amount <= 0:
            raise ValueError(f"a credit memo's total must be positive, got {self.total}")
        return self

    @property
    def applied_amount(self) -> Money:
        """The effect on the customer's balance: the total, negated."""
        return -self.total


class PaymentAllocation(CanonicalModel):
    """The part of a payment applied to one invoice."""

    invoice: InvoiceRef
    amount: Money

    @model_validator(mode="after")
    def _positive_and_rounded(self) -> PaymentAllocation:
        on_minor_unit("amount", self.amount)
        if self.amount.amount <= 0:
            raise ValueError(f"amount applied to {self.invoice} must be positive, got {self.amount}")
        return self


class Payment(CanonicalModel):
    """Money received from a customer and how it was applied to invoices."""

    source: SourceRef
    customer: AccountRef
    amount: Money
    received_on: date
    reference: str | None = None
    allocations: tuple[PaymentAllocation, ...] = ()
    # The customer's account in the CRM, when the hub links the ledger's customer to it.
    account: AccountRef | None = None

    @model_validator(mode="after")
    def _allocations_fit(self) -> Payment:
        on_minor_unit("amount", self.amount)
        if self.amount.amount <= 0:
            raise ValueError(f"amount must be positive, got {self.amount}")
        for index, allocation in enumerate(self.allocations):
            in_currency(f"allocations[{index}].amount", allocation.amount, self.amount.currency)
        allocated = self.allocated
        if allocated > self.amount:
            raise ValueError(f"allocations sum to {allocated}, more than the payment amount {self.amount}")
        return self

    @property
    def allocated(self) -> Money:
        """The sum of the allocations."""
        return sum_money((a.amount for a in self.allocations), self.amount.currency)

    @property
    def unallocated(self) -> Money:
        """What is left to apply (on account)."""
        return self.amount - self.allocated
