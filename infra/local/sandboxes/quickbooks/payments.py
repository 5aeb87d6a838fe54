"""Cash: Payment and CreditMemo, and what they do to the invoices they apply to.

A Payment "can be applied for a particular customer against multiple Invoices and Credit Memos. It
can also be created without any Invoice or Credit Memo, by just specifying an amount"
(https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment, quoted by
https://pub.dev/documentation/another_quickbooks/latest/services_accounting_payment_service/PaymentService-class.html);
each Line carries an Amount and one LinkedTxn, and a payment applied to an invoice shows as a LinkedTxn
of that invoice (https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-linked-transactions).
A credit memo is applied to an invoice by a $0 payment linking both
(https://hub.acctivate.com/articles/credit-applications-in-quickbooks-online; Intuit's own words on this
were not found: UNCONFIRMED against Intuit). Balances are derived: every invoice's Balance and every
credit memo's RemainingCredit is TotalAmt less what the live payments apply, so a delete or void of a
payment restores them. UNCONFIRMED: the Fault QBO answers for an over-application, a foreign
customer's invoice or a payment applying more than its TotalAmt (Intuit documents none; 6000 here).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from infra.local.sandboxes.quickbooks import books
from infra.local.sandboxes.quickbooks.company import COMPANY_TZ, Company
from infra.local.sandboxes.quickbooks.faults import business_rule, invalid_property, required_missing
from infra.local.sandboxes.quickbooks.invoices import json_number, money, reference

APPLIED = {"Invoice": "Balance", "CreditMemo": "RemainingCredit"}


def _applied(company: Company, kind: str, txn_id: str, skip: str | None) -> Decimal:
    """What the live payments (but `skip`) apply to one invoice or credit memo."""
    total = Decimal(0)
    for payment in company.rows("Payment"):
        if payment["Id"] == skip or str(payment.get("PrivateNote") or "").startswith("Voided"):
            continue
        for line in payment.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") == kind and str(link.get("TxnId")) == txn_id:
                    total += Decimal(str(line.get("Amount", 0)))
    return total


def open_amount(company: Company, kind: str, stored: dict[str, Any], skip: str | None) -> Decimal:
    return Decimal(str(stored.get("TotalAmt", 0))) - _applied(company, kind, str(stored["Id"]), skip)


def check_payment(company: Company, fields: dict[str, Any], own_id: str | None) -> dict[str, Any]:
    """The stored Payment: refs resolved, every application within the open amounts, UnappliedAmt computed."""
    if not fields.get("CustomerRef"):
        raise required_missing("Required parameter CustomerRef is missing in the request", "CustomerRef")
    if "TotalAmt" not in fields:
        raise required_missing("Required parameter TotalAmt is missing in the request", "TotalAmt")
    customer = reference(company, "Customer", fields["CustomerRef"], "CustomerRef")
    total = money(fields["TotalAmt"], "TotalAmt")
    lines = fields.get("Line") or []
    if not isinstance(lines, list):
        raise invalid_property("Property Name:Line must be a list", "Line")
    charges = Decimal(0)
    credits = Decimal(0)
    kept: list[dict[str, Any]] = []
    for line in lines:
        links = line.get("LinkedTxn") if isinstance(line, dict) else None
        if "Amount" not in (line or {}) or not isinstance(links, list) or len(links) != 1:
            raise required_missing(
                "Required parameter Line.Amount and one Line.LinkedTxn are missing in the request", "Line"
            )
        amount = money(line["Amount"], "Line.Amount")
        kind = str(links[0].get("TxnType", ""))
        if kind not in APPLIED:
            raise invalid_property(
                f"Property Name:Line.LinkedTxn.TxnType {kind!r} is not served", "Line.LinkedTxn"
            )
        target = reference(company, kind, {"value": links[0].get("TxnId")}, "Line.LinkedTxn.TxnId")
        if target["CustomerRef"]["value"] != customer["Id"]:
            # UNCONFIRMED: Intuit documents no code for a foreign customer's invoice.
            raise business_rule(f"{kind} {target['Id']} belongs to another customer", "Line.LinkedTxn")
        if amount > open_amount(company, kind, target, own_id):
            # UNCONFIRMED: Intuit documents no code for an application over the open amount.
            field = APPLIED[kind]
            raise business_rule(
                f"Line.Amount {amount} exceeds the {field} of {kind} {target['Id']}", "Line.Amount"
            )
        if kind == "Invoice":
            charges += amount
        else:
            credits += amount
        kept.append({"Amount": json_number(amount), "LinkedTxn": [{"TxnId": target["Id"], "TxnType": kind}]})
    if charges - credits > total:
        # UNCONFIRMED: applying more than the payment's TotalAmt; Intuit documents no code.
        raise business_rule(f"The lines apply {charges - credits}, more than TotalAmt {total}", "TotalAmt")
    txn_date = str(fields.get("TxnDate") or company.now().astimezone(COMPANY_TZ).date().isoformat())
    books.check_open_period(company, txn_date)
    return {
        **fields,
        "TxnDate": txn_date,
        "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
        "CurrencyRef": customer["CurrencyRef"],
        "TotalAmt": json_number(total),
        "UnappliedAmt": json_number(total - (charges - credits)),
        "Line": kept,
    }


def settle(company: Company) -> None:
    """Recompute every Balance and RemainingCredit from the live payments; a changed one is bumped."""
    for kind, field in APPLIED.items():
        for stored in company.rows(kind):
            if str(stored.get("PrivateNote", "")).startswith("Voided"):
                continue
            left = json_number(open_amount(company, kind, stored, None))
            payments = [
                {"TxnId": payment["Id"], "TxnType": "Payment"}
                for payment in company.rows("Payment")
                if any(
                    link.get("TxnType") == kind and link.get("TxnId") == stored["Id"]
                    for line in payment.get("Line") or []
                    for link in line.get("LinkedTxn") or []
                )
            ]
            others = [link for link in stored.get("LinkedTxn") or [] if link.get("TxnType") != "Payment"]
            links = others + payments
            if stored.get(field) != left or (stored.get("LinkedTxn") or []) != links:
                stored[field] = left
                stored["LinkedTxn"] = links
                company.bump(stored)
                company.changed(kind, stored["Id"], "Update")


def voided_payment(stored: dict[str, Any]) -> dict[str, Any]:
    """A voided payment: amounts zero, kept, noted "Voided" (as the invoice's void)."""
    note = str(stored.get("PrivateNote") or "")
    lines = [{**line, "Amount": 0} for line in stored.get("Line") or []]
    return {
        **stored,
        "Line": lines,
        "TotalAmt": 0,
        "UnappliedAmt": 0,
        "PrivateNote": f"Voided {note}".strip(),
    }
