"""Cash in the sandbox: invoices that bill time, payments and credit memos that move invoice balances.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/creditmemo
https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-linked-transactions
"""

from __future__ import annotations

from typing import Any

import httpx

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from tests.local.sandboxes.quickbooks.conftest import BASE, Post, Receiver, error, seed_invoice, time_refs
from tests.local.sandboxes.quickbooks.test_time_activities import activity


def billing_invoice(refs: dict[str, str], *activity_ids: str) -> dict[str, Any]:
    """An invoice whose one line bills the given TimeActivities (3.5 h at 150)."""
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 525,
        "SalesItemLineDetail": {"ItemRef": {"value": refs["item"]}, "Qty": 3.5, "UnitPrice": 150},
        "LinkedTxn": [{"TxnId": txn, "TxnType": "TimeActivity"} for txn in activity_ids],
    }
    return {"CustomerRef": {"value": refs["customer"]}, "Line": [line]}


def payment(invoice: dict[str, Any], amount: float, total: float | None = None) -> dict[str, Any]:
    return {
        "CustomerRef": {"value": invoice["CustomerRef"]["value"]},
        "TotalAmt": amount if total is None else total,
        "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    }


def invoice_balance(api: httpx.Client, invoice_id: str) -> Any:
    return api.get(f"{BASE}/invoice/{invoice_id}").json()["Invoice"]["Balance"]


def test_an_invoice_linking_time_bills_it_and_a_second_invoice_is_refused(
    qbo: QuickBooksSandbox, post: Post, api: httpx.Client
) -> None:
    # given a billable TimeActivity of the customer
    refs = time_refs(qbo, post)
    time_id = post("timeactivity", activity(refs)).json()["TimeActivity"]["Id"]
    # when an invoice line links it
    first = post("invoice", billing_invoice(refs, time_id))
    assert first.status_code == 200, first.text
    invoice_id = first.json()["Invoice"]["Id"]
    # then the time HasBeenBilled, linked to the invoice
    billed = api.get(f"{BASE}/timeactivity/{time_id}").json()["TimeActivity"]
    assert billed["BillableStatus"] == "HasBeenBilled"
    assert billed["LinkedTxn"] == [{"TxnId": invoice_id, "TxnType": "Invoice"}]
    # and a second invoice linking the same time is refused
    second = post("invoice", billing_invoice(refs, time_id))
    assert (second.status_code, error(second)["code"]) == (400, "6000")
    assert f"Invoice {invoice_id}" in error(second)["Detail"]
    # and when the invoice is voided, the time is Billable again
    token = first.json()["Invoice"]["SyncToken"]
    voided = post("invoice", {"Id": invoice_id, "SyncToken": token}, operation="void")
    assert voided.status_code == 200, voided.text
    assert api.get(f"{BASE}/timeactivity/{time_id}").json()["TimeActivity"]["BillableStatus"] == "Billable"


def test_time_that_is_not_billable_or_another_customers_is_refused(
    qbo: QuickBooksSandbox, post: Post
) -> None:
    refs = time_refs(qbo, post)
    unbillable = post("timeactivity", activity(refs, BillableStatus="NotBillable", HourlyRate=None))
    other = post("customer", {"DisplayName": "Other Co"}).json()["Customer"]["Id"]
    foreign = post("timeactivity", activity({**refs, "customer": other}))
    for stored in (unbillable, foreign):
        refused = post("invoice", billing_invoice(refs, stored.json()["TimeActivity"]["Id"]))
        assert (refused.status_code, error(refused)["code"]) == (400, "6000")
    unknown = post("invoice", billing_invoice(refs, "999"))
    assert error(unknown)["code"] == "2500"


def test_a_partial_then_a_full_payment_leave_the_invoice_paid(post: Post, api: httpx.Client) -> None:
    # given an invoice of 450
    invoice = seed_invoice(post)
    assert invoice["Balance"] == 450
    # when the customer pays 200, then the balance is 250
    first = post("payment", payment(invoice, 200))
    assert first.status_code == 200, first.text
    assert first.json()["Payment"]["UnappliedAmt"] == 0
    assert invoice_balance(api, invoice["Id"]) == 250
    # and when the customer pays the rest, the invoice is paid and links both payments
    second = post("payment", payment(invoice, 250)).json()["Payment"]
    paid = api.get(f"{BASE}/invoice/{invoice['Id']}").json()["Invoice"]
    assert paid["Balance"] == 0
    assert {"TxnId": second["Id"], "TxnType": "Payment"} in paid["LinkedTxn"]


def test_an_over_application_is_refused(post: Post, api: httpx.Client) -> None:
    invoice = seed_invoice(post)
    # more than the invoice's balance
    over = post("payment", payment(invoice, 500))
    assert (over.status_code, error(over)["code"]) == (400, "6000")
    # more than the payment's TotalAmt
    short = post("payment", payment(invoice, 300, total=100))
    assert error(short)["code"] == "6000"
    # another customer's invoice
    other = seed_invoice(post, "Other Co")
    foreign = post("payment", {**payment(other, 100), "CustomerRef": invoice["CustomerRef"]})
    assert error(foreign)["code"] == "6000"
    assert invoice_balance(api, invoice["Id"]) == 450
    # an overpayment leaves the rest unapplied
    loose = post("payment", payment(invoice, 100, total=150)).json()["Payment"]
    assert loose["UnappliedAmt"] == 50


def test_a_credit_memo_is_applied_by_a_zero_payment(post: Post, api: httpx.Client) -> None:
    # given an invoice of 450 and a credit memo of 150 for the same customer
    invoice = seed_invoice(post)
    item = invoice["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"]
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 150,
        "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": 1, "UnitPrice": 150},
    }
    memo = post("creditmemo", {"CustomerRef": invoice["CustomerRef"], "Line": [line]}).json()["CreditMemo"]
    assert (memo["TotalAmt"], memo["RemainingCredit"]) == (150, 150)
    # when a payment of 0 links the memo and the invoice
    zero = post(
        "payment",
        {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": 0,
            "Line": [
                {"Amount": 150, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]},
                {"Amount": 150, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
            ],
        },
    )
    assert zero.status_code == 200, zero.text
    # then the invoice owes 300 and the memo has no credit left
    assert invoice_balance(api, invoice["Id"]) == 300
    assert api.get(f"{BASE}/creditmemo/{memo['Id']}").json()["CreditMemo"]["RemainingCredit"] == 0


def test_deleting_or_voiding_a_payment_restores_the_balance(post: Post, api: httpx.Client) -> None:
    invoice = seed_invoice(post)
    paid = post("payment", payment(invoice, 450)).json()["Payment"]
    assert invoice_balance(api, invoice["Id"]) == 0
    # when the payment is deleted, the invoice is owed again
    gone = post("payment", {"Id": paid["Id"], "SyncToken": paid["SyncToken"]}, operation="delete")
    assert gone.json()["Payment"]["status"] == "Deleted"
    assert invoice_balance(api, invoice["Id"]) == 450
    # and a voided payment applies nothing either
    again = post("payment", payment(invoice, 450)).json()["Payment"]
    voided = post(
        "payment", {"Id": again["Id"], "SyncToken": again["SyncToken"]}, operation="update", include="void"
    )
    assert voided.json()["Payment"]["TotalAmt"] == 0
    assert invoice_balance(api, invoice["Id"]) == 450


def test_a_payment_is_noticed_and_in_change_data_capture(
    qbo: QuickBooksSandbox, post: Post, api: httpx.Client
) -> None:
    # given a hub subscribed to the company's webhooks
    receiver = Receiver()
    qbo.subscribe("http://hub/webhooks/quickbooks", transport=httpx.WSGITransport(app=receiver))
    invoice = seed_invoice(post)
    qbo.deliver_pending()
    receiver.bodies.clear()
    # when a payment is recorded
    paid = post("payment", payment(invoice, 100)).json()["Payment"]
    qbo.deliver_pending()
    # then a notice names the payment (and the invoice whose balance moved)
    entities = [
        (entity["name"], entity["id"])
        for body in receiver.bodies
        for note in body["eventNotifications"]
        for entity in note["dataChangeEvent"]["entities"]
    ]
    assert ("Payment", paid["Id"]) in entities
    assert ("Invoice", invoice["Id"]) in entities
    # and ChangeDataCapture returns it
    cdc = api.get(
        f"{BASE}/cdc", params={"entities": "Payment", "changedSince": "2026-11-20T00:00:00Z"}
    ).json()
    assert [found["Id"] for found in cdc["CDCResponse"][0]["QueryResponse"][0]["Payment"]] == [paid["Id"]]


def test_a_batch_invoice_bills_its_time_and_deleting_it_releases_the_time(
    qbo: QuickBooksSandbox, post: Post, api: httpx.Client
) -> None:
    refs = time_refs(qbo, post)
    time_id = post("timeactivity", activity(refs)).json()["TimeActivity"]["Id"]
    # when the invoice is created in a batch
    batch = post(
        "batch",
        {
            "BatchItemRequest": [
                {"bId": "i1", "operation": "create", "Invoice": billing_invoice(refs, time_id)}
            ]
        },
    ).json()["BatchItemResponse"][0]
    invoice = batch["Invoice"]
    # then its time HasBeenBilled
    assert (
        api.get(f"{BASE}/timeactivity/{time_id}").json()["TimeActivity"]["BillableStatus"] == "HasBeenBilled"
    )
    # and when the invoice is deleted, the time is Billable again
    post("invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="delete")
    assert api.get(f"{BASE}/timeactivity/{time_id}").json()["TimeActivity"]["BillableStatus"] == "Billable"
