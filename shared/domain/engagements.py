"""Engagements (projects) the firm delivers, how each is billed, and fixed-fee milestones."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field, model_validator

from shared.domain._rules import all_in_currency, in_currency, on_minor_unit
from shared.domain.dimensions import FinancialDimensions
from shared.domain.models import CanonicalModel, SourceRef, UtcDateTime
from shared.domain.money import CurrencyCode, Money, sum_money
from shared.domain.refs import AccountRef, ContractRef, OpportunityRef, ProjectRef, RateCardRef


class BillingModel(StrEnum):
    """How the customer pays for an engagement."""

    TIME_AND_MATERIALS = "time_and_materials"
    FIXED_FEE = "fixed_fee"
    RETAINER = "retainer"


class RetainerPeriod(StrEnum):
    """How often a retainer's period amount is billed."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUALLY = "annually"


class Milestone(CanonicalModel):
    """A billable step of a fixed-fee engagement: its share of the fee, billed when reached."""

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    amount: Money
    due_on: date | None = None
    completed_on: date | None = None

    @model_validator(mode="after")
    def _amount_billable(self) -> Milestone:
        on_minor_unit("amount", self.amount)
        if self.amount.amount <= 0:
            raise ValueError(f"amount of milestone {self.code} must be positive, got {self.amount}")
        return self


class Engagement(CanonicalModel):
    """A project delivered for a customer, set up from a won opportunity (the PSA's record)."""

    source: SourceRef
    name: str = Field(min_length=1, max_length=255)
    account: AccountRef
    opportunity: OpportunityRef | None = None
    contract: ContractRef | None = None
    # The PSA / ERP project template the engagement was created from (tasks, phases, settings).
    template: str = Field(min_length=1)
    billing_model: BillingModel
    currency: CurrencyCode
    rate_card: RateCardRef | None = None
    dimensions: FinancialDimensions
    budget: Money
    start_date: date
    end_date: date | None = None
    fixed_fee: Money | None = None
    milestones: tuple[Milestone, ...] = ()
    retainer_amount: Money | None = None
    retainer_period: RetainerPeriod | None = None
    approved_at: UtcDateTime | None = None
    # The PSA project the engagement is delivered in, once it is set up there: time and invoices
    # name the project, so this is how they reach the engagement's customer.
    project: ProjectRef | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Engagement:
        in_currency("budget", self.budget, self.currency)
        in_currency("fixed_fee", self.fixed_fee, self.currency)
        in_currency("retainer_amount", self.retainer_amount, self.currency)
        all_in_currency("milestones", (m.amount for m in self.milestones), self.currency)
        on_minor_unit("budget", self.budget)
        on_minor_unit("fixed_fee", self.fixed_fee)
        on_minor_unit("retainer_amount", self.retainer_amount)
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} must not be before start_date {self.start_date}")
        codes = [m.code for m in self.milestones]
        if len(set(codes)) != len(codes):
            raise ValueError(f"milestones must have distinct codes, got {codes}")
        match self.billing_model:
            case BillingModel.TIME_AND_MATERIALS:
                self._time_and_materials()
            case BillingModel.FIXED_FEE:
                self._fixed_fee()
            case BillingModel.RETAINER:
                self._retainer()
        return self

    def _time_and_materials(self) -> None:
        # Time is billed at the rate card's rates: without one there is nothing to price hours with.
        if self.rate_card is None:
            raise ValueError("rate_card is required for a time_and_materials engagement")
        self._none_of("fixed_fee", "milestones", "retainer_amount", "retainer_period")

    def _fixed_fee(self) -> None:
        if self.fixed_fee is None:
            raise ValueError("fixed_fee is required for a fixed_fee engagement")
        if not self.milestones:
            raise ValueError("milestones are required for a fixed_fee engagement (how the fee is billed)")
        billed = sum_money((m.amount for m in self.milestones), self.currency)
        if billed != self.fixed_fee:
            raise ValueError(
                f"milestones must sum to the fixed_fee exactly: they sum to {billed}, "
                f"the fee is {self.fixed_fee}"
            )
        self._none_of("retainer_amount", "retainer_period")

    def _retainer(self) -> None:
        if self.retainer_amount is None or self.retainer_amount.amount <= 0:
            raise ValueError("retainer_amount (the positive amount billed each period) is required")
        if self.retainer_period is None:
            raise ValueError("retainer_period is required for a retainer engagement")
        self._none_of("fixed_fee", "milestones")

    def _none_of(self, *fields: str) -> None:
        for field in fields:
            if getattr(self, field) not in (None, ()):
                raise ValueError(f"{field} does not apply to a {self.billing_model} engagement")


Project = Engagement
"""PSA and ERP vocabulary for an engagement."""
