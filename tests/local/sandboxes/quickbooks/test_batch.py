"""POST /batch as Intuit documents it: bId, create/update/delete and Query items, per-item Faults, 30 at most.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from tests.local.sandboxes.quickbooks.conftest import BASE, Clock, Post, error, seed_invoice


def batch(api: httpx.Client, items: Sequence[Mapping[str, object]], **params: str) -> httpx.Response:
    return api.post(f"{BASE}/batch", params=params, json={"BatchItemRequest": items})


def test_a_mixed_batch_answers_each_item_by_its_bid(api: httpx.Client, post: Post) -> None:
    # given a customer called Taken and an invoice to delete
    post("customer", {"DisplayName": "Taken"})
    invoice = seed_invoice(post)
    # when one batch creates two customers (one with a taken name), deletes the invoice and queries
    answer = batch(
        api,
        [
            {"bId": "c1", "operation": "create", "Customer": {"DisplayName": "Fresh Co"}},
            {"bId": "c2", "operation": "create", "Customer": {"DisplayName": "Taken"}},
            {
                "bId": "d1",
                "operation": "delete",
                "Invoice": {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]},
            },
            {"bId": "q1", "Query": "select * from Customer where DisplayName = 'Taken'"},
        ],
    )
    # then the request succeeds and each item has its own answer, in order, by bId
    assert answer.status_code == 200
    items = answer.json()["BatchItemResponse"]
    assert [item["bId"] for item in items] == ["c1", "c2", "d1", "q1"]
    assert items[0]["Customer"]["DisplayName"] == "Fresh Co"
    assert items[1]["Fault"]["Error"][0]["code"] == "6240"  # duplicate name: only that item fails
    assert items[2]["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": invoice["Id"]}
    assert [c["DisplayName"] for c in items[3]["QueryResponse"]["Customer"]] == ["Taken"]
    # and the writes that succeeded are in the company
    assert [
        c["DisplayName"]
        for c in api.get(f"{BASE}/query", params={"query": "select * from Customer"}).json()["QueryResponse"][
            "Customer"
        ]
    ] == ["Taken", "Acme Corp", "Fresh Co"]


def test_more_than_30_items_is_refused_whole_with_fault_1040(
    api: httpx.Client, qbo: QuickBooksSandbox
) -> None:
    # given 31 customer creates in one batch
    items = [{"bId": f"b{n}", "operation": "create", "Customer": {"DisplayName": f"C{n}"}} for n in range(31)]
    # when the client sends it
    answer = batch(api, items)
    # then QBO's "Batch size exceeds allowed limit" comes back and nothing was written
    assert answer.status_code == 400
    assert (error(answer)["code"], error(answer)["Message"]) == ("1040", "Batch size exceeds allowed limit")
    assert qbo.customers() == []
    # while 30 is accepted
    assert len(batch(api, items[:30]).json()["BatchItemResponse"]) == 30


def test_an_item_cannot_see_what_an_earlier_item_of_the_same_batch_created(
    api: httpx.Client, post: Post
) -> None:
    # given an item to invoice
    item = post("item", {"Name": "Hours", "IncomeAccountRef": {"value": "79"}}).json()["Item"]
    # when one batch creates a customer and then an invoice for it (the new customer's Id is 1)
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 10,
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
    }
    answer = batch(
        api,
        [
            {"bId": "1", "operation": "create", "Customer": {"DisplayName": "New"}},
            {"bId": "2", "operation": "create", "Invoice": {"CustomerRef": {"value": "1"}, "Line": [line]}},
        ],
    ).json()["BatchItemResponse"]
    # then the invoice fails on its reference, as Intuit documents, and the customer exists
    assert answer[0]["Customer"]["Id"] == "1"
    assert answer[1]["Fault"]["Error"][0]["element"] == "CustomerRef"
    # and a later batch sees it
    again = batch(
        api, [{"bId": "3", "operation": "create", "Invoice": {"CustomerRef": {"value": "1"}, "Line": [line]}}]
    )
    assert again.json()["BatchItemResponse"][0]["Invoice"]["TotalAmt"] == 10


def test_customer_delete_in_a_batch_is_the_unsupported_operation_fault(api: httpx.Client, post: Post) -> None:
    customer = post("customer", {"DisplayName": "Keep"}).json()["Customer"]
    answer = batch(
        api, [{"bId": "x", "operation": "delete", "Customer": {"Id": customer["Id"], "SyncToken": "0"}}]
    )
    (item,) = answer.json()["BatchItemResponse"]
    assert (item["Fault"]["Error"][0]["code"], item["Fault"]["Error"][0]["Message"]) == (
        "500",
        "Unsupported Operation",
    )


def test_items_without_a_bid_or_with_a_repeated_one_are_refused(api: httpx.Client) -> None:
    missing = batch(api, [{"operation": "create", "Customer": {"DisplayName": "A"}}])
    assert (missing.status_code, error(missing)["element"]) == (400, "bId")
    twice = batch(
        api,
        [
            {"bId": "a", "operation": "create", "Customer": {"DisplayName": "A"}},
            {"bId": "a", "operation": "create", "Customer": {"DisplayName": "B"}},
        ],
    )
    assert (twice.status_code, error(twice)["element"]) == (400, "bId")


def test_a_resent_batch_with_the_same_requestid_is_not_run_twice(
    api: httpx.Client, qbo: QuickBooksSandbox
) -> None:
    items = [{"bId": "a", "operation": "create", "Customer": {"DisplayName": "Once"}}]
    first = batch(api, items, requestid="batch-0001")
    again = batch(api, items, requestid="batch-0001")
    assert first.json() == again.json()
    assert [c["DisplayName"] for c in qbo.customers()] == ["Once"]
    too_long = batch(api, items, requestid="x" * 37)  # batch requestids stop at 36 characters
    assert error(too_long)["code"] == "2050"


def test_more_than_40_batch_requests_a_minute_are_throttled(
    api: httpx.Client, qbo: QuickBooksSandbox, clock: Clock
) -> None:
    # given Intuit's throttle on, and a client sending one batch every 1.4 s (under 10 requests a second)
    qbo.set_rate_limit(True)
    items = [{"bId": "q", "Query": "select count(*) from Customer"}]
    answers = []
    for _ in range(41):
        answers.append(batch(api, items))
        clock.advance(seconds=1.4)
    # then the 41st batch within one minute is refused with QBO's throttle Fault
    assert [a.status_code for a in answers].count(200) == 40
    assert (answers[-1].status_code, error(answers[-1])["code"]) == (429, "003001")
