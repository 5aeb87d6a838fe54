"""The SuiteQL statements of the billing side: invoices, payments and credit memos in `transaction`.

Invoices, customer payments and credit memos are rows of one `transaction` table told apart by
`type` (CustInvc, CustPymt, CustCred); what a payment or credit memo applies to an invoice is a row
of NextTransactionLineLink (the invoice is the previous document, the payment the next). One table
per statement, every paged statement ends in a unique ORDER BY, values quoted by `queries.literal`.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157960491275.html
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo

from shared.connectors.netsuite.queries import MAX_IN_LIST, literal, timestamp

INVOICE = "CustInvc"
PAYMENT = "CustPymt"
CREDIT_MEMO = "CustCred"
# transaction.type -> the hub's billing entity (BillingChange.entity).
BILLING_TYPES = {INVOICE: "invoice", PAYMENT: "payment", CREDIT_MEMO: "credit_memo"}

_DAY = "TO_CHAR(trandate, 'YYYY-MM-DD') AS trandate"
_MODIFIED = """TO_CHAR(lastmodifieddate, 'YYYY-MM-DD"T"HH24:MI:SS') AS lastmodified"""
# What a census reads of an invoice: NetSuite's own total, paid and remaining (transaction currency).
INVOICE_COLUMNS = (
    f"id, tranid, entity, externalid, {_DAY}, currency, foreigntotal, foreignamountpaid, "
    f"foreignamountremaining, status, {_MODIFIED}"
)


def _in_list(values: Sequence[str]) -> str:
    if not 1 <= len(values) <= MAX_IN_LIST:
        raise ValueError(f"an IN list holds 1 to {MAX_IN_LIST} values, not {len(values)}")
    return "(" + ", ".join(literal(value) for value in values) + ")"


def invoices_named(external_id: str, number: str) -> str:
    """Invoices holding the hub's external id, or the invoice number (an earlier attempt's)."""
    return (
        f"SELECT id, tranid, entity, externalid FROM transaction WHERE type = {literal(INVOICE)} "  # noqa: S608
        f"AND (externalid = {literal(external_id)} OR tranid = {literal(number)}) ORDER BY id"
    )


def applications(invoice_ids: Sequence[str], *, credits_only: bool = False) -> str:
    """What payments and credit memos apply to the invoices (at most MAX_IN_LIST of them)."""
    where = f"previousdoc IN {_in_list(invoice_ids)}"
    if credits_only:
        where += f" AND nexttype = {literal(CREDIT_MEMO)}"
    return (
        "SELECT previousdoc, nextdoc, nexttype, foreignamount FROM nexttransactionlinelink "  # noqa: S608
        f"WHERE {where} ORDER BY previousdoc, nextdoc"
    )


def documents(ids: Sequence[str]) -> str:
    """The date and type of the payments and credit memos named (at most MAX_IN_LIST)."""
    return f"SELECT id, type, {_DAY}, status FROM transaction WHERE id IN {_in_list(ids)} ORDER BY id"  # noqa: S608


def invoices_since(since: date) -> str:
    """Every invoice dated `since` or later, with NetSuite's figures."""
    day = f"TO_DATE({literal(since.isoformat())}, 'YYYY-MM-DD')"
    return (
        f"SELECT {INVOICE_COLUMNS} FROM transaction "  # noqa: S608
        f"WHERE type = {literal(INVOICE)} AND trandate >= {day} ORDER BY id"
    )


def billing_changed_since(since: datetime, zone: tzinfo) -> str:
    """Invoices, payments and credit memos modified at or after `since`, oldest first."""
    types = ", ".join(literal(code) for code in BILLING_TYPES)
    return (
        f"SELECT id, type, {_MODIFIED} FROM transaction "  # noqa: S608
        f"WHERE type IN ({types}) AND lastmodifieddate >= {timestamp(since, zone)} "
        "ORDER BY lastmodifieddate, id"
    )
