"""External ids: `GET .../eid:{id}`, and upsert by `PUT .../eid:{id}` (create, or update the one record).

https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html
"""

from __future__ import annotations

import httpx

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.fakes import HandClock
from tests.local.sandboxes.netsuite.conftest import RECORDS, Create, error_of


def test_a_first_upsert_creates_and_a_second_updates_the_same_record(
    api: httpx.Client, netsuite: NetSuiteSandbox, clock: HandClock
) -> None:
    # when the hub upserts a customer by its external id
    first = api.put(f"{RECORDS}/customer/eid:SF-0001", json={"companyName": "Acme Corp"})
    # then the record is created, 204 with its Location
    assert first.status_code == 204
    location = first.headers["Location"]
    # when the same upsert is sent again later with a change (a redelivery)
    clock.advance(minutes=1)
    second = api.put(f"{RECORDS}/customer/eid:SF-0001", json={"companyName": "Acme Corporation"})
    # then the same record is updated, not duplicated
    assert second.status_code == 204
    assert second.headers["Location"] == location
    customers = netsuite.records("customer")
    assert len(customers) == 1
    assert customers[0]["companyName"] == "Acme Corporation"
    assert customers[0]["externalId"] == "SF-0001"


def test_a_record_reads_by_its_external_id(api: httpx.Client) -> None:
    api.put(f"{RECORDS}/customer/eid:SF-0002", json={"companyName": "Globex"})
    body = api.get(f"{RECORDS}/customer/eid:SF-0002").json()
    assert body["companyName"] == "Globex"
    assert body["externalId"] == "SF-0002"
    missing = api.get(f"{RECORDS}/customer/eid:SF-9999")
    assert missing.status_code == 404
    assert error_of(missing)["o:errorCode"] == "NONEXISTENT_ID"


def test_patch_and_delete_work_by_external_id(api: httpx.Client) -> None:
    api.put(f"{RECORDS}/customer/eid:SF-0003", json={"companyName": "Initech"})
    assert api.patch(f"{RECORDS}/customer/eid:SF-0003", json={"phone": "555-0100"}).status_code == 204
    assert api.get(f"{RECORDS}/customer/eid:SF-0003").json()["phone"] == "555-0100"
    assert api.delete(f"{RECORDS}/customer/eid:SF-0003").status_code == 204
    assert api.get(f"{RECORDS}/customer/eid:SF-0003").status_code == 404


def test_a_pipe_or_another_character_is_refused_in_an_external_id(
    api: httpx.Client, netsuite: NetSuiteSandbox
) -> None:
    for external in ("SF|0001", "SF 0001", "SF.0001"):
        answer = api.put(f"{RECORDS}/customer/eid:{external}", json={"companyName": "Acme"})
        assert answer.status_code == 400, external
        assert error_of(answer)["o:errorCode"] == "USER_ERROR"
    assert netsuite.records("customer") == []
    # letters, digits, underscore and dash are fine
    assert api.put(f"{RECORDS}/customer/eid:sf_0001-A", json={"companyName": "Acme"}).status_code == 204


def test_an_external_id_belongs_to_one_record_of_a_type(api: httpx.Client, create: Create) -> None:
    create("customer", {"companyName": "Acme", "externalId": "SF-0004"})
    # creating another customer with it is refused
    duplicate = api.post(f"{RECORDS}/customer", json={"companyName": "Other", "externalId": "SF-0004"})
    assert duplicate.status_code == 400
    assert "already exists" in error_of(duplicate)["detail"]
    # a project (another type) may carry the same external id
    customer = create("customer", {"companyName": "Acme 2"})
    project = api.put(
        f"{RECORDS}/job/eid:SF-0004", json={"companyName": "Rollout", "parent": {"id": customer}}
    )
    assert project.status_code == 204


def test_upsert_is_put_on_an_external_id_only(api: httpx.Client, create: Create) -> None:
    customer = create("customer", {"companyName": "Acme"})
    answer = api.put(f"{RECORDS}/customer/{customer}", json={"companyName": "Acme"})
    assert answer.status_code == 405


def test_the_body_cannot_name_another_external_id(api: httpx.Client) -> None:
    answer = api.put(f"{RECORDS}/customer/eid:SF-0005", json={"companyName": "Acme", "externalId": "SF-0006"})
    assert answer.status_code == 400
    assert error_of(answer)["o:errorPath"] == "externalId"


def test_a_failed_upsert_writes_nothing(api: httpx.Client, netsuite: NetSuiteSandbox) -> None:
    api.put(f"{RECORDS}/customer/eid:SF-0007", json={"companyName": "Acme"})
    refused = api.put(f"{RECORDS}/customer/eid:SF-0007", json={"companyName": "", "email": "x@acme.example"})
    assert refused.status_code == 400
    stored = netsuite.by_external_id("customer", "SF-0007")
    assert stored is not None
    assert stored["companyName"] == "Acme"
    assert "email" not in stored
