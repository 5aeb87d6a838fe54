"""Engagement setup: a closed-won opportunity becomes an approved, active engagement, or an exception.

The Step Functions workflow (infra/statemachines/close_to_cash.asl.json) calls `EngagementSetup.run`
once per step with a small JSON state and stores what the step returns; each step is a function of
that state and the ports, and is idempotent, so a retried step never creates a second record.

Dimensions are resolved before the engagement shell is created: the targets take them at creation
(EngagementTarget has no later dimension write), and a missing mapping then stops the setup before
anything exists that would need compensating.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import Field

from shared.domain.billing_runs import BillingTerms, milestone_terms
from shared.domain.commercial import (
    IncompleteOpenDeal,
    Opportunity,
    OpportunityStatus,
    RateCard,
    RateCardLine,
)
from shared.domain.delivery_ports import BookedEngagement
from shared.domain.dimensions import FinancialDimensions
from shared.domain.engagements import BillingModel, Engagement, Milestone
from shared.domain.errors import NotFoundError, PermanentError, TransientError, ValidationFailed
from shared.domain.events import EngagementActivated
from shared.domain.models import Account, CanonicalModel, EntityType, SourceRef, SystemName, utcnow
from shared.domain.money import Money
from shared.domain.ports import (
    AccountSource,
    ApprovalRequest,
    ApprovalState,
    ApprovalStore,
    Decision,
    EngagementStatus,
    EngagementTarget,
    EventPublisher,
    ExceptionRecord,
    Ledger,
    Metrics,
    Notifier,
    OpportunitySource,
    SetupOutcome,
    TaskCallback,
    WorkflowStarter,
)
from shared.governance.landscape import Landscape
from shared.governance.mappings import MappingMissing, Mappings
from shared.sync.dimensions import DimensionMapper
from shared.sync.exceptions import open_exception, resolve_exception
from shared.sync.write_back import is_write_back_echo, write_back_key

if TYPE_CHECKING:
    from shared.domain.delivery_ports import EngagementBook
    from shared.domain.notices import ChangeNotice
    from shared.sync.accounts import AccountSync

# Step Functions execution names: 1-80 characters of letters, digits, '-' and '_'.
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
EXECUTION_NAME_MAX = 80
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
REJECTED_ERROR = "Rejected"
# How long a decision's writer holds its callback; longer than the approvals_api timeout (10 s), so
# only a writer that died lets a retry or the reminder deliver the decision in its place.
DELIVERY_LEASE = timedelta(seconds=60)


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


class Step(StrEnum):
    """The workflow's task steps, in order (the ASL file names each in its Task's Parameters)."""

    VALIDATE_CUSTOMER = "validate_customer"
    UPSERT_CUSTOMER = "upsert_customer"
    ASSIGN_DIMENSIONS = "assign_dimensions"
    GENERATE_SHELL = "generate_shell"
    APPLY_RATE_CARD = "apply_rate_card"
    REQUEST_APPROVAL = "request_approval"
    ACTIVATE = "activate"
    NOTIFY = "notify"
    WRITE_BACK = "write_back"
    COMPENSATE = "compensate"


class StepTransientError(TransientError):
    """A step failed on something a later attempt may not meet; the state's Retry matches this name."""


class StepPermanentError(PermanentError):
    """A step failed on something only a person can fix; the state's Catch compensates on this name."""


class AlreadyDecided(ValidationFailed):
    """An approval request that was approved, rejected or timed out earlier: answered 409."""


class SetupState(CanonicalModel):
    """What the workflow carries from step to step (JSON, well below Step Functions' 256 KB)."""

    opportunity_id: str = Field(min_length=1)
    close_version: str | None = None
    execution: str = Field(min_length=1)
    started_at: datetime
    account_id: str | None = None
    customers: dict[str, str] = Field(default_factory=dict, description="system -> customer id")
    legal_entity: str | None = None
    dimensions: dict[str, str | None] = Field(default_factory=dict)
    posting_dimensions: dict[str, str | None] = Field(default_factory=dict)
    revenue_account: str | None = None
    template: str | None = None
    default_rate_card: str | None = None
    engagements: dict[str, str] = Field(default_factory=dict, description="role -> record id created")
    rates: list[dict[str, str]] = Field(default_factory=list)
    rates_source: str | None = None
    approval_id: str | None = None
    reopened: list[str] = Field(
        default_factory=list, description="roles whose closed engagement was reopened"
    )
    status: str = "started"
    # The opportunity as the CRM had it when setup validated it: every later step works from this one
    # reading (one fetch per setup, not one per step), and all steps agree on what was sold.
    opportunity: dict[str, Any] | None = None
    # The customer's account as validation read it, for the next step (one CRM read, not two).
    account: dict[str, Any] | None = None


def execution_name(opportunity_id: str, close_version: str | None) -> str:
    """Deterministic and legal for Step Functions: the same close of the same deal, the same name."""
    version = _NAME_UNSAFE.sub("-", close_version or "0").strip("-") or "0"
    name = f"opp-{_NAME_UNSAFE.sub('-', opportunity_id).strip('-')}-{version}"
    return name[:EXECUTION_NAME_MAX]


def initial_state(
    opportunity_id: str,
    close_version: str | None,
    *,
    now: datetime,
    opportunity: Opportunity | None = None,
) -> dict[str, Any]:
    """The workflow's input state for one close of one opportunity.

    `opportunity`: the deal as the start just read it, so validation need not read it again (a
    `workflow retry` drops it from the input, so a retried setup reads the deal as fixed).
    """
    return SetupState(
        opportunity_id=opportunity_id,
        close_version=close_version,
        execution=execution_name(opportunity_id, close_version),
        started_at=now,
        opportunity=opportunity.model_dump(mode="json") if opportunity is not None else None,
    ).model_dump(mode="json")


def exception_id(execution: str) -> str:
    """The one exception a setup opens when it fails; its retries reopen or resolve the same one."""
    return f"setup:{execution}"


def retry_command(execution: str) -> str:
    """What a person runs once the cause is fixed: a new execution with the same input."""
    return f"close2cash workflow retry {execution}"


class EngagementSetup:
    """The use case behind the `engagement_step` task function: one method per workflow step."""

    def __init__(
        self,
        *,
        opportunities: Callable[[], OpportunitySource],
        psa: Callable[[], EngagementTarget],
        accounting: Callable[[], EngagementTarget],
        accounts: Callable[[], AccountSource],
        account_sync: Callable[[], AccountSync],
        ledger: Ledger,
        approvals: ApprovalStore,
        notifier: Callable[[], Notifier],
        events: Callable[[], EventPublisher],
        metrics: Metrics,
        mappings: Mappings,
        landscape: Landscape,
        required_account_fields: Sequence[str] = ("name",),
        clock: Callable[[], datetime] = utcnow,
        bookings: Callable[[], EngagementBook] | None = None,
    ) -> None:
        self._bookings = bookings
        self._opportunities = opportunities
        self._targets = {"psa": psa, "accounting": accounting}
        self._accounts = accounts
        self._account_sync = account_sync
        self._ledger = ledger
        self._approvals = approvals
        self._notifier = notifier
        self._events = events
        self._metrics = metrics
        self._mappings = mappings
        self._landscape = landscape
        self._required = tuple(required_account_fields)
        self._clock = clock

    # --- dispatch ------------------------------------------------------------------------------

    def run(self, step: str, state: Mapping[str, Any], *, token: str | None = None) -> dict[str, Any]:
        """Run one step on `state`; errors leave as StepTransientError or StepPermanentError."""
        current = SetupState.model_validate(state)
        try:
            which = Step(step)
        except ValueError:
            raise StepPermanentError(
                f"{step}: no such step (expected one of {[s.value for s in Step]})"
            ) from None
        try:
            match which:
                case Step.REQUEST_APPROVAL:
                    if not token:
                        raise ValidationFailed("request_approval needs the workflow's task token")
                    result = self.request_approval(current, token)
                case _:
                    result = getattr(self, which.value)(current)
        except TransientError as exc:
            raise StepTransientError(f"{which}: {exc}") from exc
        except PermanentError as exc:
            raise StepPermanentError(f"{which}: {exc}") from exc
        return dict(result.model_dump(mode="json"))

    # --- the steps -------------------------------------------------------------------------------

    def _opportunity(self, state: SetupState) -> Opportunity:
        if state.opportunity is not None:
            return Opportunity.model_validate(state.opportunity)
        return self._opportunities().fetch_opportunity(state.opportunity_id)

    def _target_systems(self) -> dict[str, SystemName]:
        return {role: target().system for role, target in self._targets.items()}

    def _missing_customers(self, account: SourceRef) -> list[SystemName]:
        return [
            system
            for system in self._target_systems().values()
            if self._ledger.cross_reference(EntityType.ACCOUNT, account, system) is None
        ]

    def validate_customer(self, state: SetupState) -> SetupState:
        """The deal is won, its required fields are there and its customer is synced (syncing it if not)."""
        opportunity = self._opportunity(state)
        if opportunity.status is not OpportunityStatus.WON:
            raise ValidationFailed(f"opportunity {opportunity.source} is {opportunity.status}, not won")
        if opportunity.amount.amount <= 0:
            raise ValidationFailed(f"opportunity {opportunity.source}: field 'amount' must be positive")
        # One reading of the account serves this step and the next (`upsert_customer` syncs it).
        account = self._accounts().fetch_account(opportunity.account.id)
        if self._missing_customers(opportunity.account):
            # Not synced yet (the account notice may still be queued): sync it now, then look again.
            self._account_sync().sync_account(opportunity.account.id, account=account)
        missing = self._missing_customers(opportunity.account)
        if missing:
            raise ValidationFailed(
                f"account {opportunity.account.id} is not in {', '.join(missing)} after syncing it; "
                "see the account's open exceptions"
            )
        absent = [name for name in self._required if getattr(account, name, None) in (None, "")]
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

    def upsert_customer(self, state: SetupState) -> SetupState:
        """Client in the PSA and customer in accounting are current (idempotent: unchanged is a no-op)."""
        opportunity = self._opportunity(state)
        # The account as validation read it a step ago; a CRM edit since has its own notice.
        read = Account.model_validate(state.account) if state.account is not None else None
        self._account_sync().sync_account(opportunity.account.id, account=read)
        customers: dict[str, str] = {}
        for role, system in self._target_systems().items():
            xref = self._ledger.cross_reference(EntityType.ACCOUNT, opportunity.account, system)
            if xref is None:
                raise ValidationFailed(f"account {opportunity.account.id} has no customer in {system}")
            customers[role] = xref.target.id
        return state.model_copy(update={"customers": customers, "status": "customer_ready"})

    def _legal_entity(self, opportunity: Opportunity) -> str:
        # The opportunity says its currency, not its company: the entity that books in that currency.
        currency = opportunity.amount.currency
        entities = [e.code for e in self._landscape.legal_entities if e.functional_currency == currency]
        if len(entities) != 1:
            raise ValidationFailed(
                f"opportunity {opportunity.source}: field 'legal_entity' cannot be derived from currency "
                f"{currency} (legal entities booking in it: {entities or 'none'})"
            )
        return entities[0]

    def assign_dimensions(self, state: SetupState) -> SetupState:
        """Legal entity, class, revenue mapping and template from the landscape mappings."""
        opportunity = self._opportunity(state)
        systems = self._target_systems()
        entity = self._legal_entity(opportunity)
        template = self._mappings.row(
            "project_templates",
            opportunity.service_line,
            source=opportunity.source.system,
            target=systems["psa"],
            legal_entity=entity,
        )
        dimensions = FinancialDimensions(
            legal_entity=entity,
            accounting_class=opportunity.service_line,
            department=opportunity.department,
            location=opportunity.location,
            cost_center=opportunity.cost_center,
        )
        mapper = DimensionMapper(
            self._mappings, source=opportunity.source.system, target=systems["accounting"]
        )
        posting = mapper.map(dimensions)
        try:
            revenue: str | None = self._mappings.map(
                "revenue_accounts",
                opportunity.service_line,
                source=systems["psa"],
                target=systems["accounting"],
                legal_entity=entity,
            )
        except MappingMissing:
            # Revenue is mapped per service on each time entry; a service line without its own row
            # is not an error here, the postings will name what is missing.
            revenue = None
        return state.model_copy(
            update={
                "legal_entity": entity,
                "template": template.target,
                "default_rate_card": getattr(template, "rate_card", None),
                "dimensions": dimensions.model_dump(mode="json"),
                "posting_dimensions": posting.model_dump(mode="json"),
                "revenue_account": revenue,
                "status": "dimensions_assigned",
            }
        )

    def _engagement(self, state: SetupState, opportunity: Opportunity) -> Engagement:
        if state.template is None or state.legal_entity is None:
            raise ValidationFailed("generate_shell ran before assign_dimensions: no template in the state")
        model = opportunity.billing_model or BillingModel.TIME_AND_MATERIALS
        budget = opportunity.amount.rounded()
        card = SourceRef(
            system=opportunity.source.system,
            type="rate_card",
            id=state.default_rate_card or f"{opportunity.source.id}-contracted",
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
            template=state.template,
            billing_model=model,
            currency=opportunity.amount.currency,
            rate_card=card if model is BillingModel.TIME_AND_MATERIALS else None,
            dimensions=FinancialDimensions.model_validate(state.dimensions),
            budget=budget,
            start_date=opportunity.close_date,
            **extra,
        )

    @staticmethod
    def _as_held_by(role: str, engagement: Engagement, state: SetupState) -> Engagement:
        """The engagement with its dimensions as `role`'s system names them.

        The PSA keeps the firm's own codes; accounting gets the values the mapping tables translated
        them to (class and department ids), because that is what its postings will carry.
        """
        if role != "accounting" or not state.posting_dimensions:
            return engagement
        posting = state.posting_dimensions
        held = FinancialDimensions(
            legal_entity=engagement.dimensions.legal_entity,
            department=posting.get("department"),
            accounting_class=posting.get("accounting_class"),
            location=posting.get("location"),
            cost_center=posting.get("cost_center"),
        )
        return engagement.model_copy(update={"dimensions": held})

    def generate_shell(self, state: SetupState) -> SetupState:
        """The engagement in DRAFT in the PSA (from the template) and in accounting; found, not duplicated."""
        opportunity = self._opportunity(state)
        engagement = self._engagement(state, opportunity)
        created = dict(state.engagements)
        reopened = list(state.reopened)
        for role, target_of in self._targets.items():
            target = target_of()
            held = self._as_held_by(role, engagement, state)
            existing = target.find_engagement(opportunity.source, customer_id=state.customers.get(role))
            if existing is not None and existing.status is EngagementStatus.CLOSED:
                # An earlier run was compensated (a retry, or the deal lost and won again): the same
                # engagement comes back as an unapproved draft with today's terms, never a second one.
                existing = target.reopen_engagement(existing.ref.id, held)
                reopened.append(role)
            if existing is not None and existing.status is EngagementStatus.ACTIVE:
                created[role] = existing.ref.id
                continue
            # New, or a draft an earlier attempt began: create_engagement finds and finishes it.
            record = target.create_engagement(
                held,
                customer_id=state.customers[role],
                idempotency_key=f"{state.execution}:{role}",
                searched=existing is None,
            )
            created[role] = record.ref.id
        return state.model_copy(
            update={"engagements": created, "reopened": reopened, "status": "shell_created"}
        )

    def apply_rate_card(self, state: SetupState) -> SetupState:
        """Contracted rates from the opportunity's lines, else the template's default card."""
        opportunity = self._opportunity(state)
        if opportunity.lines:
            card, source = self._contracted_card(opportunity), "opportunity lines"
        else:
            card = self._default_card(state, opportunity)
            source = f"template card {card.name}"
        for role, target_of in self._targets.items():
            target_of().apply_rate_card(state.engagements[role], card)
        rates = [
            {"role": line.role, "rate": str(line.rate.amount), "currency": line.rate.currency}
            for line in card.lines
        ]
        rated = state.model_copy(update={"rates": rates, "rates_source": source, "status": "rated"})
        # Time booked on the project from now on is parked until approval (not "unknown project").
        self._book(rated, opportunity, EngagementStatus.DRAFT)
        return rated

    @staticmethod
    def _contracted_card(opportunity: Opportunity) -> RateCard:
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

    def _default_card(self, state: SetupState, opportunity: Opportunity) -> RateCard:
        """The template's card from the landscape in the deal's currency, or an error naming the gap."""
        name = state.default_rate_card
        where = f"opportunity {opportunity.source} has no priced lines and"
        if name is None:
            raise ValidationFailed(
                f"{where} its project template {state.template} names no default rate card"
            )
        defined = self._landscape.rate_card_named(name)
        if defined is None:
            raise ValidationFailed(
                f"{where} rate card {name!r} of template {state.template} has no rates in the landscape: "
                "add a [[rate_card]] with its rates per role"
            )
        currency = opportunity.amount.currency
        if defined.currency != currency:
            raise ValidationFailed(
                f"{where} rate card {name!r} is in {defined.currency}, the deal in {currency}: "
                f"map template {state.template} to a card in {currency}"
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

    def request_approval(self, state: SetupState, token: str) -> SetupState:
        """Record what is to be approved, with the token that resumes the workflow; pending until decided."""
        opportunity = self._opportunity(state)
        existing = self._approvals.get(state.execution)
        request = ApprovalRequest(
            id=state.execution,
            opportunity=opportunity.source,
            customer=f"{opportunity.account.id} ({_pairs(state.customers)})",
            engagement=f"{opportunity.name} ({_pairs(state.engagements)})"
            + (
                f"; reopened after an earlier failed run: {', '.join(state.reopened)}"
                if state.reopened
                else ""
            ),
            dimensions={**state.posting_dimensions, "revenue_account": state.revenue_account},
            rates=tuple(state.rates),
            budget=str(opportunity.amount.rounded()),
            task_token=token,
            # A retried step keeps the pending request's first time, so reminders count from it; a
            # new run after a rejection or timeout asks afresh.
            requested_at=(
                existing.requested_at
                if existing is not None and existing.state is ApprovalState.PENDING
                else self._clock()
            ),
        )
        self._approvals.put(request)
        # A gauge, as everywhere it is emitted: how many requests wait for a person right now.
        self._metrics.count("ApprovalsPending", len(self._approvals.pending()))
        return state.model_copy(update={"approval_id": request.id, "status": "pending_approval"})

    def activate(self, state: SetupState) -> SetupState:
        for role, target_of in self._targets.items():
            record = target_of().activate_engagement(state.engagements[role])
            if record.status is not EngagementStatus.ACTIVE:
                raise TransientError(f"{role} engagement {record.ref.id} is {record.status} after activation")
        # Booked as active before `notify` announces it: parked time released by the announcement
        # (or by the next sweep) finds the engagement ready to post to.
        self._book(state, self._opportunity(state), EngagementStatus.ACTIVE)
        return state.model_copy(update={"status": "active"})

    def _book(self, state: SetupState, opportunity: Opportunity, status: EngagementStatus) -> None:
        """Record the engagement as postings need it (project, sub-customer, codes, rates)."""
        if self._bookings is None or "psa" not in state.engagements or state.legal_entity is None:
            return
        systems = self._target_systems()
        self._bookings().save_engagement(
            BookedEngagement(
                psa=SourceRef(system=systems["psa"], type="projects", id=state.engagements["psa"]),
                opportunity=opportunity.source,
                name=opportunity.name,
                legal_entity=state.legal_entity,
                currency=opportunity.amount.currency,
                status=status,
                accounting={systems["accounting"]: state.engagements["accounting"]}
                if "accounting" in state.engagements
                else {},
                dimensions=dict(state.posting_dimensions),
                rates={line["role"]: Decimal(line["rate"]) for line in state.rates},
                account=opportunity.account,
                billing=billing_terms(opportunity),
                booked=opportunity.amount.rounded(),
                updated_at=self._clock(),
            )
        )

    def notify(self, state: SetupState) -> SetupState:
        """Delivery operations hear of it (SNS, for staffing) and the bus carries 'engagement activated'."""
        opportunity = self._opportunity(state)
        engagement = self._engagement(state, opportunity).model_copy(update={"approved_at": self._clock()})
        self._notifier().notify(
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
        self._events().publish_events(
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

    def write_back(self, state: SetupState) -> SetupState:
        """The opportunity shows the project ids and 'active' (an external-id upsert: safe to repeat)."""
        self._write_back(
            state.opportunity_id,
            SetupOutcome(
                status="active",
                psa_project_id=state.engagements.get("psa"),
                accounting_project_id=state.engagements.get("accounting"),
            ),
        )
        turnaround = (self._clock() - state.started_at).total_seconds()
        self._metrics.count("ProjectSetupTurnaround", max(turnaround, 0.0), unit="Seconds")
        # A run that completes after an earlier one failed settles that run's exception.
        resolve_exception(
            self._ledger,
            self._metrics,
            exception_id(state.execution),
            resolution=f"engagement active: {_pairs(state.engagements)}",
            at=self._clock(),
        )
        return state.model_copy(update={"status": "done"})

    def _write_back(self, opportunity_id: str, outcome: SetupOutcome) -> None:
        """Write the outcome; the instant the CRM stamped on it is kept, so its echo is known on sight."""
        source = self._opportunities()
        stamped = source.write_back(opportunity_id, outcome)
        if stamped is not None:
            self._ledger.set_cursor(write_back_key(source.system, opportunity_id), stamped.isoformat())

    # --- compensation --------------------------------------------------------------------------

    def compensate(self, state: Mapping[str, Any], error: Mapping[str, Any]) -> dict[str, Any]:
        """Close what this execution created, open an exception naming step and cause, tell the CRM."""
        current = SetupState.model_validate(state)
        step, cause, rejected = _failure_of(error)
        engagements = dict(current.engagements)
        if len(engagements) < len(self._targets):
            # The failed step may have created a shell in one target before another refused: the
            # state never heard of it, the stamp on it still finds it.
            deal = self._opportunity(current)
            for role, target_of in self._targets.items():
                if role not in engagements:
                    found = target_of().find_engagement(deal.source, customer_id=current.customers.get(role))
                    if found is not None:
                        engagements[role] = found.ref.id
        for role, record_id in engagements.items():
            # Idempotent in the targets: closing a closed engagement leaves it closed.
            self._targets[role]().close_engagement(
                record_id, reason=f"setup {current.execution}: {cause}"[:255]
            )
        current = current.model_copy(update={"engagements": engagements})
        if current.opportunity is not None:
            # Time parked for it stays parked, saying the engagement is closed.
            self._book(current, self._opportunity(current), EngagementStatus.CLOSED)
        # The approval request is keyed by the setup's name; the waiting state's result never
        # reaches $.state, so a timeout arrives here without the id in the state. A rejection is
        # recorded by the approval route itself, which must not be overwritten here.
        # A failure of the approval step that is not a rejection (the wait's timeout) means the
        # workflow never heard a decision, whatever was recorded but not yet delivered.
        if not rejected and step == Step.REQUEST_APPROVAL.value:
            self._approvals.time_out(current.execution)
        status = "rejected" if rejected else "failed"
        kind = "engagement_rejected" if rejected else "engagement_setup_failed"
        opportunity = SourceRef(
            system=self._opportunities().system, type="opportunity", id=current.opportunity_id
        )
        open_exception(
            self._ledger,
            self._metrics,
            ExceptionRecord(
                id=exception_id(current.execution),
                kind=kind,
                entity=EntityType.OPPORTUNITY,
                subject=opportunity,
                reason=(
                    f"step {step} failed: {cause}; closed: {current.engagements or 'nothing'}; "
                    f"retry with: {retry_command(current.execution)}"
                )[:2000],
                opened_at=self._clock(),
            ),
        )
        self._metrics.count("WorkflowFailures", dimensions={"step": step})
        self._write_back(
            current.opportunity_id,
            SetupOutcome(
                status=status,
                psa_project_id=current.engagements.get("psa"),
                accounting_project_id=current.engagements.get("accounting"),
                detail=f"{step}: {cause}"[:1000],
            ),
        )
        return {**current.model_dump(mode="json"), "status": status, "failed_step": step, "cause": cause}


def _pairs(values: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in values.items())


def _one_line_per_role(opportunity: Opportunity) -> list[Any]:
    # Two lines for one role at different rates cannot both be "the" rate: the first one sold wins.
    seen: dict[str, Any] = {}
    for line in opportunity.lines:
        seen.setdefault(line.role, line)
    return list(seen.values())


def _failure_of(error: Mapping[str, Any]) -> tuple[str, str, bool]:
    """(step, cause, rejected) from a Catch's {"Error", "Cause"}; a Lambda error's Cause is JSON."""
    name = str(error.get("Error") or "Unknown")
    raw = error.get("Cause")
    message = str(raw or name)
    try:
        parsed = json.loads(message)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        message = str(parsed["errorMessage"])
    if name == REJECTED_ERROR:
        return Step.REQUEST_APPROVAL.value, f"rejected: {message}", True
    if name in ("States.Timeout", "States.HeartbeatTimeout"):
        return Step.REQUEST_APPROVAL.value, "no approval decision before the timeout", False
    step, sep, rest = message.partition(": ")
    if sep and step in {s.value for s in Step}:
        return step, rest, False
    return "unknown", f"{name}: {message}", False


class ApprovalDecision(CanonicalModel):
    """What the approval route reports back."""

    id: str
    state: ApprovalState


class ApprovalDesk:
    """The approval routes and the reminder: list pending requests, approve, reject with a reason.

    A decision is one conditional write on the request (still pending -> decided, by whom, when)
    made BEFORE the workflow's task token is answered: of concurrent decisions exactly one wins,
    the others are refused (409) and change nothing, so the workflow hears one answer, the one the
    record keeps. The winner holds the callback for DELIVERY_LEASE; if it dies between the write
    and the callback (at-least-once), the decision stays "decided, callback pending": the same
    approver repeating the same decision, or the hourly reminder, takes the delivery over once the
    lease has run out and completes it.
    """

    def __init__(
        self,
        *,
        approvals: ApprovalStore,
        callback: Callable[[], TaskCallback],
        notifier: Callable[[], Notifier],
        metrics: Metrics,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._approvals = approvals
        self._callback = callback
        self._notifier = notifier
        self._metrics = metrics
        self._clock = clock

    def pending(self) -> list[ApprovalRequest]:
        """The requests waiting for a decision, oldest first (and the ApprovalsPending gauge)."""
        waiting = sorted(self._approvals.pending(), key=lambda r: r.requested_at)
        self._metrics.count("ApprovalsPending", len(waiting))
        return waiting

    def approve(self, approval_id: str, *, by: str) -> ApprovalDecision:
        return self._decide(approval_id, ApprovalState.APPROVED, by=by, reason=None)

    def reject(self, approval_id: str, *, by: str, reason: str) -> ApprovalDecision:
        if not reason.strip():
            raise ValidationFailed("field 'reason' is required to reject")
        return self._decide(approval_id, ApprovalState.REJECTED, by=by, reason=reason)

    def _decide(
        self, approval_id: str, decision: ApprovalState, *, by: str, reason: str | None
    ) -> ApprovalDecision:
        request = self._approvals.get(approval_id)
        if request is None:
            raise LookupError(f"no approval request {approval_id!r}")
        now = self._clock()
        if request.state is ApprovalState.PENDING:
            if not self._approvals.decide(
                approval_id,
                Decision(state=decision, by=by, at=now, reason=reason, deliver_until=now + DELIVERY_LEASE),
            ):
                raise self._refusal(self._approvals.get(approval_id) or request)
            decided = request.model_copy(
                update={"state": decision, "decided_by": by, "decided_at": now, "reason": reason}
            )
            self._deliver(decided, first=True)
        elif request.state is decision and request.decided_by == by and request.delivered_at is None:
            # The same approver again, after a decision whose callback never completed.
            if not self._approvals.claim_delivery(approval_id, now=now, until=now + DELIVERY_LEASE):
                raise self._refusal(request)
            self._deliver(request, first=False)
        else:
            raise self._refusal(request)
        self._metrics.count("ApprovalsPending", len(self._approvals.pending()))
        return ApprovalDecision(id=approval_id, state=decision)

    @staticmethod
    def _refusal(request: ApprovalRequest) -> AlreadyDecided:
        if request.state is ApprovalState.PENDING:
            return AlreadyDecided(f"approval request {request.id} changed meanwhile; try again")
        by = f" by {request.decided_by}" if request.decided_by else ""
        return AlreadyDecided(
            f"approval request {request.id} is already {request.state}{by}"
            + ("; its delivery to the workflow is in progress" if request.delivered_at is None else "")
        )

    def _deliver(self, request: ApprovalRequest, *, first: bool) -> None:
        """Answer the task token with the recorded decision, then mark the request delivered.

        A workflow that stopped waiting (its timeout passed) makes a fresh decision timed out, and
        the decision is refused as already decided rather than lost without a word. On a delivery
        taken over after a crash, "not waiting" may also mean the crashed holder had told it:
        the decision stands (a timeout's compensation records the timeout itself).
        """
        try:
            if request.state is ApprovalState.APPROVED:
                at = request.decided_at or self._clock()
                approved = {"approved_by": request.decided_by, "approved_at": at.isoformat()}
                self._callback().succeed(request.task_token, approved)
            else:
                self._callback().fail(
                    request.task_token, error=REJECTED_ERROR, cause=(request.reason or "")[:256]
                )
        except NotFoundError as exc:
            if not first:
                self._approvals.delivered(request.id, at=self._clock())
                raise AlreadyDecided(
                    f"approval request {request.id}: setup no longer waits for a decision ({exc}); "
                    f"see close2cash workflow show {request.id}"
                ) from exc
            self._approvals.time_out(request.id)
            raise AlreadyDecided(
                f"approval request {request.id} timed out: setup no longer waits for a decision "
                f"({exc}); see close2cash workflow show {request.id}"
            ) from exc
        except BaseException:
            # Nothing reached the workflow: an immediate retry by the same approver may deliver it.
            self._approvals.release_delivery(request.id)
            raise
        self._approvals.delivered(request.id, at=self._clock())

    def complete_deliveries(self, *, now: datetime | None = None) -> list[str]:
        """Deliver decisions whose callback never completed (their holder's lease ran out); their ids."""
        moment = now or self._clock()
        completed: list[str] = []
        for request in self._approvals.undelivered():
            if not self._approvals.claim_delivery(request.id, now=moment, until=moment + DELIVERY_LEASE):
                continue
            # AlreadyDecided: the workflow no longer waits; the request is settled either way.
            with contextlib.suppress(AlreadyDecided):
                self._deliver(request, first=False)
            completed.append(request.id)
        return completed

    def remind(self, *, older_than: timedelta, now: datetime | None = None) -> list[str]:
        """Publish one reminder per request pending longer than `older_than`; returns their ids."""
        moment = now or self._clock()
        due = [r for r in self.pending() if r.reminded_at is None and moment - r.requested_at >= older_than]
        for request in due:
            waited = int((moment - request.requested_at).total_seconds() // 3600)
            self._notifier().notify(
                f"Approval pending {waited} h: {request.engagement}"[:100],
                json.dumps(
                    {"approval": request.id, "opportunity": request.opportunity.id, "budget": request.budget}
                ),
                attributes={"kind": "approval_reminder"},
            )
            self._approvals.reminded(request.id, at=moment)
        return [r.id for r in due]


class WorkflowStart:
    """The use case behind `workflow_start`: a closed-won notice starts setup once per close.

    Only a won deal is checked for what setup needs: an open deal without a service line is skipped
    (counted as OpenDealsSkipped), not refused. A notice that can never start setup (the opportunity
    was deleted, a won deal cannot be mapped, a connection is misconfigured) opens an exception
    naming the opportunity, the step and the cause, and the message is done, not retried.
    """

    def __init__(
        self,
        *,
        opportunities: Callable[[], OpportunitySource],
        starter: Callable[[], WorkflowStarter],
        ledger: Ledger,
        metrics: Metrics,
        approval_timeout_seconds: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._opportunities = opportunities
        self._starter = starter
        self._ledger = ledger
        self._metrics = metrics
        self._timeout = approval_timeout_seconds
        self._clock = clock

    def on_notice(self, notice: ChangeNotice) -> str | None:
        """The execution name started, or None (not won, a duplicate, or an exception opened)."""
        if notice.won is False:
            # The notice itself says the deal is open: nothing to set up, and no fetch to learn it.
            return None
        if is_write_back_echo(self._ledger, notice):
            # The echo of the hub's own write-back that reached the bus before the hub recorded
            # the write's instant (shared/sync/write_back.py): nothing changed that could start a
            # setup, and the deal need not be fetched to know it.
            self._metrics.count("EchoesSuppressed", dimensions={"flow": "engagement_setup"})
            return None
        try:
            opportunity = self._opportunities().fetch_opportunity(notice.record_id)
        except IncompleteOpenDeal:
            self._metrics.count("OpenDealsSkipped")
            return None
        except PermanentError as exc:
            self._cannot_start(notice, exc)
            return None
        if opportunity.status is not OpportunityStatus.WON:
            return None
        # The close version is when the stage last changed: a replayed notice, an edit and the hub's
        # own write-back keep it (one execution); a re-opened and re-closed deal moves it. Without
        # it, the record's version stands in (every edit is then a new close).
        version = (
            opportunity.stage_changed_at.isoformat()
            if opportunity.stage_changed_at is not None
            else opportunity.source.version
        )
        state = initial_state(opportunity.source.id, version, now=self._clock(), opportunity=opportunity)
        payload = {"state": state, "approval_timeout_seconds": self._timeout}
        try:
            started = self._starter().start(state["execution"], payload)
        except PermanentError as exc:
            self._cannot_start(notice, exc)
            return None
        if not started:
            self._metrics.count("DuplicatesPrevented", dimensions={"flow": "engagement_setup"})
            return None
        return str(state["execution"])

    def _cannot_start(self, notice: ChangeNotice, exc: PermanentError) -> None:
        deleted = isinstance(exc, NotFoundError)
        open_exception(
            self._ledger,
            self._metrics,
            ExceptionRecord(
                id=f"start:{notice.provider}:{notice.record_id}:{type(exc).__name__}",
                kind="deleted_at_source" if deleted else type(exc).__name__,
                entity=EntityType.OPPORTUNITY,
                subject=SourceRef(system=notice.provider, type=notice.vendor_type, id=notice.record_id),
                reason=f"engagement setup not started for {notice.provider} {notice.vendor_type} "
                f"{notice.record_id}: {exc}",
                step="workflow_start",
                opened_at=self._clock(),
            ),
        )
        self._metrics.count("FailedTransactions", dimensions={"flow": "engagement_setup"})
