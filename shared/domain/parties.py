"""People the lifecycle involves: the customer's contacts and the firm's own workers."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.domain._rules import Code
from shared.domain.models import CanonicalModel, SourceRef
from shared.domain.money import Money
from shared.domain.refs import AccountRef


class Contact(CanonicalModel):
    """A person at a customer account (the CRM is its system of record)."""

    source: SourceRef
    account: AccountRef
    first_name: str | None = None
    last_name: str = Field(min_length=1, max_length=255)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = None
    title: str | None = None
    # Invoices are addressed to the billing contact; ERPs want exactly one per customer.
    billing_contact: bool = False


class Worker(CanonicalModel):
    """A consultant or employee who delivers work and books time (a PSA resource)."""

    source: SourceRef
    name: str = Field(min_length=1, max_length=255)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    role: str = Field(min_length=1)
    home_legal_entity: Code
    # What an hour costs the firm (for margin reporting); absent when the PSA does not expose it.
    cost_rate: Money | None = None
    active: bool = True

    @model_validator(mode="after")
    def _cost_rate_positive(self) -> Worker:
        if self.cost_rate is not None and self.cost_rate.amount < 0:
            raise ValueError(f"cost_rate must not be negative, got {self.cost_rate}")
        return self


Resource = Worker
"""PSA vocabulary for a worker."""
