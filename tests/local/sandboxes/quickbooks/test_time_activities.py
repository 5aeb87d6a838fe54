"""Employee and TimeActivity as Intuit documents them, driven by a client written from the reference.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/employee
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from tests.local.sandboxes.quickbooks.conftest import BASE, Post, Receiver, error, query, time_refs


@pytest.fixture
def refs(qbo: QuickBooksSandbox, post: Post) -> dict[str, str]:
    """An employee, a customer and a service item to log time against."""
    return time_refs(qbo, post)


def activity(refs: dict[str, str], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "NameOf": "Employee",
        "EmployeeRef": {"value": refs["employee"]},
        "CustomerRef": {"value": refs["customer"]},
        "ItemRef": {"value": refs["item"]},
        "TxnDate": "2026-11-18",
        "BillableStatus": "Billable",
        "HourlyRate": 150,
        "Hours": 3,
        "Minutes": 30,
        "Description": "Workshop",
    }
    return {**body, **fields}


def test_an_employee_is_created_read_and_queried(api: httpx.Client, post: Post) -> None:
    # when the client creates an employee from name parts
    created = post("employee", {"GivenName": "Emily", "FamilyName": "Platt"})
    # then QBO derives the DisplayName and answers a versioned object
    assert created.status_code == 200, created.text
    employee = created.json()["Employee"]
    assert (employee["DisplayName"], employee["SyncToken"], employee["Active"]) == ("Emily Platt", "0", True)
    # and reads and queries find it
    assert api.get(f"{BASE}/employee/{employee['Id']}").json()["Employee"]["GivenName"] == "Emily"
    found = query(api, "select * from Employee where DisplayName = 'Emily Platt'").json()
    assert [e["Id"] for e in found["QueryResponse"]["Employee"]] == [employee["Id"]]


def test_an_employee_name_clashing_with_a_customer_is_refused_6240(
    post: Post, qbo: QuickBooksSandbox
) -> None:
    # given a customer called Acme Corp and an employee called Emily Platt
    post("customer", {"DisplayName": "Acme Corp"})
    qbo.add_employee("Emily Platt")
    # when an employee takes the customer's name, and a customer the employee's
    employee = post("employee", {"DisplayName": "acme corp"})
    customer = post("customer", {"DisplayName": "Emily Platt"})
    # then both are refused: the name lists share one namespace
    assert (employee.status_code, error(employee)["code"]) == (400, "6240")
    assert (customer.status_code, error(customer)["code"]) == (400, "6240")


def test_an_employee_cannot_be_deleted(post: Post, qbo: QuickBooksSandbox) -> None:
    employee_id = qbo.add_employee("Emily Platt")
    answer = post("employee", {"Id": employee_id, "SyncToken": "0"}, operation="delete")
    assert (answer.status_code, error(answer)["code"]) == (400, "500")


def test_a_time_activity_is_created_with_resolved_references(
    api: httpx.Client, post: Post, refs: dict[str, str]
) -> None:
    # when the client logs 3h30 of billable time
    created = post("timeactivity", activity(refs))
    # then QBO answers the stored activity, references named
    assert created.status_code == 200, created.text
    stored = created.json()["TimeActivity"]
    assert stored["EmployeeRef"] == {"value": refs["employee"], "name": "Emily Platt"}
    assert stored["CustomerRef"] == {"value": refs["customer"], "name": "Acme Corp"}
    assert stored["ItemRef"] == {"value": refs["item"], "name": "Consulting"}
    assert (stored["Hours"], stored["Minutes"], stored["HourlyRate"]) == (3, 30, 150)
    assert (stored["BillableStatus"], stored["Taxable"], stored["SyncToken"]) == ("Billable", False, "0")
    # and a read gives the same object back
    assert api.get(f"{BASE}/timeactivity/{stored['Id']}").json()["TimeActivity"] == stored


def test_a_vendor_activity_needs_the_vendor_ref(post: Post, qbo: QuickBooksSandbox) -> None:
    vendor = qbo.add_vendor("Contractor Ltd")
    body = {"NameOf": "Vendor", "VendorRef": {"value": vendor}, "Hours": 2, "BillableStatus": "NotBillable"}
    created = post("timeactivity", body)
    assert created.status_code == 200, created.text
    stored = created.json()["TimeActivity"]
    assert stored["VendorRef"] == {"value": vendor, "name": "Contractor Ltd"}
    assert (stored["Minutes"], stored["HourlyRate"], stored["TxnDate"]) == (0, 0, "2026-11-20")
    missing = post("timeactivity", {"NameOf": "Vendor", "EmployeeRef": {"value": "1"}, "Hours": 1})
    assert (error(missing)["code"], error(missing)["element"]) == ("2020", "VendorRef")


def test_start_and_end_time_stand_in_for_hours(post: Post, refs: dict[str, str]) -> None:
    body = activity(refs, StartTime="2026-11-18T09:00:00-07:00", EndTime="2026-11-18T11:00:00-07:00")
    del body["Hours"], body["Minutes"]
    assert post("timeactivity", body).status_code == 200
    backwards = {**body, "EndTime": "2026-11-18T08:00:00-07:00"}
    assert error(post("timeactivity", backwards))["code"] == "6000"


@pytest.mark.parametrize(
    ("change", "code", "element"),
    [
        ({"NameOf": None}, "2020", "NameOf"),
        ({"NameOf": "Customer"}, "2170", "NameOf"),
        ({"EmployeeRef": None}, "2020", "EmployeeRef"),
        ({"EmployeeRef": {"value": "999"}}, "2500", "EmployeeRef"),
        ({"CustomerRef": {"value": "999"}}, "2500", "CustomerRef"),
        ({"ItemRef": {"value": "999"}}, "2500", "ItemRef"),
        ({"Minutes": 60}, "6000", "Minutes"),
        ({"Hours": -1}, "2010", "Hours"),
        ({"Hours": None, "Minutes": None}, "2020", "Hours"),
        ({"HourlyRate": None}, "2020", "HourlyRate"),
        ({"BillableStatus": "Maybe"}, "2170", "BillableStatus"),
    ],
)
def test_a_bad_time_activity_is_refused_with_intuits_fault(
    post: Post, refs: dict[str, str], change: dict[str, Any], code: str, element: str
) -> None:
    body = {key: value for key, value in activity(refs, **change).items() if value is not None}
    answer = post("timeactivity", body)
    assert answer.status_code == 400
    assert (error(answer)["code"], error(answer)["element"]) == (code, element)


def test_an_inactive_employee_or_class_is_refused_610(
    post: Post, qbo: QuickBooksSandbox, refs: dict[str, str]
) -> None:
    gone = qbo.add_employee("Left Company", active=False)
    klass = qbo.add_class("Retired", active=False)
    for body in (activity(refs, EmployeeRef={"value": gone}), activity(refs, ClassRef={"value": klass})):
        assert error(post("timeactivity", body))["code"] == "610"


def test_sparse_update_full_update_and_stale_sync_token(post: Post, refs: dict[str, str]) -> None:
    stored = post("timeactivity", activity(refs)).json()["TimeActivity"]
    # a sparse update changes only what it sends
    sparse = post("timeactivity", {"Id": stored["Id"], "SyncToken": "0", "sparse": True, "Minutes": 45})
    assert sparse.status_code == 200, sparse.text
    assert (sparse.json()["TimeActivity"]["Minutes"], sparse.json()["TimeActivity"]["Description"]) == (
        45,
        "Workshop",
    )
    # a full update clears what it leaves out
    full = post("timeactivity", {**activity(refs, Description=None), "Id": stored["Id"], "SyncToken": "1"})
    assert full.status_code == 200, full.text
    assert "Description" not in full.json()["TimeActivity"]
    assert full.json()["TimeActivity"]["SyncToken"] == "2"
    # an update over an old SyncToken loses: 5010
    stale = post("timeactivity", {"Id": stored["Id"], "SyncToken": "1", "sparse": True, "Hours": 9})
    assert (stale.status_code, error(stale)["code"]) == (400, "5010")


def test_delete_answers_the_deleted_stub_and_reads_then_fail(
    api: httpx.Client, post: Post, refs: dict[str, str]
) -> None:
    stored = post("timeactivity", activity(refs)).json()["TimeActivity"]
    deleted = post("timeactivity", {"Id": stored["Id"], "SyncToken": "0"}, operation="delete")
    assert deleted.json()["TimeActivity"] == {"status": "Deleted", "domain": "QBO", "Id": stored["Id"]}
    assert error(api.get(f"{BASE}/timeactivity/{stored['Id']}"))["code"] == "610"


def test_query_by_date_and_customer(api: httpx.Client, post: Post, refs: dict[str, str]) -> None:
    other = post("customer", {"DisplayName": "Other Co"}).json()["Customer"]["Id"]
    post("timeactivity", activity(refs, TxnDate="2026-11-02"))
    post("timeactivity", activity(refs, TxnDate="2026-11-18"))
    post("timeactivity", activity(refs, TxnDate="2026-11-19", CustomerRef={"value": other}))
    found = query(
        api,
        "select * from TimeActivity where TxnDate >= '2026-11-10' and CustomerRef = '"  # noqa: S608 - a test's own query
        + refs["customer"]
        + "'",
    ).json()["QueryResponse"]["TimeActivity"]
    assert [a["TxnDate"] for a in found] == ["2026-11-18"]
    count = query(api, "select count(*) from TimeActivity where TxnDate <= '2026-11-18'").json()
    assert count["QueryResponse"]["totalCount"] == 2


def test_batch_creates_updates_and_deletes_activities(
    api: httpx.Client, post: Post, refs: dict[str, str]
) -> None:
    first = post("timeactivity", activity(refs)).json()["TimeActivity"]
    second = post("timeactivity", activity(refs)).json()["TimeActivity"]
    items = [
        {"bId": "c", "operation": "create", "TimeActivity": activity(refs, Hours=1)},
        {"bId": "bad", "operation": "create", "TimeActivity": activity(refs, Minutes=75)},
        {
            "bId": "u",
            "operation": "update",
            "TimeActivity": {"Id": first["Id"], "SyncToken": "0", "sparse": True, "Hours": 7},
        },
        {"bId": "d", "operation": "delete", "TimeActivity": {"Id": second["Id"], "SyncToken": "0"}},
    ]
    answer = api.post(f"{BASE}/batch", json={"BatchItemRequest": items})
    assert answer.status_code == 200, answer.text
    by_bid = {item["bId"]: item for item in answer.json()["BatchItemResponse"]}
    assert by_bid["c"]["TimeActivity"]["Hours"] == 1
    assert by_bid["bad"]["Fault"]["Error"][0]["code"] == "6000"
    assert by_bid["u"]["TimeActivity"]["Hours"] == 7
    assert by_bid["d"]["TimeActivity"]["status"] == "Deleted"
    left = query(api, "select * from TimeActivity").json()["QueryResponse"]["TimeActivity"]
    assert sorted(a["Hours"] for a in left) == [1, 7]


def test_a_resent_requestid_replays_the_first_answer(
    api: httpx.Client, post: Post, qbo: QuickBooksSandbox, refs: dict[str, str]
) -> None:
    first = post("timeactivity", activity(refs), requestid="ta-1")
    again = post("timeactivity", activity(refs), requestid="ta-1")
    assert again.json() == first.json()
    assert len(query(api, "select * from TimeActivity").json()["QueryResponse"]["TimeActivity"]) == 1
    assert qbo.time_activity(first.json()["TimeActivity"]["Id"])["Hours"] == 3


def test_changes_are_notified_by_webhook_and_cdc_refuses_time_activity(
    api: httpx.Client, post: Post, qbo: QuickBooksSandbox, refs: dict[str, str]
) -> None:
    receiver = Receiver()
    qbo.subscribe("http://hub/webhook", transport=httpx.WSGITransport(app=receiver))
    qbo.deliver_pending()  # the customer and item set up by the fixture
    receiver.bodies.clear()
    stored = post("timeactivity", activity(refs)).json()["TimeActivity"]
    post("timeactivity", {"Id": stored["Id"], "SyncToken": "0"}, operation="delete")
    assert qbo.deliver_pending() == 2
    entities = receiver.bodies[0]["eventNotifications"][0]["dataChangeEvent"]["entities"]
    assert [(e["name"], e["id"], e["operation"]) for e in entities] == [
        ("TimeActivity", stored["Id"], "Create"),
        ("TimeActivity", stored["Id"], "Delete"),
    ]
    # ChangeDataCapture does not serve TimeActivity (Intuit's CDC page); Employee it does
    since = "2026-11-19T00:00:00Z"
    refused = api.get(f"{BASE}/cdc", params={"entities": "TimeActivity", "changedSince": since})
    assert refused.status_code == 400
    employee = post("employee", {"DisplayName": "New Hire"}).json()["Employee"]
    cdc = api.get(f"{BASE}/cdc", params={"entities": "Employee", "changedSince": since}).json()
    assert [e["Id"] for e in cdc["CDCResponse"][0]["QueryResponse"][0]["Employee"]] == [employee["Id"]]
