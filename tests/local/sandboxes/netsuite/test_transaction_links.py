"""SuiteQL NextTransactionLineLink: which payments and credit memos apply to which invoice, and how much."""

from __future__ import annotations

import httpx
import pytest

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.local.sandboxes.netsuite.conftest import RECORDS, Create, error_of, suiteql

LINKS = (
    "SELECT previousdoc, previoustype, nextdoc, nexttype, linktype, foreignamount "
    "FROM nexttransactionlinelink WHERE previousdoc IN ('{invoice}') ORDER BY previousdoc, nextdoc"
)


@pytest.fixture
def invoice(netsuite: NetSuiteSandbox, create: Create) -> dict[str, str]:
    """An open invoice of 500 for a customer."""
    customer = create("customer", {"companyName": "Acme Corp"})
    item = netsuite.add_item("Consulting")
    invoice = create(
        "invoice",
        {"entity": {"id": customer}, "item": {"items": [{"item": {"id": item}, "quantity": 2, "rate": 250}]}},
    )
    return {"customer": customer, "item": item, "invoice": invoice}


def test_a_payment_and_a_credit_memo_applied_are_links_from_the_invoice(
    api: httpx.Client, create: Create, invoice: dict[str, str]
) -> None:
    # given a payment of 300 applied to the invoice, and a credit memo of 50 applied to it
    payment = create(
        "customerPayment",
        {
            "customer": {"id": invoice["customer"]},
            "payment": 300,
            "apply": {"items": [{"doc": {"id": invoice["invoice"]}, "amount": 300}]},
        },
    )
    credit = create(
        "creditMemo",
        {
            "entity": {"id": invoice["customer"]},
            "item": {"items": [{"item": {"id": invoice["item"]}, "amount": 50}]},
            "apply": {"items": [{"doc": {"id": invoice["invoice"]}, "amount": 50}]},
        },
    )
    # when the links of the invoice are read
    found = suiteql(api, LINKS.format(invoice=invoice["invoice"])).json()["items"]
    # then each applying document is one link, invoice first, with the amount it applies (as text)
    assert found == [
        {
            "links": [],
            "previousdoc": invoice["invoice"],
            "previoustype": "CustInvc",
            "nextdoc": payment,
            "nexttype": "CustPymt",
            "linktype": "Payment",
            "foreignamount": "300",
        },
        {
            "links": [],
            "previousdoc": invoice["invoice"],
            "previoustype": "CustInvc",
            "nextdoc": credit,
            "nexttype": "CustCred",
            "linktype": "Payment",
            "foreignamount": "50",
        },
    ]


def test_a_deleted_payment_leaves_no_link(api: httpx.Client, create: Create, invoice: dict[str, str]) -> None:
    # given a payment applied to the invoice
    payment = create(
        "customerPayment",
        {
            "customer": {"id": invoice["customer"]},
            "payment": 100,
            "apply": {"items": [{"doc": {"id": invoice["invoice"]}, "amount": 100}]},
        },
    )
    assert len(suiteql(api, LINKS.format(invoice=invoice["invoice"])).json()["items"]) == 1
    # when the payment is deleted
    assert api.delete(f"{RECORDS}/customerPayment/{payment}").status_code == 204
    # then the invoice has no link any more
    assert suiteql(api, LINKS.format(invoice=invoice["invoice"])).json()["items"] == []


def test_an_unknown_link_column_is_refused_as_netsuite_does(api: httpx.Client) -> None:
    answer = suiteql(api, "SELECT appliedamount FROM nexttransactionlinelink ORDER BY nextdoc")
    assert answer.status_code == 400
    assert "appliedamount" in error_of(answer)["detail"]
