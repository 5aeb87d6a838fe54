"""GET /cdc as Intuit documents it: a CDCResponse per entity, deletes as "Deleted", 30 days, 1,000 objects.

https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
"""

from __future__ import annotations

from typing import Any

import httpx

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from tests.local.sandboxes.quickbooks.conftest import BASE, Clock, Post, error, seed_invoice


def cdc(api: httpx.Client, entities: str, since: str) -> httpx.Response:
    return api.get(f"{BASE}/cdc", params={"entities": entities, "changedSince": since})


def groups(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["CDCResponse"][0]["QueryResponse"]
    return found


def test_changes_since_a_moment_come_per_entity_and_deletes_say_deleted(
    api: httpx.Client, post: Post, clock: Clock
) -> None:
    # given a customer and an invoice made before the cursor, then an edit and a delete after it
    invoice = seed_invoice(post, "Before Co")
    early = post("customer", {"DisplayName": "Quiet Co"}).json()["Customer"]
    clock.advance(minutes=20)
    cursor = "2026-11-20T10:10:00-07:00"  # 17:10 UTC, ten minutes after the seed, in the company's offset
    clock.advance(minutes=20)
    customer = api.get(f"{BASE}/customer/1").json()["Customer"]
    post(
        "customer",
        {"Id": "1", "SyncToken": customer["SyncToken"], "sparse": True, "CompanyName": "Before Inc"},
    )
    post("invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="delete")
    # when a client asks what changed in customers and invoices since the cursor
    customers, invoices = groups(cdc(api, "Customer,Invoice", cursor))
    # then the edited customer comes with its whole payload, the untouched one not at all
    assert [c["Id"] for c in customers["Customer"]] == ["1"]
    assert customers["Customer"][0]["CompanyName"] == "Before Inc"
    assert early["Id"] not in [c["Id"] for c in customers["Customer"]]
    # and the deleted invoice is reported as deleted, with the time it went
    (gone,) = invoices["Invoice"]
    assert (gone["status"], gone["Id"], gone["domain"]) == ("Deleted", invoice["Id"], "QBO")
    assert gone["MetaData"]["LastUpdatedTime"].startswith("2026-11-20T10:40:00-07:00")


def test_an_entity_without_changes_answers_an_empty_group(api: httpx.Client, post: Post) -> None:
    post("customer", {"DisplayName": "Only Customer"})
    customers, items = groups(cdc(api, "Customer,Item", "2026-11-19"))
    assert [c["DisplayName"] for c in customers["Customer"]] == ["Only Customer"]
    assert "Item" not in items and items["maxResults"] == 0


def test_a_look_back_past_30_days_is_refused(api: httpx.Client) -> None:
    answer = cdc(api, "Customer", "2026-10-01T00:00:00Z")
    assert answer.status_code == 400
    assert error(answer)["element"] == "changedSince"
    assert cdc(api, "Customer", "2026-10-22T00:00:00Z").status_code == 200


def test_missing_parameters_and_entities_cdc_does_not_serve_are_refused(api: httpx.Client) -> None:
    assert error(api.get(f"{BASE}/cdc", params={"changedSince": "2026-11-19"}))["element"] == "entities"
    assert error(api.get(f"{BASE}/cdc", params={"entities": "Customer"}))["element"] == "changedSince"
    refused = cdc(api, "Customer,TimeActivity", "2026-11-19")
    assert refused.status_code == 400 and "TimeActivity" in error(refused)["Detail"]
    assert cdc(api, "Customer", "yesterday").status_code == 400


def test_one_response_holds_at_most_1000_objects_across_entities(
    api: httpx.Client, qbo: QuickBooksSandbox
) -> None:
    # given 1,001 customers changed since the cursor
    for number in range(1001):
        qbo.put_customer({"DisplayName": f"Customer {number:04d}"})
    # when a client asks for customers and invoices
    customers, invoices = groups(cdc(api, "Customer,Invoice", "2026-11-19"))
    # then the response stops at 1,000 objects
    assert len(customers["Customer"]) == 1000 and "Invoice" not in invoices
