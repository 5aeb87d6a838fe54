"""SOQL as documented: what a query answers, and the refusal for what the sandbox does not serve."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.local.sandboxes.salesforce.docs_client import Clock, DocClient


def names(rows: list[dict[str, object]]) -> list[object]:
    return sorted(str(row["Name"]) for row in rows)


def test_count_or_and_in_answer_as_documented(client: DocClient):
    # Given three accounts
    for name, city in (("Acme", "Boston"), ("Globex", "Denver"), ("Initech", "Austin")):
        client.created_id("Account", {"Name": name, "BillingCity": city})
    # When a client counts them and filters with OR and IN
    count = client.query("SELECT COUNT() FROM Account WHERE BillingCity IN ('Boston', 'Austin')").json()
    either = client.rows("SELECT Name FROM Account WHERE Name = 'Acme' OR BillingCity = 'Denver'")
    grouped = client.rows(
        "SELECT Name FROM Account WHERE (Name = 'Acme' OR Name = 'Globex') AND NOT BillingCity = 'Boston'"
    )
    # Then COUNT() answers totalSize with no records, and OR / IN / NOT select as written
    assert count == {"totalSize": 2, "done": True, "records": []}
    assert names(either) == ["Acme", "Globex"]
    assert names(grouped) == ["Globex"]


def test_text_equality_ignores_case_and_15_character_ids_match_18(client: DocClient):
    # Given an account
    account_id = client.created_id("Account", {"Name": "Mixed Case Ltd"})
    # When a client filters on its name in another case, and on its 15-character id
    by_name = client.rows("SELECT Id FROM Account WHERE Name = 'MIXED case ltd'")
    by_short_id = client.rows(f"SELECT Id FROM Account WHERE Id = '{account_id[:15]}'")  # noqa: S608
    # Then both find it
    assert [row["Id"] for row in by_name] == [account_id]
    assert [row["Id"] for row in by_short_id] == [account_id]


def test_date_literals_select_by_whole_days(client: DocClient, clock: Clock):
    # Given an account created 10 days ago and one created today
    clock.now -= timedelta(days=10)
    client.created_id("Account", {"Name": "Old"})
    clock.now += timedelta(days=10)
    client.created_id("Account", {"Name": "New"})
    # Then TODAY and LAST_N_DAYS:n select by creation day
    assert names(client.rows("SELECT Name FROM Account WHERE CreatedDate = TODAY")) == ["New"]
    assert names(client.rows("SELECT Name FROM Account WHERE CreatedDate = LAST_N_DAYS:3")) == ["New"]
    assert names(client.rows("SELECT Name FROM Account WHERE CreatedDate = LAST_N_DAYS:10")) == ["New", "Old"]
    assert names(client.rows("SELECT Name FROM Account WHERE CreatedDate < TODAY")) == ["Old"]


def test_fields_standard_and_a_child_subquery_on_account(client: DocClient):
    # Given an account with one opportunity
    account_id = client.created_id("Account", {"Name": "Parent Co", "Tax_Id__c": "DE123"})
    client.created_id(
        "Opportunity",
        {"Name": "Deal", "AccountId": account_id, "StageName": "Prospecting", "CloseDate": "2025-06-30"},
    )
    # When a client selects FIELDS(STANDARD) and the Opportunities child relationship
    row = client.rows("SELECT FIELDS(STANDARD), (SELECT Name FROM Opportunities) FROM Account")[0]
    # Then the standard fields come without the custom ones, and the child rows are nested
    assert row["Name"] == "Parent Co"
    assert "NumberOfEmployees" in row and "ParentId" in row
    assert "Tax_Id__c" not in row
    assert [opp["Name"] for opp in row["Opportunities"]["records"]] == ["Deal"]


def test_organization_and_user_are_queryable(client: DocClient):
    # When a client asks who and where it is
    org = client.rows("SELECT Id, Name, IsSandbox FROM Organization")
    users = client.rows("SELECT Id, Username, IsActive FROM User WHERE IsActive = true")
    # Then the org and its integration user answer
    assert len(org) == 1 and org[0]["Id"].startswith("00D")
    assert len(users) == 1 and users[0]["Id"].startswith("005")
    # And a record's owner is that user, reachable through the Owner relationship
    client.created_id("Account", {"Name": "Owned"})
    owned = client.rows("SELECT Name, Owner.Username FROM Account WHERE Owner.IsActive = true")
    assert [(row["Name"], row["Owner"]["Username"]) for row in owned] == [("Owned", users[0]["Username"])]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Name FROM Account GROUP BY Name", "MALFORMED_QUERY"),
        ("SELECT Name FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY"),
        ("SELECT Name FROM Account WHERE NumberOfEmployees = '10'", "MALFORMED_QUERY"),
        ("SELECT Name FROM Account WHERE CreatedDate = THIS_FISCAL_QUARTER", "MALFORMED_QUERY"),
        ("SELECT FIELDS(ALL) FROM Account", "MALFORMED_QUERY"),
        ("SELECT Name FROM Account WHERE Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Nope FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Nothing", "INVALID_TYPE"),
    ],
)
def test_what_is_not_served_is_refused_never_answered_wrongly(client: DocClient, soql: str, code: str):
    # Given an account (so a wrong answer would have rows to show)
    client.created_id("Account", {"Name": "a", "NumberOfEmployees": 10})
    # When a client sends a query outside what the sandbox serves
    response = client.query(soql)
    # Then it is a 400 with Salesforce's error code
    assert response.status_code == 400, response.text
    assert response.json()[0]["errorCode"] == code


def test_order_by_ignores_case_and_puts_nulls_first_unless_told(client: DocClient):
    # Given accounts with and without a city, in mixed case
    for name, city in (("a", "boston"), ("b", None), ("c", "Austin"), ("d", "denver")):
        client.created_id("Account", {"Name": name, "BillingCity": city})

    def order(soql: str) -> list[object]:
        return [row["Name"] for row in client.rows(soql)]

    # Then sorting ignores case, and nulls come first both ways unless NULLS LAST
    assert order("SELECT Name FROM Account ORDER BY BillingCity") == ["b", "c", "a", "d"]
    assert order("SELECT Name FROM Account ORDER BY BillingCity DESC") == ["b", "d", "a", "c"]
    assert order("SELECT Name FROM Account ORDER BY BillingCity DESC NULLS LAST") == ["d", "a", "c", "b"]
    assert order("SELECT Name FROM Account ORDER BY BillingCity LIMIT 2 OFFSET 1") == ["c", "a"]
