"""Invoices, customer payments and credit memos: totals from lines, payments applied, balances that follow."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.fakes import HandClock
from tests.local.sandboxes.netsuite.conftest import RECORDS, Create, error_of, suiteql


@pytest.fixture
def billing(netsuite: NetSuiteSandbox, create: Create) -> dict[str, str]:
    """A customer with a project, a consulting item, and an invoice of 3 h x 150 + 2 h x 100 = 650."""
    customer = create("customer", {"companyName": "Acme Corp"})
    project = create("job", {"companyName": "Rollout", "parent": {"id": customer}})
    item = netsuite.add_item("Consulting")
    invoice = create(
        "invoice",
        {
            "entity": {"id": project},
            "tranDate": "2026-12-01",
            "item": {
                "items": [
                    {"item": {"id": item}, "quantity": 3, "rate": 150},
                    {"item": {"id": item}, "quantity": 2, "rate": 100},
                ]
            },
        },
    )
    return {"customer": customer, "project": project, "item": item, "invoice": invoice}


def _invoice(api: httpx.Client, invoice: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"{RECORDS}/invoice/{invoice}").json()
    return body


def test_an_invoice_totals_its_lines_and_is_open(api: httpx.Client, billing: dict[str, str]) -> None:
    body = _invoice(api, billing["invoice"])
    assert body["total"] == 650
    assert body["amountRemaining"] == 650
    assert body["status"] == {"id": "A", "refName": "Open"}
    # the lines are a link until expanded
    assert set(body["item"]) == {"links"}
    expanded = api.get(
        f"{RECORDS}/invoice/{billing['invoice']}", params={"expandSubResources": "true"}
    ).json()
    lines = expanded["item"]["items"]
    assert [line["amount"] for line in lines] == [450, 200]
    assert lines[0]["item"]["refName"] == "Consulting"


def test_an_invoice_needs_lines_and_a_known_item(api: httpx.Client, billing: dict[str, str]) -> None:
    empty = api.post(f"{RECORDS}/invoice", json={"entity": {"id": billing["customer"]}})
    assert empty.status_code == 400
    assert "at least one line" in error_of(empty)["detail"]
    unknown = api.post(
        f"{RECORDS}/invoice",
        json={
            "entity": {"id": billing["customer"]},
            "item": {"items": [{"item": {"id": "9999"}, "amount": 1}]},
        },
    )
    # the documented "Request with an Invalid Body" answer
    assert error_of(unknown)["o:errorCode"] == "INVALID_CONTENT"
    assert error_of(unknown)["o:errorPath"] == "item.items[0].item"


def test_a_payment_applied_in_full_marks_the_invoice_paid_and_moves_its_change_date(
    api: httpx.Client, create: Create, billing: dict[str, str], clock: HandClock
) -> None:
    # given the open invoice of 650, when the customer pays it in full ten minutes later
    clock.advance(minutes=10)
    payment = create(
        "customerPayment",
        {
            "customer": {"id": billing["customer"]},
            "payment": 650,
            "apply": {"items": [{"doc": {"id": billing["invoice"]}, "apply": True, "amount": 650}]},
        },
    )
    # then the invoice is paid in full, and its lastModifiedDate says when
    body = _invoice(api, billing["invoice"])
    assert body["amountRemaining"] == 0
    assert body["amountPaid"] == 650
    assert body["status"] == {"id": "B", "refName": "Paid In Full"}
    assert body["lastModifiedDate"] == "2026-12-01T09:10:00Z"
    assert api.get(f"{RECORDS}/customerPayment/{payment}").json()["unapplied"] == 0
    # and a SuiteQL sweep of invoices changed since 09:05 finds it with its status
    found = suiteql(
        api,
        "SELECT id, status, foreignamountremaining FROM transaction WHERE type = 'CustInvc' AND "
        "lastmodifieddate > TO_TIMESTAMP('2026-12-01 09:05:00', 'YYYY-MM-DD HH24:MI:SS')",
    ).json()["items"]
    assert found == [{"links": [], "id": billing["invoice"], "status": "B", "foreignamountremaining": "0"}]


def test_a_partial_payment_leaves_the_rest_open_and_deleting_it_reopens(
    api: httpx.Client, create: Create, billing: dict[str, str]
) -> None:
    payment = create(
        "customerPayment",
        {
            "customer": {"id": billing["customer"]},
            "payment": 200,
            "apply": {"items": [{"doc": {"id": billing["invoice"]}}]},  # no amount: what is left to apply
        },
    )
    assert _invoice(api, billing["invoice"])["amountRemaining"] == 450
    # deleting the payment puts the invoice back to 650 open
    assert api.delete(f"{RECORDS}/customerPayment/{payment}").status_code == 204
    assert _invoice(api, billing["invoice"])["amountRemaining"] == 650


def test_over_application_is_refused_and_writes_nothing(
    api: httpx.Client, netsuite: NetSuiteSandbox, billing: dict[str, str]
) -> None:
    too_much = {
        "customer": {"id": billing["customer"]},
        "payment": 1000,
        "apply": {"items": [{"doc": {"id": billing["invoice"]}, "amount": 700}]},
    }
    answer = api.post(f"{RECORDS}/customerPayment", json=too_much)
    assert answer.status_code == 400
    assert error_of(answer)["o:errorPath"] == "apply.items[0].amount"
    more_than_paid = {
        **too_much,
        "payment": 100,
        "apply": {"items": [{"doc": {"id": billing["invoice"]}, "amount": 300}]},
    }
    assert api.post(f"{RECORDS}/customerPayment", json=more_than_paid).status_code == 400
    assert netsuite.records("customerPayment") == []
    assert _invoice(api, billing["invoice"])["amountRemaining"] == 650


def test_a_payment_cannot_apply_to_another_customers_invoice(
    api: httpx.Client, create: Create, billing: dict[str, str]
) -> None:
    other = create("customer", {"companyName": "Globex"})
    answer = api.post(
        f"{RECORDS}/customerPayment",
        json={
            "customer": {"id": other},
            "payment": 10,
            "apply": {"items": [{"doc": {"id": billing["invoice"]}}]},
        },
    )
    assert answer.status_code == 400
    assert "another customer" in error_of(answer)["detail"]


def test_an_invoice_with_a_payment_applied_cannot_be_deleted(
    api: httpx.Client, create: Create, billing: dict[str, str]
) -> None:
    create(
        "customerPayment",
        {
            "customer": {"id": billing["customer"]},
            "payment": 50,
            "apply": {"items": [{"doc": {"id": billing["invoice"]}}]},
        },
    )
    answer = api.delete(f"{RECORDS}/invoice/{billing['invoice']}")
    assert answer.status_code == 400
    assert error_of(answer)["o:errorCode"] == "USER_ERROR"


def test_a_credit_memo_applied_reduces_what_the_invoice_owes(
    api: httpx.Client, create: Create, billing: dict[str, str]
) -> None:
    memo = create(
        "creditMemo",
        {
            "entity": {"id": billing["customer"]},
            "item": {"items": [{"item": {"id": billing["item"]}, "amount": 150}]},
            "apply": {"items": [{"doc": {"id": billing["invoice"]}, "amount": 100}]},
        },
    )
    body = api.get(f"{RECORDS}/creditMemo/{memo}").json()
    assert (body["total"], body["applied"], body["unapplied"]) == (150, 100, 50)
    assert body["status"]["refName"] == "Open"
    assert _invoice(api, billing["invoice"])["amountRemaining"] == 550


def test_reconciliation_totals_by_customer_with_group_by(
    api: httpx.Client, create: Create, billing: dict[str, str]
) -> None:
    # given a second invoice for the same project, and one for another customer
    other = create("customer", {"companyName": "Globex"})
    for entity, amount in ((billing["project"], 100), (other, 40)):
        create(
            "invoice",
            {
                "entity": {"id": entity},
                "item": {"items": [{"item": {"id": billing["item"]}, "amount": amount}]},
            },
        )
    # when reconciliation asks for open invoice totals per entity
    rows = suiteql(
        api,
        "SELECT entity, COUNT(*) AS invoices, SUM(foreigntotal) AS total FROM transaction "
        "WHERE type = 'CustInvc' GROUP BY entity ORDER BY entity",
    ).json()["items"]
    # then each entity's count and total come back as text
    assert rows == [
        {"links": [], "entity": billing["project"], "invoices": "2", "total": "750"},
        {"links": [], "entity": other, "invoices": "1", "total": "40"},
    ]
    names = suiteql(
        api, "SELECT BUILTIN.DF(entity) AS who FROM transaction WHERE type = 'CustInvc' ORDER BY id"
    )
    assert names.json()["items"][0]["who"] == "Rollout"
    # a count over no rows is still one row
    none = suiteql(api, "SELECT COUNT(*) FROM transaction WHERE type = 'CustCred'").json()["items"]
    assert none == [{"links": [], "expr1": "0"}]
