"""Invoice rules: customer and item references, line arithmetic, totals QBO computes, DocNumber length.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from infra.local.sandboxes.quickbooks import billing, books
from infra.local.sandboxes.quickbooks.company import COMPANY_TZ, Company
from infra.local.sandboxes.quickbooks.faults import fault, invalid_property, not_found, required_missing

# "DocNumber ... max 21 characters" (the Invoice reference); `AUTO_GENERATE` is not served here.
MAX_DOC_NUMBER = 21
_LINE_TYPES = frozenset({"SalesItemLineDetail", "DescriptionOnly", "SubTotalLineDetail"})
_CENT = Decimal("0.01")
_INACTIVE = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)


def money(value: Any, element: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid_property(f"Property Name:{element} must be a number", element)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise invalid_property(f"Property Name:{element} must be a number", element) from None


def json_number(value: Decimal) -> int | float:
    """A JSON number as QBO writes amounts (337.5, 100)."""
    exact = value.quantize(_CENT, ROUND_HALF_UP)
    return int(exact) if exact == exact.to_integral_value() else float(exact)


def check_length(fields: dict[str, Any], key: str, longest: int) -> None:
    """2050 String length ... not supported, for a text field longer than `longest` (or not text)."""
    value = fields.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > longest):
        raise fault(
            400,
            "2050",
            "String length is either shorter or longer than supported by specification",
            f"{key}: Min:0 Max:{longest} supported",
            "ValidationFault",
            key,
        )


def reference(company: Company, entity: str, ref: Any, element: str) -> dict[str, Any]:
    """The active object a reference names: 2500 Invalid Reference Id when unknown, 610 when inactive.

    https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
    """
    record_id = str((ref or {}).get("value", "")) if isinstance(ref, dict) else ""
    found = company.visible(entity, record_id)
    if found is None:
        raise fault(
            400,
            "2500",
            "Invalid Reference Id",
            f"Invalid Reference Id : {entity} {record_id or '(blank)'} does not exist",
            "ValidationFault",
            element,
        )
    if not found.get("Active", True):
        failure = not_found(entity, record_id, _INACTIVE)
        failure.body["Fault"]["Error"][0]["element"] = element
        raise failure
    return found


def _lines(company: Company, lines: Any) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
    if not isinstance(lines, list) or not lines:
        raise required_missing("Required parameter Line is missing in the request", "Line")
    priced: list[dict[str, Any]] = []
    total = tax = Decimal(0)
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, dict) or line.get("DetailType") not in _LINE_TYPES:
            kind = line.get("DetailType") if isinstance(line, dict) else line
            raise invalid_property(f"Property Name:Line.DetailType {kind!r} is not served", "Line.DetailType")
        if line["DetailType"] == "SubTotalLineDetail":
            continue  # QBO computes the subtotal line itself
        kept = {key: value for key, value in line.items() if key not in ("Id", "LineNum")}
        if line["DetailType"] == "SalesItemLineDetail":
            detail = dict(line.get("SalesItemLineDetail") or {})
            if "Amount" not in line:
                raise required_missing(
                    "Required parameter Line.Amount is missing in the request", "Line.Amount"
                )
            amount = money(line["Amount"], "Line.Amount")
            if "ItemRef" in detail:
                item = reference(company, "Item", detail["ItemRef"], "Line.SalesItemLineDetail.ItemRef")
                detail["ItemRef"] = {"value": item["Id"], "name": item["Name"]}
            if "Qty" in detail and "UnitPrice" in detail:
                expected = money(detail["Qty"], "Qty") * money(detail["UnitPrice"], "UnitPrice")
                if expected.quantize(_CENT, ROUND_HALF_UP) != amount.quantize(_CENT, ROUND_HALF_UP):
                    raise fault(
                        400,
                        "6070",
                        "Amount calculation incorrect in the request",
                        f"Amount is not equal to Qty * UnitPrice. Supplied value:{line['Amount']}",
                        "ValidationFault",
                        "Line.Amount",
                    )
            kept.update(Amount=json_number(amount), SalesItemLineDetail=detail)
            total += amount
            tax += books.line_tax(company, line, amount)
        priced.append({"Id": str(number), "LineNum": number, **kept})
    priced.append(
        {"Amount": json_number(total), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    )
    return priced, total, tax


def check_invoice(company: Company, fields: dict[str, Any], own_id: str | None) -> dict[str, Any]:
    """The stored Invoice for these fields: references resolved, lines priced, totals computed."""
    if not fields.get("CustomerRef"):
        raise required_missing("Required parameter CustomerRef is missing in the request", "CustomerRef")
    customer = reference(company, "Customer", fields["CustomerRef"], "CustomerRef")
    billing.check_time_links(company, fields, customer["Id"], own_id)
    check_length(fields, "DocNumber", MAX_DOC_NUMBER)
    lines, total, tax = _lines(company, fields.get("Line"))
    txn_date = fields.get("TxnDate") or company.now().astimezone(COMPANY_TZ).date().isoformat()
    books.check_open_period(company, str(txn_date))
    due = fields.get("DueDate")
    if not due:
        term = company.visible("Term", str((fields.get("SalesTermRef") or {}).get("value", "")))
        days = int(term.get("DueDays") or 0) if term else 0
        due = (company.now().astimezone(COMPANY_TZ).date() + timedelta(days=days)).isoformat()
    # QBO computes TotalAmt and Balance and overwrites what is sent; a new invoice is unpaid.
    return {
        "EmailStatus": "NotSet",
        "PrintStatus": "NotSet",
        **fields,
        "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
        "CurrencyRef": customer["CurrencyRef"],
        "TxnDate": txn_date,
        "DueDate": due,
        "Line": lines,
        "TotalAmt": json_number(total + tax),
        "Balance": json_number(total + tax),
        "TxnTaxDetail": {"TotalTax": json_number(tax)},
    }


def voided(stored: dict[str, Any]) -> dict[str, Any]:
    """A voided invoice: amounts zero, kept, noted "Voided" as QBO does."""
    lines = [
        {**line, "Amount": 0}
        if line.get("DetailType") in ("SalesItemLineDetail", "SubTotalLineDetail")
        else line
        for line in stored["Line"]
    ]
    note = str(stored.get("PrivateNote") or "")
    return {**stored, "Line": lines, "TotalAmt": 0, "Balance": 0, "PrivateNote": f"Voided {note}".strip()}


def check_credit_memo(company: Company, fields: dict[str, Any], own_id: str | None) -> dict[str, Any]:
    """A CreditMemo: an invoice's lines and refs, QBO-computed TotalAmt and RemainingCredit, no DueDate.

    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/creditmemo
    (RemainingCredit is read-only; a new memo's whole TotalAmt remains; no time links here)
    """
    stored = check_invoice(
        company, {key: value for key, value in fields.items() if key != "LinkedTxn"}, own_id
    )
    for key in ("Balance", "DueDate", "EmailStatus", "PrintStatus"):
        stored.pop(key, None)
    return {**stored, "RemainingCredit": stored["TotalAmt"]}
