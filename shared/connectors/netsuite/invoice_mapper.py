"""Pure mapping between the canonical invoice and NetSuite's invoice, customerPayment and creditMemo.

NetSuite computes an invoice's figures (total, amountPaid, amountRemaining, status); the hub reads
them back and compares, it never sends a total. A line that bills a posted record goes in the
sublist that bills it: time (a time bill) in Billable Time, an expense (an expense report) in
Billable Expenses, so NetSuite no longer offers that time or cost to the project's next invoice and
the time bill shows billed; every other line is an item line. Money arrives as JSON numbers (read
as Decimal) from the record service and as text from SuiteQL: both are parsed exactly, never through float.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_161488248489.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157305090645.html
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.connectors.netsuite import mapper
from shared.connectors.netsuite.billing_queries import CREDIT_MEMO
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.netsuite.posting_mapper import MEMO_MAX
from shared.connectors.netsuite.schemas import LinkRow, TransactionRow
from shared.domain.billing import Invoice, InvoiceLine
from shared.domain.billing_ports import InvoiceRefused
from shared.domain.cash import Applied, InvoiceStanding, IssuedCredit, PaymentApplication, ReceivedPayment
from shared.domain.errors import TransientError
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import WorkKind, work_kind_of
from shared.domain.reconciliation_ports import HeldInvoice

# Record IDs as Oracle's record pages name them.
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_161488248489.html (invoice)
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_0224093711.html (customerpayment)
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_164460021767.html (creditmemo)
INVOICE_TYPE = "invoice"
PAYMENT_TYPE = "customerpayment"
CREDIT_MEMO_TYPE = "creditmemo"
LINES = "item"  # the invoice's item sublist
# The Billable Time and Billable Expenses subtabs. Their lines, as the SOAP schema's InvoiceTime and
# InvoiceExpCost name them (3p listing of Oracle's 2013_2 WSDL; Oracle's own Schema Browser pages are
# not in reach here): `apply`, `doc` (the time bill / expense report billed), `billedDate`, `memo`,
# `amount`, and on time lines `quantity` and `rate`; neither has a writable item (InvoiceTime shows
# `itemDisp`: the time bill's own item is billed). The REST sublist names `time` and `expCost`
# (camel-cased from SuiteScript's `time` / `expcost`) are UNCONFIRMED: the REST API Browser's invoice
# page was not found.
# https://rubydoc.info/gems/activenetsuite/0.1.0/ActiveNetsuite/InvoiceTime (3p)
# https://rubydoc.info/gems/activenetsuite/0.1.0/ActiveNetsuite/InvoiceExpCost (3p)
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_N3678746.html (invoice, SOAP)
TIME_LINES = "time"
EXPENSE_LINES = "expCost"
SUBLISTS = (LINES, TIME_LINES, EXPENSE_LINES)
# A voided transaction keeps its record, amounts zero, status "Voided" (SuiteQL status 'V')
# (3p: https://timdietrich.me/blog/netsuite-suiteql-related-transactions; Oracle lists statuses per
# account in the Records Catalog only).
VOIDED_CODE = "V"
VOIDED_NAME = "voided"


# --- invoice -> NetSuite ---------------------------------------------------------------------------


def invoice_external_id(request_id: str) -> str:
    """The external id of the invoice posted under `request_id`: the upsert key of a resend."""
    return mapper.external_id(SourceRef(system=SystemName.NETSUITE, type=INVOICE_TYPE, id=request_id))


def _billed_line(index: int, line: InvoiceLine) -> tuple[str, dict[str, Any]]:
    """The Billable Time or Billable Expenses line that bills `line.bills`, with the hub's figures."""
    kind = work_kind_of(line.origin)
    if kind is None:
        raise InvoiceRefused(
            f"line {index + 1} ({line.description[:60]}) bills record {line.bills} but its origin "
            f"{line.origin!r} names no time or expense (a time bill or an expense report?)"
        )
    # The hub's rounded net is the amount, as on item lines: NetSuite holds the hub's rounding.
    body: dict[str, Any] = {"apply": True, "doc": {"id": line.bills}, "amount": line.net.amount}
    if kind is WorkKind.TIME:
        body["quantity"] = line.quantity
        body["rate"] = line.unit_price.amount
    body["memo"] = line.description[:MEMO_MAX]
    return (TIME_LINES if kind is WorkKind.TIME else EXPENSE_LINES), body


def _line(index: int, line: InvoiceLine) -> dict[str, Any]:
    if not line.item:
        raise InvoiceRefused(
            f"line {index + 1} ({line.description[:60]}) names no NetSuite item: map its service "
            "(mappings.service_items) or set billing.fixed_item.netsuite in the landscape"
        )
    # The hub's rounded net is sent as the amount, so NetSuite holds the hub's rounding per line.
    return {
        "item": {"id": line.item},
        "quantity": line.quantity,
        "rate": line.unit_price.amount,
        "amount": line.net.amount,
        "description": line.description,
    }


def invoice_body(invoice: Invoice, connection: NetSuiteConnection) -> dict[str, Any]:
    """The invoice body: entity (the engagement's project or customer), dates, currency, item lines,
    and the Billable Time / Billable Expenses lines of the lines that bill a posted record.

    Tax is not sent: REST web services tax only through SuiteTax, which computes each line's tax from
    the customer's nexus and the item's tax schedule (section_161488248489); NetSuite's total then
    holds it, and the hub compares that total with its own. `tranId` carries the hub's number (kept
    when the account's numbering allows an override); `memo` the billing run; `otherRefNum` the PO.
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_161488248489.html
    """
    currency = connection.currency_id(invoice.currency)
    if currency is None:
        raise InvoiceRefused(
            f"{invoice.currency} has no currency record in the NetSuite connection's `currencies`"
        )
    body: dict[str, Any] = {
        "entity": {"id": invoice.customer.id},
        "tranId": invoice.number,
        "tranDate": invoice.issue_date.isoformat(),
        "dueDate": invoice.due_date.isoformat(),
        "currency": {"id": currency},
        "memo": f"close2cash billing run {invoice.source.id}" + (f": {invoice.memo}" if invoice.memo else ""),
        LINES: {"items": [_line(index, line) for index, line in enumerate(invoice.lines) if not line.bills]},
    }
    for index, line in enumerate(invoice.lines):
        if line.bills:
            sublist, sent = _billed_line(index, line)
            body.setdefault(sublist, {"items": []})["items"].append(sent)
    if invoice.purchase_order:
        body["otherRefNum"] = invoice.purchase_order
    return body


def sublists_of(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The line sublists a body carries (`item` always): what its PUT replaces whole (`?replace=`)."""
    return tuple(name for name in SUBLISTS if name in body)


# --- reading what NetSuite holds ------------------------------------------------------------------


def amount(value: Any) -> Decimal:
    """A NetSuite amount (JSON number read as Decimal, or SuiteQL text) as an exact Decimal; none: 0."""
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise TransientError(f"netsuite: unreadable amount {value!r}") from exc


def _ref(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value in (None, "") else str(value)


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def currency_of(currency_id: str | None, connection: NetSuiteConnection) -> str:
    """The ISO code of a currency record (the home currency when NetSuite names none)."""
    if currency_id is None:
        return connection.home_currency
    code = connection.currency_code(currency_id)
    if code is None:
        raise TransientError(
            f"netsuite: currency record {currency_id} is not in the connection's `currencies`; declare it"
        )
    return code


def voided(status: Any) -> bool:
    """Whether a transaction's status (REST `{"id", "refName"}` or SuiteQL's code) says voided."""
    if isinstance(status, Mapping):
        return str(status.get("id")) == VOIDED_CODE or str(status.get("refName", "")).lower() == VOIDED_NAME
    return str(status) == VOIDED_CODE


def _money(value: Any, currency: str) -> Money:
    return Money(amount=amount(value), currency=currency)


def _lines(record: Mapping[str, Any], sublist: str) -> list[Mapping[str, Any]]:
    """The applied lines of a sublist (`apply`, `credit`): NetSuite lists every open document there,
    the ones this record applies to marked `apply: true`."""
    block = record.get(sublist)
    items = block.get("items", []) if isinstance(block, Mapping) else []
    return [line for line in items if isinstance(line, Mapping) and line.get("apply") is not False]


def applied(
    invoice_id: str, links: Iterable[LinkRow], dated: Mapping[str, TransactionRow], currency: str, today: date
) -> tuple[Applied, ...]:
    """Each payment and credit memo applied to the invoice, summed per document (several lines: one)."""
    found: dict[str, tuple[Decimal, bool]] = {}
    for link in links:
        if link.previousdoc != invoice_id:
            continue
        document = dated.get(link.nextdoc)
        if document is not None and voided(document.status):
            continue
        before, _ = found.get(link.nextdoc, (Decimal(0), False))
        found[link.nextdoc] = (before + amount(link.foreignamount), link.nexttype == CREDIT_MEMO)
    return tuple(
        Applied(
            id=document_id,
            amount=Money(amount=total, currency=currency),
            on=_day(dated[document_id].trandate) if document_id in dated else today,
            credit=credit,
        )
        for document_id, (total, credit) in found.items()
        if total
    )


def standing(
    record: Mapping[str, Any],
    links: Sequence[LinkRow],
    dated: Mapping[str, TransactionRow],
    *,
    connection: NetSuiteConnection,
    read_at: datetime,
) -> InvoiceStanding:
    """An invoice record as NetSuite computes it (total, amountRemaining, status), what applies to it."""
    currency = currency_of(_ref(record, "currency"), connection)
    record_id = str(record["id"])
    today = read_at.date()
    void = voided(record.get("status"))
    modified = mapper.rest_time(record.get("lastModifiedDate"))
    return InvoiceStanding(
        system=SystemName.NETSUITE,
        id=record_id,
        number=record.get("tranId"),
        customer=_ref(record, "entity") or "",
        total=_money(record.get("total"), currency),
        balance=Money.zero(currency) if void else _money(record.get("amountRemaining"), currency),
        issued_on=_day(record.get("tranDate")) or today,
        due_on=_day(record.get("dueDate")),
        voided=void,
        applied=() if void else applied(record_id, links, dated, currency, today),
        version=mapper.version_of(modified),
        read_at=read_at,
    )


def received(record: Mapping[str, Any], connection: NetSuiteConnection, today: date) -> ReceivedPayment:
    """A customerPayment: the invoices its `apply` lines pay, the credit memos its `credit` lines use.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_0224093711.html
    """
    currency = currency_of(_ref(record, "currency"), connection)
    lines = [
        PaymentApplication(invoice=_ref(line, "doc"), amount=_money(line.get("amount"), currency))
        for line in _lines(record, "apply")
    ] + [
        PaymentApplication(credit_memo=_ref(line, "doc"), amount=_money(line.get("amount"), currency))
        for line in _lines(record, "credit")
    ]
    total = record.get("payment") if record.get("payment") is not None else record.get("total")
    return ReceivedPayment(
        system=SystemName.NETSUITE,
        id=str(record["id"]),
        customer=_ref(record, "customer") or "",
        total=_money(total, currency),
        unapplied=_money(record.get("unapplied"), currency),
        received_on=_day(record.get("tranDate")) or today,
        voided=voided(record.get("status")),
        lines=tuple(line for line in lines if line.amount.amount),
    )


def issued(record: Mapping[str, Any], connection: NetSuiteConnection, today: date) -> IssuedCredit:
    """A creditMemo: its total, what is left of it (amountRemaining), the invoice it was made from or
    first applies to.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_0404050225.html
    """
    currency = currency_of(_ref(record, "currency"), connection)
    applies = [_ref(line, "doc") for line in _lines(record, "apply")]
    remaining = record.get("amountRemaining")
    return IssuedCredit(
        system=SystemName.NETSUITE,
        id=str(record["id"]),
        number=record.get("tranId"),
        customer=_ref(record, "entity") or "",
        total=_money(record.get("total"), currency),
        remaining=_money(remaining if remaining is not None else record.get("unapplied"), currency),
        issued_on=_day(record.get("tranDate")) or today,
        voided=voided(record.get("status")),
        credits_invoice=_ref(record, "createdFrom") or next((doc for doc in applies if doc), None),
    )


def held_invoice(row: TransactionRow, credited: Decimal, connection: NetSuiteConnection) -> HeldInvoice:
    """A census row: NetSuite's total and remaining; of what is settled, credit memos' part is credited."""
    currency = currency_of(row.currency, connection)
    void = voided(row.status)
    total = amount(row.foreigntotal)
    remaining = Decimal(0) if void else amount(row.foreignamountremaining)
    settled = total - remaining
    credit = min(credited, settled) if credited > 0 else Decimal(0)
    day = _day(row.trandate)
    if day is None:
        raise TransientError(f"netsuite: census: invoice {row.id} has no trandate")
    modified = mapper.suiteql_time(row.lastmodified, mapper.query_zone(connection))
    return HeldInvoice(
        system=SystemName.NETSUITE,
        ref=SourceRef(
            system=SystemName.NETSUITE, type=INVOICE_TYPE, id=row.id, version=mapper.version_of(modified)
        ),
        number=row.tranid,
        engagement=row.entity,
        issued_on=day,
        total=Money(amount=total, currency=currency),
        credited=Money(amount=credit, currency=currency),
        paid=Money(amount=settled - credit, currency=currency),
        open=Money(amount=remaining, currency=currency),
        voided=void,
    )
