"""The reconciliation censuses on QuickBooks Online: customers, engagements, postings and invoices.

Every census is a query of whole objects, 1,000 a page (STARTPOSITION / MAXRESULTS, the ceiling
Intuit documents), so 2,500 customers are three calls. Work and invoices are read for a window of
TxnDate, which every transaction entity filters on. Figures are QuickBooks' own: TotalAmt and
Balance as it computes them, line amounts as it holds them.
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared.connectors.quickbooks import invoice_mapper, mapper
from shared.connectors.quickbooks.client import MAX_RESULTS, quote_literal
from shared.connectors.quickbooks.posting_mapper import LINE_DETAIL
from shared.connectors.quickbooks.records import SUB_CUSTOMERS, customers
from shared.connectors.quickbooks.schemas import BillableStatus, Customer
from shared.connectors.quickbooks.times import parse_qbo_time
from shared.domain.account_ports import TargetRecord
from shared.domain.models import SourceRef, SystemName, utcnow
from shared.domain.money import Money
from shared.domain.postings import WorkKind, amount_for, reference_origin
from shared.domain.reconciliation_ports import HeldEngagement, HeldInvoice, HeldWork

if TYPE_CHECKING:
    from shared.connectors.quickbooks.client import QuickBooksClient
    from shared.connectors.quickbooks.connection import QuickBooksConnection

# Inactive customers are returned only when the query names Active; a census wants both.
# https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
EVERY_CUSTOMER = "Active IN (true, false)"
# The records in QuickBooks' own UI (the same form in a sandbox company; UNCONFIRMED for the
# transaction pages, which Intuit documents nowhere).
APP_URL = "https://app.qbo.intuit.com/app"
CUSTOMER_LINK = APP_URL + "/customerdetail?nameId={id}"
TIME_LINK = APP_URL + "/timeactivity?txnId={id}"
EXPENSE_LINK = APP_URL + "/expense?txnId={id}"
INVOICE_LINK = APP_URL + "/invoice?txnId={id}"
# The hub's reference types for the transactions a census returns.
TIME_TYPE = "time_activity"
EXPENSE_TYPE = "purchase"
INVOICE_TYPE = "invoice"
_BILLABLE = frozenset({BillableStatus.BILLABLE.value, BillableStatus.HAS_BEEN_BILLED.value})


class QuickBooksCensus:
    """`CustomerCensus`, `EngagementCensus`, `WorkCensus` and `InvoiceCensus` for one company."""

    connection: QuickBooksConnection
    client: QuickBooksClient

    def _every(self, entity: str, where: str) -> list[dict[str, Any]]:
        """Every row of `select * from <entity> where ...`, 1,000 a page."""
        return self.client._query(entity, where, page_size=MAX_RESULTS, limit=None)

    def census_customers(self) -> Iterator[TargetRecord]:
        """Every customer that is not a sub-customer (Job / ParentRef), active or not, with its stamp.

        Job and ParentRef are not filterable, so sub-customers are left out here, not in the query.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        """
        for customer in customers(self._every("Customer", EVERY_CUSTOMER)):
            if customer.Id and not customer.is_sub_customer:
                yield mapper.target_record(customer)

    def census_engagements(self) -> Iterator[HeldEngagement]:
        """Every sub-customer the hub stamped for a deal (its Notes stamp names the opportunity).

        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        """
        for customer in self._sub_customers():
            opportunity = mapper.stamp_origin(customer)
            if opportunity is None or not customer.Id:
                continue
            record = mapper.engagement_record(customer)
            yield HeldEngagement(
                system=SystemName.QUICKBOOKS,
                ref=record.ref,
                name=record.name,
                opportunity=opportunity,
                customer=customer.ParentRef.value if customer.ParentRef else None,
                status=record.status,
                link=CUSTOMER_LINK.format(id=customer.Id),
            )

    def _sub_customers(self) -> list[Customer]:
        found = customers(self._every("Customer", f"{EVERY_CUSTOMER} AND {SUB_CUSTOMERS}"))
        return [customer for customer in found if customer.is_sub_customer]

    def census_work(self, since: date) -> Iterator[HeldWork]:
        """TimeActivities and billable Purchase lines on a customer, dated `since` or later.

        A TimeActivity has no currency of its own: its HourlyRate is in its customer's, read with
        one query of the sub-customers (the company's home currency for any other customer).
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/purchase
        """
        home = self.connection.home_currency
        day = f"TxnDate >= {quote_literal(since.isoformat())}"
        activities = self._every("TimeActivity", day)
        currencies = {
            customer.Id: customer.CurrencyRef.value if customer.CurrencyRef else home
            for customer in (self._sub_customers() if activities else [])
            if customer.Id
        }
        for row in activities:
            held = held_time(row, currencies, home=home)
            if held is not None:
                yield held
        for row in self._every("Purchase", day):
            yield from held_expenses(row, home=home)

    def census_invoices(self, since: date) -> Iterator[HeldInvoice]:
        """Invoices dated `since` or later, each with the payments and credits applied to it.

        The payments are read in bulk: those of the window, then (one query per 1,000) any an
        invoice's LinkedTxn names that are dated before it; credit memos are applied through
        $0 payments, which `invoice_mapper.standing` tells apart.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment
        """
        day = f"TxnDate >= {quote_literal(since.isoformat())}"
        invoices = self._every("Invoice", day)
        payments: dict[str, dict[str, Any]] = {}
        if invoices:
            payments = {str(row["Id"]): row for row in self._every("Payment", day)}
        named = dict.fromkeys(pid for row in invoices for pid in invoice_mapper.payment_ids(row))
        earlier = [pid for pid in named if pid not in payments]
        for start in range(0, len(earlier), MAX_RESULTS):
            chunk = earlier[start : start + MAX_RESULTS]
            where = "Id IN (" + ", ".join(quote_literal(pid) for pid in chunk) + ")"
            payments.update({str(row["Id"]): row for row in self._every("Payment", where)})
        applying = payments_by_invoice(payments.values())
        read_at, home = utcnow(), self.connection.home_currency
        for row in invoices:
            standing = invoice_mapper.standing(
                row, applying.get(str(row["Id"]), []), home=home, read_at=read_at
            )
            yield HeldInvoice(
                system=SystemName.QUICKBOOKS,
                ref=SourceRef(
                    system=SystemName.QUICKBOOKS, type=INVOICE_TYPE, id=standing.id, version=standing.version
                ),
                number=standing.number,
                engagement=standing.customer,
                issued_on=standing.issued_on,
                total=standing.total,
                credited=standing.credited,
                paid=standing.paid,
                open=standing.balance,
                voided=standing.voided,
                link=INVOICE_LINK.format(id=standing.id),
            )


def payments_by_invoice(payments: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The payments whose lines name each invoice (a payment once per invoice, however many lines)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for payment in payments:
        for line in payment.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") == "Invoice" and link.get("TxnId"):
                    found.setdefault(str(link["TxnId"]), {})[str(payment["Id"])] = payment
    return {invoice: list(by_id.values()) for invoice, by_id in found.items()}


def _ref_value(row: Mapping[str, Any], name: str) -> str | None:
    ref = row.get(name)
    value = ref.get("value") if isinstance(ref, Mapping) else None
    return str(value) if value else None


def _minutes(row: Mapping[str, Any]) -> int:
    """Hours + Minutes as the hub posts them; else EndTime - StartTime less the break."""
    if row.get("Hours") is not None or row.get("Minutes") is not None:
        return int(row.get("Hours") or 0) * 60 + int(row.get("Minutes") or 0)
    start, end = parse_qbo_time(row.get("StartTime")), parse_qbo_time(row.get("EndTime"))
    if start is None or end is None:
        return 0
    pause = int(row.get("BreakHours") or 0) * 60 + int(row.get("BreakMinutes") or 0)
    return max(int((end - start).total_seconds() // 60) - pause, 0)


def held_time(row: Mapping[str, Any], currencies: Mapping[str, str], *, home: str) -> HeldWork | None:
    """A TimeActivity on a customer as QuickBooks holds it (None: not on any customer).

    Its amount is HourlyRate x the time, rounded once as the hub priced it when posting; the PSA
    entry is the one the Description's reference names.
    """
    customer = _ref_value(row, "CustomerRef")
    if customer is None:
        return None
    minutes = _minutes(row)
    status = row.get("BillableStatus")
    rate = row.get("HourlyRate")
    currency = currencies.get(customer, home)
    item = row.get("ItemRef")
    return HeldWork(
        system=SystemName.QUICKBOOKS,
        ref=SourceRef(
            system=SystemName.QUICKBOOKS,
            type=TIME_TYPE,
            id=str(row["Id"]),
            version=None if row.get("SyncToken") is None else str(row["SyncToken"]),
        ),
        kind=WorkKind.TIME,
        engagement=customer,
        worked_on=date.fromisoformat(str(row["TxnDate"])[:10]),
        minutes=minutes,
        amount=amount_for(Money.of(Decimal(str(rate)), currency), minutes) if rate is not None else None,
        service=str(item["name"]) if isinstance(item, Mapping) and item.get("name") else None,
        billable=status in _BILLABLE,
        billed=status == BillableStatus.HAS_BEEN_BILLED.value,
        origin=reference_origin(row.get("Description")),
        link=TIME_LINK.format(id=row["Id"]),
    )


def held_expenses(row: Mapping[str, Any], *, home: str) -> Iterator[HeldWork]:
    """The Purchase's lines that name a customer, each as the work it charges.

    The hub posts one line per expense, so the Purchase's Id is the line's reference; a Purchase a
    bookkeeper split over several customers' lines gets `<Id>-<line Id>` per line. The PSA entry is
    the one the PrivateNote (the hub's reference), else the line's Description, names.
    """
    currency = _ref_value(row, "CurrencyRef") or home
    lines = [
        line
        for line in row.get("Line") or []
        if isinstance(line, Mapping)
        and isinstance(line.get(LINE_DETAIL), Mapping)
        and _ref_value(line[LINE_DETAIL], "CustomerRef")
    ]
    version = None if row.get("SyncToken") is None else str(row["SyncToken"])
    for line in lines:
        detail = line[LINE_DETAIL]
        status = detail.get("BillableStatus")
        record_id = str(row["Id"]) if len(lines) == 1 else f"{row['Id']}-{line.get('Id')}"
        yield HeldWork(
            system=SystemName.QUICKBOOKS,
            ref=SourceRef(system=SystemName.QUICKBOOKS, type=EXPENSE_TYPE, id=record_id, version=version),
            kind=WorkKind.EXPENSE,
            engagement=str(_ref_value(detail, "CustomerRef")),
            worked_on=date.fromisoformat(str(row["TxnDate"])[:10]),
            amount=Money.of(Decimal(str(line.get("Amount") or 0)), currency),
            billable=status in _BILLABLE,
            billed=status == BillableStatus.HAS_BEEN_BILLED.value,
            origin=reference_origin(row.get("PrivateNote")) or reference_origin(line.get("Description")),
            link=EXPENSE_LINK.format(id=row["Id"]),
        )
