"""At a cutover, each live engagement of the legal entity gets its record in the new accounting system.

Work dated from the cutover on posts to the new system, on the engagement's record there. The
engagement was set up (and approved) in the old one; its record in the new one is derived the same
way setup derives it — the opportunity as the CRM holds it, the landscape's templates and dimension
rows for the new system — under the customer the customer master already keeps there, then made
active at once: its approval was given when the engagement was set up. Find-or-create by the hub's
stamp and a stable idempotency key, so a confirmation run twice sets nothing up twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from shared.domain.commercial import RateCard, RateCardLine
from shared.domain.delivery_ports import BookedEngagement, EngagementBook
from shared.domain.engagement_ports import EngagementStatus, EngagementTarget, OpportunitySource
from shared.domain.errors import ValidationFailed
from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.ports import Ledger
from shared.domain.systems import Domain, Role
from shared.governance.mappings import Mappings
from shared.governance.ownership import Ownership
from shared.sync.engagements.terms import as_held_by, assignment_of, engagement_of, start_of


class CutoverSetup:
    """Sets an engagement up in the new accounting system of its legal entity's cutover."""

    def __init__(
        self,
        *,
        opportunities: Callable[[], OpportunitySource],
        target: Callable[[SystemName], EngagementTarget],
        ledger: Ledger,
        book: EngagementBook,
        mappings: Mappings,
        ownership: Ownership,
    ) -> None:
        self._opportunities = opportunities
        self._target = target
        self._ledger = ledger
        self._book = book
        self._mappings = mappings
        self._ownership = ownership

    def set_up(self, booked: BookedEngagement, new: SystemName) -> BookedEngagement:
        """`booked` with its active record in `new` (ValidationFailed naming what is missing)."""
        if new in booked.accounting:
            return booked
        if booked.account is None:
            raise ValidationFailed(
                f"engagement {booked.name} names no CRM account: set it up in {new} by hand"
            )
        customer = self._ledger.cross_reference(EntityType.ACCOUNT, booked.account, new)
        if customer is None or not customer.active:
            raise ValidationFailed(
                f"engagement {booked.name}: its customer {booked.account.id} is not in {new} yet "
                "(the customer master puts it there on its next change, or a replay of the customers flow)"
            )
        opportunity = self._opportunities().fetch_opportunity(booked.opportunity.id)
        assignment = assignment_of(
            opportunity,
            legal_entity=booked.legal_entity,
            mappings=self._mappings,
            psa=self._ownership.owner_of(Domain.ENGAGEMENT),
            accounting=new,
        )
        engagement = as_held_by(
            Role.ACCOUNTING,
            engagement_of(
                opportunity,
                template=assignment.template,
                dimensions=assignment.dimensions,
                default_rate_card=assignment.default_rate_card,
            ),
            assignment.posting,
        )
        target = self._target(new)
        found = target.find_engagement(opportunity.source, customer_id=customer.target.id)
        if found is None or found.status is EngagementStatus.CLOSED:
            found = target.create_engagement(
                engagement,
                customer_id=customer.target.id,
                idempotency_key=f"cutover:{booked.legal_entity}:{new}:{booked.opportunity.id}",
                searched=found is None,
            )
        if booked.rates:
            target.apply_rate_card(found.ref.id, _card(booked, start_of(opportunity)))
        record = target.activate_engagement(found.ref.id)
        moved = booked.model_copy(
            update={
                "accounting": {**booked.accounting, new: record.ref.id},
                # Postings and invoices in the new ledger carry its own class and department ids.
                "ledger_dimensions": {**booked.ledger_dimensions, new: assignment.posting},
            }
        )
        self._book.save_engagement(moved)
        return moved


def _card(booked: BookedEngagement, since: date) -> RateCard:
    """The engagement's rates as set up (the rate card in force), for the new system's record."""
    return RateCard(
        source=SourceRef(
            system=booked.opportunity.system, type="rate_card", id=f"{booked.opportunity.id}-booked"
        ),
        id=f"{booked.opportunity.id}-booked",
        name=f"{booked.name} rates"[:255],
        currency=booked.currency,
        lines=tuple(
            RateCardLine(role=role, rate=Money(amount=rate, currency=booked.currency), effective_from=since)
            for role, rate in sorted(booked.rates.items())
        ),
    )
