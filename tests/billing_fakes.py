"""In-memory stand-ins for the billing ports: a ledger that invoices and takes payments, the store,
the PSA mirror and the CRM's health fields."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from shared.domain.billing import Invoice
from shared.domain.billing_ports import BillingChange, InvoiceRecord, InvoiceRefused
from shared.domain.billing_runs import BillingRun, CompletedMilestone
from shared.domain.cash import (
    Applied,
    CommercialHealth,
    InvoiceStanding,
    IssuedCredit,
    ParkedPayment,
    PaymentApplication,
    ReceivedPayment,
)
from shared.domain.errors import ConflictError
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from tests.delivery_fakes import FakeAccounting


class FakeInvoicing:
    """The invoicing half of an accounting system: invoices by number, payments, credits, CDC."""

    def __init__(self, accounting: FakeAccounting, clock: object) -> None:
        self.system = accounting.system
        self._accounting = accounting  # the posted time it bills
        self._clock = clock
        self.invoices: dict[str, dict[str, object]] = {}
        self.payments: dict[str, ReceivedPayment] = {}
        self.credits: dict[str, IssuedCredit] = {}
        self.changes: list[BillingChange] = []
        self.refuse_next: str | None = None
        self.creates = 0
        self._ids = itertools.count(500)

    def _now(self) -> datetime:
        now: datetime = self._clock()  # type: ignore[operator]
        return now

    def post_invoice(self, request_id: str, invoice: Invoice) -> InvoiceStanding:
        for invoice_id, stored in self.invoices.items():
            if stored["number"] == invoice.number:
                return self._standing(invoice_id)
        if self.refuse_next:
            reason, self.refuse_next = self.refuse_next, None
            raise InvoiceRefused(reason, code="6140")
        self.creates += 1
        invoice_id = str(next(self._ids))
        self.invoices[invoice_id] = {
            "number": invoice.number,
            "customer": invoice.customer.id,
            "total": invoice.total,
            "issued": invoice.issue_date,
            "due": invoice.due_date,
            "voided": False,
            "version": 0,
        }
        for line in invoice.lines:
            if line.bills:
                self._accounting.bill(line.bills, invoice_id)
        self.changes.append(BillingChange(entity="invoice", id=invoice_id, changed_at=self._now()))
        return self._standing(invoice_id)

    def _applied(self, invoice_id: str) -> list[Applied]:
        applied = []
        for payment in self.payments.values():
            if payment.voided:
                continue
            for line in payment.lines:
                if line.invoice == invoice_id:
                    applied.append(
                        Applied(
                            id=payment.id,
                            amount=line.amount,
                            on=payment.received_on,
                            credit=payment.total.amount == 0,
                        )
                    )
        return applied

    def _standing(self, invoice_id: str) -> InvoiceStanding:
        stored = self.invoices[invoice_id]
        total: Money = stored["total"]  # type: ignore[assignment]
        applied = self._applied(invoice_id)
        settled = sum((a.amount.amount for a in applied), Decimal(0))
        voided = bool(stored["voided"])
        return InvoiceStanding(
            system=self.system,
            id=invoice_id,
            number=str(stored["number"]),
            customer=str(stored["customer"]),
            total=Money.zero(total.currency) if voided else total,
            balance=Money.zero(total.currency)
            if voided
            else Money.of(total.amount - settled, total.currency),
            issued_on=stored["issued"],  # type: ignore[arg-type]
            due_on=stored["due"],  # type: ignore[arg-type]
            voided=voided,
            applied=() if voided else tuple(applied),
            version=str(stored["version"]),
            read_at=self._now(),
        )

    def invoice_standing(self, invoice_id: str) -> InvoiceStanding | None:
        return self._standing(invoice_id) if invoice_id in self.invoices else None

    def payment(self, payment_id: str) -> ReceivedPayment | None:
        return self.payments.get(payment_id)

    def credit_memo(self, credit_id: str) -> IssuedCredit | None:
        return self.credits.get(credit_id)

    def changed_billing(self, since: datetime) -> list[BillingChange]:
        return [c for c in self.changes if c.changed_at is None or c.changed_at >= since]

    # --- what a bookkeeper does -------------------------------------------------------------

    def receive(self, invoice_id: str, amount: str, on: date, *, customer: str = "88") -> str:
        payment_id = str(next(self._ids))
        money = Money.of(Decimal(amount), "USD")
        self.payments[payment_id] = ReceivedPayment(
            system=self.system,
            id=payment_id,
            customer=customer,
            total=money,
            unapplied=Money.zero("USD"),
            received_on=on,
            lines=(PaymentApplication(invoice=invoice_id, amount=money),),
        )
        self._touch(invoice_id)
        self.changes.append(BillingChange(entity="payment", id=payment_id, changed_at=self._now()))
        return payment_id

    def credit(self, invoice_id: str, amount: str, on: date) -> str:
        """A credit memo applied to the invoice with a zero payment (as QuickBooks does it)."""
        memo_id = str(next(self._ids))
        money = Money.of(Decimal(amount), "USD")
        self.credits[memo_id] = IssuedCredit(
            system=self.system,
            id=memo_id,
            customer="88",
            total=money,
            remaining=Money.zero("USD"),
            issued_on=on,
        )
        zero_id = str(next(self._ids))
        self.payments[zero_id] = ReceivedPayment(
            system=self.system,
            id=zero_id,
            customer="88",
            total=Money.zero("USD"),
            unapplied=Money.zero("USD"),
            received_on=on,
            lines=(
                PaymentApplication(invoice=invoice_id, amount=money),
                PaymentApplication(credit_memo=memo_id, amount=money),
            ),
        )
        self._touch(invoice_id)
        # QuickBooks' change data capture reports the payment that applies the credit.
        self.changes.append(BillingChange(entity="payment", id=zero_id, changed_at=self._now()))
        return zero_id

    def void(self, invoice_id: str) -> None:
        self.invoices[invoice_id]["voided"] = True
        self._touch(invoice_id)

    def void_payment(self, payment_id: str) -> None:
        self.payments[payment_id] = self.payments[payment_id].model_copy(update={"voided": True})
        for line in self.payments[payment_id].lines:
            if line.invoice:
                self._touch(line.invoice)

    def _touch(self, invoice_id: str) -> None:
        stored = self.invoices[invoice_id]
        stored["version"] = int(stored["version"]) + 1  # type: ignore[call-overload]


class InMemoryBilling:
    """The BillingStore port in memory."""

    def __init__(self) -> None:
        self.run_items: dict[str, BillingRun] = {}
        self.invoices: dict[tuple[SystemName, str], InvoiceRecord] = {}
        self.parked: dict[tuple[SystemName, str, str], ParkedPayment] = {}
        self.payments: dict[tuple[SystemName, str], list[str]] = {}
        self.leases: dict[str, datetime] = {}
        self._revisions = itertools.count(1)

    def run(self, run_id: str) -> BillingRun | None:
        return self.run_items.get(run_id)

    def save_run(self, run: BillingRun) -> BillingRun:
        current = self.run_items.get(run.id)
        if (current.revision if current else None) != run.revision:
            raise ConflictError(f"run {run.id} changed meanwhile")
        stored = run.model_copy(update={"revision": str(next(self._revisions))})
        self.run_items[run.id] = stored
        return stored

    def runs(self, engagement: SourceRef | None = None) -> list[BillingRun]:
        found = [r for r in self.run_items.values() if engagement is None or r.engagement.id == engagement.id]
        return sorted(found, key=lambda r: (r.period.month, r.id))

    def invoice(self, system: SystemName, invoice_id: str) -> InvoiceRecord | None:
        return self.invoices.get((system, invoice_id))

    def save_invoice(self, record: InvoiceRecord) -> bool:
        current = self.invoices.get((record.system, record.id))
        if current is not None and int(current.standing.version or 0) > int(record.standing.version or 0):
            return False
        self.invoices[record.system, record.id] = record
        return True

    def engagement_invoices(self, engagement: SourceRef) -> list[InvoiceRecord]:
        return [r for r in self.invoices.values() if r.engagement.id == engagement.id]

    def account_invoices(self, account: SourceRef) -> list[InvoiceRecord]:
        return [r for r in self.invoices.values() if r.account is not None and r.account.id == account.id]

    def park_payment(self, parked: ParkedPayment) -> None:
        self.parked[parked.system, parked.invoice, parked.payment] = parked

    def parked_payments(self, system: SystemName, invoice_id: str) -> list[ParkedPayment]:
        return [p for (s, i, _), p in self.parked.items() if s is system and i == invoice_id]

    def unpark_payment(self, parked: ParkedPayment) -> None:
        self.parked.pop((parked.system, parked.invoice, parked.payment), None)

    def all_parked_payments(self) -> list[ParkedPayment]:
        return list(self.parked.values())

    def remember_payment(self, system: SystemName, payment: str, invoices: Sequence[str]) -> None:
        self.payments[system, payment] = sorted(set(self.payments.get((system, payment), [])) | set(invoices))

    def payment_invoices(self, system: SystemName, payment: str) -> list[str]:
        return self.payments.get((system, payment), [])

    def hold(self, name: str, *, now: datetime, until: datetime) -> bool:
        held = self.leases.get(name)
        if held is not None and held >= now:
            return False
        self.leases[name] = until
        return True

    def let_go(self, name: str) -> None:
        self.leases.pop(name, None)


class FakeMirror:
    """The PSA's copy: the last standing mirrored per invoice number."""

    system = SystemName.PRODUCTIVE

    def __init__(self) -> None:
        self.copies: dict[str, InvoiceStanding] = {}
        self.writes = 0

    def mirror_invoice(self, project: str, invoice: Invoice, standing: InvoiceStanding) -> str:
        self.writes += 1
        self.copies[invoice.number] = standing
        return f"p-{invoice.number}"


class FakeHealth:
    """The CRM's health fields per opportunity and account."""

    system = SystemName.SALESFORCE

    def __init__(self) -> None:
        self.deals: dict[str, CommercialHealth] = {}
        self.accounts: dict[str, CommercialHealth] = {}

    def write_health(
        self, *, opportunity: str, deal: CommercialHealth, account: str, customer: CommercialHealth
    ) -> None:
        self.deals[opportunity] = deal
        self.accounts[account] = customer


class FakeMilestones:
    system = SystemName.PRODUCTIVE

    def __init__(self) -> None:
        self.done: list[CompletedMilestone] = []

    def completed_milestones(self, project: str) -> list[CompletedMilestone]:
        return list(self.done)
