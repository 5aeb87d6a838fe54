"""The ports and landscape engagement setup works with, and what its steps and compensation share.

Where the engagement is set up is decided once per setup, by its first step, and kept in the state
(`SetupState.systems`): the PSA that owns engagements, and the accounting system the routing names
for the deal's legal entity on the engagement's start. A state begun by an earlier release, before
the state kept its systems, goes on in the systems that release chose for it: the landscape's first
system of each role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from shared.domain.account_ports import AccountSource
from shared.domain.commercial import Opportunity
from shared.domain.delivery_ports import BookedEngagement
from shared.domain.engagement_ports import (
    ApprovalStore,
    EngagementStatus,
    EngagementTarget,
    OpportunitySource,
    SetupOutcome,
    SetupProject,
)
from shared.domain.errors import ConfigurationError
from shared.domain.models import SourceRef, SystemName
from shared.domain.ports import EventPublisher, Ledger, Metrics, Notifier
from shared.domain.systems import Role
from shared.governance.landscape import Landscape
from shared.governance.mappings import Mappings
from shared.governance.ownership import Ownership
from shared.governance.routing import Routing
from shared.sync.engagements.state import STARTED, SetupState
from shared.sync.engagements.terms import HOLDERS, billing_terms, legal_entity_of, systems_of
from shared.sync.write_back import write_back_key

if TYPE_CHECKING:
    from shared.domain.delivery_ports import EngagementBook
    from shared.sync.accounts import AccountSync


@dataclass(frozen=True, kw_only=True)
class SetupContext:
    """Everything a setup step reads or writes through, built once per EngagementSetup."""

    opportunities: Callable[[], OpportunitySource]
    target: Callable[[SystemName], EngagementTarget]
    accounts: Callable[[], AccountSource]
    account_sync: Callable[[], AccountSync]
    ledger: Ledger
    approvals: ApprovalStore
    notifier: Callable[[], Notifier]
    events: Callable[[], EventPublisher]
    metrics: Metrics
    mappings: Mappings
    landscape: Landscape
    routing: Routing
    ownership: Ownership
    required_account_fields: tuple[str, ...]
    clock: Callable[[], datetime]
    bookings: Callable[[], EngagementBook] | None
    cutover_confirmed: Callable[[str, SystemName], bool]

    def opportunity(self, state: SetupState) -> Opportunity:
        """The deal as validation read it (kept in the state), or as the CRM has it now."""
        if state.opportunity is not None:
            return Opportunity.model_validate(state.opportunity)
        return self.opportunities().fetch_opportunity(state.opportunity_id)

    def settled(self, state: SetupState) -> SetupState:
        """`state` with the systems that hold its engagement: kept once chosen, chosen if not yet."""
        if state.systems:
            return state
        if state.status != STARTED:
            # Begun before the state kept its systems: finish where that release began it.
            return state.model_copy(update={"systems": self._first_of_each_role()})
        opportunity = self.opportunity(state)
        entity = legal_entity_of(opportunity, self.landscape)
        systems = systems_of(
            opportunity,
            legal_entity=entity,
            routing=self.routing,
            ownership=self.ownership,
            cutover_confirmed=self.cutover_confirmed,
        )
        return state.model_copy(
            update={
                "systems": systems,
                "legal_entity": entity,
                "opportunity": opportunity.model_dump(mode="json"),
            }
        )

    def _first_of_each_role(self) -> dict[Role, SystemName]:
        chosen: dict[Role, SystemName] = {}
        for role in HOLDERS:
            systems = self.landscape.systems_with(role)
            if not systems:
                raise ConfigurationError(f"the landscape has no {role.value} system to set engagements up in")
            chosen[role] = systems[0]
        return chosen

    def holders(self, state: SetupState) -> list[tuple[Role, EngagementTarget]]:
        """Each role's target for a settled state, PSA first."""
        return [(role, self.target(state.systems[role])) for role in HOLDERS]

    def book(self, state: SetupState, opportunity: Opportunity, status: EngagementStatus) -> None:
        """Record the engagement as postings need it (project, sub-customer, codes, rates)."""
        if self.bookings is None or Role.PSA not in state.engagements or state.legal_entity is None:
            return
        accounting = state.engagements.get(Role.ACCOUNTING)
        project = psa_project(state)
        assert project is not None  # the PSA's engagement is in the state (checked above)
        self.bookings().save_engagement(
            BookedEngagement(
                psa=project,
                opportunity=opportunity.source,
                name=opportunity.name,
                legal_entity=state.legal_entity,
                currency=opportunity.amount.currency,
                status=status,
                accounting={state.systems[Role.ACCOUNTING]: accounting} if accounting is not None else {},
                dimensions=dict(state.posting_dimensions),
                rates={line["role"]: Decimal(line["rate"]) for line in state.rates},
                account=opportunity.account,
                billing=billing_terms(opportunity),
                booked=opportunity.amount.rounded(),
                updated_at=self.clock(),
            )
        )

    def write_back(self, state: SetupState, status: str, *, detail: str | None = None) -> None:
        """Tell the CRM how setup stands and each system's project id; the instant the CRM stamped
        on that write is kept, so its echo is known on sight."""
        outcome = SetupOutcome(
            status=status,
            projects=tuple(
                SetupProject(system=state.systems[Role(role)], role=Role(role), id=record_id)
                for role, record_id in state.engagements.items()
            ),
            detail=detail,
        )
        source = self.opportunities()
        stamped = source.write_back(state.opportunity_id, outcome)
        if stamped is not None:
            self.ledger.set_cursor(write_back_key(source.system, state.opportunity_id), stamped.isoformat())


def psa_project(state: SetupState) -> SourceRef | None:
    """The PSA project the engagement was set up as (None before the PSA holds it)."""
    if Role.PSA not in state.engagements:
        return None
    return SourceRef(system=state.systems[Role.PSA], type="projects", id=state.engagements[Role.PSA])
