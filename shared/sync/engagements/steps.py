"""The workflow's task steps, each a function of the setup's state and its ports, and the table of them.

Every step is idempotent, so a retried step never creates a second record. Dimensions are resolved
before the engagement shell is created: the targets take them at creation (EngagementTarget has no
later dimension write), and a missing mapping then stops the setup before anything exists that
would need compensating. The decisions themselves (what the deal becomes) are in `terms`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import MappingProxyType

from shared.domain.commercial import OpportunityStatus
from shared.domain.dimensions import FinancialDimensions
from shared.domain.engagement_ports import ApprovalRequest, ApprovalState, EngagementStatus
from shared.domain.engagements import Engagement
from shared.domain.errors import TransientError, ValidationFailed
from shared.domain.events import EngagementActivated
from shared.domain.metrics import BusinessMetric
from shared.domain.models import Account, EntityType, SourceRef, SystemName
from shared.domain.systems import Role
from shared.sync.engagements.context import SetupContext, psa_project
from shared.sync.engagements.state import SetupState, Step, exception_id
from shared.sync.engagements.terms import (
    as_held_by,
    assignment_of,
    engagement_of,
    legal_entity_of,
    rate_card_of,
)
from shared.sync.exceptions import resolve_exception


def _missing_customers(ctx: SetupContext, state: SetupState, account: SourceRef) -> list[SystemName]:
    return [
        system
        for system in state.systems.values()
        if ctx.ledger.cross_reference(EntityType.ACCOUNT, account, system) is None
    ]


def validate_customer(ctx: SetupContext, state: SetupState) -> SetupState:
    """The deal is won, its required fields are there and its customer is synced (syncing it if not)."""
    opportunity = ctx.opportunity(state)
    if opportunity.status is not OpportunityStatus.WON:
        raise ValidationFailed(f"opportunity {opportunity.source} is {opportunity.status}, not won")
    if opportunity.amount.amount <= 0:
        raise ValidationFailed(f"opportunity {opportunity.source}: field 'amount' must be positive")
    # One reading of the account serves this step and the next (`upsert_customer` syncs it).
    account = ctx.accounts().fetch_account(opportunity.account.id)
    if _missing_customers(ctx, state, opportunity.account):
        # Not synced yet (the account notice may still be queued): sync it now, then look again.
        ctx.account_sync().sync_account(opportunity.account.id, account=account)
    missing = _missing_customers(ctx, state, opportunity.account)
    if missing:
        raise ValidationFailed(
            f"account {opportunity.account.id} is not in {', '.join(missing)} after syncing it; "
            "see the account's open exceptions"
        )
    absent = [name for name in ctx.required_account_fields if getattr(account, name, None) in (None, "")]
    if absent:
        raise ValidationFailed(f"account {opportunity.account.id}: required field '{absent[0]}' is empty")
    return state.model_copy(
        update={
            "account_id": opportunity.account.id,
            "opportunity": opportunity.model_dump(mode="json"),
            "account": account.model_dump(mode="json"),
            "status": "validated",
        }
    )


def upsert_customer(ctx: SetupContext, state: SetupState) -> SetupState:
    """Client in the PSA and customer in accounting are current (idempotent: unchanged is a no-op)."""
    opportunity = ctx.opportunity(state)
    # The account as validation read it a step ago; a CRM edit since has its own notice.
    read = Account.model_validate(state.account) if state.account is not None else None
    ctx.account_sync().sync_account(opportunity.account.id, account=read)
    customers: dict[str, str] = {}
    for role, system in state.systems.items():
        xref = ctx.ledger.cross_reference(EntityType.ACCOUNT, opportunity.account, system)
        if xref is None:
            raise ValidationFailed(f"account {opportunity.account.id} has no customer in {system}")
        customers[role.value] = xref.target.id
    return state.model_copy(update={"customers": customers, "status": "customer_ready"})


def assign_dimensions(ctx: SetupContext, state: SetupState) -> SetupState:
    """Legal entity, class, revenue mapping and template from the landscape mappings."""
    opportunity = ctx.opportunity(state)
    # Chosen with the systems by the first step; a state begun before that derives it here, as then.
    entity = state.legal_entity or legal_entity_of(opportunity, ctx.landscape)
    assigned = assignment_of(
        opportunity,
        legal_entity=entity,
        mappings=ctx.mappings,
        psa=state.systems[Role.PSA],
        accounting=state.systems[Role.ACCOUNTING],
    )
    return state.model_copy(
        update={
            "legal_entity": entity,
            "template": assigned.template,
            "default_rate_card": assigned.default_rate_card,
            "dimensions": assigned.dimensions.model_dump(mode="json"),
            "posting_dimensions": assigned.posting,
            "revenue_account": assigned.revenue_account,
            "status": "dimensions_assigned",
        }
    )


def _engagement(ctx: SetupContext, state: SetupState) -> Engagement:
    if state.template is None or state.legal_entity is None:
        raise ValidationFailed("generate_shell ran before assign_dimensions: no template in the state")
    return engagement_of(
        ctx.opportunity(state),
        template=state.template,
        dimensions=FinancialDimensions.model_validate(state.dimensions),
        default_rate_card=state.default_rate_card,
    )


def generate_shell(ctx: SetupContext, state: SetupState) -> SetupState:
    """The engagement in DRAFT in the PSA (from the template) and in accounting; found, not duplicated."""
    opportunity = ctx.opportunity(state)
    engagement = _engagement(ctx, state)
    created = dict(state.engagements)
    reopened = list(state.reopened)
    for role, target in ctx.holders(state):
        held = as_held_by(role, engagement, state.posting_dimensions)
        existing = target.find_engagement(opportunity.source, customer_id=state.customers.get(role))
        if existing is not None and existing.status is EngagementStatus.CLOSED:
            # An earlier run was compensated (a retry, or the deal lost and won again): the same
            # engagement comes back as an unapproved draft with today's terms, never a second one.
            existing = target.reopen_engagement(existing.ref.id, held)
            reopened.append(role.value)
        if existing is not None and existing.status is EngagementStatus.ACTIVE:
            created[role.value] = existing.ref.id
            continue
        # New, or a draft an earlier attempt began: create_engagement finds and finishes it.
        record = target.create_engagement(
            held,
            customer_id=state.customers[role],
            idempotency_key=f"{state.execution}:{role.value}",
            searched=existing is None,
        )
        created[role.value] = record.ref.id
    return state.model_copy(update={"engagements": created, "reopened": reopened, "status": "shell_created"})


def apply_rate_card(ctx: SetupContext, state: SetupState) -> SetupState:
    """Contracted rates from the opportunity's lines, else the template's default card."""
    opportunity = ctx.opportunity(state)
    card, source = rate_card_of(
        opportunity, landscape=ctx.landscape, template=state.template, default_card=state.default_rate_card
    )
    for role, target in ctx.holders(state):
        target.apply_rate_card(state.engagements[role], card)
    rates = [
        {"role": line.role, "rate": str(line.rate.amount), "currency": line.rate.currency}
        for line in card.lines
    ]
    rated = state.model_copy(update={"rates": rates, "rates_source": source, "status": "rated"})
    # Time booked on the project from now on is parked until approval (not "unknown project").
    ctx.book(rated, opportunity, EngagementStatus.DRAFT)
    return rated


def request_approval(ctx: SetupContext, state: SetupState, token: str) -> SetupState:
    """Record what is to be approved, with the token that resumes the workflow; pending until decided."""
    opportunity = ctx.opportunity(state)
    existing = ctx.approvals.get(state.execution)
    request = ApprovalRequest(
        id=state.execution,
        opportunity=opportunity.source,
        customer=f"{opportunity.account.id} ({_pairs(state.customers)})",
        engagement=f"{opportunity.name} ({_pairs(state.engagements)})"
        + (f"; reopened after an earlier failed run: {', '.join(state.reopened)}" if state.reopened else ""),
        dimensions={**state.posting_dimensions, "revenue_account": state.revenue_account},
        rates=tuple(state.rates),
        budget=str(opportunity.amount.rounded()),
        task_token=token,
        # A retried step keeps the pending request's first time, so reminders count from it; a
        # new run after a rejection or timeout asks afresh.
        requested_at=(
            existing.requested_at
            if existing is not None and existing.state is ApprovalState.PENDING
            else ctx.clock()
        ),
    )
    ctx.approvals.put(request)
    # A gauge, as everywhere it is emitted: how many requests wait for a person right now.
    ctx.metrics.count(BusinessMetric.APPROVALS_PENDING, len(ctx.approvals.pending()))
    return state.model_copy(update={"approval_id": request.id, "status": "pending_approval"})


def activate(ctx: SetupContext, state: SetupState) -> SetupState:
    """Both engagements active; booked as active for the postings."""
    for role, target in ctx.holders(state):
        record = target.activate_engagement(state.engagements[role])
        if record.status is not EngagementStatus.ACTIVE:
            raise TransientError(f"{role} engagement {record.ref.id} is {record.status} after activation")
    # Booked as active before `notify` announces it: parked time released by the announcement
    # (or by the next sweep) finds the engagement ready to post to.
    ctx.book(state, ctx.opportunity(state), EngagementStatus.ACTIVE)
    return state.model_copy(update={"status": "active"})


def notify(ctx: SetupContext, state: SetupState) -> SetupState:
    """Delivery operations hear of it (SNS, for staffing) and the bus carries 'engagement activated'."""
    opportunity = ctx.opportunity(state)
    engagement = _engagement(ctx, state).model_copy(
        update={"approved_at": ctx.clock(), "project": psa_project(state)}
    )
    ctx.notifier().notify(
        f"Engagement active: {opportunity.name}"[:100],
        json.dumps(
            {
                "opportunity": opportunity.source.id,
                "engagements": state.engagements,
                "dimensions": state.posting_dimensions,
                "rates": state.rates,
                "budget": str(engagement.budget),
            }
        ),
        attributes={"kind": "engagement_activated"},
    )
    ctx.events().publish_events(
        [
            EngagementActivated(
                source=engagement.source,
                subject=engagement.source.id,
                correlation_id=state.execution,
                data=engagement,
            )
        ]
    )
    return state.model_copy(update={"status": "notified"})


def write_back(ctx: SetupContext, state: SetupState) -> SetupState:
    """The opportunity shows the project ids and 'active' (an external-id upsert: safe to repeat)."""
    ctx.write_back(state, "active")
    turnaround = (ctx.clock() - state.started_at).total_seconds()
    ctx.metrics.count(BusinessMetric.PROJECT_SETUP_TURNAROUND, max(turnaround, 0.0))
    # A run that completes after an earlier one failed settles that run's exception.
    resolve_exception(
        ctx.ledger,
        ctx.metrics,
        exception_id(state.execution),
        resolution=f"engagement active: {_pairs(state.engagements)}",
        at=ctx.clock(),
    )
    return state.model_copy(update={"status": "done"})


def _pairs(values: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in values.items())


# A step as the table runs it: the context, the state, and the workflow's task token (when waiting).
StepRun = Callable[[SetupContext, SetupState, str | None], SetupState]


def _no_token(step: Callable[[SetupContext, SetupState], SetupState]) -> StepRun:
    return lambda ctx, state, _token: step(ctx, state)


def _with_token(ctx: SetupContext, state: SetupState, token: str | None) -> SetupState:
    if not token:
        raise ValidationFailed("request_approval needs the workflow's task token")
    return request_approval(ctx, state, token)


# Step name -> what runs it. Compensation is no task of this table: it runs on the failure a Catch
# hands over (`EngagementSetup.compensate`), not on a state alone.
STEPS: Mapping[Step, StepRun] = MappingProxyType(
    {
        Step.VALIDATE_CUSTOMER: _no_token(validate_customer),
        Step.UPSERT_CUSTOMER: _no_token(upsert_customer),
        Step.ASSIGN_DIMENSIONS: _no_token(assign_dimensions),
        Step.GENERATE_SHELL: _no_token(generate_shell),
        Step.APPLY_RATE_CARD: _no_token(apply_rate_card),
        Step.REQUEST_APPROVAL: _with_token,
        Step.ACTIVATE: _no_token(activate),
        Step.NOTIFY: _no_token(notify),
        Step.WRITE_BACK: _no_token(write_back),
    }
)
