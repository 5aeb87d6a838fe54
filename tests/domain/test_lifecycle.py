"""Lifecycle records refuse what the business would refuse, and name the field that is wrong."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.domain.billing import CreditMemo, Invoice, InvoiceLine, Payment, PaymentAllocation
from shared.domain.commercial import NoRateError, RateCard, RateCardLine
from shared.domain.delivery import TimeEntry
from shared.domain.dimensions import FinancialDimensions
from shared.domain.engagements import BillingModel, Engagement, Milestone
from shared.domain.models import Account, EntityType, SourceRef, SystemName
from shared.domain.money import Money


def ref(kind: str, id_: str = "1", system: SystemName = SystemName.NETSUITE) -> SourceRef:
    return SourceRef(system=system, type=kind, id=id_)


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def card(*lines: RateCardLine) -> RateCard:
    return RateCard(source=ref("rate_card"), id="STD-2025", name="Standard", currency="USD", lines=lines)


def test_account_imports_still_work_and_entity_types_cover_the_lifecycle():
    assert Account.__name__ == "Account"
    assert EntityType("invoice") is EntityType.INVOICE


def test_rate_card_finds_the_rate_in_effect_and_says_when_there_is_none():
    rates = card(
        RateCardLine(
            role="consultant",
            rate=usd("150"),
            effective_from=date(2025, 1, 1),
            effective_to=date(2025, 6, 30),
        ),
        RateCardLine(role="consultant", rate=usd("160"), effective_from=date(2025, 7, 1)),
    )
    assert rates.rate_for("consultant", date(2025, 6, 30)) == usd("150")
    assert rates.rate_for("consultant", date(2026, 1, 1)) == usd("160")
    with pytest.raises(NoRateError, match="'partner' on 2025-03-01"):
        rates.rate_for("partner", date(2025, 3, 1))


def test_overlapping_rates_for_one_role_and_foreign_currency_rates_are_refused():
    with pytest.raises(ValidationError, match="overlap"):
        card(
            RateCardLine(role="consultant", rate=usd("150"), effective_from=date(2025, 1, 1)),
            RateCardLine(role="consultant", rate=usd("160"), effective_from=date(2025, 7, 1)),
        )
    with pytest.raises(ValidationError, match=r"lines\[0\]\.rate is in EUR; expected USD"):
        card(RateCardLine(role="consultant", rate=Money.of("1", "EUR"), effective_from=date(2025, 1, 1)))


def engagement(**changes: object) -> Engagement:
    fields: dict[str, object] = {
        "source": ref("project", system=SystemName.KANTATA),
        "name": "ERP rollout",
        "account": ref("customer"),
        "template": "implementation",
        "billing_model": BillingModel.FIXED_FEE,
        "currency": "USD",
        "dimensions": FinancialDimensions(legal_entity="US01"),
        "budget": usd("100000"),
        "start_date": date(2025, 1, 1),
        "fixed_fee": usd("100000"),
        "milestones": (
            Milestone(code="M1", name="Design", amount=usd("33333.33")),
            Milestone(code="M2", name="Build", amount=usd("66666.67")),
        ),
    }
    fields.update(changes)
    return Engagement.model_validate(fields)


def test_fixed_fee_milestones_must_sum_to_the_fee_exactly():
    assert engagement().fixed_fee == usd("100000")
    # given milestones that sum to 100,000.00 and a fee one cent higher
    with pytest.raises(ValidationError, match=r"sum to 100000\.00 USD, the fee is 100000\.01 USD"):
        engagement(fixed_fee=usd("100000.01"))


def test_retainer_needs_a_period_amount_and_time_and_materials_a_rate_card():
    with pytest.raises(ValidationError, match="retainer_amount"):
        engagement(billing_model=BillingModel.RETAINER, fixed_fee=None, milestones=())
    with pytest.raises(ValidationError, match="rate_card is required"):
        engagement(billing_model=BillingModel.TIME_AND_MATERIALS, fixed_fee=None, milestones=())


def test_time_entry_amount_is_rounded_and_hours_are_bounded():
    entry = TimeEntry(
        source=ref("time_entry", system=SystemName.KANTATA),
        project=ref("project"),
        worker=ref("worker"),
        worked_on=date(2025, 3, 3),
        hours=Decimal("7.333"),
        rate=usd("150.00"),
        billable=True,
    )
    assert entry.amount == usd("1099.95")
    with pytest.raises(ValidationError, match="hours"):
        entry.model_validate({**entry.model_dump(), "hours": "24.5"})


def line(price: Money, quantity: str = "1", rate: str = "20") -> InvoiceLine:
    return InvoiceLine(
        description="Consulting",
        quantity=Decimal(quantity),
        unit_price=price,
        tax_code="VAT",
        tax_rate=Decimal(rate),
    )


def test_tax_is_rounded_per_line_and_totals_reconcile():
    # given three lines whose tax is 0.333.. each: per-line rounding gives 0.33 x 3, not 1.00
    invoice = Invoice(
        source=ref("invoice"),
        number="INV-7",
        customer=ref("customer"),
        legal_entity="US01",
        currency="USD",
        issue_date=date(2025, 3, 31),
        due_date=date(2025, 4, 30),
        lines=tuple(line(usd("1.6666")) for _ in range(3)),
    )
    assert (
        invoice.subtotal == usd("5.01") and invoice.tax_total == usd("0.99") and invoice.total == usd("6.00")
    )


def test_an_invoice_line_in_another_currency_is_refused_by_index():
    with pytest.raises(ValidationError, match=r"lines\[1\]\.unit_price is in EUR"):
        Invoice(
            source=ref("invoice"),
            number="INV-8",
            customer=ref("customer"),
            legal_entity="US01",
            currency="USD",
            issue_date=date(2025, 3, 31),
            due_date=date(2025, 4, 30),
            lines=(line(usd("1")), line(Money.of("1", "EUR"))),
        )


def test_credit_memo_totals_are_positive_and_applied_negative():
    memo = CreditMemo(
        source=ref("credit_memo"),
        number="CM-1",
        customer=ref("customer"),
        legal_entity="US01",
        currency="USD",
        issue_date=date(2025, 4, 2),
        credits_invoice=ref("invoice", "INV-7"),
        lines=(line(usd("100")),),
    )
    assert memo.total == usd("120.00") and memo.applied_amount == usd("-120.00")


def test_payment_allocations_cannot_exceed_the_payment():
    allocation = PaymentAllocation(invoice=ref("invoice"), amount=usd("80.00"))
    payment = Payment(
        source=ref("payment"),
        customer=ref("customer"),
        amount=usd("100.00"),
        received_on=date(2025, 4, 15),
        allocations=(allocation,),
    )
    assert payment.unallocated == usd("20.00")
    with pytest.raises(ValidationError, match="more than the payment amount"):
        Payment(
            source=ref("payment"),
            customer=ref("customer"),
            amount=usd("50.00"),
            received_on=date(2025, 4, 15),
            allocations=(allocation,),
        )
