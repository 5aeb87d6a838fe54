"""What QuickBooks refuses for an invoice, and what it reads back after a credit, a void and a send.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/creditmemo
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from shared.connectors.quickbooks import QuickBooksConnector
from shared.domain.billing_ports import InvoiceRefused
from shared.domain.cash import Standing
from tests.connectors.quickbooks.test_invoicing import invoice_for
from tests.connectors.quickbooks.test_postings import books, posted, time_posting

__all__ = ["books"]


def void_invoice(connector: QuickBooksConnector, invoice: str) -> None:
    """A bookkeeper voids the invoice (POST /invoice?operation=void over its SyncToken)."""
    client = connector.client
    row = client._send("GET", client._path("invoice", invoice), context="read")["Invoice"]
    client._send(
        "POST",
        client._path("invoice"),
        params={"operation": "void"},
        body={"Id": invoice, "SyncToken": row["SyncToken"]},
        context="void",
    )


def _post(connector: QuickBooksConnector, books: dict[str, str], n: int) -> str:
    record = posted(connector, time_posting(books, 40 + n), f"post-s{n}")
    return connector.post_invoice(f"bill-s{n}", invoice_for(books, record.id, number=f"S{n}")).id


def test_an_invoice_in_a_closed_period_is_refused(
    connector: QuickBooksConnector, books: dict[str, str], sandbox: QuickBooksSandbox
) -> None:
    # given books closed through the end of November (the invoice is dated 1 December)
    record = posted(connector, time_posting(books, 31), "post-31")
    sandbox.close_books("2026-12-01")
    # when the invoice is posted, then QuickBooks refuses it for the closed period
    with pytest.raises(InvoiceRefused, match="period has closed") as refused:
        connector.post_invoice("bill-31", invoice_for(books, record.id))
    assert refused.value.code == "5010"
    # and once the books are reopened it goes through
    sandbox.close_books("2026-11-30")
    assert connector.post_invoice("bill-32", invoice_for(books, record.id)).total.amount == Decimal("139.65")


def test_a_line_without_a_tax_code_is_refused_where_tax_is_per_line(
    connector: QuickBooksConnector, books: dict[str, str], sandbox: QuickBooksSandbox
) -> None:
    record = posted(connector, time_posting(books, 33), "post-33")
    sandbox.require_tax_per_line()
    invoice = invoice_for(books, record.id)
    untaxed = invoice.model_copy(update={"lines": (invoice.lines[0].model_copy(update={"tax_code": None}),)})
    with pytest.raises(InvoiceRefused, match="VAT rate") as refused:
        connector.post_invoice("bill-33", untaxed)
    assert refused.value.code == "6000"


def test_quickbooks_adds_the_tax_of_each_line_to_the_total(
    connector: QuickBooksConnector, books: dict[str, str], sandbox: QuickBooksSandbox
) -> None:
    # given a 20 % code (139.65 * 20 % = 27.93)
    sandbox.add_tax_code("VAT20", tax_code_id="VAT20", rate="20")
    record = posted(connector, time_posting(books, 34), "post-34")
    invoice = invoice_for(books, record.id)
    taxed = invoice.model_copy(update={"lines": (invoice.lines[0].model_copy(update={"tax_code": "VAT20"}),)})
    standing = connector.post_invoice("bill-34", taxed)
    assert (standing.total.amount, standing.balance.amount) == (Decimal("167.58"), Decimal("167.58"))


def test_a_credit_memo_applied_by_a_zero_payment_credits_the_invoice(
    connector: QuickBooksConnector, books: dict[str, str]
) -> None:
    invoice = _post(connector, books, 1)
    client = connector.client
    memo: dict[str, Any] = {
        "CustomerRef": {"value": books["customer"]},
        "Line": [
            {
                "Amount": Decimal("139.65"),
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": books["item"]}},
            }
        ],
    }
    credit = client._send("POST", client._path("creditmemo"), body=memo, context="memo")["CreditMemo"]["Id"]
    # when the bookkeeper applies the memo with a zero payment
    zero: dict[str, Any] = {
        "CustomerRef": {"value": books["customer"]},
        "TotalAmt": 0,
        "Line": [
            {"Amount": Decimal("139.65"), "LinkedTxn": [{"TxnId": invoice, "TxnType": "Invoice"}]},
            {"Amount": Decimal("139.65"), "LinkedTxn": [{"TxnId": credit, "TxnType": "CreditMemo"}]},
        ],
    }
    client._send("POST", client._path("payment"), body=zero, context="apply")
    standing = connector.invoice_standing(invoice)
    assert standing is not None and standing.standing is Standing.PAID
    assert standing.credited.amount == Decimal("139.65") and [a.credit for a in standing.applied] == [True]
    held = connector.credit_memo(credit)
    assert held is not None and held.total.amount == Decimal("139.65")


def test_a_sent_then_voided_invoice_reads_back_sent_and_voided(
    connector: QuickBooksConnector, books: dict[str, str], sandbox: QuickBooksSandbox
) -> None:
    invoice = _post(connector, books, 2)
    sandbox.send_invoice(invoice)
    sent = connector.invoice_standing(invoice)
    assert sent is not None and sent.sent and not sent.voided
    void_invoice(connector, invoice)
    voided = connector.invoice_standing(invoice)
    assert voided is not None and voided.voided and voided.standing is Standing.VOID
