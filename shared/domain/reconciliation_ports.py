"""What reconciliation reads: every copy each system holds, in the vendor's own figures.

Reconciliation compares what the systems *return*, never what the hub computed or remembers: each
connector answers these censuses from its vendor's bulk paths (the largest page the vendor allows, a
date window where the vendor filters by one), and the hub's ledger only says which records are
meant to be copies of which.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from pydantic import Field

from shared.domain.account_ports import TargetRecord
from shared.domain.cash import CommercialHealth
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.models import CanonicalModel, SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.ports import ExceptionRecord
from shared.domain.postings import WorkKind


class HeldEngagement(CanonicalModel):
    """An engagement as one system holds it: a won deal (CRM), a project (PSA), a sub-customer or
    project (accounting)."""

    system: SystemName
    ref: SourceRef
    name: str
    opportunity: SourceRef | None = Field(
        default=None, description="the deal it is for (the CRM: itself; others: the hub's stamp)"
    )
    customer: str | None = Field(default=None, description="its customer's id in this system")
    status: EngagementStatus | None = Field(default=None, description="None: the system has no such status")
    booked: Money | None = Field(default=None, description="the CRM's amount won; the PSA's budget")
    health: CommercialHealth | None = Field(default=None, description="the CRM's commercial health fields")
    link: str | None = Field(default=None, description="the record in the vendor's own UI")


class HeldWork(CanonicalModel):
    """A time entry or expense as one system holds it (the PSA's entry, accounting's posting)."""

    system: SystemName
    ref: SourceRef
    kind: WorkKind
    engagement: str = Field(min_length=1, description="the project / sub-customer id in this system")
    worked_on: date
    minutes: int = Field(default=0, ge=0)
    amount: Money | None = Field(
        default=None, description="as the system holds it (PSA time: None, priced by the rate card)"
    )
    service: str | None = Field(default=None, description="the PSA's service: the role, or the expense kind")
    billable: bool = True
    approved: bool = True
    billed: bool = Field(default=False, description="on an invoice, as this system says")
    origin: SourceRef | None = Field(default=None, description="accounting: the PSA entry it was posted for")
    link: str | None = None


class HeldInvoice(CanonicalModel):
    """An invoice as one system holds it: accounting's own, or the PSA's mirror of it."""

    system: SystemName
    ref: SourceRef
    number: str | None = None
    engagement: str | None = Field(default=None, description="the project / sub-customer it is for")
    issued_on: date
    total: Money
    tax: Money | None = Field(default=None, description="the tax in `total` (None: the system does not say)")
    credited: Money
    paid: Money
    open: Money
    voided: bool = False
    link: str | None = None


@runtime_checkable
class CustomerCensus(Protocol):
    """Every customer record a system holds (active or not), with the hub's stamp where it has one."""

    system: SystemName

    def census_customers(self) -> Iterator[TargetRecord]: ...


@runtime_checkable
class EngagementCensus(Protocol):
    """Every engagement a system holds: the CRM's won deals, the PSA's projects, accounting's jobs."""

    system: SystemName

    def census_engagements(self) -> Iterator[HeldEngagement]: ...


@runtime_checkable
class WorkCensus(Protocol):
    """Every time entry and expense dated on or after `since` (PSA: entries; accounting: postings)."""

    system: SystemName

    def census_work(self, since: date) -> Iterator[HeldWork]: ...


@runtime_checkable
class InvoiceCensus(Protocol):
    """Every invoice issued on or after `since` (accounting's, or the PSA's mirror)."""

    system: SystemName

    def census_invoices(self, since: date) -> Iterator[HeldInvoice]: ...


class ExceptionDesk(Protocol):
    """Where breaks are filed for a person (the ledger's exceptions, kind `reconciliation`)."""

    def record_exception(self, exception: ExceptionRecord) -> bool:
        """Open it; False when it is open already."""
        ...

    def refresh_exception(self, exception: ExceptionRecord) -> bool:
        """The open exception's reason and evidence as they are now; False when it is not open."""
        ...

    def resolve_exception(self, exception_id: str, *, resolution: str, at: datetime) -> datetime | None:
        """Resolved: when it was opened; None when it was not open."""
        ...

    def open_exceptions(self) -> list[dict[str, str | None]]:
        """Every open exception, oldest first (a query on the status index)."""
        ...
