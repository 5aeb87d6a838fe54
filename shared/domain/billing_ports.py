"""The ports of billing and cash feedback: the ledger that invoices, the PSA and CRM that hear back.

Adapters: `shared.connectors.quickbooks` (InvoiceTarget), `shared.connectors.productive`
(InvoiceMirror, MilestoneSource), `shared.connectors.salesforce` (HealthTarget),
`shared.aws.billing` (BillingStore, on the ledger table).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from pydantic import Field

from shared.domain.billing import Invoice
from shared.domain.billing_runs import BillingRun, CompletedMilestone
from shared.domain.cash import (
    CommercialHealth,
    InvoiceStanding,
    IssuedCredit,
    ParkedPayment,
    ReceivedPayment,
)
from shared.domain.errors import PermanentError
from shared.domain.models import CanonicalModel, SourceRef, SystemName, UtcDateTime


class InvoiceRefused(PermanentError):
    """The accounting system refused the invoice (closed period, inactive item, tax code missing)."""

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class BillingChange(CanonicalModel):
    """A billing record that changed in the ledger (a notice or a change-data sweep found it)."""

    entity: str = Field(description="invoice, payment or credit_memo")
    id: str = Field(min_length=1)
    deleted: bool = False
    changed_at: UtcDateTime | None = None


@runtime_checkable
class InvoiceTarget(Protocol):
    """An accounting system that issues invoices and holds their payments and credits."""

    system: SystemName

    def post_invoice(self, request_id: str, invoice: Invoice) -> InvoiceStanding:
        """Create `invoice` on its customer (`invoice.customer.id`), or find the one an earlier attempt
        created (same number): never two. Lines with `bills` link the posted record they bill.

        Raises InvoiceRefused with the vendor's reason when the ledger refuses it.
        """
        ...

    def invoice_standing(self, invoice_id: str) -> InvoiceStanding | None:
        """The invoice as the ledger holds it now, with the payments and credits applied to it."""
        ...

    def payment(self, payment_id: str) -> ReceivedPayment | None: ...

    def credit_memo(self, credit_id: str) -> IssuedCredit | None: ...

    def changed_billing(self, since: datetime) -> list[BillingChange]:
        """Invoices, payments and credit memos changed at or after `since` (change data capture)."""
        ...


@runtime_checkable
class InvoiceMirror(Protocol):
    """The PSA's copy of an invoice, so its budgets show what was invoiced and paid."""

    system: SystemName

    def mirror_invoice(self, project: str, invoice: Invoice, standing: InvoiceStanding) -> str:
        """Create or update the PSA's invoice for `invoice` (found by its number) so that it holds the
        same lines and amounts, marks the entries it bills invoiced, and records the payments of
        `standing` (one per payment, by external id; removed when the ledger no longer has them).
        Returns the PSA invoice's id. Idempotent: mirroring the same standing twice changes nothing.
        """
        ...


@runtime_checkable
class MilestoneSource(Protocol):
    """The PSA as the system of record for milestones reached."""

    system: SystemName

    def completed_milestones(self, project: str) -> list[CompletedMilestone]: ...


@runtime_checkable
class HealthTarget(Protocol):
    """The CRM, where account teams see a deal's and a customer's commercial health."""

    system: SystemName

    def write_health(
        self, *, opportunity: str, deal: CommercialHealth, account: str, customer: CommercialHealth
    ) -> None:
        """Write the figures onto the opportunity and the account (idempotent: same values twice)."""
        ...


class InvoiceRecord(CanonicalModel):
    """What the hub knows of one invoice it posted: its run, its standing, where it was mirrored."""

    system: SystemName = Field(description="the accounting system")
    id: str = Field(min_length=1, description="the invoice's id there")
    run: str = Field(min_length=1)
    engagement: SourceRef = Field(description="the PSA project")
    opportunity: SourceRef | None = None
    account: SourceRef | None = Field(default=None, description="the CRM account")
    invoice: Invoice
    standing: InvoiceStanding
    mirrored: str | None = Field(default=None, description="the PSA invoice's id")
    mirrored_version: str | None = Field(default=None, description="the standing's checksum last mirrored")
    updated_at: UtcDateTime


class BillingStore(Protocol):
    """Billing runs, the invoices they posted, and payments parked for an invoice not yet seen."""

    def run(self, run_id: str) -> BillingRun | None: ...

    def save_run(self, run: BillingRun) -> BillingRun:
        """Write `run` if it is still as it was read (`revision`; None: new); returns it with its new
        revision, or raises ConflictError when another writer came first."""
        ...

    def runs(self, engagement: SourceRef | None = None) -> list[BillingRun]:
        """Runs of one engagement (every run when None), oldest period first."""
        ...

    def invoice(self, system: SystemName, invoice_id: str) -> InvoiceRecord | None: ...

    def save_invoice(self, record: InvoiceRecord) -> bool:
        """Write `record` unless the store holds a later version of the invoice (its ledger version
        is higher: a reader that read before another must not write an older standing over a newer
        one); False when it was older and nothing was written."""
        ...

    def engagement_invoices(self, engagement: SourceRef) -> list[InvoiceRecord]: ...

    def account_invoices(self, account: SourceRef) -> list[InvoiceRecord]: ...

    def park_payment(self, parked: ParkedPayment) -> None: ...

    def parked_payments(self, system: SystemName, invoice_id: str) -> list[ParkedPayment]: ...

    def unpark_payment(self, parked: ParkedPayment) -> None: ...

    def all_parked_payments(self) -> list[ParkedPayment]: ...

    def remember_payment(self, system: SystemName, payment: str, invoices: Sequence[str]) -> None:
        """Which invoices a payment applied to: a deleted payment cannot say it any more."""
        ...

    def payment_invoices(self, system: SystemName, payment: str) -> list[str]: ...

    def hold(self, name: str, *, now: datetime, until: datetime) -> bool:
        """Take the lease `name` (free, or its holder's time ran out) until `until`; False if held."""
        ...

    def let_go(self, name: str) -> None: ...


__all__: Sequence[str] = (
    "BillingChange",
    "BillingStore",
    "HealthTarget",
    "InvoiceMirror",
    "InvoiceRecord",
    "InvoiceRefused",
    "InvoiceTarget",
    "MilestoneSource",
)
