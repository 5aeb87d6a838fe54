"""Time bills: an employee's hours on a customer's project, on a date, with a service item."""

from __future__ import annotations

import httpx
import pytest

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.local.sandboxes.netsuite.conftest import RECORDS, Create, error_of, suiteql


@pytest.fixture
def refs(netsuite: NetSuiteSandbox, create: Create) -> dict[str, str]:
    customer = create("customer", {"companyName": "Acme Corp"})
    return {
        "employee": netsuite.add_employee("Emily", "Platt", email="emily@firm.example"),
        "project": create("job", {"companyName": "Rollout", "parent": {"id": customer}}),
        "item": netsuite.add_item("Consulting"),
    }


def _time(refs: dict[str, str], **fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "employee": {"id": refs["employee"]},
        "customer": {"id": refs["project"]},
        "item": {"id": refs["item"]},
        "hours": 2.5,
        "tranDate": "2026-11-30",
        "rate": 150,
    }
    body.update(fields)
    return {name: value for name, value in body.items() if value is not None}


def test_an_approved_entry_becomes_a_time_bill(
    api: httpx.Client, create: Create, refs: dict[str, str]
) -> None:
    bill = create("timeBill", _time(refs, externalId="KT-8812"))
    body = api.get(f"{RECORDS}/timeBill/{bill}").json()
    assert body["hours"] == 2.5
    assert body["tranDate"] == "2026-11-30"
    assert body["employee"]["refName"] == "Emily Platt"
    assert body["customer"]["refName"] == "Rollout"
    assert body["isBillable"] is True
    # and SuiteQL finds it by its external id
    rows = suiteql(api, "SELECT id, hours, employee FROM timebill WHERE externalid = 'KT-8812'").json()[
        "items"
    ]
    assert rows == [{"links": [], "id": bill, "hours": "2.5", "employee": refs["employee"]}]


def test_hours_may_be_written_as_a_duration(api: httpx.Client, create: Create, refs: dict[str, str]) -> None:
    bill = create("timeBill", _time(refs, hours="1:45"))
    assert api.get(f"{RECORDS}/timeBill/{bill}").json()["hours"] == 1.75


@pytest.mark.parametrize(
    ("missing", "label"),
    [("employee", "Employee"), ("customer", "Customer:Project"), ("hours", "Duration"), ("tranDate", "Date")],
)
def test_a_time_bill_needs_employee_customer_hours_and_date(
    api: httpx.Client, refs: dict[str, str], missing: str, label: str
) -> None:
    answer = api.post(f"{RECORDS}/timeBill", json=_time(refs, **{missing: None}))
    assert answer.status_code == 400
    assert error_of(answer)["detail"].endswith(f"Please enter value(s) for: {label}.")


def test_hours_must_be_more_than_zero_and_at_most_a_day(api: httpx.Client, refs: dict[str, str]) -> None:
    for hours in (0, 24.5):
        answer = api.post(f"{RECORDS}/timeBill", json=_time(refs, hours=hours))
        assert answer.status_code == 400, hours
        assert error_of(answer)["o:errorPath"] == "hours"


def test_an_inactive_or_unknown_employee_is_refused(
    api: httpx.Client, netsuite: NetSuiteSandbox, refs: dict[str, str]
) -> None:
    gone = netsuite.add_employee("Old", "Timer", inactive=True)
    for employee in (gone, "77777"):
        answer = api.post(f"{RECORDS}/timeBill", json=_time(refs, employee={"id": employee}))
        assert error_of(answer)["o:errorCode"] == "INVALID_CONTENT"
        assert error_of(answer)["o:errorPath"] == "employee"


def test_time_cannot_be_logged_against_an_employee_as_customer(
    api: httpx.Client, refs: dict[str, str]
) -> None:
    answer = api.post(f"{RECORDS}/timeBill", json=_time(refs, customer={"id": refs["employee"]}))
    assert error_of(answer)["o:errorPath"] == "customer"


def test_a_time_bill_on_a_project_needs_a_service_item(api: httpx.Client, refs: dict[str, str]) -> None:
    # "If you select a customer or project, you must also select a service item"
    answer = api.post(f"{RECORDS}/timeBill", json=_time(refs, item=None))
    assert answer.status_code == 400
    assert error_of(answer)["detail"].endswith("Please enter value(s) for: Service Item.")


def test_class_department_and_location_are_kept_and_an_unknown_one_is_refused(
    api: httpx.Client, netsuite: NetSuiteSandbox, create: Create, refs: dict[str, str]
) -> None:
    segments = {
        "class": {"id": netsuite.add_segment("classification", "Consulting")},
        "department": {"id": netsuite.add_segment("department", "Delivery")},
        "location": {"id": netsuite.add_segment("location", "Austin")},
    }
    bill = create("timeBill", _time(refs, **segments))
    body = api.get(f"{RECORDS}/timeBill/{bill}").json()
    assert body["department"]["refName"] == "Delivery" and body["location"]["refName"] == "Austin"
    rows = suiteql(api, f"SELECT id, class, department FROM timebill WHERE id = {bill}").json()["items"]  # noqa: S608
    assert rows[0]["class"] == segments["class"]["id"]
    answer = api.post(f"{RECORDS}/timeBill", json=_time(refs, department={"id": "999"}))
    assert answer.status_code == 400 and error_of(answer)["o:errorCode"] == "INVALID_CONTENT"


def test_a_billed_time_bill_can_be_neither_changed_nor_deleted(
    api: httpx.Client, netsuite: NetSuiteSandbox, create: Create, refs: dict[str, str]
) -> None:
    # given a time bill an invoice has carried
    bill = create("timeBill", _time(refs))
    netsuite.bill_time(bill)
    # then its status says so, in REST and SuiteQL, and a change or a delete is refused
    assert api.get(f"{RECORDS}/timeBill/{bill}").json()["status"] == "Billed"
    rows = suiteql(api, f"SELECT id, status FROM timebill WHERE id = {bill}").json()["items"]  # noqa: S608
    assert rows[0]["status"] == "Billed"
    for answer in (
        api.patch(f"{RECORDS}/timeBill/{bill}", json={"hours": 1}),
        api.delete(f"{RECORDS}/timeBill/{bill}"),
    ):
        assert answer.status_code == 400 and error_of(answer)["o:errorCode"] == "USER_ERROR"
    assert netsuite.record("timeBill", bill)["hours"] == 2.5
