"""Cash feedback: invoice status, payments and credit memos from accounting to the PSA and the CRM.

Notices are hints; the ledger's figures are the truth. Whatever arrives (an invoice, payment or
credit memo notice, in any order, once or five times, or a change found by the change-data sweep),
the hub reads the invoice again and takes its `Balance` as the ledger returns it: a QuickBooks
payment's lines name the invoices it applies to, but how a credit memo applied across several
invoices splits is not recorded, and Void notices reach only apps that ask for them. Then the whole
current standing is pushed, never a delta: the PSA's copy of the invoice and the CRM's figures are
rewritten to equal it, so a late or repeated notice cannot push anything stale.

A payment that names an invoice the hub has not seen yet (the payment's notice came first, or the
invoice was posted by a run still writing its record) is parked in the ledger and applied when the
invoice's record arrives (`publish` after a post, and every sweep).

Facts. What the ledger says is stated on the bus (shared.sync.billing.facts): the invoice as it
stands now (status incl. void, balance) whenever its standing changes, each payment received and
each credit memo issued against an invoice the hub posted, and a payment or credit memo deleted or
voided. They are published before the new standing is stored: a bus that fails leaves the change to
be read again (the notice is retried, the sweep keeps its cursor), and states the same event ids.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.domain.billing_ports import (
    BillingChange,
    BillingStore,
    HealthTarget,
    InvoiceMirror,
    InvoiceRecord,
    InvoiceTarget,
)
from shared.domain.cash import InvoiceStanding, ParkedPayment, ReceivedPayment, health_of
from shared.domain.delivery_ports import PostingStore
from shared.domain.errors import ConflictError
from shared.domain.events import DomainEvent
from shared.domain.metrics import BusinessMetric
from shared.domain.models import SystemName, utcnow
from shared.domain.money import Money
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import Ledger, Metrics
from shared.sync.billing.facts import credit_fact, invoice_fact, payment_fact
from shared.sync.facts import Publisher, publish_facts

logger = logging.getLogger(__name__)

CURSOR = "billing-cdc:{system}"
# The change-data sweep reads back this far before its cursor: changes land in CDC a little late.
OVERLAP = timedelta(minutes=2)
# QuickBooks CDC answers at most 30 days back, counted when the request arrives: the sweep asks for
# a little less, so a window computed here is not 30 days and a few seconds old by then (refused).
# https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
MAX_LOOKBACK = timedelta(days=30) - timedelta(hours=1)
# Longer than a report takes (the PSA's copy: a handful of calls), shorter than a retry's wait.
REPORT_LEASE = timedelta(seconds=90)


def _checksum(standing: InvoiceStanding) -> str:
    content = standing.model_dump_json(exclude={"read_at", "version"})
    return hashlib.sha256(content.encode()).hexdigest()[:24]


class CashFeedback:
    """Re-read the invoices a change touches, store their standing, push it to the PSA and the CRM."""

    def __init__(
        self,
        *,
        store: BillingStore,
        postings: PostingStore,
        target: Callable[[SystemName], InvoiceTarget],
        mirror: Callable[[], InvoiceMirror | None],
        health: Callable[[], HealthTarget | None],
        ledger: Ledger,
        metrics: Metrics,
        clock: Callable[[], datetime] = utcnow,
        events: Publisher = None,
    ) -> None:
        self._events = events
        self._store = store
        self._postings = postings
        self._target = target
        self._mirror = mirror
        self._health = health
        self._ledger = ledger
        self._metrics = metrics
        self._clock = clock

    # --- what arrives -------------------------------------------------------------------------

    def on_notice(self, notice: ChangeNotice) -> list[str]:
        """An invoice, payment or credit memo notice: the invoices refreshed (their ids)."""
        change = BillingChange(
            entity=notice.entity.value,
            id=notice.record_id,
            deleted=notice.operation is Operation.DELETED,
            changed_at=notice.occurred_at,
        )
        return self.on_change(notice.provider, change)

    def on_change(self, system: SystemName, change: BillingChange) -> list[str]:
        """The invoices a change touches, refreshed (their ids); what it said stated on the bus, in
        one publish call with the first invoice whose standing changed (or alone, after)."""
        target = self._target(system)
        facts: list[DomainEvent[Any]] = []
        when = change.changed_at or self._clock()
        match change.entity:
            case "invoice":
                invoices = [change.id]
            case "payment":
                payment = None if change.deleted else target.payment(change.id)
                remembered = self._store.payment_invoices(system, change.id)
                invoices = sorted(set(remembered) | set(payment.invoices if payment else []))
                if invoices:
                    # Only payments of invoices the hub knows of (or posted: the payment came first).
                    facts.extend(self._payment_facts(system, change.id, payment, invoices, when))
                if payment is not None:
                    self._store.remember_payment(system, change.id, invoices)
                    self._metrics.count(BusinessMetric.PAYMENTS_RECEIVED, dimensions={"system": system.value})
                for invoice in invoices:
                    if self._store.invoice(system, invoice) is None:
                        self._park(system, change.id, invoice)
            case "credit_memo":
                credit = None if change.deleted else target.credit_memo(change.id)
                invoices = [credit.credits_invoice] if credit and credit.credits_invoice else []
                credited = self._store.invoice(system, invoices[0]) if invoices else None
                fact = credit_fact(system, change.id, credit, credited, occurred_at=when)
                facts.extend([fact] if fact is not None else [])
            case _:
                return []
        refreshed = [invoice for invoice in invoices if self.refresh(system, invoice, pending=facts)]
        publish_facts(self._events, facts)
        return refreshed

    def _payment_facts(
        self,
        system: SystemName,
        payment_id: str,
        payment: ReceivedPayment | None,
        invoices: list[str],
        when: datetime,
    ) -> list[DomainEvent[Any]]:
        """The payment received (or withdrawn), and each credit memo it applies to an invoice the hub
        posted: QuickBooks applies a credit memo by a (zero) payment naming both."""
        credited = next(
            (r for r in (self._store.invoice(system, i) for i in invoices) if r is not None), None
        )
        account = credited.account if credited is not None else None
        found: list[DomainEvent[Any] | None] = [
            payment_fact(system, payment_id, payment, occurred_at=when, account=account)
        ]
        credits = sorted({line.credit_memo for line in payment.lines if line.credit_memo}) if payment else []
        if credited is not None:
            target = self._target(system)
            for credit in credits:
                found.append(
                    credit_fact(system, credit, target.credit_memo(credit), credited, occurred_at=when)
                )
        return [fact for fact in found if fact is not None]

    def _park(self, system: SystemName, payment: str, invoice: str) -> None:
        self._store.park_payment(
            ParkedPayment(system=system, payment=payment, invoice=invoice, parked_at=self._clock())
        )
        self._metrics.count(BusinessMetric.PAYMENTS_PARKED, dimensions={"system": system.value})
        logger.info("payment %s names invoice %s the hub has not seen: parked", payment, invoice)

    def sweep(self, system: SystemName) -> int:
        """Changes since the cursor (change data capture), then parked payments: invoices refreshed."""
        now = self._clock()
        cursor = self._ledger.cursor(CURSOR.format(system=system.value))
        since = datetime.fromisoformat(cursor) - OVERLAP if cursor else now - MAX_LOOKBACK
        since = max(since, now - MAX_LOOKBACK)
        refreshed: set[str] = set()
        for change in self._target(system).changed_billing(since):
            refreshed.update(self.on_change(system, change))
        for parked in self._store.all_parked_payments():
            known = parked.system is system and self._store.invoice(system, parked.invoice) is not None
            if known and self.refresh(system, parked.invoice):
                refreshed.add(parked.invoice)
        self._ledger.set_cursor(CURSOR.format(system=system.value), now.isoformat())
        return len(refreshed)

    # --- the truth, and who hears it ------------------------------------------------------------

    def refresh(
        self, system: SystemName, invoice_id: str, *, pending: list[DomainEvent[Any]] | None = None
    ) -> bool:
        """Read the invoice from its ledger; store and push its standing if it changed. False when
        the invoice is not one the hub posted (nothing to tell anyone).

        A changed standing is stated on the bus before it is stored, with `pending` (facts of the
        same change not published yet, taken from the list)."""
        record = self._store.invoice(system, invoice_id)
        if record is None:
            return False
        standing = self._target(system).invoice_standing(invoice_id)
        if standing is None:
            # Deleted in the ledger: nothing is owed on it any more.
            standing = record.standing.model_copy(
                update={"voided": True, "balance": Money.zero(record.standing.total.currency)}
            )
        before = record.standing
        changed = _checksum(standing) != _checksum(before)
        updated = record.model_copy(update={"standing": standing, "updated_at": self._clock()})
        if changed:
            facts = [*(pending or []), invoice_fact(updated)]
            publish_facts(self._events, facts)
            if pending is not None:
                pending.clear()
        if changed and not self._store.save_invoice(updated):
            # A later standing was stored meanwhile by another worker: it pushes, not this one.
            return True
        if changed:
            # Which invoices each payment applied to, for a delete that can no longer say it.
            for payment in {a.id for a in standing.applied if not a.credit}:
                self._store.remember_payment(system, payment, [invoice_id])
        collected = standing.paid - before.paid
        if collected.amount != 0:
            self._metrics.count(BusinessMetric.CASH_COLLECTED, float(collected.amount))
        for parked in self._store.parked_payments(system, invoice_id):
            self._store.unpark_payment(parked)
        if changed or record.mirrored is None:
            self.publish(updated)
        return True

    def after_post(self, record: InvoiceRecord) -> None:
        """A run posted `record`: payments parked for it are applied (the invoice is read again), then
        the PSA and the CRM hear of it."""
        if self._store.parked_payments(record.system, record.id):
            self.refresh(record.system, record.id)
            record = self._store.invoice(record.system, record.id) or record
            if record.mirrored is not None:
                return
        self.publish(record)

    def publish(self, record: InvoiceRecord) -> None:
        """The PSA mirrors the invoice; the CRM shows the deal's and the customer's health.

        One reporter per invoice at a time (a lease in the ledger): the run's own report and a
        notice about the new invoice arrive together, and two writers of the PSA's copy would each
        create its lines. The one that finds the lease held fails transient and is retried (the
        queue, the workflow's Retry); by then the copy is current and nothing is written twice.
        """
        lease = f"report#{record.system}#{record.id}"
        now = self._clock()
        if not self._store.hold(lease, now=now, until=now + REPORT_LEASE):
            raise ConflictError(f"invoice {record.id} is being reported by another worker; retried")
        try:
            self._report(self._store.invoice(record.system, record.id) or record)
        finally:
            self._store.let_go(lease)

    def _report(self, record: InvoiceRecord) -> None:
        checksum = _checksum(record.standing)
        mirror = self._mirror()
        if mirror is not None and record.mirrored_version != checksum:
            mirrored = mirror.mirror_invoice(record.engagement.id, record.invoice, record.standing)
            record = record.model_copy(update={"mirrored": mirrored, "mirrored_version": checksum})
            self._store.save_invoice(record)
        if record.account is None:
            return
        today = self._clock().date()
        currency = record.standing.total.currency
        customer = health_of(
            (r.standing for r in self._store.account_invoices(record.account)), currency, today
        )
        if customer.days_sales_outstanding is not None:
            # Per customer as a property of the record, not a dimension: see Metrics.
            self._metrics.count(
                BusinessMetric.DAYS_SALES_OUTSTANDING,
                float(customer.days_sales_outstanding),
                properties={"customer": f"{record.account.system}:{record.account.id}", "currency": currency},
            )
        health = self._health()
        if health is None or record.opportunity is None:
            return
        deal = health_of(
            (r.standing for r in self._store.engagement_invoices(record.engagement)), currency, today
        )
        health.write_health(
            opportunity=record.opportunity.id, deal=deal, account=record.account.id, customer=customer
        )
