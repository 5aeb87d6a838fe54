"""`?operation=delete` per entity as Intuit documents it: transactions delete, lists (Customer) do not.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice (delete) and
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer (no delete)
"""

from __future__ import annotations

import httpx

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from tests.local.sandboxes.quickbooks.conftest import BASE, Post, error, seed_invoice


def test_deleting_a_customer_is_refused_and_leaves_it_whole(
    api: httpx.Client, post: Post, qbo: QuickBooksSandbox
) -> None:
    # given a customer with a company name and an email
    body = {
        "DisplayName": "Stays Co",
        "CompanyName": "Stays Inc",
        "PrimaryEmailAddr": {"Address": "a@stays.example"},
    }
    customer = post("customer", body).json()["Customer"]
    # when a client asks QBO to delete it, as it would an invoice
    answer = post("customer", {"Id": customer["Id"], "SyncToken": customer["SyncToken"]}, operation="delete")
    # then QBO's Unsupported Operation Fault comes back
    assert answer.status_code == 400
    assert (error(answer)["code"], error(answer)["Message"]) == ("500", "Unsupported Operation")
    # and the customer is untouched: nothing blanked, no new SyncToken
    after = api.get(f"{BASE}/customer/{customer['Id']}").json()["Customer"]
    assert (after["CompanyName"], after["PrimaryEmailAddr"], after["SyncToken"]) == (
        "Stays Inc",
        {"Address": "a@stays.example"},
        "0",
    )
    # and making it inactive (the documented way) works
    inactive = post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert inactive.json()["Customer"]["Active"] is False


def test_an_invoice_deletes_and_reads_then_answer_610(api: httpx.Client, post: Post) -> None:
    invoice = seed_invoice(post)
    answer = post("invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="delete")
    assert answer.status_code == 200
    assert answer.json()["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": invoice["Id"]}
    assert error(api.get(f"{BASE}/invoice/{invoice['Id']}"))["code"] == "610"


def test_a_stale_or_missing_sync_token_does_not_delete(api: httpx.Client, post: Post) -> None:
    invoice = seed_invoice(post)
    stale = post("invoice", {"Id": invoice["Id"], "SyncToken": "7"}, operation="delete")
    assert error(stale)["code"] == "5010"
    missing = post("invoice", {"Id": invoice["Id"]}, operation="delete")
    assert (error(missing)["code"], error(missing)["element"]) == ("2020", "SyncToken")
    assert api.get(f"{BASE}/invoice/{invoice['Id']}").status_code == 200


def test_a_void_keeps_the_invoice_at_zero(api: httpx.Client, post: Post) -> None:
    invoice = seed_invoice(post)
    voided = post("invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="void")
    assert (voided.json()["Invoice"]["TotalAmt"], voided.json()["Invoice"]["Balance"]) == (0, 0)
    assert api.get(f"{BASE}/invoice/{invoice['Id']}").json()["Invoice"]["PrivateNote"].startswith("Voided")


def test_items_and_terms_are_lists_too_and_do_not_delete(post: Post) -> None:
    item = post("item", {"Name": "Advisory", "IncomeAccountRef": {"value": "79"}}).json()["Item"]
    term = post("term", {"Name": "Net 30", "DueDays": 30}).json()["Term"]
    for resource, record in (("item", item), ("term", term)):
        answer = post(resource, {"Id": record["Id"], "SyncToken": record["SyncToken"]}, operation="delete")
        assert error(answer)["code"] == "500"
