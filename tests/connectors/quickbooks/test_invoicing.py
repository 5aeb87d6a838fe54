"""Invoices posted to QuickBooks Online and read back with their payments (InvoiceTarget), on the sandbox.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from shared.connectors.quickbooks import QuickBooksConnector
from shared.domain.billing import Invoice, InvoiceLine
from shared.domain.billing_ports import InvoiceRefused, InvoiceTarget
from shared.domain.billing_runs import hours_quantity
from shared.domain.cash import Standing
from shared.domain.dimensions import FinancialDimensions
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import WorkKind
from tests.connectors.quickbooks.test_postings import books, posted, time_posting

__all__ = ["books"]


def invoice_for(books: dict[str, str], activity: str, *, number: str = "7001-202611") -> Invoice:
    rate, amount = Money.of("152.35", "USD"), Money.of("139.65", "USD")  # 55 min at 152.35
    return Invoice(
        source=SourceRef(system=SystemName.QUICKBOOKS, type="billing_run", id="productive-7001-202611"),
        number=number,
        customer=SourceRef(system=SystemName.QUICKBOOKS, type="customer", id=books["customer"]),
        legal_entity="US01",
        currency="USD",
        issue_date=date(2026, 12, 1),
        due_date=date(2026, 12, 31),
        lines=(
            InvoiceLine(
                description="Workshop prep",
                quantity=hours_quantity(55, rate, amount),
                unit_price=rate,
                tax_code="NON",
                tax_rate=Decimal(0),
                dimensions=FinancialDimensions(
                    legal_entity="US01", accounting_class=books["class"], department=books["department"]
                ),
                service_date=date(2026, 11, 18),
                origin="productive:time:te-1",
                item=books["item"],
                bills=activity,
            ),
        ),
        memo="Acme rollout - period 2026-11 - contract 006A",
    )


def pay(connector: QuickBooksConnector, invoice: str, customer: str, amount: str, on: str) -> str:
    """A bookkeeper records a payment against the invoice (POST /payment)."""
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer},
        "TotalAmt": Decimal(amount),
        "TxnDate": on,
        "Line": [{"Amount": Decimal(amount), "LinkedTxn": [{"TxnId": invoice, "TxnType": "Invoice"}]}],
    }
    answer = connector.client._send("POST", connector.client._path("payment"), body=body, context="payment")
    return str(answer["Payment"]["Id"])


def test_the_connector_is_an_invoice_target(connector: QuickBooksConnector) -> None:
    target: InvoiceTarget = connector
    assert target.system is SystemName.QUICKBOOKS


def test_an_invoice_bills_its_linked_time_and_a_second_post_finds_it(
    connector: QuickBooksConnector, books: dict[str, str]
) -> None:
    # given a posted time activity
    record = posted(connector, time_posting(books, 1), "post-1")
    # when its invoice is posted, then posted again under a new request id (a new attempt)
    first = connector.post_invoice("bill-1", invoice_for(books, record.id))
    again = connector.post_invoice("bill-2", invoice_for(books, record.id))
    # then QuickBooks holds one invoice of 139.65, open, and the time is billed
    assert again.id == first.id
    assert (first.total.amount, first.balance.amount, first.standing) == (
        Decimal("139.65"),
        Decimal("139.65"),
        Standing.OPEN,
    )
    [held] = connector.posted_records(WorkKind.TIME, [record.id]).values()
    assert held.billed


def test_an_inactive_item_is_refused_with_the_vendors_reason(
    connector: QuickBooksConnector, books: dict[str, str], sandbox: QuickBooksSandbox
) -> None:
    record = posted(connector, time_posting(books, 2), "post-2")
    sandbox.set_item_active(books["item"], False)
    with pytest.raises(InvoiceRefused, match="inactive"):
        connector.post_invoice("bill-3", invoice_for(books, record.id))


def test_partial_then_full_payment_and_a_void_read_back_from_the_balance(
    connector: QuickBooksConnector, books: dict[str, str]
) -> None:
    record = posted(connector, time_posting(books, 3), "post-3")
    invoice = connector.post_invoice("bill-4", invoice_for(books, record.id))
    # when a partial payment is recorded
    first = pay(connector, invoice.id, books["customer"], "100.00", "2026-12-05")
    partial = connector.invoice_standing(invoice.id)
    assert partial is not None and partial.standing is Standing.PARTIAL
    assert (partial.paid.amount, partial.balance.amount) == (Decimal("100.00"), Decimal("39.65"))
    assert [a.id for a in partial.applied] == [first]
    payment = connector.payment(first)
    assert payment is not None and payment.invoices == [invoice.id]
    # and the rest
    pay(connector, invoice.id, books["customer"], "39.65", "2026-12-09")
    paid = connector.invoice_standing(invoice.id)
    assert paid is not None and paid.standing is Standing.PAID and paid.last_payment == date(2026, 12, 9)
    # and the change-data feed lists the invoice and both payments
    since = datetime.now(UTC) - timedelta(hours=1)
    changed = {(c.entity, c.id) for c in connector.changed_billing(since)}
    assert ("invoice", invoice.id) in changed and ("payment", first) in changed
