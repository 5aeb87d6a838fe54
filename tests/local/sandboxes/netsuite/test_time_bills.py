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
