"""Postings spelled as NetSuite time bills and expense reports, and read back in QuickBooks' field names."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.connectors.netsuite import mapper, posting_mapper
from shared.connectors.netsuite.client import write_json
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import Posting, WorkKind, amount_for


def _time(minutes: int = 55, description: str = "Workshop", **changes: Any) -> Posting:
    rate = Money.of("180.00", "USD")
    fields: dict[str, Any] = {
        "work": SourceRef(system=SystemName.PRODUCTIVE, type="time_entry", id="8812", version="3"),
        "kind": WorkKind.TIME,
        "target": SystemName.NETSUITE,
        "legal_entity": "US01",
        "customer": "204",
        "worker": "107",
        "worked_on": date(2026, 12, 1),
        "minutes": minutes,
        "rate": rate,
        "amount": amount_for(rate, minutes),
        "item": "12",
        "description": description,
    }
    fields.update(changes)
    return Posting.model_validate(fields)


def _connection(connection: dict[str, Any]) -> NetSuiteConnection:
    return NetSuiteConnection.parse(connection)


def test_a_time_bill_carries_the_minutes_exactly_and_the_psa_reference() -> None:
    body = posting_mapper.time_bill_body(_time(accounting_class="3", location="2"))
    # 55 minutes are "0:55", not 0.9166... hours; the memo names the PSA entry; no department: null
    assert body["hours"] == "0:55"
    assert body["rate"] == Decimal("180.00") and body["isBillable"] is True
    assert (
        body["customer"] == {"id": "204"}
        and body["item"] == {"id": "12"}
        and body["employee"] == {"id": "107"}
    )
    assert body["memo"] == "Workshop [close2cash productive/time_entry/8812]"
    assert body["class"] == {"id": "3"} and body["department"] is None
    # the engagement's location is NetSuite's own segment (QuickBooks folds it into departments)
    assert body["location"] == {"id": "2"}


def test_a_memo_that_names_the_entry_already_is_kept_as_it_is() -> None:
    posting = _time(description="Workshop close2cash productive/time_entry/8812")
    assert posting_mapper.memo(posting) == "Workshop close2cash productive/time_entry/8812"
    long = posting_mapper.memo(_time(description="x" * 3000))
    assert len(long) <= posting_mapper.MEMO_MAX and long.endswith("[close2cash productive/time_entry/8812]")


@given(st.integers(min_value=1, max_value=24 * 60))
def test_minutes_survive_netsuites_duration_both_ways(minutes: int) -> None:
    # written as H:MM, answered as a number of hours (REST) or its text (SuiteQL): the same minutes
    hours = Decimal(minutes) / 60
    assert posting_mapper.minutes_of(posting_mapper.duration(minutes)) == minutes
    assert posting_mapper.minutes_of(hours) == minutes
    assert posting_mapper.minutes_of(str(hours)) == minutes


def test_the_external_id_is_the_work_key_and_decodes_back() -> None:
    external = posting_mapper.work_external_id(_time())
    assert external == "c2c-productive-time-8812"
    assert mapper.origin(external) == SourceRef(system=SystemName.PRODUCTIVE, type="time", id="8812")


def test_held_fields_read_a_suiteql_row_as_they_read_the_body() -> None:
    # a SuiteQL row: lower-case columns, values as text, check boxes T/F, null columns left out
    row = {
        "id": "501",
        "employee": "107",
        "customer": "204",
        "item": "12",
        "hours": "0.9166666666666666666666666667",
        "rate": "180",
        "isbillable": "T",
        "memo": "Workshop [close2cash productive/time_entry/8812]",
        "trandate": "2026-12-01",
    }
    body = posting_mapper.time_bill_body(_time())
    assert posting_mapper.time_fields(row) == posting_mapper.time_fields(body)
    assert posting_mapper.time_fields(row)["minutes"] == 55
    assert not posting_mapper.posted_time(row).billed
    assert posting_mapper.posted_time({**row, "status": "Billed"}).billed


def test_an_expense_is_one_billable_line_on_the_project(connection: dict[str, Any]) -> None:
    settings = _connection(connection)
    posting = Posting(
        work=SourceRef(system=SystemName.PRODUCTIVE, type="expense", id="E1", version="1"),
        kind=WorkKind.EXPENSE,
        target=SystemName.NETSUITE,
        legal_entity="UK01",
        customer="204",
        worker="107",
        worked_on=date(2026, 12, 1),
        amount=Money.of("86.40", "GBP"),
        expense_account="5",
        payment_account="n/a",
        description="Train to the client",
    )
    body = posting_mapper.expense_report_body(posting, settings)
    (line,) = body["expense"]["items"]
    assert line == {
        "category": {"id": "5"},
        "amount": Decimal("86.40"),
        "expenseDate": "2026-12-01",
        "customer": {"id": "204"},
        "isBillable": True,
        "memo": "Train to the client",
        "class": None,
        "department": None,
        "location": None,
    }
    # a currency other than the account's home one is named by its currency record
    assert body["currency"] == {"id": "2"} and body["memo"] == "close2cash productive/expense/E1"
    held = posting_mapper.expense_fields(body, settings)
    assert held["amount"] == Decimal("86.40") and held["currency"] == "GBP" and held["lines"] == 1


def test_a_request_body_writes_each_decimal_with_exactly_its_digits() -> None:
    # money and rates are never floats on the wire: 0.10 stays 0.10, 180.00 stays 180.00
    text = write_json({"rate": Decimal("180.00"), "lines": [{"amount": Decimal("0.10")}], "memo": 'a "b"'})
    assert text == '{"rate": 180.00, "lines": [{"amount": 0.10}], "memo": "a \\"b\\""}'
    assert json.loads(text, parse_float=Decimal)["lines"][0]["amount"] == Decimal("0.10")
