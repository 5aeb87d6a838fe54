"""What was sold: opportunities, contracts / statements of work, and rate cards."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from enum import StrEnum
from itertools import pairwise

from pydantic import Field, model_validator

from shared.domain._rules import in_currency, on_minor_unit
from shared.domain.decimals import ExactDecimal
from shared.domain.engagements import BillingModel
from shared.domain.errors import NotFoundError, ValidationFailed
from shared.domain.models import CanonicalModel, SourceRef, UtcDateTime
from shared.domain.money import CurrencyCode, Money, sum_money
from shared.domain.refs import AccountRef, ContactRef, OpportunityRef, RateCardRef


class OpportunityStatus(StrEnum):
    """Where an opportunity stands, whatever the CRM calls its stages."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class OpportunityLine(CanonicalModel):
    """A role sold on an opportunity: how many units (hours, days) at what rate."""

    role: str = Field(min_length=1)
    quantity: ExactDecimal = Field(gt=0)
    rate: Money
    description: str | None = None

    @property
    def amount(self) -> Money:
        """Quantity times rate, rounded half-up to the currency's minor unit."""
        return (self.rate * self.quantity).rounded()


class IncompleteOpenDeal(ValidationFailed):
    """An opportunity that is not closed-won lacks what a won deal needs (service line, ...).

    Not a problem yet: what a won deal must carry is checked when it is won. Engagement setup
    treats it as any ValidationFailed; the workflow start skips the notice.
    """

    def __init__(self, message: str, *, status: OpportunityStatus) -> None:
        super().__init__(message)
        self.status = status


class Opportunity(CanonicalModel):
    """A deal with a customer account in the CRM; closed-won starts engagement setup."""

    source: SourceRef
    account: AccountRef
    name: str = Field(min_length=1, max_length=255)
    # The CRM's own stage label ("Negotiation", "Closed Won"); `status` is what the hub acts on.
    stage: str = Field(min_length=1)
    status: OpportunityStatus
    close_date: date
    # When the stage last changed: closing, re-opening and re-closing move it; other edits (the
    # hub's own write-back among them) do not. Engagement setup keys its execution on it.
    stage_changed_at: UtcDateTime | None = None
    amount: Money
    # How likely the CRM holds the deal to close, in percent (0..100): the pipeline is open deals'
    # amount x probability. None: the CRM does not say.
    probability: ExactDecimal | None = Field(default=None, ge=0, le=100)
    service_line: str = Field(min_length=1)
    billing_model: BillingModel | None = None
    # A retainer deal: `amount` is billed every month and includes this many hours; with
    # `rollover`, hours left unused in a month carry into the next one.
    retainer_hours: ExactDecimal | None = Field(default=None, ge=0)
    rollover: bool = False
    # Where the work is delivered from, in the firm's own codes; the landscape maps each to the
    # accounting system's values for the engagement's financial dimensions.
    department: str | None = Field(default=None, max_length=255)
    location: str | None = Field(default=None, max_length=255)
    cost_center: str | None = Field(default=None, max_length=255)
    lines: tuple[OpportunityLine, ...] = ()

    @model_validator(mode="after")
    def _one_currency(self) -> Opportunity:
        for index, line in enumerate(self.lines):
            in_currency(f"lines[{index}].rate", line.rate, self.amount.currency)
        return self

    @property
    def lines_total(self) -> Money:
        """The sum of the rounded line amounts (CRMs do not always keep `amount` equal to it)."""
        return sum_money((line.amount for line in self.lines), self.amount.currency)


class Contract(CanonicalModel):
    """A signed contract or statement of work: what the customer agreed to buy, and how it is billed."""

    source: SourceRef
    number: str = Field(min_length=1)
    account: AccountRef
    opportunity: OpportunityRef | None = None
    title: str = Field(min_length=1, max_length=255)
    billing_model: BillingModel
    currency: CurrencyCode
    value: Money
    rate_card: RateCardRef | None = None
    start_date: date
    end_date: date | None = None
    signed_on: date | None = None
    payment_terms_days: int = Field(default=30, ge=0, le=365)
    purchase_order: str | None = None
    billing_contact: ContactRef | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        in_currency("value", self.value, self.currency)
        on_minor_unit("value", self.value)
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} must not be before start_date {self.start_date}")
        return self


StatementOfWork = Contract
"""The services firm's usual name for the contract of one engagement."""


class NoRateError(NotFoundError, LookupError):
    """A rate card has no rate for a role on a date."""


class RateCardLine(CanonicalModel):
    """The rate of one role from `effective_from` to `effective_to` (both inclusive; open-ended if None)."""

    role: str = Field(min_length=1)
    rate: Money
    effective_from: date
    effective_to: date | None = None
    quantity: ExactDecimal | None = Field(
        default=None, gt=0, description="the units (hours) sold at this rate, when the deal sold them"
    )

    @model_validator(mode="after")
    def _range(self) -> RateCardLine:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(
                f"effective_to {self.effective_to} of role {self.role!r} must not be before "
                f"effective_from {self.effective_from}"
            )
        if self.rate.amount < 0:
            raise ValueError(f"rate of role {self.role!r} must not be negative, got {self.rate}")
        return self

    def covers(self, on: date) -> bool:
        """Whether this rate is in effect on `on`."""
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


class RateCard(CanonicalModel):
    """The rates a customer is charged per role, over time, in one currency."""

    source: SourceRef
    id: str = Field(min_length=1)
    name: str = Field(min_length=1, max_length=255)
    currency: CurrencyCode
    lines: tuple[RateCardLine, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RateCard:
        by_role: dict[str, list[RateCardLine]] = defaultdict(list)
        for index, line in enumerate(self.lines):
            in_currency(f"lines[{index}].rate", line.rate, self.currency)
            by_role[line.role].append(line)
        # Two rates in effect on one day would make the price of an hour depend on lookup order.
        for role, lines in by_role.items():
            ordered = sorted(lines, key=lambda line: line.effective_from)
            for earlier, later in pairwise(ordered):
                if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                    raise ValueError(
                        f"rates for role {role!r} overlap: {earlier.effective_from}.."
                        f"{earlier.effective_to or 'open end'} and "
                        f"{later.effective_from}..{later.effective_to or 'open end'}; "
                        "each role needs non-overlapping effective ranges"
                    )
        return self

    def rate_for(self, role: str, on: date) -> Money:
        """The rate of `role` in effect on `on`, or NoRateError saying what the card does hold."""
        for line in self.lines:
            if line.role == role and line.covers(on):
                return line.rate
        roles = sorted({line.role for line in self.lines})
        raise NoRateError(f"rate card {self.id} has no rate for role {role!r} on {on} (roles: {roles})")
