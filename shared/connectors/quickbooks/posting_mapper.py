"""Postings in QuickBooks Online's words: time as a TimeActivity, an expense as a billable Purchase line.

Pure functions, no I/O: the connector (`postings.py`) sends what these build and reads back what
QuickBooks answers.

Time: a TimeActivity is QBO's record of time worked by an employee or vendor; with BillableStatus
Billable, a customer (the engagement's sub-customer) and a service item it is the "billable time" the
invoice screen offers, and QBO sets it to HasBeenBilled once an invoice carries it.
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
https://developer.intuit.com/app/developer/qbo/docs/workflows/track-time/use-cases

Expense: QuickBooks has no writable "charge" entity. A billable expense is an expense transaction
(Purchase, QBO's "Expense" form, or a Bill) whose line is marked Billable with the customer it is to be
billed to; the invoice then picks that line up as a ReimburseCharge, which the API only reads
(ReimburseCharge: read and query only, minor version 57; an Invoice's LinkedTxn to a ReimburseCharge
is read-only). A Purchase is paid when it is recorded (PaymentType Cash from a bank account: the
employee's out-of-pocket expense settled through the payment account), where a Bill would open an
accounts-payable balance to a vendor, which an employee is not.
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/purchase
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/reimbursecharge
https://developer.intuit.com/hub/blog/2017/06/21/reimburse-charge-support-quickbooks-online-api/
https://github.com/intuit/QuickBooks-V3-PHP-SDK/releases/tag/5.4.5 (ReimburseCharge: Read and Query)
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from shared.connectors.quickbooks.schemas import BillableStatus
from shared.domain.postings import PostedRecord, Posting, WorkKind

TIME_ENTITY = "TimeActivity"
EXPENSE_ENTITY = "Purchase"
ENTITY: Mapping[WorkKind, str] = {WorkKind.TIME: TIME_ENTITY, WorkKind.EXPENSE: EXPENSE_ENTITY}
LINE_DETAIL = "AccountBasedExpenseLineDetail"
# US companies' pseudo tax codes: Invoice and Purchase lines take "TAX" / "NON" as TaxCodeRef.
# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/purchase
NON_TAXABLE = "NON"


def _ref(value: str) -> dict[str, str]:
    return {"value": value}


def department_of(posting: Posting) -> str | None:
    """QuickBooks keeps departments and locations in one list (DepartmentRef, "Location" in its UI):
    the posting's location when it has one, else its department.
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/department"""
    return posting.location or posting.department


def taxable(tax_code: str | None) -> bool:
    """TimeActivity's tax treatment: `Taxable` ("True if the time recorded is both billable and taxable").

    TimeActivity has no TaxCodeRef (Intuit's schema: TxnDate, NameOf, EmployeeRef, CustomerRef,
    DepartmentRef, ItemRef, ClassRef, ..., BillableStatus, Taxable, HourlyRate, ...; .NET SDK
    Finance.xsd), so the posting's tax code can only say taxable or not: "NON" (and no code) is not
    taxable, any other code is. The tax code itself is the invoice line's (issue 11): for non-US
    companies the invoice line names the TaxCode, and the flag only carries the intent.
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
    """
    return tax_code is not None and tax_code.upper() != NON_TAXABLE


def time_activity_body(posting: Posting) -> dict[str, Any]:
    """The TimeActivity for a time posting: the employee's billable minutes on the engagement.

    Hours and Minutes carry the PSA's whole minutes exactly (Minutes 0-59); HourlyRate is the rate's
    Decimal (the client writes its digits, never a float); Description carries the PSA reference.
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
    """
    if posting.kind is not WorkKind.TIME or posting.rate is None or posting.item is None:
        raise ValueError(f"posting for {posting.work} is not a complete time posting")
    hours, minutes = divmod(posting.minutes, 60)
    body: dict[str, Any] = {
        "NameOf": "Employee",
        "EmployeeRef": _ref(posting.worker),
        "CustomerRef": _ref(posting.customer),
        "ItemRef": _ref(posting.item),
        "TxnDate": posting.worked_on.isoformat(),
        "BillableStatus": BillableStatus.BILLABLE.value,
        "Taxable": taxable(posting.tax_code),
        "HourlyRate": posting.rate.amount,
        "Hours": hours,
        "Minutes": minutes,
        "Description": posting.description,
    }
    if posting.accounting_class:
        body["ClassRef"] = _ref(posting.accounting_class)
    if department := department_of(posting):
        body["DepartmentRef"] = _ref(department)
    return body


def purchase_body(posting: Posting, *, home_currency: str) -> dict[str, Any]:
    """The Purchase for an expense posting: paid from the payment account, one billable line.

    Required by Intuit: PaymentType, AccountRef (the account it is paid from) and Line. The line
    (AccountBasedExpenseLineDetail) names the expense account, BillableStatus Billable and the
    engagement's sub-customer, so the next invoice for that customer offers it; QBO computes TotalAmt.
    PrivateNote carries the PSA reference; EntityRef (type Employee) is the person who spent it.
    CurrencyRef is sent only for a currency other than the company's (QBO then needs multicurrency on).
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/purchase
    """
    if posting.kind is not WorkKind.EXPENSE or not posting.expense_account or not posting.payment_account:
        raise ValueError(f"posting for {posting.work} is not a complete expense posting")
    detail: dict[str, Any] = {
        "AccountRef": _ref(posting.expense_account),
        "BillableStatus": BillableStatus.BILLABLE.value,
        "CustomerRef": _ref(posting.customer),
    }
    if posting.accounting_class:
        detail["ClassRef"] = _ref(posting.accounting_class)
    if posting.tax_code:
        detail["TaxCodeRef"] = _ref(posting.tax_code)
    body: dict[str, Any] = {
        "PaymentType": "Cash",
        "AccountRef": _ref(posting.payment_account),
        "EntityRef": {"value": posting.worker, "type": "Employee"},
        "TxnDate": posting.worked_on.isoformat(),
        "PrivateNote": posting.reference,
        "Line": [
            {
                "DetailType": LINE_DETAIL,
                "Amount": posting.amount.amount,
                "Description": posting.description,
                LINE_DETAIL: detail,
            }
        ],
    }
    if posting.amount.currency != home_currency:
        body["CurrencyRef"] = _ref(posting.amount.currency)
    if department := department_of(posting):
        body["DepartmentRef"] = _ref(department)
    return body


def posting_body(posting: Posting, *, home_currency: str) -> dict[str, Any]:
    """The create (or full update) body for one posting, by its kind."""
    if posting.kind is WorkKind.TIME:
        return time_activity_body(posting)
    return purchase_body(posting, home_currency=home_currency)


def _invoice(links: Any) -> str | None:
    for link in links if isinstance(links, list) else []:
        if isinstance(link, Mapping) and link.get("TxnType") == "Invoice" and link.get("TxnId"):
            return str(link["TxnId"])
    return None


def posted_record(entity: str, row: Mapping[str, Any]) -> PostedRecord:
    """The record as QBO holds it: Id, SyncToken, and billed (HasBeenBilled) with the invoice when linked.

    A TimeActivity is billed by its own BillableStatus; a Purchase by any billable line's.
    """
    billed_value = BillableStatus.HAS_BEEN_BILLED.value
    billed = False
    invoice: str | None = None
    if entity == TIME_ENTITY:
        billed = row.get("BillableStatus") == billed_value
        invoice = _invoice(row.get("LinkedTxn")) if billed else None
    else:
        for line in row.get("Line") or []:
            detail = line.get(LINE_DETAIL) if isinstance(line, Mapping) else None
            if isinstance(detail, Mapping) and detail.get("BillableStatus") == billed_value:
                billed = True
                invoice = invoice or _invoice(line.get("LinkedTxn"))
    sync_token = row.get("SyncToken")
    return PostedRecord(
        id=str(row["Id"]),
        version=None if sync_token is None else str(sync_token),
        billed=billed,
        invoice=invoice,
    )


def _value(ref: Any) -> str | None:
    if isinstance(ref, Mapping) and ref.get("value") not in (None, ""):
        return str(ref["value"])
    return None


def _number(value: Any) -> Decimal | None:
    """A JSON number as QBO answers it (the client parses floats as Decimal), or a Decimal body value."""
    if value is None or isinstance(value, bool):
        return None
    return Decimal(str(value))


def _whole(value: Any) -> int:
    number = _number(value)
    return 0 if number is None else int(number)


def held_fields(entity: str, row: Mapping[str, Any], *, home_currency: str) -> dict[str, Any]:
    """A TimeActivity's or Purchase's content in the names of `Posting`'s fields, as QBO stores it.

    Read the same way from what QuickBooks answers and from the body the hub would send (the
    connector's `held_fields`), so the two compare field by field. TimeActivity keeps no tax code,
    only `Taxable` (see `taxable`), and no amount (HourlyRate x Hours and Minutes); a Purchase's
    posted content is its first expense line (the hub writes one).
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/purchase
    """
    if entity == TIME_ENTITY:
        return {
            "worker": _value(row.get("EmployeeRef")),
            "customer": _value(row.get("CustomerRef")),
            "item": _value(row.get("ItemRef")),
            "worked_on": row.get("TxnDate"),
            "minutes": _whole(row.get("Hours")) * 60 + _whole(row.get("Minutes")),
            "rate": _number(row.get("HourlyRate")),
            "taxable": bool(row.get("Taxable", False)),
            "accounting_class": _value(row.get("ClassRef")),
            "department": _value(row.get("DepartmentRef")),
            "billable_status": row.get("BillableStatus"),
            "description": row.get("Description"),
        }
    lines = [
        line
        for line in row.get("Line") or []
        if isinstance(line, Mapping) and isinstance(line.get(LINE_DETAIL), Mapping)
    ]
    line: Mapping[str, Any] = lines[0] if lines else {}
    detail: Mapping[str, Any] = line.get(LINE_DETAIL) or {}
    return {
        "worker": _value(row.get("EntityRef")),
        "customer": _value(detail.get("CustomerRef")),
        "worked_on": row.get("TxnDate"),
        "amount": _number(line.get("Amount")),
        "currency": _value(row.get("CurrencyRef")) or home_currency,
        "expense_account": _value(detail.get("AccountRef")),
        "payment_account": _value(row.get("AccountRef")),
        "tax_code": _value(detail.get("TaxCodeRef")),
        "accounting_class": _value(detail.get("ClassRef")),
        "department": _value(row.get("DepartmentRef")),
        "billable_status": detail.get("BillableStatus"),
        "description": line.get("Description"),
        "reference": row.get("PrivateNote"),
        "lines": len(lines),
    }
