"""Projects (REST `job`): under a customer, with a project status (`entityStatus`), read by SuiteQL."""

from __future__ import annotations

import httpx
import pytest

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.local.sandboxes.netsuite.conftest import RECORDS, Create, error_of, suiteql


@pytest.fixture
def customer(create: Create) -> str:
    return create("customer", {"companyName": "Acme Corp"})


def test_a_new_account_holds_oracles_five_project_statuses(api: httpx.Client) -> None:
    # given a fresh account, when the integration reads the project status list
    names = {sid: api.get(f"{RECORDS}/jobstatus/{sid}").json()["name"] for sid in "12345"}
    # then it holds the statuses Oracle's example names, under the same internal ids
    assert names == {"1": "Closed", "2": "In Progress", "3": "Not Awarded", "4": "Pending", "5": "Awarded"}


def test_a_project_carries_its_status_and_moves_between_statuses(
    api: httpx.Client, create: Create, customer: str
) -> None:
    # given a pending project under a customer
    project = create(
        "job",
        {"companyName": "Rollout", "parent": {"id": customer}, "entityStatus": {"id": "4"}},
    )
    assert api.get(f"{RECORDS}/job/{project}").json()["entityStatus"]["refName"] == "Pending"
    # when its status is set to In Progress
    answer = api.patch(f"{RECORDS}/job/{project}", json={"entityStatus": {"id": "2"}})
    # then a read and SuiteQL both show it
    assert answer.status_code == 204
    assert api.get(f"{RECORDS}/job/{project}").json()["entityStatus"]["refName"] == "In Progress"
    rows = suiteql(api, "SELECT id, entitystatus, parent FROM job ORDER BY id").json()["items"]
    assert [(row["id"], row["entitystatus"], row["parent"]) for row in rows] == [(project, "2", customer)]


def test_a_status_that_is_not_in_the_list_is_refused(api: httpx.Client, customer: str) -> None:
    # when a project names a status the account does not have
    answer = api.post(
        f"{RECORDS}/job",
        json={"companyName": "Rollout", "parent": {"id": customer}, "entityStatus": {"id": "99"}},
    )
    # then NetSuite refuses the reference, naming the field, and makes nothing
    assert answer.status_code == 400
    assert error_of(answer)["o:errorCode"] == "INVALID_CONTENT"
    assert error_of(answer)["o:errorPath"] == "entityStatus"


def test_a_project_for_a_customer_that_does_not_exist_is_refused(
    api: httpx.Client, netsuite: NetSuiteSandbox
) -> None:
    answer = api.put(
        f"{RECORDS}/job/eid:c2c-deal-1", json={"companyName": "Rollout", "parent": {"id": "999"}}
    )
    assert answer.status_code == 400
    assert error_of(answer)["o:errorCode"] == "INVALID_CONTENT"
    assert error_of(answer)["o:errorPath"] == "parent"
    assert netsuite.records("job") == []


def test_the_customer_of_a_project_cannot_be_changed(
    api: httpx.Client, create: Create, customer: str
) -> None:
    # given a project under Acme, and another customer
    project = create("job", {"companyName": "Rollout", "parent": {"id": customer}})
    other = create("customer", {"companyName": "Beta LLC"})
    # when an update moves the project to the other customer
    answer = api.patch(f"{RECORDS}/job/{project}", json={"parent": {"id": other}})
    # then NetSuite refuses it and the project stays Acme's
    assert answer.status_code == 400
    assert error_of(answer)["o:errorCode"] == "USER_ERROR"
    assert error_of(answer)["o:errorPath"] == "parent"
    assert api.get(f"{RECORDS}/job/{project}").json()["parent"]["id"] == customer


def test_no_time_is_entered_on_a_project_that_does_not_allow_time(
    api: httpx.Client, netsuite: NetSuiteSandbox, create: Create, customer: str
) -> None:
    # given a project whose Allow Time Entry box is cleared (a draft nobody approved yet)
    project = create("job", {"companyName": "Rollout", "parent": {"id": customer}, "allowTime": False})
    time_bill = {
        "employee": {"id": netsuite.add_employee("Emily", "Platt")},
        "customer": {"id": project},
        "item": {"id": netsuite.add_item("Consulting")},
        "hours": 2,
        "tranDate": "2026-11-30",
    }
    # when time is entered on it, then NetSuite refuses it
    refused = api.post(f"{RECORDS}/timeBill", json=time_bill)
    assert refused.status_code == 400
    assert error_of(refused)["o:errorCode"] == "USER_ERROR"
    assert error_of(refused)["o:errorPath"] == "customer"
    # and once the box is checked the same entry is taken
    api.patch(f"{RECORDS}/job/{project}", json={"allowTime": True})
    assert api.post(f"{RECORDS}/timeBill", json=time_bill).status_code == 204
