"""sObject Collections and Composite: per-record results, allOrNone, references, the documented limits."""

from __future__ import annotations

from typing import Any

from infra.local.sandboxes.salesforce import SalesforceSandbox
from tests.local.sandboxes.salesforce.docs_client import DocClient


def account(name: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Account"}, "Name": name, **fields}


def count(client: DocClient) -> int:
    return int(client.query("SELECT COUNT() FROM Account").json()["totalSize"])


def test_collection_create_answers_per_record_and_keeps_the_good_ones_without_all_or_none(client: DocClient):
    # When a client creates two good accounts and one with too long a name
    results = client.post(
        "/composite/sobjects", {"records": [account("One"), account("x" * 256), account("Two")]}
    ).json()
    # Then each record has its own result, in order, and the good ones exist
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert count(client) == 2


def test_collection_all_or_none_rolls_back_everything_and_sends_no_notice(
    client: DocClient, org: SalesforceSandbox
):
    # When a client creates the same records with allOrNone
    body = {"allOrNone": True, "records": [account("One"), account("x" * 256), account("Two")]}
    results = client.post("/composite/sobjects", body).json()
    # Then nothing is created, the bad record names its error and the others are rolled back
    assert count(client) == 0
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert [r["errors"][0]["statusCode"] for r in (results[0], results[2])] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    ] * 2
    # And no outbound message is queued for records that never committed
    assert org.pending_notifications == []


def test_collection_update_and_upsert_and_the_200_record_limit(client: DocClient):
    # Given an account and an opportunity with an external id
    account_id = client.created_id("Account", {"Name": "Old name"})
    opportunity = {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2025-06-30"}
    client.patch("/sobjects/Opportunity/C2C_External_Id__c/ext-1", opportunity)
    # When a client updates the account and upserts two opportunities by the external id
    updated = client.patch(
        "/composite/sobjects",
        {"records": [{"attributes": {"type": "Account"}, "id": account_id, "Name": "New"}]},
    ).json()
    upserted = client.patch(
        "/composite/sobjects/Opportunity/C2C_External_Id__c",
        {
            "records": [
                {"attributes": {"type": "Opportunity"}, "C2C_External_Id__c": "ext-1", "Amount": 10},
                {"attributes": {"type": "Opportunity"}, "C2C_External_Id__c": "ext-2", **opportunity},
            ]
        },
    ).json()
    # Then the update lands and the upsert says which record it created
    assert updated[0]["success"] is True
    assert client.get(f"/sobjects/Account/{account_id}").json()["Name"] == "New"
    assert [(r["success"], r["created"]) for r in upserted] == [(True, False), (True, True)]
    # And 201 records are refused whole
    too_many = client.post("/composite/sobjects", {"records": [account(f"A{n}") for n in range(201)]})
    assert too_many.status_code == 400
    assert too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert count(client) == 1


def test_composite_passes_references_between_subrequests(client: DocClient):
    # When a client creates an account and an opportunity under it in one composite call
    answer = client.post(
        "/composite",
        {
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Account",
                    "referenceId": "acct",
                    "body": {"Name": "Composite Co"},
                },
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Opportunity",
                    "referenceId": "opp",
                    "body": {
                        "Name": "Deal",
                        "AccountId": "@{acct.id}",
                        "StageName": "Prospecting",
                        "CloseDate": "2025-06-30",
                    },
                },
                {
                    "method": "GET",
                    "url": "/services/data/v62.0/sobjects/Account/@{acct.id}?fields=Name",
                    "referenceId": "read",
                },
            ]
        },
    ).json()
    # Then each subrequest answers with its status and body, the reference resolved
    responses = answer["compositeResponse"]
    assert [r["httpStatusCode"] for r in responses] == [201, 201, 200]
    assert [r["referenceId"] for r in responses] == ["acct", "opp", "read"]
    assert responses[2]["body"]["Name"] == "Composite Co"
    rows = client.rows("SELECT Account.Name FROM Opportunity")
    assert rows[0]["Account"]["Name"] == "Composite Co"


def test_composite_all_or_none_halts_and_rolls_back_and_25_is_the_limit(client: DocClient):
    # When the second of two subrequests fails under allOrNone
    create = {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "body": {"Name": "Rolled"}}
    answer = client.post(
        "/composite",
        {
            "allOrNone": True,
            "compositeRequest": [
                {**create, "referenceId": "good"},
                {**create, "referenceId": "bad", "body": {"Name": "x" * 256}},
            ],
        },
    ).json()["compositeResponse"]
    # Then the first is rolled back as PROCESSING_HALTED and the second names its own error
    assert answer[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert answer[1]["body"][0]["errorCode"] == "STRING_TOO_LONG"
    assert count(client) == 0
    # And 26 subrequests are refused with LIMIT_EXCEEDED, none run
    many = [{**create, "referenceId": f"r{n}"} for n in range(26)]
    refused = client.post("/composite", {"compositeRequest": many}).json()["compositeResponse"]
    assert refused[0]["body"][0]["errorCode"] == "LIMIT_EXCEEDED"
    assert count(client) == 0
