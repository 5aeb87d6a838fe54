"""What a won deal becomes, on plain inputs: entity, systems, engagement, milestones and rate cards."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.domain.commercial import Opportunity
from shared.domain.dimensions import FinancialDimensions
from shared.domain.engagements import BillingModel
from shared.domain.errors import ValidationFailed
from shared.domain.models import SystemName
from shared.domain.money import Money
from shared.domain.systems import Role
from shared.governance.landscape import Landscape
from shared.governance.loader import parse_landscape
from shared.governance.ownership import Ownership
from shared.governance.routing import Routing
from shared.sync.engagements.terms import (
    as_held_by,
    billing_terms,
    contracted_card,
    default_card_of,
    engagement_of,
    legal_entity_of,
    milestones_of,
    rate_card_of,
    systems_of,
)
from tests.engagement_fakes import COEXISTENCE, CUTOVER, FakeOpportunities

DIMENSIONS = FinancialDimensions(legal_entity="US01", accounting_class="Advisory", department="Strategy")


@pytest.fixture
def landscape() -> Landscape:
    return parse_landscape(COEXISTENCE, file="coexistence.toml")


def _deal(**fields: object) -> Opportunity:
    return FakeOpportunities().put("006W", "001A", **fields)  # type: ignore[arg-type]


def test_the_legal_entity_is_the_one_company_booking_in_the_deals_currency(landscape: Landscape) -> None:
    assert legal_entity_of(_deal(currency="USD"), landscape) == "US01"
    # a currency no company books in cannot name one
    with pytest.raises(ValidationFailed, match="cannot be derived from currency EUR"):
        legal_entity_of(_deal(currency="EUR", lines=()), landscape)


def test_the_ledger_is_the_one_routed_to_on_the_engagements_start_day(landscape: Landscape) -> None:
    routing, ownership = Routing(landscape), Ownership(landscape)

    def systems(close_date: date, *, confirmed: bool = True) -> dict[Role, SystemName]:
        return systems_of(
            _deal(close_date=close_date),
            legal_entity="US01",
            routing=routing,
            ownership=ownership,
            cutover_confirmed=lambda entity, system: confirmed,
        )

    # given US01 moves to NetSuite on CUTOVER, confirmed: a deal closed that day starts its engagement there
    on_the_day, the_day_before = systems(CUTOVER), systems(CUTOVER - timedelta(days=1))
    # then the PSA is the owner of engagements either way, the ledger follows the start day
    assert on_the_day == {Role.PSA: SystemName.PRODUCTIVE, Role.ACCOUNTING: SystemName.NETSUITE}
    assert the_day_before == {Role.PSA: SystemName.PRODUCTIVE, Role.ACCOUNTING: SystemName.QUICKBOOKS}
    # while nobody has confirmed the cutover, a deal starting after it is set up in QuickBooks
    # (the confirmation sets it up in NetSuite with the other live engagements)
    waiting = systems(CUTOVER + timedelta(days=3), confirmed=False)
    assert waiting[Role.ACCOUNTING] is SystemName.QUICKBOOKS


def test_a_fixed_fee_deal_sold_as_lines_that_add_up_is_billed_by_milestone_per_line() -> None:
    deal = _deal(
        amount="10000.00", lines=(("Discovery", "1", "4000.00"), ("Delivery", "1", "6000.00"))
    ).model_copy(update={"billing_model": BillingModel.FIXED_FEE})
    engagement = engagement_of(deal, template="900301", dimensions=DIMENSIONS, default_rate_card=None)
    assert [(m.code, m.name, m.amount) for m in engagement.milestones] == [
        ("M1", "Discovery", Money.of("4000.00", "USD")),
        ("M2", "Delivery", Money.of("6000.00", "USD")),
    ]
    assert engagement.fixed_fee == Money.of("10000.00", "USD") and engagement.rate_card is None
    assert engagement.start_date == deal.close_date


def test_lines_that_do_not_add_up_to_the_fee_make_one_milestone_of_the_whole_fee() -> None:
    deal = _deal(amount="10000.00", lines=(("Discovery", "1", "4000.00"),))
    assert [(m.code, m.name, m.amount) for m in milestones_of(deal)] == [
        ("M1", "Delivery", Money.of("10000.00", "USD"))
    ]


def test_a_retainer_is_billed_its_monthly_amount_with_its_hours_and_rollover() -> None:
    deal = _deal(amount="5000.00", lines=()).model_copy(
        update={"billing_model": BillingModel.RETAINER, "retainer_hours": Decimal("40"), "rollover": True}
    )
    terms = billing_terms(deal)
    assert (terms.model, terms.retainer_amount, terms.retainer_hours, terms.rollover) == (
        BillingModel.RETAINER,
        Decimal("5000.00"),
        Decimal("40"),
        True,
    )


def test_a_time_and_materials_engagement_points_at_its_templates_card() -> None:
    engagement = engagement_of(
        _deal(), template="900301", dimensions=DIMENSIONS, default_rate_card="Standard 2025 USD"
    )
    assert engagement.billing_model is BillingModel.TIME_AND_MATERIALS
    assert engagement.rate_card is not None and engagement.rate_card.id == "Standard 2025 USD"


def test_the_contracted_card_has_one_rate_per_role_the_first_sold_and_all_its_hours() -> None:
    deal = _deal(
        amount="30000.00",
        lines=(("Consultant", "100", "180.00"), ("Consultant", "50", "150.00"), ("Partner", "10", "300.00")),
    )
    card = contracted_card(deal)
    assert [(line.role, line.rate.amount, line.quantity) for line in card.lines] == [
        ("Consultant", Decimal("180.00"), Decimal("150")),
        ("Partner", Decimal("300.00"), Decimal("10")),
    ]


def test_a_deal_without_priced_lines_gets_its_templates_card_in_its_currency(landscape: Landscape) -> None:
    card, source = rate_card_of(
        _deal(lines=()), landscape=landscape, template="900301", default_card="Standard 2025 USD"
    )
    assert source == "template card Standard 2025 USD"
    assert [(line.role, line.rate) for line in card.lines] == [("Consultant", Money.of("180.00", "USD"))]


def test_a_template_card_in_another_currency_or_unnamed_is_refused_naming_the_fix(
    landscape: Landscape,
) -> None:
    in_gbp = _deal(currency="GBP", lines=())
    with pytest.raises(ValidationFailed, match="is in USD, the deal in GBP: map template 900301"):
        default_card_of(in_gbp, landscape=landscape, template="900301", name="Standard 2025 USD")
    with pytest.raises(ValidationFailed, match="names no default rate card"):
        default_card_of(_deal(lines=()), landscape=landscape, template="900301", name=None)


def test_accounting_holds_the_mapped_dimension_values_and_the_psa_the_firms_codes() -> None:
    engagement = engagement_of(_deal(), template="900301", dimensions=DIMENSIONS, default_rate_card=None)
    posting = {"accounting_class": "NS-ADV", "department": "1", "location": None, "cost_center": None}
    in_accounting = as_held_by(Role.ACCOUNTING, engagement, posting)
    assert (in_accounting.dimensions.accounting_class, in_accounting.dimensions.department) == ("NS-ADV", "1")
    assert in_accounting.dimensions.legal_entity == "US01"
    assert as_held_by(Role.PSA, engagement, posting).dimensions == DIMENSIONS
