"""Account and TaxCode as Intuit documents them, driven by a client written from the reference.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/account
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/taxcode
"""

from __future__ import annotations

import httpx
import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from tests.local.sandboxes.quickbooks.conftest import BASE, Post, error, query


def test_a_new_company_has_a_bank_account_and_expense_accounts(api: httpx.Client) -> None:
    banks = query(api, "select * from Account where AccountType = 'Bank'").json()["QueryResponse"]["Account"]
    assert [(a["Name"], a["AccountSubType"], a["Classification"]) for a in banks] == [
        ("Checking", "Checking", "Asset")
    ]
    expenses = query(api, "select * from Account where AccountType = 'Expense'").json()["QueryResponse"]
    assert {a["Name"] for a in expenses["Account"]} >= {"Travel", "Meals and Entertainment"}
    by_name = query(api, "select * from Account where Name = 'Checking'").json()["QueryResponse"]["Account"]
    read = api.get(f"{BASE}/account/{by_name[0]['Id']}").json()["Account"]
    assert read["Name"] == "Checking"
    assert read["CurrencyRef"] == {"value": "USD"}
    assert read["SyncToken"] == "0"


def test_an_account_is_created_and_its_type_follows_its_sub_type(api: httpx.Client, post: Post) -> None:
    answer = post("account", {"Name": "Software", "AccountSubType": "OfficeGeneralAdministrativeExpenses"})
    assert answer.status_code == 200, answer.text
    account = answer.json()["Account"]
    assert (account["AccountType"], account["Classification"]) == ("Expense", "Expense")
    assert account["FullyQualifiedName"] == "Software"
    plain = post("account", {"Name": "Mileage", "AccountType": "Expense"}).json()["Account"]
    assert plain["AccountSubType"] == "OtherMiscellaneousServiceCost"
    updated = post(
        "account", {"Id": plain["Id"], "SyncToken": "0", "sparse": True, "Description": "Car trips"}
    ).json()["Account"]
    assert (updated["SyncToken"], updated["Description"], updated["Name"]) == ("1", "Car trips", "Mileage")
    stale = post("account", {"Id": plain["Id"], "SyncToken": "0", "sparse": True, "Description": "x"})
    assert error(stale)["code"] == "5010"


def test_account_refusals_follow_the_reference(post: Post) -> None:
    duplicate = post("account", {"Name": "checking", "AccountType": "Bank"})
    assert (duplicate.status_code, error(duplicate)["code"]) == (400, "6240")
    assert error(duplicate)["Message"] == "Duplicate Name Exists Error"
    assert error(post("account", {"AccountType": "Bank"}))["code"] == "2020"
    assert error(post("account", {"Name": "No Type"}))["code"] == "2020"
    assert error(post("account", {"Name": "Odd", "AccountType": "Petty"}))["code"] == "2170"
    assert error(post("account", {"Name": "Odd", "AccountSubType": "Petty"}))["code"] == "2170"
    mismatch = post("account", {"Name": "Odd", "AccountType": "Bank", "AccountSubType": "Travel"})
    assert error(mismatch)["code"] == "2170"
    assert error(post("account", {"Name": "A:B", "AccountType": "Expense"}))["code"] == "2010"


def test_an_account_cannot_be_deleted(post: Post, qbo: QuickBooksSandbox) -> None:
    account = qbo.account_id("Travel")
    answer = post("account", {"Id": account, "SyncToken": "0"}, operation="delete")
    assert (answer.status_code, error(answer)["code"]) == (400, "500")


def test_the_add_account_helper(qbo: QuickBooksSandbox, api: httpx.Client) -> None:
    account = qbo.add_account("Reimbursable Expenses", account_id="900")
    assert api.get(f"{BASE}/account/900").json()["Account"]["AccountType"] == "Expense"
    assert account == "900"
    with pytest.raises(ValueError, match="already exists"):
        qbo.add_account("Other", account_id="900")
    assert qbo.add_account("Amex", account_type="Credit Card") == "901"


def test_tax_codes_are_read_and_queried_but_not_created(
    api: httpx.Client, post: Post, qbo: QuickBooksSandbox
) -> None:
    code = qbo.add_tax_code("Exempt", taxable=False)
    read = api.get(f"{BASE}/taxcode/{code}").json()["TaxCode"]
    assert (read["Name"], read["Taxable"], read["Active"]) == ("Exempt", False, True)
    found = query(api, "select * from TaxCode where Name = 'Exempt'").json()["QueryResponse"]["TaxCode"]
    assert [row["Id"] for row in found] == [code]
    # Tax codes are created through TaxService, not POST /taxcode
    refused = post("taxcode", {"Name": "New"})
    assert (refused.status_code, error(refused)["code"]) == (400, "500")
    assert error(refused)["Message"] == "Unsupported Operation"
