"""Describe, limits, queryAll and the replication resources (Get Updated, Get Deleted)."""

from __future__ import annotations

from datetime import timedelta

from tests.local.sandboxes.salesforce.docs_client import Clock, DocClient


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

    # And Get Updated looks back 30 days, Get Deleted 15: an older start is refused
    def since(days: int) -> dict[str, str]:
        return {"start": (clock.now - timedelta(days=days)).isoformat(), "end": end.isoformat()}

    assert client.get("/sobjects/Account/updated", **since(20)).status_code == 200
    assert (
        client.get("/sobjects/Account/updated", **since(31)).json()[0]["errorCode"]
        == "INVALID_REPLICATION_DATE"
    )
    assert client.get("/sobjects/Account/deleted", **since(14)).status_code == 200
    assert (
        client.get("/sobjects/Account/deleted", **since(16)).json()[0]["errorCode"]
        == "INVALID_REPLICATION_DATE"
    )


def test_organization_and_user_are_read_only(client: DocClient):
    # When a client tries to create a User
    response = client.create("User", {"Username": "someone@example.test"})
    # Then it is refused for the object, not for a field
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"


def test_the_replication_window_drops_seconds_and_latest_date_covered_says_where_to_resume(
    client: DocClient, clock: Clock
):
    # Given an account changed at 09:10:30
    clock.now = clock.now.replace(hour=9, minute=10, second=30)
    changed = client.created_id("Account", {"Name": "Late in the minute"})
    # When a client asks for the window 09:00 to 09:10:45
    first = client.get(
        "/sobjects/Account/updated", start="2025-03-03T09:00:00+00:00", end="2025-03-03T09:10:45+00:00"
    ).json()
    # Then the API truncated the end to 09:10:00, so the change is not in it yet
    assert first == {"ids": [], "latestDateCovered": "2025-03-03T09:10:00.000+0000"}
    # And the next window, starting where the last was covered, brings it
    clock.now = clock.now.replace(minute=12)
    second = client.get(
        "/sobjects/Account/updated",
        start=first["latestDateCovered"].replace("+0000", "+00:00"),
        end="2025-03-03T09:12:00+00:00",
    ).json()
    assert second["ids"] == [changed]
