"""Billing runs: one engagement's period becomes one invoice in the accounting system the routing names.

The Step Functions workflow (infra/statemachines/billing_run.asl.json) calls `BillingRuns.step` once
per state with a small JSON state: compose -> (approval, when the total is above the landscape's
threshold) -> post -> feedback. Each step is idempotent:

- the run is one ledger item per engagement and period (`run_id`); a run already posted composes
  nothing new, so a repeated run (the schedule and a person on the same day) creates nothing;
- the invoice's number is stable for engagement and period, and the connector finds an invoice of
  that number before it creates one, with the ledger's own idempotency device (QBO `requestid`)
  on the create: a step retried after a timeout finds what the first attempt wrote;
- a refusal by the ledger (closed period, inactive item, tax code missing) is not an error of the
  workflow: the run is REFUSED, an exception names the invoice and the vendor's reason, and
  `close2cash billing retry RUN` starts a new attempt once a person has fixed the cause.

What is billable is read from the ledger of postings (shared/sync/delivery): work posted to
accounting, not yet billed there. Once the invoice is posted those works are marked billed, so
the next period's run cannot bill them again, and a later edit in the PSA becomes an exception.

A posted invoice is stated on the bus (`InvoicePosted`, as its ledger answered the post) before
the run is recorded as posted; cash feedback states it again whenever its standing changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import Field

from shared.domain.billing import InvoiceLine
from shared.domain.billing_ports import (
    BillingStore,
    InvoiceRecord,
    InvoiceRefused,
    InvoiceTarget,
    MilestoneSource,
)
from shared.domain.billing_runs import (
    BillableWork,
    BillingPeriod,
    BillingRun,
    RunState,
    compose,
    run_id,
)
from shared.domain.delivery_ports import BookedEngagement, PostingStore, WorkRecord
from shared.domain.engagement_ports import ApprovalRequest, ApprovalStore, EngagementStatus
from shared.domain.engagements import BillingModel
from shared.domain.errors import NotFoundError, ValidationFailed
from shared.domain.metrics import BusinessMetric
from shared.domain.models import CanonicalModel, EntityType, SourceRef, SystemName, utcnow
from shared.domain.ports import ExceptionRecord, Ledger, Metrics, WorkflowStarter
from shared.domain.postings import PostedRecord, PostingState
from shared.governance.landscape import Landscape
from shared.governance.routing import Routing
from shared.sync.billing.facts import invoice_fact
from shared.sync.billing.inputs import billable_work, billed_milestones, invoice_context
from shared.sync.delivery.batches import STALE_CLAIM
from shared.sync.exceptions import open_exception, resolve_exception
from shared.sync.facts import Publisher, publish_facts

CALENDAR_CURSOR = "billing-calendar"
BILLED_STATES = frozenset({PostingState.POSTED, PostingState.CORRECTED})


class RunStepState(CanonicalModel):
    """What the billing workflow carries from step to step."""

    run: str = Field(min_length=1)
    engagement: SourceRef
    period: BillingPeriod
    execution: str = Field(min_length=1)
    status: str = "started"
    needs_approval: bool = False


def execution_name(run: str, attempt: int) -> str:
    """Step Functions execution names: unique per attempt (1-80 of letters, digits, '-', '_')."""
    return f"bill-{run}-{attempt}"[:80]


class BillingRuns:
    """Compose, approve, post and report one engagement's invoice for one period."""

    def __init__(
        self,
        *,
        store: BillingStore,
        postings: PostingStore,
        target: Callable[[SystemName], InvoiceTarget],
        milestones: Callable[[], MilestoneSource],
        approvals: ApprovalStore,
        starter: Callable[[], WorkflowStarter],
        ledger: Ledger,
        metrics: Metrics,
        landscape: Landscape,
        feedback: Callable[[InvoiceRecord], None],
        approval_timeout_seconds: int = 7 * 24 * 3600,
        clock: Callable[[], datetime] = utcnow,
        cutover_confirmed: Callable[[str, SystemName], bool] = lambda *_: True,
        events: Publisher = None,
    ) -> None:
        self._events = events
        self._store = store
        self._postings = postings
        self._target = target
        self._milestones = milestones
        self._approvals = approvals
        self._starter = starter
        self._ledger = ledger
        self._metrics = metrics
        self._landscape = landscape
        self._routing = Routing(landscape)
        self._feedback = feedback
        self._timeout = approval_timeout_seconds
        self._clock = clock
        # A run for a period that a cutover routes to its new system waits for the go-ahead.
        self._cutover_confirmed = cutover_confirmed

    # --- starting runs ------------------------------------------------------------------------

    def start(self, engagement: SourceRef, period: BillingPeriod) -> tuple[str, bool]:
        """Start the run of `engagement` for `period`: (execution name, started). A run posted
        already, or one whose workflow is running, starts nothing (False)."""
        if self._postings.engagement(engagement.system, engagement.id) is None:
            raise ValidationFailed(
                f"engagement {engagement.system}/{engagement.id} was not set up by close2cash; "
                "expected the PSA project id of an engagement `close2cash time list` knows"
            )
        identity = run_id(engagement, period)
        existing = self._store.run(identity)
        if existing is not None and existing.state in (RunState.POSTED, RunState.NOTHING_TO_BILL):
            self._metrics.count(BusinessMetric.DUPLICATES_PREVENTED, dimensions={"flow": "billing"})
            return execution_name(identity, existing.attempt), False
        attempt = 1 if existing is None else existing.attempt
        return self._begin(identity, engagement, period, attempt)

    def retry(self, identity: str) -> tuple[str, bool]:
        """A new attempt of a refused, rejected or failed run (`close2cash billing retry RUN`)."""
        run = self._store.run(identity)
        if run is None:
            raise NotFoundError(f"no billing run {identity!r}; see close2cash billing list")
        if run.state is RunState.POSTED:
            raise ValidationFailed(f"billing run {identity} is posted already (invoice {run.invoice_id})")
        run = self._store.save_run(run.model_copy(update={"attempt": run.attempt + 1}))
        return self._begin(identity, run.engagement, run.period, run.attempt)

    def _begin(
        self, identity: str, engagement: SourceRef, period: BillingPeriod, attempt: int
    ) -> tuple[str, bool]:
        name = execution_name(identity, attempt)
        state = RunStepState(run=identity, engagement=engagement, period=period, execution=name)
        started = self._starter().start(
            name, {"state": state.model_dump(mode="json"), "approval_timeout_seconds": self._timeout}
        )
        if not started:
            self._metrics.count(BusinessMetric.DUPLICATES_PREVENTED, dimensions={"flow": "billing"})
        return name, started

    def scheduled(self, today: datetime) -> list[str]:
        """The billing calendar: on `run_on_day`, every active engagement's previous month."""
        if today.day != self._landscape.billing.run_on_day:
            return []
        # The schedule fires every hour (for the cash sweep): the calendar acts once a day.
        if self._ledger.cursor(CALENDAR_CURSOR) == today.date().isoformat():
            return []
        period = BillingPeriod.containing(today.date()).previous
        names = []
        for booked in self._postings.engagements(EngagementStatus.ACTIVE):
            name, started = self.start(booked.psa, period)
            if started:
                names.append(name)
        self._ledger.set_cursor(CALENDAR_CURSOR, today.date().isoformat())
        return names

    # --- the workflow's steps -------------------------------------------------------------------

    def step(self, step: str, raw: Mapping[str, Any], *, token: str | None = None) -> dict[str, Any]:
        """Run one step on the workflow's state; the new state as JSON."""
        state = RunStepState.model_validate({k: v for k, v in raw.items() if k != "error"})
        match step:
            case "compose":
                state = self.compose(state)
            case "request_approval":
                if token is None:
                    raise ValidationFailed("request_approval needs the task token")
                state = self.request_approval(state, token)
            case "post":
                state = self.post(state)
            case "feedback":
                state = self.feedback(state)
            case "rejected":
                state = self.rejected(state, raw.get("error") or {})
            case _:
                raise ValidationFailed(f"unknown billing step {step!r}")
        return state.model_dump(mode="json")

    def _booked(self, engagement: SourceRef) -> BookedEngagement:
        booked = self._postings.engagement(engagement.system, engagement.id)
        if booked is None:
            raise NotFoundError(f"engagement {engagement.system}/{engagement.id} is not booked")
        return booked

    def compose(self, state: RunStepState) -> RunStepState:
        """Build the invoice from what is billable now and record the run (recomposed on a retry)."""
        run = self._store.run(state.run)
        if run is not None and run.state is RunState.POSTED:
            self._metrics.count(BusinessMetric.DUPLICATES_PREVENTED, dimensions={"flow": "billing"})
            return state.model_copy(update={"status": "posted"})
        booked = self._booked(state.engagement)
        target = self._routing.system_for(booked.legal_entity, on=state.period.last_day)
        cutover = self._routing.cutover_into(booked.legal_entity, target, state.period.last_day)
        if cutover is not None and not self._cutover_confirmed(booked.legal_entity, target):
            raise ValidationFailed(f"{cutover.waiting}; then retry this run")
        customer = booked.accounting.get(target)
        if customer is None:
            raise ValidationFailed(f"engagement {booked.name} has no record in {target} to invoice")
        works, last_approved = self._billable(booked, state.period)
        earlier = [
            r for r in self._store.runs(state.engagement) if r.id != state.run and r.state is RunState.POSTED
        ]
        previous = next((r for r in earlier if r.period == state.period.previous), None)
        completed = (
            self._milestones().completed_milestones(booked.psa.id)
            if booked.billing.model is BillingModel.FIXED_FEE
            else []
        )
        context = invoice_context(self._landscape, booked, target, customer)
        composition = compose(
            context,
            state.period,
            works=works,
            completed=completed,
            billed_milestones=billed_milestones(earlier),
            carried_minutes=previous.unused_minutes if previous is not None else 0,
            issued_on=self._clock().date(),
            run_id=state.run,
        )
        invoice = composition.invoice
        new_state = RunState.COMPOSED if invoice is not None else RunState.NOTHING_TO_BILL
        saved = self._store.save_run(
            BillingRun(
                id=state.run,
                engagement=state.engagement,
                period=state.period,
                state=new_state,
                target=target,
                invoice=invoice,
                unused_minutes=composition.unused_minutes,
                skipped=composition.skipped,
                attempt=run.attempt if run is not None else 1,
                last_approved_at=last_approved,
                created_at=run.created_at if run is not None else self._clock(),
                revision=run.revision if run is not None else None,
            )
        )
        if invoice is None:
            return state.model_copy(update={"status": saved.state.value})
        needs = self._landscape.billing.needs_approval(invoice.total.amount, invoice.currency)
        return state.model_copy(update={"status": "composed", "needs_approval": needs})

    def _billable(
        self, booked: BookedEngagement, period: BillingPeriod
    ) -> tuple[list[BillableWork], datetime | None]:
        """Work of the period posted to accounting and not billed there yet (from the by-engagement index)."""
        works: list[BillableWork] = []
        latest: datetime | None = None
        for record in self._postings.engagement_works(
            booked.psa.system, booked.psa.id, since=period.first_day
        ):
            if not period.covers(record.worked_on) or record.state not in BILLED_STATES:
                continue
            posted, held = record.posted, record.record
            if posted is None or held is None or held.billed or not record.billable:
                continue
            works.append(billable_work(self._landscape, booked, record, posted, held_as=held.id))
            if record.approved_at is not None and (latest is None or record.approved_at > latest):
                latest = record.approved_at
        return works, latest

    def request_approval(self, state: RunStepState, token: str) -> RunStepState:
        """Put the invoice on the approval desk (the one engagement setup uses) with the task token."""
        run = self._require(state.run)
        booked = self._booked(state.engagement)
        invoice = run.invoice
        if invoice is None:
            raise ValidationFailed(f"billing run {run.id} has no invoice to approve")
        existing = self._approvals.get(state.execution)
        self._approvals.put(
            ApprovalRequest(
                id=state.execution,
                subject="invoice",
                opportunity=booked.opportunity,
                customer=f"{invoice.customer.system} customer {invoice.customer.id}",
                engagement=f"Invoice {invoice.number} for {booked.name}, {state.period}"
                f" ({len(invoice.lines)} lines)",
                dimensions={
                    "period": str(state.period),
                    "invoice": invoice.number,
                    "target": str(run.target),
                },
                budget=str(invoice.total),
                task_token=token,
                requested_at=existing.requested_at if existing is not None else self._clock(),
            )
        )
        self._store.save_run(
            run.model_copy(update={"state": RunState.AWAITING_APPROVAL, "approval": state.execution})
        )
        self._metrics.count(BusinessMetric.APPROVALS_PENDING, len(self._approvals.pending()))
        return state.model_copy(update={"status": "awaiting_approval"})

    def rejected(self, state: RunStepState, error: Mapping[str, Any]) -> RunStepState:
        """The approver said no (or nobody answered in time): the run is rejected, nothing posted."""
        run = self._require(state.run)
        cause = str(error.get("Cause") or error.get("Error") or "rejected")[:2000]
        self._store.save_run(run.model_copy(update={"state": RunState.REJECTED, "reason": cause}))
        return state.model_copy(update={"status": "rejected"})

    def post(self, state: RunStepState) -> RunStepState:
        """Post the invoice; a refusal opens an exception and ends the run as REFUSED."""
        run = self._require(state.run)
        if run.state is RunState.POSTED:
            return state.model_copy(update={"status": "posted"})
        invoice, system = run.invoice, run.target
        if invoice is None or system is None:
            raise ValidationFailed(f"billing run {run.id} has no invoice to post")
        subject = SourceRef(system=system, type="billing_run", id=run.id)
        try:
            standing = self._target(system).post_invoice(state.execution, invoice)
        except InvoiceRefused as refused:
            code = f" ({refused.code})" if refused.code else ""
            reason = f"{system} refused invoice {invoice.number} of {invoice.total}: {refused.reason}{code}"
            self._store.save_run(run.model_copy(update={"state": RunState.REFUSED, "reason": reason[:2000]}))
            open_exception(
                self._ledger,
                self._metrics,
                ExceptionRecord(
                    id=f"billing:{run.id}",
                    kind="invoice_rejected",
                    entity=EntityType.INVOICE,
                    subject=subject,
                    reason=f"{reason}. Fix it in {system}, then: close2cash billing retry {run.id}",
                    step="post",
                    opened_at=self._clock(),
                ),
            )
            self._metrics.count(BusinessMetric.INVOICE_REJECTIONS, dimensions={"system": system.value})
            return state.model_copy(update={"status": "refused"})
        now = self._clock()
        booked = self._booked(state.engagement)
        record = InvoiceRecord(
            system=system,
            id=standing.id,
            run=run.id,
            engagement=run.engagement,
            opportunity=booked.opportunity,
            account=booked.account,
            invoice=invoice,
            standing=standing,
            updated_at=now,
        )
        # Stated before the run is recorded as posted: a retried step finds the invoice the first
        # attempt created (same number, same standing) and states the same event again.
        publish_facts(self._events, [invoice_fact(record)])
        posted = self._store.save_run(
            run.model_copy(
                update={"state": RunState.POSTED, "invoice_id": standing.id, "posted_at": now, "reason": None}
            )
        )
        self._store.save_invoice(record)
        self._mark_billed(invoice.lines, standing.id)
        resolve_exception(self._ledger, self._metrics, f"billing:{run.id}", resolution="posted", at=now)
        self._metrics.count(BusinessMetric.INVOICES_POSTED, dimensions={"system": system.value})
        period_end = datetime.combine(run.period.last_day, datetime.max.time(), tzinfo=now.tzinfo)
        self._metrics.count(BusinessMetric.BILLING_CYCLE_TIME, max((now - period_end).total_seconds(), 0.0))
        if posted.last_approved_at is not None:
            self._metrics.count(
                BusinessMetric.BILLING_CYCLE_TIME_FROM_APPROVAL,
                max((now - posted.last_approved_at).total_seconds(), 0.0),
            )
        return state.model_copy(update={"status": "posted"})

    def _mark_billed(self, lines: Sequence[InvoiceLine], invoice_id: str) -> None:
        """The works the invoice bills are billed: the next run skips them, a later edit is an exception."""
        keys = [line.origin for line in lines if line.origin and line.origin.count(":") == 2]
        records: dict[str, WorkRecord] = self._postings.works(keys)
        marked = []
        for record in records.values():
            held = record.record or PostedRecord(id="?")
            marked.append(
                record.model_copy(
                    update={"record": held.model_copy(update={"billed": True, "invoice": invoice_id})}
                )
            )
        # A work a batch holds right now keeps its claim: accounting marks it billed anyway (the line
        # links it), and the delivery reads that from accounting before it changes anything.
        self._postings.save_works(marked, stale_before=self._clock() - STALE_CLAIM)

    def feedback(self, state: RunStepState) -> RunStepState:
        """Tell the PSA and the CRM (the cash feedback's publish)."""
        run = self._require(state.run)
        if run.invoice_id is None or run.target is None:
            return state
        record = self._store.invoice(run.target, run.invoice_id)
        if record is not None:
            self._feedback(record)
        return state.model_copy(update={"status": "reported"})

    def _require(self, identity: str) -> BillingRun:
        run = self._store.run(identity)
        if run is None:
            raise NotFoundError(f"no billing run {identity!r}")
        return run
