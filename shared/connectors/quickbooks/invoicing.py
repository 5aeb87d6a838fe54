"""The InvoiceTarget port on QuickBooks Online: invoices on the engagement's sub-customer, and the
payments and credit memos that settle them, read back as QuickBooks holds them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.connectors.quickbooks import invoice_mapper
from shared.connectors.quickbooks.changes import CDC_LOOK_BACK, changed_since_param
from shared.connectors.quickbooks.client import (
    MAX_RESULTS,
    QuickBooksClient,
    QuickBooksFaultError,
    quote_literal,
)
from shared.connectors.quickbooks.connection import QuickBooksConnection
from shared.connectors.quickbooks.times import parse_qbo_time
from shared.domain.billing import Invoice
from shared.domain.billing_ports import BillingChange, InvoiceRefused
from shared.domain.cash import InvoiceStanding, IssuedCredit, ReceivedPayment
from shared.domain.errors import NotFoundError, PermanentError, TransientError
from shared.domain.models import utcnow

# How a fault's code shows in the hub error's message (FaultItem's text: "[6000] ...").
FAULT_CODE = re.compile(r"\[(\w+)\]")
# CDC entity names -> the hub's billing entities.
BILLING_ENTITIES = {"Invoice": "invoice", "Payment": "payment", "CreditMemo": "credit_memo"}


class QuickBooksInvoicing:
    """Invoices posted by billing runs; their Balance as QuickBooks computes it is the truth."""

    connection: QuickBooksConnection
    client: QuickBooksClient

    def post_invoice(self, request_id: str, invoice: Invoice) -> InvoiceStanding:
        """Find the invoice of this DocNumber (an earlier attempt's), else create it with `requestid`.

        The number is stable per engagement and period, so a run retried after a lost answer, or a
        new workflow for the same period, finds what was created; `requestid` makes a resend of the
        same create replay its first answer (at most 50 characters, unique per company).
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
        https://blogs.intuit.com/blog/2015/04/06/15346/
        """
        found = self.client._query(
            "Invoice", f"DocNumber = {quote_literal(invoice.number)}", page_size=10, limit=10
        )
        mine = [
            row for row in found if str((row.get("CustomerRef") or {}).get("value")) == invoice.customer.id
        ]
        if mine:
            return self._standing_of(mine[0])
        if found:
            raise InvoiceRefused(
                f"invoice number {invoice.number} is already used by another customer's invoice"
                f" {found[0]['Id']}"
            )
        try:
            payload = self.client._send(
                "POST",
                self.client._path("invoice"),
                params={"requestid": request_id[-50:]},
                body=invoice_mapper.invoice_body(invoice),
                context=f"create invoice {invoice.number}",
            )
        except QuickBooksFaultError as refused:
            codes = ", ".join(sorted({item.code for item in refused.faults}))
            raise InvoiceRefused(str(refused), code=codes or None) from refused
        except PermanentError as refused:
            # ValidationFailed / NotFoundError (2500, 610, 6000, ...) name their codes as "[code]".
            codes = ", ".join(sorted(set(FAULT_CODE.findall(str(refused)))))
            raise InvoiceRefused(str(refused), code=codes or None) from refused
        row = payload.get("Invoice")
        if not isinstance(row, dict):
            raise TransientError(f"quickbooks: create invoice {invoice.number}: no Invoice in the answer")
        return self._standing_of(row)

    def _standing_of(self, row: Mapping[str, Any]) -> InvoiceStanding:
        """The invoice with the payments its LinkedTxn names, read in one query (Id IN (...))."""
        ids = invoice_mapper.payment_ids(row)
        payments: list[dict[str, Any]] = []
        if ids:
            where = "Id IN (" + ", ".join(quote_literal(i) for i in ids[:MAX_RESULTS]) + ")"
            payments = self.client._query("Payment", where, page_size=MAX_RESULTS, limit=None)
        return invoice_mapper.standing(row, payments, home=self.connection.home_currency, read_at=utcnow())

    def _read(self, entity: str, record_id: str) -> dict[str, Any] | None:
        """GET /v3/company/{realm}/{entity}/{id}; None when QuickBooks has no such record (any more).

        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
        """
        try:
            payload = self.client._send(
                "GET", self.client._path(entity.lower(), record_id), context=f"read {entity} {record_id}"
            )
        except NotFoundError:
            return None
        row = payload.get(entity)
        return row if isinstance(row, dict) else None

    def invoice_standing(self, invoice_id: str) -> InvoiceStanding | None:
        row = self._read("Invoice", invoice_id)
        return None if row is None else self._standing_of(row)

    def payment(self, payment_id: str) -> ReceivedPayment | None:
        """https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment"""
        row = self._read("Payment", payment_id)
        home, today = self.connection.home_currency, utcnow().date()
        return None if row is None else invoice_mapper.received(row, home=home, today=today)

    def credit_memo(self, credit_id: str) -> IssuedCredit | None:
        """https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/creditmemo"""
        row = self._read("CreditMemo", credit_id)
        home, today = self.connection.home_currency, utcnow().date()
        return None if row is None else invoice_mapper.issued(row, home=home, today=today)

    def changed_billing(self, since: datetime) -> list[BillingChange]:
        """One CDC call for Invoice, Payment and CreditMemo (30 days back at most, 1,000 objects).

        https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
        """
        since = max(since, datetime.now(UTC) - CDC_LOOK_BACK)
        payload = self.client.change_data_capture(",".join(BILLING_ENTITIES), changed_since_param(since))
        changes: list[BillingChange] = []
        for group in payload.get("CDCResponse") or []:
            for response in group.get("QueryResponse") or []:
                for entity, kind in BILLING_ENTITIES.items():
                    for row in response.get(entity) or []:
                        if not isinstance(row, dict) or not row.get("Id"):
                            continue
                        changes.append(
                            BillingChange(
                                entity=kind,
                                id=str(row["Id"]),
                                deleted=row.get("status") == "Deleted",
                                changed_at=parse_qbo_time((row.get("MetaData") or {}).get("LastUpdatedTime")),
                            )
                        )
        return changes
