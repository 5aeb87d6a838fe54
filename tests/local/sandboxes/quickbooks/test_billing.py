"""Billed time and expenses in the sandbox: billing marks them, and the API may no longer change them.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/purchase
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from tests.local.sandboxes.quickbooks.conftest import Post, error, time_refs
from tests.local.sandboxes.quickbooks.test_purchases import purchase
from tests.local.sandboxes.quickbooks.test_time_activities import activity


@pytest.fixture
def refs(qbo: QuickBooksSandbox, post: Post) -> dict[str, str]:
    return {
        **time_refs(qbo, post),
        "bank": qbo.account_id("Checking"),
        "travel": qbo.account_id("Travel"),
        "class": qbo.add_class("Consulting"),
    }


def test_billing_marks_the_time_and_then_updates_and_deletes_are_refused(
    qbo: QuickBooksSandbox, post: Post, refs: dict[str, str]
) -> None:
    # given a billable TimeActivity an invoice has billed
    stored = post("timeactivity", activity(refs)).json()["TimeActivity"]
    qbo.bill_time_activity(stored["Id"], "130")
    billed = qbo.time_activity(stored["Id"])
    assert (billed["BillableStatus"], billed["SyncToken"]) == ("HasBeenBilled", "1")
    assert billed["LinkedTxn"] == [{"TxnId": "130", "TxnType": "Invoice"}]
    # when the app updates it over the current SyncToken, then QBO refuses with a business rule
    update = post("timeactivity", {**activity(refs, Hours=9), "Id": stored["Id"], "SyncToken": "1"})
    assert (update.status_code, error(update)["code"]) == (400, "6000")
    assert "Invoice 130" in error(update)["Detail"]
    # and over the version read before the billing it is stale first
    stale = post("timeactivity", {**activity(refs, Hours=9), "Id": stored["Id"], "SyncToken": "0"})
    assert error(stale)["code"] == "5010"
    # and a delete is refused as well: the time stays as invoiced
    deleted = post("timeactivity", {"Id": stored["Id"], "SyncToken": "1"}, operation="delete")
    assert error(deleted)["code"] == "6000"
    assert qbo.time_activity(stored["Id"])["Hours"] == 3


def test_a_billed_expense_line_freezes_the_purchase(
    qbo: QuickBooksSandbox, post: Post, refs: dict[str, str]
) -> None:
    stored = post("purchase", purchase(refs)).json()["Purchase"]
    qbo.bill_purchase_line(stored["Id"], "131", line_id="1")
    billed = qbo.purchase(stored["Id"])
    assert billed["Line"][0]["AccountBasedExpenseLineDetail"]["BillableStatus"] == "HasBeenBilled"
    assert billed["Line"][1]["AccountBasedExpenseLineDetail"]["BillableStatus"] == "NotBillable"
    refused = post("purchase", {**purchase(refs), "Id": stored["Id"], "SyncToken": "1"})
    assert error(refused)["code"] == "6000"
    # a line that was never billable cannot be billed
    with pytest.raises(ValueError, match="not billable"):
        qbo.bill_purchase_line(stored["Id"], "131", line_id="2")


@pytest.mark.parametrize("missing", ["ItemRef", "CustomerRef"])
def test_billable_time_needs_a_customer_and_a_service_item(
    post: Post, refs: dict[str, str], missing: str
) -> None:
    body: dict[str, Any] = activity(refs)
    del body[missing]
    refused = post("timeactivity", body)
    assert (error(refused)["code"], error(refused)["element"]) == ("2020", missing)
    # the same time, not billable, is taken
    assert post("timeactivity", {**body, "BillableStatus": "NotBillable"}).status_code == 200


def test_a_bookkeepers_edit_moves_the_sync_token(
    qbo: QuickBooksSandbox, post: Post, refs: dict[str, str]
) -> None:
    stored = post("timeactivity", activity(refs)).json()["TimeActivity"]
    qbo.edit_transaction("TimeActivity", stored["Id"], {"Description": "edited in QBO"})
    stale = post("timeactivity", {**activity(refs), "Id": stored["Id"], "SyncToken": "0"})
    assert error(stale)["code"] == "5010"
