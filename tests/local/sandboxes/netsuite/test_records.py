"""The REST record service: create (204 + Location), read, update, delete, references and required values.

https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html
"""

from __future__ import annotations

import httpx

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.fakes import HandClock
from tests.local.sandboxes.netsuite.conftest import BASE, RECORDS, Create, created_id, error_of


def test_a_created_customer_is_answered_204_with_its_location_and_reads_back(api: httpx.Client) -> None:
    # when a client creates a company customer
    answer = api.post(f"{RECORDS}/customer", json={"companyName": "Acme Corp", "email": "ap@acme.example"})
    # then NetSuite answers 204 No Content with the new record's URL
    assert answer.status_code == 204
    assert answer.content == b""
    location = answer.headers["Location"]
    assert location.startswith(f"{BASE}{RECORDS}/customer/")
    # and a GET of that URL shows the record, its references as {links, id, refName}
    body = api.get(location).json()
    assert body["companyName"] == "Acme Corp"
    assert body["id"] == location.rsplit("/", 1)[-1]
    assert body["links"] == [{"rel": "self", "href": location}]
    assert body["subsidiary"]["id"] == "1"
    assert body["subsidiary"]["refName"] == "Parent Company"
    assert body["lastModifiedDate"] == "2026-12-01T09:00:00Z"


def test_a_company_customer_needs_a_company_name(api: httpx.Client) -> None:
    answer = api.post(f"{RECORDS}/customer", json={"email": "ap@acme.example"})
    assert answer.status_code == 400
    assert error_of(answer)["o:errorCode"] == "USER_ERROR"
    assert "Please enter value(s) for: Company Name" in error_of(answer)["detail"]
    # a person needs first and last name instead
    person = api.post(f"{RECORDS}/customer", json={"isPerson": True, "firstName": "Ada"})
    assert "Last Name" in error_of(person)["detail"]
    assert created_id(
        api.post(f"{RECORDS}/customer", json={"isPerson": True, "firstName": "Ada", "lastName": "L"})
    )


def test_a_project_must_belong_to_an_existing_customer(api: httpx.Client, create: Create) -> None:
    customer = create("customer", {"companyName": "Acme Corp"})
    # a project without a customer is refused
    missing = api.post(f"{RECORDS}/job", json={"companyName": "Rollout"})
    assert "Please enter value(s) for: Customer" in error_of(missing)["detail"]
    # a project under an unknown customer is the documented invalid reference, with its path
    unknown = api.post(f"{RECORDS}/job", json={"companyName": "Rollout", "parent": {"id": "99999"}})
    assert unknown.status_code == 400
    assert error_of(unknown)["o:errorCode"] == "INVALID_CONTENT"
    assert error_of(unknown)["o:errorPath"] == "parent"
    assert "Invalid Field Value 99999" in error_of(unknown)["detail"]
    # a project under a project is refused the same way
    project = create("job", {"companyName": "Rollout", "parent": {"id": customer}})
    nested = api.post(f"{RECORDS}/job", json={"companyName": "Phase 2", "parent": {"id": project}})
    assert error_of(nested)["o:errorCode"] == "INVALID_CONTENT"
    # and the project reads back under its customer
    assert api.get(f"{RECORDS}/job/{project}").json()["parent"]["refName"] == "Acme Corp"


def test_a_reference_may_name_the_external_id(api: httpx.Client, create: Create) -> None:
    create("customer", {"companyName": "Acme Corp", "externalId": "SF-001"})
    project = create("job", {"companyName": "Rollout", "parent": {"externalId": "SF-001"}})
    assert api.get(f"{RECORDS}/job/{project}").json()["parent"]["refName"] == "Acme Corp"


def test_patch_changes_fields_and_moves_last_modified_date(
    api: httpx.Client, create: Create, clock: HandClock
) -> None:
    customer = create("customer", {"companyName": "Acme Corp"})
    clock.advance(minutes=5)
    answer = api.patch(f"{RECORDS}/customer/{customer}", json={"email": "billing@acme.example"})
    assert answer.status_code == 204
    body = api.get(f"{RECORDS}/customer/{customer}").json()
    assert body["email"] == "billing@acme.example"
    assert body["companyName"] == "Acme Corp"
    assert body["lastModifiedDate"] == "2026-12-01T09:05:00Z"
    assert body["dateCreated"] == "2026-12-01T09:00:00Z"


def test_an_unknown_record_is_nonexistent_id(api: httpx.Client) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        answer = api.request(method, f"{RECORDS}/customer/424242", json={} if method == "PATCH" else None)
        assert answer.status_code == 404, method
        assert answer.json()["title"] == "Not Found"
        assert error_of(answer)["o:errorCode"] == "NONEXISTENT_ID"


def test_an_unknown_property_is_refused_unless_validation_is_relaxed(api: httpx.Client) -> None:
    body = {"companyName": "Acme Corp", "nickname": "ACME"}
    refused = api.post(f"{RECORDS}/customer", json=body)
    assert refused.status_code == 400
    assert error_of(refused)["o:errorPath"] == "nickname"
    relaxed = api.post(
        f"{RECORDS}/customer", json=body, headers={"X-NetSuite-PropertyNameValidation": "Ignore"}
    )
    assert relaxed.status_code == 204


def test_a_body_that_is_not_json_is_invalid_content(api: httpx.Client) -> None:
    answer = api.post(
        f"{RECORDS}/customer", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert error_of(answer)["o:errorCode"] == "INVALID_CONTENT"


def test_delete_removes_a_record_but_not_one_others_depend_on(api: httpx.Client, create: Create) -> None:
    customer = create("customer", {"companyName": "Acme Corp"})
    lonely = create("customer", {"companyName": "Nobody Ltd"})
    create("job", {"companyName": "Rollout", "parent": {"id": customer}})
    # a customer with a project cannot be deleted
    refused = api.delete(f"{RECORDS}/customer/{customer}")
    assert refused.status_code == 400
    assert "dependent records" in error_of(refused)["detail"]
    # one without can; it is gone afterwards
    assert api.delete(f"{RECORDS}/customer/{lonely}").status_code == 204
    assert api.get(f"{RECORDS}/customer/{lonely}").status_code == 404


def test_entities_share_one_id_sequence(netsuite: NetSuiteSandbox, create: Create) -> None:
    # a customer, a project and an employee never share an internal id
    employee = netsuite.add_employee("Emily", "Platt")
    customer = create("customer", {"companyName": "Acme Corp"})
    project = create("job", {"companyName": "Rollout", "parent": {"id": customer}})
    assert len({employee, customer, project}) == 3


def test_the_collection_lists_record_links_by_page(api: httpx.Client, create: Create) -> None:
    for n in range(3):
        create("customer", {"companyName": f"Customer {n}"})
    page = api.get(f"{RECORDS}/customer", params={"limit": 2}).json()
    assert page["count"] == 2
    assert page["totalResults"] == 3
    assert page["hasMore"] is True
    assert page["links"][0]["rel"] == "next"
    assert set(page["items"][0]) == {"links", "id"}


def test_an_unknown_record_type_is_not_found(api: httpx.Client) -> None:
    answer = api.get(f"{RECORDS}/spaceship/1")
    assert answer.status_code == 404
    assert "spaceship" in error_of(answer)["detail"]


def test_record_type_names_ignore_case(api: httpx.Client, netsuite: NetSuiteSandbox) -> None:
    employee = netsuite.add_employee("Emily", "Platt")
    assert api.get(f"{RECORDS}/Employee/{employee}").json()["entityId"] == "Emily Platt"
