"""Expense reports: an employee's lines by category, billable to a customer's project, approved twice."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.local.sandboxes.netsuite.conftest import RECORDS, Create, error_of, suiteql


@pytest.fixture
def refs(netsuite: NetSuiteSandbox, create: Create) -> dict[str, str]:
    customer = create("customer", {"companyName": "Acme Corp"})
    return {
        "employee": netsuite.add_employee("Emily", "Platt"),
        "project": create("job", {"companyName": "Rollout", "parent": {"id": customer}}),
        "travel": netsuite.add_expense_category("Travel"),
    }


def _report(refs: dict[str, str], *lines: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "entity": {"id": refs["employee"]},
        "tranDate": "2026-11-30",
        "expense": {"items": list(lines)},
        **fields,
    }


def _line(refs: dict[str, str], amount: float, **fields: Any) -> dict[str, Any]:
    return {"category": {"id": refs["travel"]}, "amount": amount, **fields}


def test_an_approved_billable_expense_report_totals_its_lines(
    api: httpx.Client, create: Create, refs: dict[str, str]
) -> None:
    billable = _line(refs, 120.5, customer={"id": refs["project"]}, isBillable=True, memo="Train")
    report = create(
        "expenseReport",
        _report(
            refs,
            billable,
            _line(refs, 30),
            supervisorApproval=True,
            accountingApproval=True,
            externalId="EX-1",
        ),
    )
    body = api.get(f"{RECORDS}/expenseReport/{report}", params={"expandSubResources": "true"}).json()
    assert body["total"] == 150.5
    assert body["status"]["refName"] == "Approved by Accounting"
    lines = body["expense"]["items"]
    assert lines[0]["customer"]["refName"] == "Rollout"
    assert lines[1]["isBillable"] is False
    rows = suiteql(
        api, "SELECT type, foreigntotal, BUILTIN.DF(entity) AS who FROM transaction WHERE externalid = 'EX-1'"
    )
    assert rows.json()["items"] == [
        {"links": [], "type": "ExpRept", "foreigntotal": "150.5", "who": "Emily Platt"}
    ]


def test_a_report_waiting_for_approval_says_so(
    api: httpx.Client, create: Create, refs: dict[str, str]
) -> None:
    report = create("expenseReport", _report(refs, _line(refs, 10)))
    assert (
        api.get(f"{RECORDS}/expenseReport/{report}").json()["status"]["refName"]
        == "Pending Supervisor Approval"
    )


def test_a_billable_line_names_its_customer_and_every_line_a_category(
    api: httpx.Client, refs: dict[str, str]
) -> None:
    no_customer = api.post(f"{RECORDS}/expenseReport", json=_report(refs, _line(refs, 10, isBillable=True)))
    assert error_of(no_customer)["o:errorPath"] == "expense.items[0].customer"
    no_category = api.post(f"{RECORDS}/expenseReport", json=_report(refs, {"amount": 10}))
    assert "Please enter value(s) for: Category" in error_of(no_category)["detail"]
    nothing = api.post(f"{RECORDS}/expenseReport", json=_report(refs, _line(refs, 0)))
    assert error_of(nothing)["o:errorPath"] == "expense.items[0].amount"


def test_an_expense_report_belongs_to_an_employee(api: httpx.Client, refs: dict[str, str]) -> None:
    answer = api.post(
        f"{RECORDS}/expenseReport", json=_report(refs, _line(refs, 10), entity={"id": refs["project"]})
    )
    assert error_of(answer)["o:errorCode"] == "INVALID_CONTENT"
    assert error_of(answer)["o:errorPath"] == "entity"
