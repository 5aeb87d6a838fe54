"""Describe, limits, queryAll and the replication resources (Get Updated, Get Deleted)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.local.sandboxes.salesforce_client import Clock, DocClient, http_for, new_org


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(clock: Clock) -> DocClient:
    return DocClient(http_for(new_org(clock)))


def test_describe_global_lists_the_objects_and_describe_tells_what_the_field_checks_enforce(
    client: DocClient,
):
    # When a client describes the org and then Account
    listing = client.get("/sobjects").json()
    account = client.get("/sobjects/Account/describe").json()
    # Then the objects are listed with their key prefixes and URLs at the request's version
    by_name = {entry["name"]: entry for entry in listing["sobjects"]}
    assert listing["maxBatchSize"] == 200
    assert by_name["Account"]["keyPrefix"] == "001"
    assert by_name["Organization"]["createable"] is False
    assert by_name["Account"]["urls"]["describe"] == "/services/data/v62.0/sobjects/Account/describe"
    # And Account's fields carry the lengths, picklists and references the sandbox enforces
    fields = {entry["name"]: entry for entry in account["fields"]}
    assert fields["Name"]["length"] == 255 and fields["Name"]["nillable"] is False
    assert fields["Tax_Id__c"]["length"] == 40 and fields["Tax_Id__c"]["custom"] is True
    assert fields["Payment_Terms__c"]["length"] == 100
    assert fields["ParentId"]["referenceTo"] == ["Account"]
    assert fields["NumberOfEmployees"]["type"] == "int"
    assert fields["CurrencyIsoCode"]["restrictedPicklist"] is True
    assert "EUR" in [value["value"] for value in fields["CurrencyIsoCode"]["picklistValues"]]
    assert {
        "childSObject": "Opportunity",
        "field": "AccountId",
        "relationshipName": "Opportunities",
    } in account["childRelationships"]


def test_limits_report_the_daily_allocation_and_what_is_left(client: DocClient):
    # When a client asks for the org's limits (after its token and this call)
    limits = client.get("/limits").json()
    # Then the daily API requests show the allocation and the remainder, this call counted
    assert limits["DailyApiRequests"] == {"Max": 15_000, "Remaining": 14_999}


def test_get_updated_and_deleted_answer_the_window_and_refuse_one_older_than_30_days(
    client: DocClient, clock: Clock
):
    # Given one account changed and one deleted inside a window
    start = clock.now
    kept = client.created_id("Account", {"Name": "Kept"})
    gone = client.created_id("Account", {"Name": "Gone"})
    clock.now += timedelta(minutes=5)
    client.http.delete(client.path(f"/sobjects/Account/{gone}"))
    end = clock.now + timedelta(minutes=1)
    window = {"start": start.isoformat(), "end": end.isoformat()}
    # When a client asks what was updated and what was deleted in it
    updated = client.get("/sobjects/Account/updated", **window).json()
    deleted = client.get("/sobjects/Account/deleted", **window).json()
    # Then the live record is updated, the other deleted, each window ending where asked
    assert updated["ids"] == [kept]
    assert updated["latestDateCovered"] == end.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    assert [entry["id"] for entry in deleted["deletedRecords"]] == [gone]
    # And queryAll still shows the deleted one, with IsDeleted
    rows = client.get("/queryAll", q="SELECT Name, IsDeleted FROM Account WHERE IsDeleted = true").json()
    assert [(row["Name"], row["IsDeleted"]) for row in rows["records"]] == [("Gone", True)]
    # And a window starting more than 30 days ago is refused
    old = {"start": (clock.now - timedelta(days=31)).isoformat(), "end": end.isoformat()}
    refused = client.get("/sobjects/Account/updated", **old)
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    assert client.get("/sobjects/Account/deleted", **old).json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_organization_and_user_are_read_only(client: DocClient):
    # When a client tries to create a User
    response = client.create("User", {"Username": "someone@example.test"})
    # Then it is refused for the object, not for a field
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
