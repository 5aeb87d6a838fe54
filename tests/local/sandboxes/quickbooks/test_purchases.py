"""Purchase (an expense, its lines billable to customers) as Intuit documents it, driven by a client.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/purchase
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from tests.local.sandboxes.quickbooks.conftest import BASE, Post, Receiver, error, query


@pytest.fixture
def refs(qbo: QuickBooksSandbox, post: Post) -> dict[str, str]:
    """A customer to bill, the seeded bank and travel accounts, a class."""
    customer = post("customer", {"DisplayName": "Acme Corp"}).json()["Customer"]["Id"]
    return {
        "customer": customer,
        "bank": qbo.account_id("Checking"),
        "card": qbo.account_id("Mastercard"),
        "travel": qbo.account_id("Travel"),
        "class": qbo.add_class("Consulting"),
    }


def line(refs: dict[str, str], amount: Any = 120.5, **detail: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AccountRef": {"value": refs["travel"]},
        "CustomerRef": {"value": refs["customer"]},
        "BillableStatus": "Billable",
        "ClassRef": {"value": refs["class"]},
        **detail,
    }
    return {
        "DetailType": "AccountBasedExpenseLineDetail",
        "Amount": amount,
        "Description": "Train to client",
        "AccountBasedExpenseLineDetail": body,
    }


def purchase(refs: dict[str, str], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "PaymentType": "Cash",
        "AccountRef": {"value": refs["bank"]},
        "TxnDate": "2026-11-18",
        "DocNumber": "EXP-1",
        "PrivateNote": "psa-expense-42",
        "Line": [line(refs), line(refs, 30, BillableStatus="NotBillable")],
    }
    return {**body, **fields}


def test_a_billable_purchase_is_created_with_total_and_named_refs(
    api: httpx.Client, post: Post, refs: dict[str, str]
) -> None:
    answer = post("purchase", purchase(refs, TotalAmt=1))
    assert answer.status_code == 200, answer.text
    stored = answer.json()["Purchase"]
    assert stored["TotalAmt"] == 150.5  # QBO computes it from the lines, whatever is sent
    assert stored["AccountRef"] == {"value": refs["bank"], "name": "Checking"}
    assert stored["CurrencyRef"] == {"value": "USD"}
    first = stored["Line"][0]
    assert (first["Id"], first["LineNum"], first["Amount"]) == ("1", 1, 120.5)
    detail = first["AccountBasedExpenseLineDetail"]
    assert detail["CustomerRef"] == {"value": refs["customer"], "name": "Acme Corp"}
    assert detail["AccountRef"] == {"value": refs["travel"], "name": "Travel"}
    assert detail["ClassRef"] == {"value": refs["class"], "name": "Consulting"}
    assert detail["BillableStatus"] == "Billable"
    read = api.get(f"{BASE}/purchase/{stored['Id']}").json()["Purchase"]
    assert read == stored


def test_a_line_may_carry_a_tax_code_and_markup(
    post: Post, qbo: QuickBooksSandbox, refs: dict[str, str]
) -> None:
    code = qbo.add_tax_code("Exempt", taxable=False)
    markup = {"PercentBased": True, "Percent": 10}
    body = purchase(refs, Line=[line(refs, TaxCodeRef={"value": code}, MarkupInfo=markup)])
    detail = post("purchase", body).json()["Purchase"]["Line"][0]["AccountBasedExpenseLineDetail"]
    assert detail["TaxCodeRef"] == {"value": code, "name": "Exempt"}
    assert detail["MarkupInfo"] == markup
    us = post("purchase", purchase(refs, Line=[line(refs, TaxCodeRef={"value": "NON"})])).json()
    assert us["Purchase"]["Line"][0]["AccountBasedExpenseLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    unknown = post("purchase", purchase(refs, Line=[line(refs, TaxCodeRef={"value": "77"})]))
    assert error(unknown)["code"] == "2500"


def test_the_payment_type_must_match_the_account_paid_from(post: Post, refs: dict[str, str]) -> None:
    card = post("purchase", purchase(refs, PaymentType="CreditCard", AccountRef={"value": refs["card"]}))
    assert card.status_code == 200, card.text
    wrong = post("purchase", purchase(refs, PaymentType="CreditCard"))
    assert (error(wrong)["code"], error(wrong)["element"]) == ("6000", "AccountRef")
    expense = post("purchase", purchase(refs, AccountRef={"value": refs["travel"]}))
    assert error(expense)["code"] == "6000"


@pytest.mark.parametrize(
    ("change", "code", "element"),
    [
        ({"PaymentType": None}, "2020", "PaymentType"),
        ({"PaymentType": "Barter"}, "2170", "PaymentType"),
        ({"AccountRef": None}, "2020", "AccountRef"),
        ({"AccountRef": {"value": "999"}}, "2500", "AccountRef"),
        ({"Line": []}, "2020", "Line"),
        ({"DocNumber": "X" * 22}, "2050", "DocNumber"),
    ],
)
def test_a_bad_purchase_is_refused_with_intuits_fault(
    post: Post, refs: dict[str, str], change: dict[str, Any], code: str, element: str
) -> None:
    body = {key: value for key, value in {**purchase(refs), **change}.items() if value is not None}
    answer = post("purchase", body)
    assert answer.status_code == 400
    assert (error(answer)["code"], error(answer)["element"]) == (code, element)


def test_bad_lines_are_refused(post: Post, refs: dict[str, str]) -> None:
    detail = "Line.AccountBasedExpenseLineDetail"
    no_customer = line(refs)
    del no_customer["AccountBasedExpenseLineDetail"]["CustomerRef"]
    cases = [
        (no_customer, "2020", f"{detail}.CustomerRef"),
        (line(refs, BillableStatus="Maybe"), "2170", f"{detail}.BillableStatus"),
        (line(refs, AccountRef=None), "2020", f"{detail}.AccountRef"),
        (line(refs, CustomerRef={"value": "404"}), "2500", f"{detail}.CustomerRef"),
        ({**line(refs), "DetailType": "ItemBasedExpenseLineDetail"}, "2010", "Line.DetailType"),
        ({k: v for k, v in line(refs).items() if k != "Amount"}, "2020", "Line.Amount"),
    ]
    for bad, code, element in cases:
        answer = post("purchase", purchase(refs, Line=[bad]))
        assert (error(answer)["code"], error(answer)["element"]) == (code, element), bad


def test_inactive_customer_account_or_class_is_refused_610(
    post: Post, qbo: QuickBooksSandbox, refs: dict[str, str]
) -> None:
    closed = qbo.add_account("Old Travel", active=False)
    assert (
        error(post("purchase", purchase(refs, Line=[line(refs, AccountRef={"value": closed})])))["code"]
        == "610"
    )
    qbo.set_class_active(refs["class"], False)
    assert error(post("purchase", purchase(refs)))["code"] == "610"
    qbo.set_class_active(refs["class"], True)
    qbo.put_customer({"Id": refs["customer"], "Active": False})
    assert error(post("purchase", purchase(refs)))["code"] == "610"


def test_sparse_update_full_update_stale_sync_token_and_delete(
    api: httpx.Client, post: Post, refs: dict[str, str]
) -> None:
    stored = post("purchase", purchase(refs)).json()["Purchase"]
    lines = [dict(row) for row in stored["Line"]]
    lines[0]["AccountBasedExpenseLineDetail"] = {
        **lines[0]["AccountBasedExpenseLineDetail"],
        "BillableStatus": "NotBillable",
    }
    sparse = post("purchase", {"Id": stored["Id"], "SyncToken": "0", "sparse": True, "Line": lines})
    assert sparse.status_code == 200, sparse.text
    updated = sparse.json()["Purchase"]
    assert updated["SyncToken"] == "1"
    assert updated["Line"][0]["AccountBasedExpenseLineDetail"]["BillableStatus"] == "NotBillable"
    assert (updated["DocNumber"], updated["TotalAmt"]) == ("EXP-1", 150.5)
    full = {**purchase(refs, Line=[line(refs, 99)]), "Id": stored["Id"], "SyncToken": "1"}
    del full["PrivateNote"]
    replaced = post("purchase", full).json()["Purchase"]
    assert (replaced["TotalAmt"], "PrivateNote" in replaced, replaced["SyncToken"]) == (99, False, "2")
    stale = post("purchase", {**full, "SyncToken": "1"})
    assert (stale.status_code, error(stale)["code"]) == (400, "5010")
    deleted = post("purchase", {"Id": stored["Id"], "SyncToken": "2"}, operation="delete")
    assert deleted.json()["Purchase"] == {"status": "Deleted", "domain": "QBO", "Id": stored["Id"]}
    assert error(api.get(f"{BASE}/purchase/{stored['Id']}"))["code"] == "610"


def test_query_by_date_doc_number_and_note(api: httpx.Client, post: Post, refs: dict[str, str]) -> None:
    post("purchase", purchase(refs))
    post("purchase", purchase(refs, TxnDate="2026-11-02", DocNumber="EXP-2", PrivateNote="psa-expense-43"))
    recent = query(api, "select * from Purchase where TxnDate >= '2026-11-10'").json()["QueryResponse"]
    assert [row["DocNumber"] for row in recent["Purchase"]] == ["EXP-1"]
    by_number = query(api, "select * from Purchase where DocNumber = 'EXP-2'").json()["QueryResponse"]
    assert [row["PrivateNote"] for row in by_number["Purchase"]] == ["psa-expense-43"]
    by_note = query(api, "select Id from Purchase where PrivateNote = 'psa-expense-42'").json()[
        "QueryResponse"
    ]
    assert len(by_note["Purchase"]) == 1
    assert query(api, "select count(*) from Purchase").json()["QueryResponse"]["totalCount"] == 2


def test_batch_creates_and_refuses_purchases_item_by_item(api: httpx.Client, refs: dict[str, str]) -> None:
    items = [
        {"bId": "1", "operation": "create", "Purchase": purchase(refs)},
        {"bId": "2", "operation": "create", "Purchase": purchase(refs, PaymentType="Barter")},
        {"bId": "3", "Query": "select * from Purchase"},
    ]
    answer = api.post(f"{BASE}/batch", json={"BatchItemRequest": items})
    assert answer.status_code == 200, answer.text
    first, second, third = answer.json()["BatchItemResponse"]
    assert first["Purchase"]["TotalAmt"] == 150.5
    assert second["Fault"]["Error"][0]["code"] == "2170"
    assert [row["Id"] for row in third["QueryResponse"]["Purchase"]] == [first["Purchase"]["Id"]]


def test_a_resent_requestid_replays_the_first_answer(
    api: httpx.Client, qbo: QuickBooksSandbox, refs: dict[str, str]
) -> None:
    first = api.post(f"{BASE}/purchase", params={"requestid": "exp-42"}, json=purchase(refs))
    again = api.post(f"{BASE}/purchase", params={"requestid": "exp-42"}, json=purchase(refs))
    assert again.json() == first.json()
    assert len(query(api, "select * from Purchase").json()["QueryResponse"]["Purchase"]) == 1
    assert qbo.purchase(first.json()["Purchase"]["Id"])["TotalAmt"] == 150.5


def test_changes_are_notified_by_webhook_and_served_by_cdc(
    api: httpx.Client, post: Post, qbo: QuickBooksSandbox, refs: dict[str, str]
) -> None:
    receiver = Receiver()
    qbo.subscribe("http://hub/webhook", transport=httpx.WSGITransport(app=receiver))
    qbo.deliver_pending()  # the customer set up by the fixture
    receiver.bodies.clear()
    kept = post("purchase", purchase(refs)).json()["Purchase"]
    gone = post("purchase", purchase(refs, DocNumber="EXP-9")).json()["Purchase"]
    post("purchase", {"Id": gone["Id"], "SyncToken": "0"}, operation="delete")
    assert qbo.deliver_pending() == 3
    entities = receiver.bodies[0]["eventNotifications"][0]["dataChangeEvent"]["entities"]
    assert [(e["name"], e["id"], e["operation"]) for e in entities] == [
        ("Purchase", kept["Id"], "Create"),
        ("Purchase", gone["Id"], "Create"),
        ("Purchase", gone["Id"], "Delete"),
    ]
    cdc = api.get(f"{BASE}/cdc", params={"entities": "Purchase", "changedSince": "2026-11-19T00:00:00Z"})
    group = cdc.json()["CDCResponse"][0]["QueryResponse"][0]["Purchase"]
    assert [(row["Id"], row.get("status")) for row in group] == [(kept["Id"], None), (gone["Id"], "Deleted")]
