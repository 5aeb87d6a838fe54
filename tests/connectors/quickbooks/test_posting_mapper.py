"""The posting mapper alone: a posting spelled as QuickBooks' TimeActivity and Purchase bodies.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/purchase
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.connectors.quickbooks import posting_mapper as mapper
from shared.connectors.quickbooks.client import encode_exact
from shared.domain.money import Money
from tests.connectors.quickbooks.test_postings import expense_posting, time_posting

BOOKS = {
    "customer": "58",
    "item": "7",
    "employee": "55",
    "class": "5000000000000000001",
    "department": "2",
    "bank": "35",
    "travel": "58",
}


def test_minutes_become_hours_and_minutes_and_the_rate_keeps_its_digits() -> None:
    body = mapper.time_activity_body(time_posting(BOOKS, 1, minutes=125))
    assert (body["Hours"], body["Minutes"], body["HourlyRate"]) == (2, 5, Decimal("152.35"))
    assert b'"HourlyRate": 152.35' in encode_exact(body)
    assert "DepartmentRef" in body and "ClassRef" in body


def test_optional_codes_are_left_out_when_the_posting_has_none() -> None:
    body = mapper.time_activity_body(time_posting(BOOKS, 1, accounting_class=None, department=None))
    assert "ClassRef" not in body and "DepartmentRef" not in body


def test_a_location_goes_in_quickbooks_department_list_before_the_department() -> None:
    # QuickBooks has one list for both (DepartmentRef, "Location" in its UI)
    located = mapper.time_activity_body(time_posting(BOOKS, 1, location="4"))
    assert located["DepartmentRef"] == {"value": "4"}
    expense = mapper.purchase_body(expense_posting(BOOKS, location="4"), home_currency="USD")
    assert expense["DepartmentRef"] == {"value": "4"}


@pytest.mark.parametrize(("tax_code", "taxable"), [("TAX", True), ("NON", False), (None, False), ("3", True)])
def test_the_tax_code_sets_the_taxable_flag(tax_code: str | None, taxable: bool) -> None:
    assert mapper.time_activity_body(time_posting(BOOKS, 1, tax_code=tax_code))["Taxable"] is taxable


def test_an_expense_in_another_currency_names_it() -> None:
    home = mapper.purchase_body(expense_posting(BOOKS), home_currency="USD")
    assert "CurrencyRef" not in home
    foreign = mapper.purchase_body(expense_posting(BOOKS, amount=Money.of("80", "EUR")), home_currency="USD")
    assert foreign["CurrencyRef"] == {"value": "EUR"}


def test_a_purchase_is_billed_when_any_billable_line_is() -> None:
    row = {
        "Id": "9",
        "SyncToken": "4",
        "Line": [
            {"AccountBasedExpenseLineDetail": {"BillableStatus": "Billable"}},
            {
                "AccountBasedExpenseLineDetail": {"BillableStatus": "HasBeenBilled"},
                "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}],
            },
        ],
    }
    record = mapper.posted_record("Purchase", row)
    assert (record.id, record.version, record.billed, record.invoice) == ("9", "4", True, "130")
