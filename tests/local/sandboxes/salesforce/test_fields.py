"""Field checks on Account as on every object: lengths, picklists, required fields, org currencies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.local.sandboxes.salesforce.docs_client import DocClient


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"Name": "x" * 256}, "STRING_TOO_LONG", "Name"),
        ({"Name": "Acme", "Tax_Id__c": "9" * 41}, "STRING_TOO_LONG", "Tax_Id__c"),
        ({"Name": "Acme", "Payment_Terms__c": "n" * 101}, "STRING_TOO_LONG", "Payment_Terms__c"),
        (
            {"Name": "Acme", "CurrencyIsoCode": "XYZ"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "CurrencyIsoCode",
        ),
        ({"Website": "https://acme.test"}, "REQUIRED_FIELD_MISSING", "Name"),
        ({"Name": "Acme", "NumberOfEmployees": "many"}, "JSON_PARSER_ERROR", "NumberOfEmployees"),
    ],
)
def test_account_refuses_what_its_fields_do_not_take(
    client: DocClient, fields: dict[str, Any], code: str, field: str
):
    # When a client creates an account with a value the field does not take
    response = client.create("Account", fields)
    # Then it is refused with the documented code naming the field, and nothing is created
    assert response.status_code == 400, response.text
    assert response.json()[0]["errorCode"] == code
    assert response.json()[0]["fields"] == [field]
    assert client.query("SELECT COUNT() FROM Account").json()["totalSize"] == 0


def test_account_takes_its_standard_fields_at_their_declared_lengths(client: DocClient):
    # Given a parent account
    parent_id = client.created_id("Account", {"Name": "Holding"})
    # When a child is created with ParentId, NumberOfEmployees and values at the maximum length
    child_id = client.created_id(
        "Account",
        {
            "Name": "n" * 255,
            "ParentId": parent_id[:15],
            "NumberOfEmployees": 250,
            "Tax_Id__c": "9" * 40,
            "Industry": "Space Mining",  # a standard picklist is unrestricted
        },
    )
    # Then it reads back as stored, the parent id in its 18-character form
    record = client.get(f"/sobjects/Account/{child_id}").json()
    assert record["ParentId"] == parent_id
    assert record["NumberOfEmployees"] == 250
    assert record["Industry"] == "Space Mining"
    # And the parent relationship can be followed in SOQL
    rows = client.rows(f"SELECT Parent.Name FROM Account WHERE Id = '{child_id}'")  # noqa: S608
    assert rows[0]["Parent"]["Name"] == "Holding"


def test_an_edit_is_checked_like_a_create(client: DocClient):
    # Given an account
    account_id = client.created_id("Account", {"Name": "Acme"})
    # When a client blanks its name or sets a terms value over 100 characters
    blanked = client.update("Account", account_id, {"Name": None})
    too_long = client.update("Account", account_id, {"Payment_Terms__c": "t" * 101})
    # Then both are refused and the record is unchanged
    assert blanked.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert too_long.json()[0]["errorCode"] == "STRING_TOO_LONG"
    assert client.get(f"/sobjects/Account/{account_id}").json()["Name"] == "Acme"
