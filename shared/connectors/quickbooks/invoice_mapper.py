"""Pure mapping between the canonical invoice and QuickBooks' Invoice, Payment and CreditMemo.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/creditmemo
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.domain.billing import Invoice, InvoiceLine
from shared.domain.cash import Applied, InvoiceStanding, IssuedCredit, PaymentApplication, ReceivedPayment
from shared.domain.models import SystemName
from shared.domain.money import Money

# CustomerMemo and PrivateNote are free text of at most 1,000 and 4,000 characters.
# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
MAX_CUSTOMER_MEMO = 1000
MAX_PRIVATE_NOTE = 4000
VOIDED = "Voided"  # QBO keeps a voided transaction, amounts zero, its PrivateNote starting so


def _line(line: InvoiceLine) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "Qty": line.quantity,
        "UnitPrice": line.unit_price.amount,
        "TaxCodeRef": {"value": line.tax_code},
    }
    if line.item:
        detail["ItemRef"] = {"value": line.item}
    if line.service_date:
        detail["ServiceDate"] = line.service_date.isoformat()
    if line.dimensions is not None and line.dimensions.accounting_class:
        detail["ClassRef"] = {"value": line.dimensions.accounting_class}
    body: dict[str, Any] = {
        "DetailType": "SalesItemLineDetail",
        "Amount": line.net.amount,
        "Description": line.description[:4000],
        "SalesItemLineDetail": detail,
    }
    if line.bills and line.origin and ":time:" in line.origin:
        # A time link sits on the line itself: a header-only link does not bill the time
        # (intuit/QuickBooks-V3-DotNET-SDK issue 127; VENDORS.md). An expense was posted as a
        # Purchase, which an invoice line can only re-bill as a ReimburseCharge the API cannot
        # create (LinkedTxn to ReimburseCharge is read-only): it is billed without a link.
        body["LinkedTxn"] = [{"TxnId": line.bills, "TxnType": "TimeActivity"}]
    return body


def invoice_body(invoice: Invoice) -> dict[str, Any]:
    """The Invoice create body for the canonical invoice (amounts as exact Decimals)."""
    body: dict[str, Any] = {
        "DocNumber": invoice.number,
        "TxnDate": invoice.issue_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(),
        "CustomerRef": {"value": invoice.customer.id},
        "Line": [_line(line) for line in invoice.lines],
        "PrivateNote": f"close2cash billing run {invoice.source.id}"[:MAX_PRIVATE_NOTE],
    }
    time = dict.fromkeys(link["TxnId"] for line in body["Line"] for link in line.get("LinkedTxn", []))
    if time:
        # The header names the billed time as well as its line (VENDORS.md, "Invoice LinkedTxn").
        body["LinkedTxn"] = [{"TxnId": txn, "TxnType": "TimeActivity"} for txn in time]
    if invoice.memo:
        body["CustomerMemo"] = {"value": invoice.memo[:MAX_CUSTOMER_MEMO]}
    dimensions = invoice.lines[0].dimensions
    location = dimensions.department or dimensions.location if dimensions is not None else None
    if location:
        # QBO's Department is the location (the header carries it; lines carry the class).
        body["DepartmentRef"] = {"value": location}
    if invoice.purchase_order:
        body["PONumber"] = invoice.purchase_order
    return body


def _money(value: Any, currency: str) -> Money:
    return Money(amount=Decimal(str(value or 0)), currency=currency)


def _currency(row: Mapping[str, Any], home: str) -> str:
    return str((row.get("CurrencyRef") or {}).get("value") or home)


def _day(value: Any, default: date) -> date:
    return date.fromisoformat(str(value)[:10]) if value else default


def applied_to(
    invoice_id: str, payments: Sequence[Mapping[str, Any]], currency: str, today: date
) -> list[Applied]:
    """What each live payment applies to `invoice_id`; a zero payment linking a credit memo is a credit."""
    found: list[Applied] = []
    for payment in payments:
        if str(payment.get("PrivateNote") or "").startswith(VOIDED):
            continue
        lines = payment.get("Line") or []
        credit = Decimal(str(payment.get("TotalAmt") or 0)) == 0 and any(
            link.get("TxnType") == "CreditMemo" for line in lines for link in line.get("LinkedTxn") or []
        )
        amount = sum(
            (
                Decimal(str(line.get("Amount") or 0))
                for line in lines
                for link in line.get("LinkedTxn") or []
                if link.get("TxnType") == "Invoice" and str(link.get("TxnId")) == invoice_id
            ),
            Decimal(0),
        )
        if amount:
            found.append(
                Applied(
                    id=str(payment["Id"]),
                    amount=Money(amount=amount, currency=currency),
                    on=_day(payment.get("TxnDate"), today),
                    credit=credit,
                )
            )
    return found


def standing(
    row: Mapping[str, Any], payments: Sequence[Mapping[str, Any]], *, home: str, read_at: datetime
) -> InvoiceStanding:
    """An Invoice as QBO returns it (TotalAmt and Balance are QBO's own), with what applies to it."""
    currency = _currency(row, home)
    today = read_at.date()
    voided = str(row.get("PrivateNote") or "").startswith(VOIDED)
    return InvoiceStanding(
        system=SystemName.QUICKBOOKS,
        id=str(row["Id"]),
        number=row.get("DocNumber"),
        customer=str((row.get("CustomerRef") or {}).get("value")),
        total=_money(row.get("TotalAmt"), currency),
        balance=_money(row.get("Balance"), currency),
        issued_on=_day(row.get("TxnDate"), today),
        due_on=_day(row.get("DueDate"), today) if row.get("DueDate") else None,
        voided=voided,
        sent=row.get("EmailStatus") == "EmailSent",
        applied=() if voided else tuple(applied_to(str(row["Id"]), payments, currency, today)),
        version=str(row.get("SyncToken")) if row.get("SyncToken") is not None else None,
        read_at=read_at,
    )


def payment_ids(row: Mapping[str, Any]) -> list[str]:
    """The payments an invoice's (read-only) LinkedTxn names."""
    return [str(link["TxnId"]) for link in row.get("LinkedTxn") or [] if link.get("TxnType") == "Payment"]


def received(row: Mapping[str, Any], *, home: str, today: date) -> ReceivedPayment:
    currency = _currency(row, home)
    lines = []
    for line in row.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            kind, txn = link.get("TxnType"), str(link.get("TxnId"))
            lines.append(
                PaymentApplication(
                    invoice=txn if kind == "Invoice" else None,
                    credit_memo=txn if kind == "CreditMemo" else None,
                    amount=_money(line.get("Amount"), currency),
                )
            )
    return ReceivedPayment(
        system=SystemName.QUICKBOOKS,
        id=str(row["Id"]),
        customer=str((row.get("CustomerRef") or {}).get("value")),
        total=_money(row.get("TotalAmt"), currency),
        unapplied=_money(row.get("UnappliedAmt"), currency),
        received_on=_day(row.get("TxnDate"), today),
        voided=str(row.get("PrivateNote") or "").startswith(VOIDED),
        lines=tuple(lines),
    )


def issued(row: Mapping[str, Any], *, home: str, today: date) -> IssuedCredit:
    currency = _currency(row, home)
    return IssuedCredit(
        system=SystemName.QUICKBOOKS,
        id=str(row["Id"]),
        number=row.get("DocNumber"),
        customer=str((row.get("CustomerRef") or {}).get("value")),
        total=_money(row.get("TotalAmt"), currency),
        remaining=_money(row.get("RemainingCredit"), currency),
        issued_on=_day(row.get("TxnDate"), today),
        voided=str(row.get("PrivateNote") or "").startswith(VOIDED),
    )
