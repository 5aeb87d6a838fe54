"""The SuiteQL statements of the posting side: time bills, expense report ids, employees, projects.

One table per statement, values quoted with `queries.literal`, each ending in a unique ORDER BY.
Dates are read with TO_CHAR (SuiteQL shows a date in the user's format otherwise) and compared with
TO_DATE.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157960491275.html
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from shared.connectors.netsuite.queries import MAX_IN_LIST, literal

__all__ = [
    "MAX_IN_LIST",
    "employees",
    "expense_reports_by_external_id",
    "expense_reports_since",
    "project_currencies",
    "time_bills_by_external_id",
    "time_bills_by_id",
    "time_bills_since",
]

# The timebill columns the mapper reads (the REST field names in lower case), the item's name for
# the census, and the date as ISO text.
TIME_COLUMNS = (
    "id, externalid, employee, customer, item, BUILTIN.DF(item) AS itemname, hours, rate, isbillable, "
    "memo, class, department, status, TO_CHAR(trandate, 'YYYY-MM-DD') AS trandate"
)
# Expense reports are rows of the transaction table with type ExpRept.
EXPENSE_REPORT_TYPE = "ExpRept"


def _in_list(values: Sequence[str]) -> str:
    if not 1 <= len(values) <= MAX_IN_LIST:
        raise ValueError(f"an IN list holds 1 to {MAX_IN_LIST} values, not {len(values)}")
    return "(" + ", ".join(literal(value) for value in values) + ")"


def _day(value: date) -> str:
    return f"TO_DATE({literal(value.isoformat())}, 'YYYY-MM-DD')"


def time_bills_by_id(ids: Sequence[str]) -> str:
    """The time bills with these internal ids."""
    return f"SELECT {TIME_COLUMNS} FROM timebill WHERE id IN {_in_list(ids)} ORDER BY id"  # noqa: S608


def time_bills_by_external_id(external_ids: Sequence[str]) -> str:
    """The time bills carrying these external ids (the hub's work keys)."""
    where = f"externalid IN {_in_list(external_ids)}"
    return f"SELECT {TIME_COLUMNS} FROM timebill WHERE {where} ORDER BY id"  # noqa: S608


def time_bills_since(since: date) -> str:
    """Every time bill dated `since` or later."""
    return f"SELECT {TIME_COLUMNS} FROM timebill WHERE trandate >= {_day(since)} ORDER BY id"  # noqa: S608


def expense_reports_by_external_id(external_ids: Sequence[str]) -> str:
    """The ids of the expense reports carrying these external ids."""
    where = f"type = {literal(EXPENSE_REPORT_TYPE)} AND externalid IN {_in_list(external_ids)}"
    return f"SELECT id, externalid FROM transaction WHERE {where} ORDER BY id"  # noqa: S608


def expense_reports_since(since: date) -> str:
    """The ids of every expense report dated `since` or later."""
    where = f"type = {literal(EXPENSE_REPORT_TYPE)} AND trandate >= {_day(since)}"
    return f"SELECT id FROM transaction WHERE {where} ORDER BY id"  # noqa: S608


def project_currencies(ids: Sequence[str]) -> str:
    """The currency of each of these projects (job records)."""
    return f"SELECT id, currency FROM job WHERE id IN {_in_list(ids)} ORDER BY id"  # noqa: S608


def employees(*, email: str | None, name: str | None) -> list[str]:
    """The active employees by e-mail, then by name (entity id): the statements to try, in order."""
    statements: list[str] = []
    active = "isinactive = 'F'"
    if email and email.strip():
        wanted = literal(email.strip().lower())
        statements.append(
            f"SELECT id FROM employee WHERE LOWER(email) = {wanted} AND {active} ORDER BY id"  # noqa: S608
        )
    if name and name.strip():
        wanted = literal(" ".join(name.split()).lower())
        statements.append(
            f"SELECT id FROM employee WHERE LOWER(entityid) = {wanted} AND {active} ORDER BY id"  # noqa: S608
        )
    return statements
