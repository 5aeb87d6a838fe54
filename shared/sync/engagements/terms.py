"""What a won deal becomes, decided from the deal and the landscape alone: no port, no I/O.

Engagement setup runs these decisions and keeps their answers in its state; each is a function of
plain inputs, so a rule is tested without a workflow:
- the legal entity: the one company of the landscape that books in the deal's currency;
- the systems: the PSA that owns engagements, and the accounting system the routing names for that
  legal entity on the day the engagement starts (a company moved to a new ledger on a cutover date
  keeps engagements that start before it in the old one);
- the dimensions, the project template with its default rate card, and the revenue account;
- the engagement as each system holds it, its milestones, its billing terms and its rate card.

A rule the deal breaks raises ValidationFailed naming the field or the landscape entry to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from shared.domain.billing_runs import BillingTerms, milestone_terms
from shared.domain.commercial import Opportunity, OpportunityLine, RateCard, RateCardLine
from shared.domain.dimensions import FinancialDimensions
from shared.domain.engagements import BillingModel, Engagement, Milestone
from shared.domain.errors import ValidationFailed
from shared.domain.models import CanonicalModel, SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.systems import Domain, Role
from shared.governance.landscape import Landscape
from shared.governance.mappings import MappingMissing, Mappings
from shared.governance.ownership import Ownership
from shared.governance.routing import Routing
from shared.sync.dimensions import DimensionMapper

# The systems an engagement is set up in, in the order every step visits them.
HOLDERS = (Role.PSA, Role.ACCOUNTING)


def start_of(opportunity: Opportunity) -> date:
    """The day the deal's engagement starts: its close date (the CRM sends no start of its own)."""
    return opportunity.close_date


def legal_entity_of(opportunity: Opportunity, landscape: Landscape) -> str:
    """The company that books the deal: the opportunity says its currency, not its company."""
    currency = opportunity.amount.currency
    entities = [e.code for e in landscape.legal_entities if e.functional_currency == currency]
    if len(entities) != 1:
        raise ValidationFailed(
            f"opportunity {opportunity.source}: field 'legal_entity' cannot be derived from currency "
            f"{currency} (legal entities booking in it: {entities or 'none'})"
        )
    return entities[0]


def systems_of(
    opportunity: Opportunity,
    *,
    legal_entity: str,
    routing: Routing,
    ownership: Ownership,
    cutover_confirmed: Callable[[str, SystemName], bool],
) -> dict[Role, SystemName]:
    """Where the engagement is set up: the owner of engagements (the PSA), and the accounting system
    the routing names for `legal_entity` on the engagement's start (NoRoute when it names none).

    A start on or after a cutover nobody has confirmed yet is set up in the old system: nothing is
    written to a ledger before its go-ahead, and the confirmation sets the engagement up in the new
    one (with every other live engagement of the entity)."""
    start = start_of(opportunity)
    return {
        Role.PSA: ownership.owner_of(Domain.ENGAGEMENT),
        Role.ACCOUNTING: routing.signed_off_system_for(legal_entity, start, cutover_confirmed),
    }


class Assignment(CanonicalModel):
    """The deal's dimensions and project template, as the landscape's mapping tables give them."""

    template: str
    default_rate_card: str | None = None
    dimensions: FinancialDimensions
    # The dimensions as accounting names them (its class and department ids), for its postings.
    posting: dict[str, str | None]
    revenue_account: str | None = None


def assignment_of(
    opportunity: Opportunity,
    *,
    legal_entity: str,
    mappings: Mappings,
    psa: SystemName,
    accounting: SystemName,
) -> Assignment:
    """Template, dimensions and revenue account of the deal; MappingMissing names the missing row."""
    template = mappings.row(
        "project_templates",
        opportunity.service_line,
        source=opportunity.source.system,
        target=psa,
        legal_entity=legal_entity,
    )
    dimensions = FinancialDimensions(
        legal_entity=legal_entity,
        accounting_class=opportunity.service_line,
        department=opportunity.department,
        location=opportunity.location,
        cost_center=opportunity.cost_center,
    )
    posting = DimensionMapper(mappings, source=opportunity.source.system, target=accounting).map(dimensions)
    try:
        revenue: str | None = mappings.map(
            "revenue_accounts",
            opportunity.service_line,
            source=psa,
            target=accounting,
            legal_entity=legal_entity,
        )
    except MappingMissing:
        # Revenue is mapped per service on each time entry; a service line without its own row
        # is not an error here, the postings will name what is missing.
        revenue = None
    return Assignment(
        template=template.target,
        default_rate_card=getattr(template, "rate_card", None),
        dimensions=dimensions,
        posting=posting.model_dump(mode="json"),
        revenue_account=revenue,
    )


def milestones_of(opportunity: Opportunity) -> tuple[Milestone, ...]:
    """A fixed-fee deal's milestones: one per line sold (M1, M2, ... in the CRM's order) when the
    lines add up to the fee; otherwise the whole fee is one milestone."""
    fee = opportunity.amount.rounded()
    if opportunity.lines and opportunity.lines_total == fee:
        return tuple(
            Milestone(code=f"M{number}", name=line.description or line.role, amount=line.amount)
            for number, line in enumerate(opportunity.lines, start=1)
        )
    return (Milestone(code="M1", name="Delivery", amount=fee),)


def billing_terms(opportunity: Opportunity) -> BillingTerms:
    """How the won deal is billed, as billing runs need it (kept with the booked engagement)."""
    model = opportunity.billing_model or BillingModel.TIME_AND_MATERIALS
    fee = opportunity.amount.rounded().amount
    if model is BillingModel.FIXED_FEE:
        return BillingTerms(
            model=model,
            contract=opportunity.source.id,
            fixed_fee=fee,
            milestones=milestone_terms(milestones_of(opportunity)),
        )
    if model is BillingModel.RETAINER:
        return BillingTerms(
            model=model,
            contract=opportunity.source.id,
            retainer_amount=fee,
            retainer_hours=opportunity.retainer_hours,
            rollover=opportunity.rollover,
        )
    return BillingTerms(model=model, contract=opportunity.source.id)


def engagement_of(
    opportunity: Opportunity,
    *,
    template: str,
    dimensions: FinancialDimensions,
    default_rate_card: str | None,
) -> Engagement:
    """The engagement the deal becomes, in the firm's own codes (as the PSA holds it)."""
    model = opportunity.billing_model or BillingModel.TIME_AND_MATERIALS
    budget = opportunity.amount.rounded()
    card = SourceRef(
        system=opportunity.source.system,
        type="rate_card",
        id=default_rate_card or f"{opportunity.source.id}-contracted",
    )
    extra: dict[str, Any] = {}
    if model is BillingModel.FIXED_FEE:
        extra = {"fixed_fee": budget, "milestones": milestones_of(opportunity)}
    elif model is BillingModel.RETAINER:
        extra = {"retainer_amount": budget, "retainer_period": "monthly"}
    return Engagement(
        source=SourceRef(system=opportunity.source.system, type="engagement", id=opportunity.source.id),
        name=opportunity.name,
        account=opportunity.account,
        opportunity=opportunity.source,
        template=template,
        billing_model=model,
        currency=opportunity.amount.currency,
        rate_card=card if model is BillingModel.TIME_AND_MATERIALS else None,
        dimensions=dimensions,
        budget=budget,
        start_date=start_of(opportunity),
        **extra,
    )


def as_held_by(role: Role, engagement: Engagement, posting: Mapping[str, str | None]) -> Engagement:
    """The engagement with its dimensions as `role`'s system names them.

    The PSA keeps the firm's own codes; accounting gets the values the mapping tables translated
    them to (class and department ids), because that is what its postings will carry.
    """
    if role is not Role.ACCOUNTING or not posting:
        return engagement
    held = FinancialDimensions(
        legal_entity=engagement.dimensions.legal_entity,
        department=posting.get("department"),
        accounting_class=posting.get("accounting_class"),
        location=posting.get("location"),
        cost_center=posting.get("cost_center"),
    )
    return engagement.model_copy(update={"dimensions": held})


def rate_card_of(
    opportunity: Opportunity, *, landscape: Landscape, template: str | None, default_card: str | None
) -> tuple[RateCard, str]:
    """The engagement's rate card and where it came from: the contracted rates of the deal's lines,
    else the template's default card from the landscape in the deal's currency."""
    if opportunity.lines:
        return contracted_card(opportunity), "opportunity lines"
    card = default_card_of(opportunity, landscape=landscape, template=template, name=default_card)
    return card, f"template card {card.name}"


def contracted_card(opportunity: Opportunity) -> RateCard:
    """The rates sold on the deal's lines, one per role (the first line sold for a role wins)."""
    return RateCard(
        source=SourceRef(system=opportunity.source.system, type="rate_card", id=opportunity.source.id),
        id=f"{opportunity.source.id}-contracted",
        name=f"{opportunity.name} (contracted)"[:255],
        currency=opportunity.amount.currency,
        lines=tuple(
            RateCardLine(
                role=line.role,
                rate=line.rate,
                effective_from=opportunity.close_date,
                # The role's hours sold on every line: the PSA's budget is hours x rate per role.
                quantity=sum(other.quantity for other in opportunity.lines if other.role == line.role),
            )
            for line in _one_line_per_role(opportunity)
        ),
    )


def default_card_of(
    opportunity: Opportunity, *, landscape: Landscape, template: str | None, name: str | None
) -> RateCard:
    """The template's card `name` from the landscape in the deal's currency, or an error naming the gap."""
    where = f"opportunity {opportunity.source} has no priced lines and"
    if name is None:
        raise ValidationFailed(f"{where} its project template {template} names no default rate card")
    defined = landscape.rate_card_named(name)
    if defined is None:
        raise ValidationFailed(
            f"{where} rate card {name!r} of template {template} has no rates in the landscape: "
            "add a [[rate_card]] with its rates per role"
        )
    currency = opportunity.amount.currency
    if defined.currency != currency:
        raise ValidationFailed(
            f"{where} rate card {name!r} is in {defined.currency}, the deal in {currency}: "
            f"map template {template} to a card in {currency}"
        )
    return RateCard(
        source=SourceRef(system=opportunity.source.system, type="rate_card", id=name),
        id=name,
        name=name,
        currency=currency,
        lines=tuple(
            RateCardLine(
                role=role,
                rate=Money(amount=rate, currency=currency),
                effective_from=defined.effective_from,
            )
            for role, rate in defined.rates.items()
        ),
    )


def _one_line_per_role(opportunity: Opportunity) -> list[OpportunityLine]:
    # Two lines for one role at different rates cannot both be "the" rate: the first one sold wins.
    seen: dict[str, OpportunityLine] = {}
    for line in opportunity.lines:
        seen.setdefault(line.role, line)
    return list(seen.values())
