"""Expenses as https://developer-staging.productive.io/expenses.html documents them, used as a client would.

Create (422 when required fields are missing), approve/unapprove (`approval_status`), the filters and
the 21/22/23 webhooks.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from infra.local.sandboxes.productive import ProductiveSandbox
from tests.local.sandboxes.productive.test_listing import documented
from tests.local.sandboxes.productive.test_time_entries import hooked, ids, service_on_a_project


def _expense(api: httpx.Client, person: str, service: str, **attributes: Any) -> httpx.Response:
    body = {
        "data": {
            "type": "expenses",
            "attributes": {
                "name": "Train",
                "date": "2025-03-03",
                "amount": 12000,
                "currency": "EUR",
                **attributes,
            },
            "relationships": {
                "person": {"data": {"type": "people", "id": person}},
                "service": {"data": {"type": "services", "id": service}},
            },
        }
    }
    return api.post("expenses", content=json.dumps(body))


def test_an_expense_waits_for_approval_and_approval_is_an_updated_webhook(
    api: httpx.Client, sandbox: ProductiveSandbox
) -> None:
    seen = hooked(sandbox)
    ada, boss = sandbox.add_person("Ada", "L"), sandbox.add_person("Grace", "H")
    sandbox.api_person_id = boss
    _, service = service_on_a_project(api, sandbox)
    sandbox.deliver_pending()
    seen.clear()
    created = _expense(api, ada, service, billable_amount=15000)
    assert created.status_code == 201, created.text
    expense = created.json()["data"]
    assert (expense["attributes"]["approval_status"], expense["attributes"]["billable_amount"]) == (2, 15000)
    approved = api.patch(f"expenses/{expense['id']}/approve", params={"include": "approver"}).json()["data"]
    assert approved["attributes"]["approval_status"] == 1
    assert approved["relationships"]["approver"]["data"] == {"type": "people", "id": boss}
    assert (
        api.patch(f"expenses/{expense['id']}/unapprove").json()["data"]["attributes"]["approval_status"] == 2
    )
    sandbox.reject_expense(expense["id"])
    assert sandbox.expenses()[0]["attributes"]["approval_status"] == 3
    assert api.delete(f"expenses/{expense['id']}").status_code == 204
    assert sandbox.deliver_pending() == 5
    assert [d["event_id"] for d in seen] == [21, 22, 22, 22, 23]


def test_missing_fields_are_422_and_filters_narrow_or_refuse(
    api: httpx.Client, sandbox: ProductiveSandbox
) -> None:
    ada = sandbox.add_person("Ada", "L")
    project, service = service_on_a_project(api, sandbox)
    missing = _expense(api, ada, service, currency=None)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["source"]["pointer"] == "/data/attributes/currency"
    march = _expense(api, ada, service, date="2025-03-31").json()["data"]["id"]
    april = _expense(api, ada, service, date="2025-04-01").json()["data"]["id"]
    assert api.patch(f"expenses/{april}/approve").status_code == 200
    assert ids(api.get("expenses", params={"filter[approval_status]": "1"})) == [april]
    assert ids(api.get("expenses", params={"filter[date_before]": "2025-03-31"})) == [march]
    assert ids(api.get("expenses", params={"filter[project_id]": project, "sort": "-date"})) == [
        april,
        march,
    ]
    answer = api.get("expenses", params={"filter[after]": "2025-03-01"})
    assert (answer.status_code, answer.json()) == documented(
        "Unsupported Filter", "Filter 'after' is not supported on this endpoint"
    )


def test_expenses_take_no_id_filter_as_their_page_documents(
    api: httpx.Client, sandbox: ProductiveSandbox
) -> None:
    # https://developer-staging.productive.io/expenses.html lists no `id` among the supported filters
    ada = sandbox.add_person("Ada", "L")
    _, service = service_on_a_project(api, sandbox)
    expense = _expense(api, ada, service).json()["data"]["id"]
    answer = api.get("expenses", params={"filter[id]": expense})
    assert (answer.status_code, answer.json()) == documented(
        "Unsupported Filter", "Filter 'id' is not supported on this endpoint"
    )
    assert api.get(f"expenses/{expense}").status_code == 200  # one expense is read by its URL
