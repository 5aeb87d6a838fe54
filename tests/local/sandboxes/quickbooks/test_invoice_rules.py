"""What the QuickBooks twin refuses for invoices and payments: closed books, a line without a tax
code where tax is per line, an inactive item; and the tax it adds per line.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
"""

from __future__ import annotations

from typing import Any

import httpx

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from tests.local.sandboxes.quickbooks.conftest import BASE, Post, error, seed_invoice, time_refs


def _invoice(refs: dict[str, str], *, tax_code: str | None = None, on: str = "2026-12-01") -> dict[str, Any]:
    detail: dict[str, Any] = {"ItemRef": {"value": refs["item"]}, "Qty": 3, "UnitPrice": 33.35}
    if tax_code is not None:
        detail["TaxCodeRef"] = {"value": tax_code}
    line = {"DetailType": "SalesItemLineDetail", "Amount": 100.05, "SalesItemLineDetail": detail}
    return {"CustomerRef": {"value": refs["customer"]}, "TxnDate": on, "Line": [line, line]}


def test_an_invoice_or_payment_dated_in_closed_books_is_refused(qbo: QuickBooksSandbox, post: Post) -> None:
    # given an invoice, then books closed through 30 November
    refs = time_refs(qbo, post)
    invoice = post("invoice", _invoice(refs)).json()["Invoice"]
    qbo.close_books("2026-11-30")
    # when an invoice and a payment dated on the closing date are sent
    late = post("invoice", _invoice(refs, on="2026-11-30"))
    paid = {
        "CustomerRef": {"value": refs["customer"]},
        "TotalAmt": 10,
        "TxnDate": "2026-11-30",
        "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    }
    payment = post("payment", paid)
    # then both are refused for the closed period, and the day after is open
    for refused in (late, payment):
        assert refused.status_code == 400
        assert (error(refused)["code"], error(refused)["Message"]) == ("5010", "Account Period Closed")
    assert post("payment", {**paid, "TxnDate": "2026-12-01"}).status_code == 200


def test_tax_is_added_per_line_rounded_half_up(qbo: QuickBooksSandbox, post: Post) -> None:
    # given a 7.5 % code: each line 100.05 * 7.5 % = 7.50375 -> 7.50, so 15.00 (not 15.01 on the sum)
    refs = time_refs(qbo, post)
    qbo.add_tax_code("TAX75", tax_code_id="TAX75", rate="7.5")
    invoice = post("invoice", _invoice(refs, tax_code="TAX75")).json()["Invoice"]
    assert invoice["TxnTaxDetail"]["TotalTax"] == 15
    assert (invoice["TotalAmt"], invoice["Balance"]) == (215.1, 215.1)


def test_a_us_company_takes_a_line_without_tax_code_a_vat_company_refuses_it(
    qbo: QuickBooksSandbox, post: Post
) -> None:
    refs = time_refs(qbo, post)
    assert post("invoice", _invoice(refs)).status_code == 200
    qbo.require_tax_per_line()
    refused = post("invoice", _invoice(refs))
    assert refused.status_code == 400 and error(refused)["code"] == "6000"
    assert "VAT rate" in error(refused)["Detail"]


def test_an_inactive_item_on_an_invoice_line_is_refused(qbo: QuickBooksSandbox, post: Post) -> None:
    refs = time_refs(qbo, post)
    qbo.set_item_active(refs["item"], False)
    refused = post("invoice", _invoice(refs))
    assert refused.status_code == 400 and error(refused)["code"] == "610"
    assert error(refused)["element"] == "Line.SalesItemLineDetail.ItemRef"


def test_a_sent_invoice_reads_email_sent(qbo: QuickBooksSandbox, post: Post, api: httpx.Client) -> None:
    invoice = seed_invoice(post)
    assert invoice["EmailStatus"] == "NotSet"
    qbo.send_invoice(invoice["Id"])
    assert api.get(f"{BASE}/invoice/{invoice['Id']}").json()["Invoice"]["EmailStatus"] == "EmailSent"
