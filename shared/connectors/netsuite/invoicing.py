"""The InvoiceTarget and InvoiceCensus ports on NetSuite: invoices on the engagement's project or
customer, the customer payments and credit memos that settle them, read back as NetSuite holds them.

NetSuite sends no webhooks, so what changed is swept with SuiteQL on `transaction.lastmodifieddate`
(a payment applied moves its invoice's date too); what a payment or credit memo applies to an
invoice is read from NextTransactionLineLink, in bulk.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_161488248489.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared.connectors.netsuite import billing_queries, invoice_mapper, mapper
from shared.connectors.netsuite.errors import NetSuiteRecordError
from shared.connectors.netsuite.queries import MAX_IN_LIST
from shared.connectors.netsuite.rows import parsed
from shared.connectors.netsuite.schemas import LinkRow, TransactionRow
from shared.domain.billing import Invoice
from shared.domain.billing_ports import BillingChange, InvoiceRefused
from shared.domain.cash import InvoiceStanding, IssuedCredit, ReceivedPayment
from shared.domain.errors import NotFoundError, TransientError, ValidationFailed
from shared.domain.models import utcnow
from shared.domain.reconciliation_ports import HeldInvoice

if TYPE_CHECKING:
    from shared.connectors.netsuite.client import NetSuiteClient
    from shared.connectors.netsuite.connection import NetSuiteConnection

logger = logging.getLogger(__name__)


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), MAX_IN_LIST):
        yield values[start : start + MAX_IN_LIST]


class NetSuiteInvoicing:
    """Invoices posted by billing runs; NetSuite's own figures (total, amount remaining) are the truth."""

    connection: NetSuiteConnection
    client: NetSuiteClient

    # --- InvoiceTarget ----------------------------------------------------------------------------

    def post_invoice(self, request_id: str, invoice: Invoice) -> InvoiceStanding:
        """Upsert the invoice by the external id of `request_id`; a resend, or an earlier attempt's
        invoice of the same number on the same entity, is found and read back instead (never two).

        One SuiteQL statement finds both (external id or number); only a new invoice is written, by
        `PUT .../invoice/eid:{externalId}?replace=item,time,expCost` (the sublists the body carries),
        so even two racing sends make one record with one set of lines, and a replayed PUT applies the
        same time bills again rather than a second time. A found invoice is read, never written again.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_1545142407.html
        """
        external = invoice_mapper.invoice_external_id(request_id)
        page = self.client.suiteql(billing_queries.invoices_named(external, invoice.number), limit=10)
        found = parsed(TransactionRow, page.items)
        ours = [row for row in found if (row.externalid or "").lower() == external]
        same = [row for row in found if row.tranid == invoice.number and row.entity == invoice.customer.id]
        if ours or same:
            return self._compared(self._standing((ours or same)[0].id), invoice)
        if found:
            raise InvoiceRefused(
                f"invoice number {invoice.number} is already used by invoice {found[0].id} of entity "
                f"{found[0].entity}, not {invoice.customer.id}"
            )
        body = invoice_mapper.invoice_body(invoice, self.connection)
        try:
            # The lines are sent whole (`replace=` each sublist sent): should the answer be lost and
            # the PUT sent again, the second rewrites the same lines instead of adding them to the
            # first's; the time bills it applies are its own already, not billed elsewhere (that a live
            # account accepts this replay is UNCONFIRMED; the sandbox does, as its UI keeps them).
            record_id = self.client.upsert_record(
                invoice_mapper.INVOICE_TYPE, external, body, replace=invoice_mapper.sublists_of(body)
            )
        except NetSuiteRecordError as refused:
            raise InvoiceRefused(str(refused), code=", ".join(sorted(refused.codes)) or None) from refused
        except (ValidationFailed, NotFoundError) as refused:
            # Refused without NetSuite's error body: the hub's reason, and no vendor code to name.
            raise InvoiceRefused(str(refused)) from refused
        return self._compared(self._standing(record_id or f"eid:{external}", fresh=True), invoice)

    def _compared(self, standing: InvoiceStanding, invoice: Invoice) -> InvoiceStanding:
        """NetSuite's total beside the hub's: a difference (SuiteTax's tax, an edited line) is logged."""
        if standing.total != invoice.total:
            logger.warning(
                "netsuite invoice %s (%s): NetSuite's total %s differs from the hub's %s",
                standing.id,
                invoice.number,
                standing.total,
                invoice.total,
            )
        return standing

    def _get(self, record_type: str, record_id: str) -> dict[str, Any] | None:
        """GET the record with its sublists; None when NetSuite has no such record (any more)."""
        try:
            return self.client.get_record(record_type, record_id, expand=True)
        except NotFoundError:
            return None

    def _applications(self, invoice_ids: Sequence[str], *, credits_only: bool = False) -> list[LinkRow]:
        links: list[LinkRow] = []
        for chunk in _chunks(list(invoice_ids)):
            items, _ = self.client.suiteql_rows(
                billing_queries.applications(chunk, credits_only=credits_only)
            )
            links += parsed(LinkRow, items)
        return links

    def _standing(self, record_id: str, *, fresh: bool = False) -> InvoiceStanding:
        record = self._get(invoice_mapper.INVOICE_TYPE, record_id)
        if record is None:
            raise TransientError(f"netsuite: invoice {record_id} is not readable after it was written")
        return self._standing_of(record, fresh=fresh)

    def _standing_of(self, record: dict[str, Any], *, fresh: bool = False) -> InvoiceStanding:
        """The invoice with what applies to it: one statement for the links, one for their dates.
        An invoice just created has nothing applied: neither is sent."""
        links = [] if fresh else self._applications([str(record["id"])])
        named = list(dict.fromkeys(link.nextdoc for link in links))
        dated: dict[str, TransactionRow] = {}
        for chunk in _chunks(named):
            items, _ = self.client.suiteql_rows(billing_queries.documents(chunk))
            dated.update((row.id, row) for row in parsed(TransactionRow, items))
        return invoice_mapper.standing(record, links, dated, connection=self.connection, read_at=utcnow())

    def invoice_standing(self, invoice_id: str) -> InvoiceStanding | None:
        """GET invoice/{id}: the invoice as NetSuite holds it now (None: deleted), with the payments and
        credits applied.

        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_161488248489.html
        """
        record = self._get(invoice_mapper.INVOICE_TYPE, invoice_id)
        return None if record is None else self._standing_of(record)

    def payment(self, payment_id: str) -> ReceivedPayment | None:
        """GET customerpayment/{id}?expandSubResources=true: its `apply` lines (the invoices it pays).

        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_0224093711.html
        """
        record = self._get(invoice_mapper.PAYMENT_TYPE, payment_id)
        return None if record is None else invoice_mapper.received(record, self.connection, utcnow().date())

    def credit_memo(self, credit_id: str) -> IssuedCredit | None:
        """GET creditmemo/{id}?expandSubResources=true: its `apply` lines (the invoice it credits).

        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_0404050225.html
        """
        record = self._get(invoice_mapper.CREDIT_MEMO_TYPE, credit_id)
        return None if record is None else invoice_mapper.issued(record, self.connection, utcnow().date())

    def changed_billing(self, since: datetime) -> list[BillingChange]:
        """Invoices, payments and credit memos modified at or after `since`: a SuiteQL sweep of
        `transaction`, 1,000 a page, oldest first (NetSuite has no webhooks). A deleted one leaves the
        table and is not seen here; reconciliation finds it.
        """
        zone = mapper.query_zone(self.connection)
        items, more = self.client.suiteql_rows(billing_queries.billing_changed_since(since, zone))
        if more:
            raise TransientError(
                "netsuite: more billing changes than one SuiteQL query reaches; sweep a shorter window"
            )
        changes: list[BillingChange] = []
        for row in parsed(TransactionRow, items):
            entity = billing_queries.BILLING_TYPES.get(row.type or "")
            if entity is not None:
                changes.append(
                    BillingChange(
                        entity=entity, id=row.id, changed_at=mapper.suiteql_time(row.lastmodified, zone)
                    )
                )
        return changes

    # --- InvoiceCensus ----------------------------------------------------------------------------

    def census_invoices(self, since: date) -> Iterator[HeldInvoice]:
        """Every invoice dated `since` or later with NetSuite's total, paid and remaining; the credit
        memos' part of what is settled read from the links, one statement per 1,000 invoices.

        A census beyond one query's 100,000 rows would be silently short: it is refused instead.
        """
        items, more = self.client.suiteql_rows(billing_queries.invoices_since(since))
        if more:
            raise TransientError(
                "netsuite: the invoice census reaches past SuiteQL's 100,000 rows; reconcile a shorter window"
            )
        rows = parsed(TransactionRow, items)
        credited: dict[str, Decimal] = {}
        for link in self._applications([row.id for row in rows], credits_only=True) if rows else []:
            credited[link.previousdoc] = credited.get(link.previousdoc, Decimal(0)) + invoice_mapper.amount(
                link.foreignamount
            )
        for row in rows:
            yield invoice_mapper.held_invoice(row, credited.get(row.id, Decimal(0)), self.connection)
