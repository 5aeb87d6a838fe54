"""Work delivered on engagements: approved time and expenses, as the PSA reports them."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from shared.domain._rules import Code, on_minor_unit
from shared.domain.decimals import ExactDecimal
from shared.domain.models import CanonicalModel, SourceRef, UtcDateTime
from shared.domain.money import Money
from shared.domain.refs import ContractRef, ProjectRef, WorkerRef


class TimeEntry(CanonicalModel):
    """Approved, billable time as the PSA (its system of record) reports it."""

    source: SourceRef
    project: ProjectRef
    worker: WorkerRef
    worked_on: date
    hours: ExactDecimal = Field(gt=0, le=24)
    rate: Money  # from the engagement's rate card, never recomputed downstream
    billable: bool
    approved_at: UtcDateTime | None = None
    role: str | None = None
    contract: ContractRef | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _rate_not_negative(self) -> TimeEntry:
        if self.rate.amount < 0:
            raise ValueError(f"rate must not be negative, got {self.rate}")
        return self

    @property
    def amount(self) -> Money:
        """Hours times rate, rounded half-up to the currency's minor unit."""
        return (self.rate * self.hours).rounded()


class ExpenseEntry(CanonicalModel):
    """An expense a worker incurred on an engagement, with its receipt and tax treatment."""

    source: SourceRef
    project: ProjectRef
    worker: WorkerRef
    receipt_date: date
    category: str = Field(min_length=1)
    amount: Money
    tax_code: Code | None = None
    billable: bool
    approved_at: UtcDateTime | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _amount_as_on_receipt(self) -> ExpenseEntry:
        # A receipt is already in whole minor units; more places means a mapping error upstream.
        on_minor_unit("amount", self.amount)
        return self
