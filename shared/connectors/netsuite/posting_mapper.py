"""Postings in NetSuite's words: time as a time bill, an expense as a one-line expense report (no I/O).

Time: a time bill ("Track Time" in the UI) records an employee's hours; with a customer or project,
a service item and Billable checked it is the billable time an invoice of that project offers.
Its fields: employee, customer (Customer:Project), item (required once a customer is set), hours
(a duration), rate, tranDate, isBillable, memo ("appears as a description for this line item" on
the invoice), class, department, location.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_164439865832.html (REST)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_N3691883.html (fields)

Expense: NetSuite's record of an employee's out-of-pocket cost is the expense report; each line names
an expense category (linked to an expense account, where the cost posts once approved), an amount,
and, when it is to be billed on, the customer or project with Billable checked: the project's next
invoice then offers it as a billable expense. The hub writes one line per PSA expense.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_N3674551.html (expense report)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_82134258767.html (expense category)

`held_fields` reads a stored record (REST or SuiteQL) and a body the hub would send alike, in the
names QuickBooks' `held_fields` uses, so a replay or a cutover diff compares like with like.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.netsuite.mapper import external_id
from shared.domain.models import SourceRef
from shared.domain.postings import PostedRecord, Posting, WorkKind

TIME_BILL = "timeBill"
EXPENSE_REPORT = "expenseReport"
RECORD_TYPE: Mapping[WorkKind, str] = {WorkKind.TIME: TIME_BILL, WorkKind.EXPENSE: EXPENSE_REPORT}
EXPENSE_LINES = "expense"
# The read-only status a time bill shows once an invoice carries it (UNCONFIRMED value: the SOAP
# schema lists a read-only `status` string on TimeBill; no page names its values).
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_N3691883.html
BILLED_STATUS = "billed"
# Memo fields hold up to 999 characters in the UI (UNCONFIRMED for REST; kept under it).
MEMO_MAX = 999
# The posting's segments and the time bill's / expense line's fields that carry them.
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_N3691883.html
_SEGMENTS = (("accounting_class", "class"), ("department", "department"), ("location", "location"))


def work_external_id(posting_or_work: Posting | SourceRef, kind: WorkKind | None = None) -> str:
    """The external id of the record posted for one piece of work: its work key, encoded as the
    customer master's are (`c2c-<system>-<kind>-<id>`), so a resent create finds it (upsert)."""
    work = posting_or_work.work if isinstance(posting_or_work, Posting) else posting_or_work
    found_kind = posting_or_work.kind if isinstance(posting_or_work, Posting) else kind
    if found_kind is None:
        raise ValueError("the kind of work is needed for its external id")
    return external_id(SourceRef(system=work.system, type=found_kind.value, id=work.id))


def _ref(value: str | None) -> dict[str, str] | None:
    return None if value is None else {"id": value}


def memo(posting: Posting) -> str:
    """The description, carrying the PSA reference (appended when the description lacks it)."""
    text = posting.description
    if posting.reference not in text:
        suffix = f" [{posting.reference}]"
        text = text[: MEMO_MAX - len(suffix)] + suffix
    return text[:MEMO_MAX]


def duration(minutes: int) -> str:
    """Whole minutes as NetSuite's duration text `H:MM` (Oracle's sample sends "4:00"): exact,
    where a decimal number of hours (55 min = 0.9166...) is not."""
    hours, rest = divmod(minutes, 60)
    return f"{hours}:{rest:02d}"


def time_bill_body(posting: Posting) -> dict[str, Any]:
    """The time bill for a time posting (every field the posting owns; a cleared segment is null)."""
    if posting.kind is not WorkKind.TIME or posting.rate is None or posting.item is None:
        raise ValueError(f"posting for {posting.work} is not a complete time posting")
    body: dict[str, Any] = {
        "employee": _ref(posting.worker),
        "customer": _ref(posting.customer),
        "item": _ref(posting.item),
        "hours": duration(posting.minutes),
        "rate": posting.rate.amount,
        "tranDate": posting.worked_on.isoformat(),
        "isBillable": True,
        "memo": memo(posting),
    }
    for ours, theirs in _SEGMENTS:
        body[theirs] = _ref(getattr(posting, ours))
    return body


def expense_report_body(posting: Posting, connection: NetSuiteConnection) -> dict[str, Any]:
    """The expense report for an expense posting: the employee, one billable line on the project.

    `expense_account` is the expense category's internal id (the category names the account);
    the payment account has no field here (the approved report becomes the employee's payable).
    Both approvals are set: the PSA approved the expense (the hub posts only approved work).
    """
    if posting.kind is not WorkKind.EXPENSE or not posting.expense_account:
        raise ValueError(f"posting for {posting.work} is not a complete expense posting")
    line: dict[str, Any] = {
        "category": _ref(posting.expense_account),
        "amount": posting.amount.amount,
        "expenseDate": posting.worked_on.isoformat(),
        "customer": _ref(posting.customer),
        "isBillable": True,
        "memo": posting.description[:MEMO_MAX],
    }
    for ours, theirs in _SEGMENTS:
        line[theirs] = _ref(getattr(posting, ours))
    body: dict[str, Any] = {
        "entity": _ref(posting.worker),
        "tranDate": posting.worked_on.isoformat(),
        "memo": posting.reference,
        "supervisorApproval": True,
        "accountingApproval": True,
        EXPENSE_LINES: {"items": [line]},
    }
    currency = connection.currencies.get(posting.amount.currency)
    if currency is not None and posting.amount.currency != connection.home_currency:
        body["currency"] = {"id": currency}
    return body


def posting_body(posting: Posting, connection: NetSuiteConnection) -> dict[str, Any]:
    """The upsert (or PATCH) body for one posting, by its kind."""
    if posting.kind is WorkKind.TIME:
        return time_bill_body(posting)
    return expense_report_body(posting, connection)


# --- reading back ---------------------------------------------------------------------------------


def _id(value: Any) -> str | None:
    """A reference as REST answers it ({"id": ...}), a SuiteQL id (text), or None."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value in (None, "") else str(value)


def _number(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    return Decimal(str(value))


def minutes_of(hours: Any) -> int:
    """A duration as NetSuite holds it (a number of hours, or `H:MM`) in whole minutes."""
    if isinstance(hours, str) and ":" in hours:
        whole, rest = hours.split(":", 1)
        return int(whole) * 60 + int(rest)
    number = _number(hours)
    if number is None:
        return 0
    return int((number * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _flag(value: Any) -> bool:
    """A check box: JSON true, or SuiteQL's 'T'."""
    return value is True or value == "T"


def _day(value: Any) -> str | None:
    if isinstance(value, date):
        return value.isoformat()
    return None if value in (None, "") else str(value)[:10]


def _status(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("refName") or value.get("id")
    return str(value or "").strip().lower()


def posted_time(row: Mapping[str, Any]) -> PostedRecord:
    """A time bill as NetSuite holds it: no version token (last writer wins), billed by its status."""
    return PostedRecord(id=str(row["id"]), version=None, billed=_status(row.get("status")) == BILLED_STATUS)


def time_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """A time bill's content (REST record, SuiteQL row with lower-case names, or a body) as held."""
    get = _getter(row)
    fields: dict[str, Any] = {
        "worker": _id(get("employee")),
        "customer": _id(get("customer")),
        "item": _id(get("item")),
        "worked_on": _day(get("tranDate")),
        "minutes": minutes_of(get("hours")),
        "rate": _number(get("rate")),
        "billable": _flag(get("isBillable")),
        "description": get("memo"),
    }
    for ours, theirs in _SEGMENTS:
        fields[ours] = _id(get(theirs))
    return fields


def expense_fields(record: Mapping[str, Any], connection: NetSuiteConnection) -> dict[str, Any]:
    """An expense report's content (REST record with its lines expanded, or a body) as held: the
    first expense line is the posting (the hub writes one); `lines` says how many there are."""
    sublist = record.get(EXPENSE_LINES)
    items = sublist.get("items", []) if isinstance(sublist, Mapping) else []
    lines = [line for line in items if isinstance(line, Mapping)]
    line: Mapping[str, Any] = lines[0] if lines else {}
    currencies = {internal: code for code, internal in connection.currencies.items()}
    currency = _id(record.get("currency"))
    amount = _number(line.get("amount"))
    fields: dict[str, Any] = {
        "worker": _id(record.get("entity")),
        "customer": _id(line.get("customer")),
        "worked_on": _day(line.get("expenseDate") or record.get("tranDate")),
        "amount": None if amount is None else amount.quantize(Decimal("0.01")),
        "currency": currencies.get(currency or "", connection.home_currency),
        "expense_account": _id(line.get("category")),
        "billable": _flag(line.get("isBillable")),
        "description": line.get("memo"),
        "reference": record.get("memo"),
        "lines": len(lines),
    }
    for ours, theirs in _SEGMENTS:
        fields[ours] = _id(line.get(theirs))
    return fields


def posted_expense(record: Mapping[str, Any]) -> PostedRecord:
    """An expense report as NetSuite holds it (no version token; its billing is not read: see
    postings.py)."""
    return PostedRecord(id=str(record["id"]), version=None, billed=False)


def _getter(row: Mapping[str, Any]) -> Any:
    """Read a REST field name from a REST record or body, or its lower-case SuiteQL column."""

    def get(name: str) -> Any:
        return row[name] if name in row else row.get(name.lower())

    return get
