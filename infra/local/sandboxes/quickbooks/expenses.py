"""Purchase rules: an expense paid from a bank or credit card account, its lines billable to customers.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/purchase: create, read,
query, sparse/full update, delete. Required: `PaymentType` (Cash, Check, CreditCard), `AccountRef`
("Check must specify bank account, CreditCard must specify credit card account"; Cash is paid from a
bank account here) and `Line`. An `AccountBasedExpenseLineDetail` line carries `AccountRef` (required),
`CustomerRef`, `BillableStatus` (Billable, NotBillable, HasBeenBilled), `ClassRef`, `TaxCodeRef` and
`MarkupInfo`; QBO computes `TotalAmt` from the lines. QuickBooks has no Charge entity: a billable
expense is such a line marked Billable with the customer it is billed to. `ItemBasedExpenseLineDetail`
lines are not served. The reference documents no Fault codes of its own, so the refusals use Intuit's
general codes (2020 missing, 2170 enumeration, 2500 / 610 unknown / inactive reference, 6000 rule):
https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from infra.local.sandboxes.quickbooks.company import COMPANY_TZ, Company
from infra.local.sandboxes.quickbooks.faults import (
    business_rule,
    invalid_enumeration,
    invalid_property,
    required_missing,
)
from infra.local.sandboxes.quickbooks.invoices import (
    MAX_DOC_NUMBER,
    check_length,
    json_number,
    money,
    reference,
)

# PaymentType -> the AccountType of the account it is paid from.
PAYMENT_TYPES = {"Cash": "Bank", "Check": "Bank", "CreditCard": "Credit Card"}
BILLABLE_STATUSES = ("Billable", "NotBillable", "HasBeenBilled")
LINE_DETAIL = "AccountBasedExpenseLineDetail"
# "TAX" and "NON" are the pseudo tax codes of US companies (the Invoice and Purchase references).
US_TAX_CODES = frozenset({"TAX", "NON"})
MAX_PRIVATE_NOTE = 4000
_PAYEE_TYPES = ("Vendor", "Customer", "Employee")
_LINE_REFS = {"ClassRef": "Class"}
_TOP_REFS = {"DepartmentRef": "Department"}


def _named(company: Company, entity: str, ref: Any, element: str) -> dict[str, str]:
    found = reference(company, entity, ref, element)
    name = found.get("DisplayName") or found.get("FullyQualifiedName") or found.get("Name") or ""
    return {"value": found["Id"], "name": str(name)}


def _tax_code(company: Company, ref: Any, element: str) -> dict[str, str]:
    if isinstance(ref, dict) and str(ref.get("value", "")) in US_TAX_CODES:
        return {"value": str(ref["value"])}
    return _named(company, "TaxCode", ref, element)


def _markup(info: Any, element: str) -> dict[str, Any]:
    """MarkupInfo: PercentBased with a Percent, or a Value; the income account it posts to."""
    if not isinstance(info, dict):
        raise invalid_property(f"Property Name:{element} must be an object", element)
    kept = dict(info)
    for key in ("Percent", "Value"):
        if key in kept:
            kept[key] = json_number(money(kept[key], f"{element}.{key}"))
    return kept


def _line(company: Company, number: int, line: Any) -> tuple[dict[str, Any], Decimal]:
    if not isinstance(line, dict) or line.get("DetailType") != LINE_DETAIL:
        kind = line.get("DetailType") if isinstance(line, dict) else line
        raise invalid_property(f"Property Name:Line.DetailType {kind!r} is not served", "Line.DetailType")
    if "Amount" not in line:
        raise required_missing("Required parameter Line.Amount is missing in the request", "Line.Amount")
    amount = money(line["Amount"], "Line.Amount")
    detail = line.get(LINE_DETAIL)
    if not isinstance(detail, dict) or not detail.get("AccountRef"):
        raise required_missing(
            f"Required parameter Line.{LINE_DETAIL}.AccountRef is missing in the request",
            f"Line.{LINE_DETAIL}.AccountRef",
        )
    where = f"Line.{LINE_DETAIL}"
    kept = dict(detail)
    kept["AccountRef"] = _named(company, "Account", detail["AccountRef"], f"{where}.AccountRef")
    status = detail.get("BillableStatus", "NotBillable")
    if status not in BILLABLE_STATUSES:
        raise invalid_enumeration(
            status, "BillableStatus", ", ".join(BILLABLE_STATUSES), f"{where}.BillableStatus"
        )
    kept["BillableStatus"] = status
    if detail.get("CustomerRef"):
        kept["CustomerRef"] = _named(company, "Customer", detail["CustomerRef"], f"{where}.CustomerRef")
    elif status != "NotBillable":
        raise required_missing(
            f"Required parameter {where}.CustomerRef is missing in the request: BillableStatus is {status}",
            f"{where}.CustomerRef",
        )
    for key, entity in _LINE_REFS.items():
        if detail.get(key):
            kept[key] = _named(company, entity, detail[key], f"{where}.{key}")
    if detail.get("TaxCodeRef"):
        kept["TaxCodeRef"] = _tax_code(company, detail["TaxCodeRef"], f"{where}.TaxCodeRef")
    if "MarkupInfo" in detail:
        kept["MarkupInfo"] = _markup(detail["MarkupInfo"], f"{where}.MarkupInfo")
    rest = {key: value for key, value in line.items() if key not in ("Id", "LineNum", LINE_DETAIL)}
    stored = {
        **rest,
        "Id": str(number),
        "LineNum": number,
        "Amount": json_number(amount),
        LINE_DETAIL: kept,
    }
    return stored, amount


def _payee(company: Company, ref: Any) -> dict[str, str]:
    """EntityRef: the vendor, customer or employee paid, named by its `type`."""
    kind = ref.get("type", "Vendor") if isinstance(ref, dict) else None
    if kind not in _PAYEE_TYPES:
        raise invalid_enumeration(kind, "EntityRef type", ", ".join(_PAYEE_TYPES), "EntityRef.type")
    return {**_named(company, str(kind), ref, "EntityRef"), "type": str(kind)}


def check_purchase(company: Company, fields: dict[str, Any], own_id: str | None) -> dict[str, Any]:
    """The stored Purchase for these fields: payment account checked, lines resolved, TotalAmt computed."""
    del own_id  # no rule compares one purchase with the others
    payment = fields.get("PaymentType")
    if not payment:
        raise required_missing("Required parameter PaymentType is missing in the request", "PaymentType")
    if payment not in PAYMENT_TYPES:
        raise invalid_enumeration(payment, "PaymentType", ", ".join(PAYMENT_TYPES), "PaymentType")
    if not fields.get("AccountRef"):
        raise required_missing("Required parameter AccountRef is missing in the request", "AccountRef")
    account = reference(company, "Account", fields["AccountRef"], "AccountRef")
    wanted = PAYMENT_TYPES[str(payment)]
    if account.get("AccountType") != wanted:
        raise business_rule(
            f"PaymentType {payment} must specify a {wanted} account, not {account.get('AccountType')}.",
            "AccountRef",
        )
    check_length(fields, "DocNumber", MAX_DOC_NUMBER)
    check_length(fields, "PrivateNote", MAX_PRIVATE_NOTE)
    lines = fields.get("Line")
    if not isinstance(lines, list) or not lines:
        raise required_missing("Required parameter Line is missing in the request", "Line")
    stored_lines: list[dict[str, Any]] = []
    total = Decimal(0)
    for number, line in enumerate(lines, start=1):
        stored, amount = _line(company, number, line)
        stored_lines.append(stored)
        total += amount
    resolved: dict[str, Any] = {}
    if fields.get("EntityRef"):
        resolved["EntityRef"] = _payee(company, fields["EntityRef"])
    for key, entity in _TOP_REFS.items():
        if fields.get(key):
            resolved[key] = _named(company, entity, fields[key], key)
    txn_date = fields.get("TxnDate") or company.now().astimezone(COMPANY_TZ).date().isoformat()
    return {
        "Credit": False,
        **fields,
        **resolved,
        "PaymentType": payment,
        "AccountRef": {"value": account["Id"], "name": account["Name"]},
        "CurrencyRef": {"value": company.home_currency},
        "TxnDate": txn_date,
        "Line": stored_lines,
        "TotalAmt": json_number(total),
    }
