"""The landscape's commercial terms: default rate cards (`[[rate_card]]`), `[billing]` and its tax rates."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field

from shared.domain.decimals import ExactDecimal
from shared.domain.money import currency
from shared.governance.landscape_refs import (
    AccountingSystem,
    Currency,
    LegalEntityCode,
    NonEmpty,
    RateCardName,
    Section,
)


def _positive_rates(rates: dict[str, Decimal]) -> dict[str, Decimal]:
    negative = [role for role, rate in rates.items() if rate <= 0]
    if negative:
        raise ValueError(f"rates must be positive; not so for {', '.join(negative)}")
    return rates


class DefaultRateCard(Section):
    """`[[rate_card]]`: the rates per role a deal sold without priced lines is set up with.

    A project template names its card (`rate_card` on its mappings row); the card's rates are the
    firm's list prices, in the card's currency, from `effective_from`.
    """

    name: RateCardName
    currency: Currency
    effective_from: date
    rates: Annotated[dict[NonEmpty, ExactDecimal], Field(min_length=1), AfterValidator(_positive_rates)]


def _unique_cards(cards: list[DefaultRateCard]) -> list[DefaultRateCard]:
    seen = Counter(card.name for card in cards)
    twice = sorted(name for name, count in seen.items() if count > 1)
    if twice:
        raise ValueError(
            f"rate card {', '.join(twice)} is defined more than once; expected one [[rate_card]] each"
        )
    return cards


# `[[rate_card]]`: each card once.
RateCards = Annotated[list[DefaultRateCard], AfterValidator(_unique_cards)]


class TaxRate(Section):
    """One tax code's rate (a percentage) in one legal entity, as the invoice shows it per line."""

    legal_entity: LegalEntityCode
    code: NonEmpty
    rate: Annotated[ExactDecimal, Field(ge=0, le=100)]


def _unique_rates(rates: list[TaxRate]) -> list[TaxRate]:
    seen = Counter((r.legal_entity, r.code) for r in rates)
    twice = sorted(f"{entity}/{code}" for (entity, code), count in seen.items() if count > 1)
    if twice:
        raise ValueError(f"tax rate {', '.join(twice)} is given more than once; expected one rate each")
    return rates


def _positive_thresholds(limits: dict[str, Decimal]) -> dict[str, Decimal]:
    for code, amount in limits.items():
        currency(code)
        if amount < 0:
            raise ValueError(f"approval_threshold for {code} must not be negative, got {amount}")
    return limits


class Billing(Section):
    """`[billing]`: the billing calendar, the approval threshold and what invoice lines need."""

    # The scheduled run on this day of each month bills every active engagement's previous month.
    run_on_day: Annotated[int, Field(ge=1, le=28)] = 1
    # An invoice whose total is above the threshold of its currency waits for a person's approval;
    # a currency without a threshold never waits.
    approval_threshold: Annotated[dict[str, ExactDecimal], AfterValidator(_positive_thresholds)] = {}
    # The service item milestone and retainer lines are posted with, per accounting system.
    fixed_item: dict[AccountingSystem, NonEmpty] = {}
    # The tax code of milestone and retainer lines, per legal entity (time lines use service_tax_codes).
    fixed_tax_code: dict[LegalEntityCode, NonEmpty] = {}
    tax_rates: Annotated[list[TaxRate], AfterValidator(_unique_rates)] = []

    def rates_for(self, legal_entity: str) -> dict[str, Decimal]:
        """Tax code -> percent for `legal_entity`."""
        return {r.code: r.rate for r in self.tax_rates if r.legal_entity == legal_entity}

    def needs_approval(self, total: Decimal, currency_code: str) -> bool:
        limit = self.approval_threshold.get(currency_code)
        return limit is not None and total > limit
