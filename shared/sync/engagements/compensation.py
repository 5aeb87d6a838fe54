"""When a setup step fails for good: close what the execution created, open an exception, tell the CRM.

The state machine's Catch hands over the failed state and Step Functions' error ({"Error", "Cause"});
`failure_of` reads the step and the cause from it. Everything here is idempotent: a compensation
run twice closes closed engagements again and finds its exception already open.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shared.domain.engagement_ports import EngagementStatus
from shared.domain.metrics import BusinessMetric
from shared.domain.models import EntityType, SourceRef
from shared.domain.ports import ExceptionRecord
from shared.domain.systems import Role
from shared.sync.engagements.context import SetupContext
from shared.sync.engagements.state import REJECTED_ERROR, SetupState, Step, exception_id, retry_command
from shared.sync.engagements.terms import HOLDERS
from shared.sync.exceptions import open_exception


def failure_of(error: Mapping[str, Any]) -> tuple[str, str, bool]:
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


def _with_shells_found(ctx: SetupContext, state: SetupState) -> SetupState:
    """`state` with every shell this execution created, found by its stamp where the state never
    heard of it (the failed step created one in one target before another refused)."""
    engagements = dict(state.engagements)
    if len(engagements) < len(HOLDERS):
        deal = ctx.opportunity(state)
        for role, target in ctx.holders(state):
            if role not in engagements:
                found = target.find_engagement(deal.source, customer_id=state.customers.get(role))
                if found is not None:
                    engagements[role.value] = found.ref.id
    return state.model_copy(update={"engagements": engagements})


def compensate(ctx: SetupContext, state: SetupState, error: Mapping[str, Any]) -> dict[str, Any]:
    """Close what this execution created, open an exception naming step and cause, tell the CRM.

    `state` is settled (its systems known), unless choosing them failed: then no step ran, nothing
    was created, and nothing is closed.
    """
    step, cause, rejected = failure_of(error)
    current = _with_shells_found(ctx, state) if state.systems else state
    for role, record_id in current.engagements.items():
        # Idempotent in the targets: closing a closed engagement leaves it closed.
        ctx.target(current.systems[Role(role)]).close_engagement(
            record_id, reason=f"setup {current.execution}: {cause}"[:255]
        )
    if current.opportunity is not None:
        # Time parked for it stays parked, saying the engagement is closed.
        ctx.book(current, ctx.opportunity(current), EngagementStatus.CLOSED)
    # The approval request is keyed by the setup's name; the waiting state's result never
    # reaches $.state, so a timeout arrives here without the id in the state. A rejection is
    # recorded by the approval route itself, which must not be overwritten here.
    # A failure of the approval step that is not a rejection (the wait's timeout) means the
    # workflow never heard a decision, whatever was recorded but not yet delivered.
    if not rejected and step == Step.REQUEST_APPROVAL.value:
        ctx.approvals.time_out(current.execution)
    status = "rejected" if rejected else "failed"
    kind = "engagement_rejected" if rejected else "engagement_setup_failed"
    opportunity = SourceRef(system=ctx.opportunities().system, type="opportunity", id=current.opportunity_id)
    open_exception(
        ctx.ledger,
        ctx.metrics,
        ExceptionRecord(
            id=exception_id(current.execution),
            kind=kind,
            entity=EntityType.OPPORTUNITY,
            subject=opportunity,
            reason=(
                f"step {step} failed: {cause}; closed: {current.engagements or 'nothing'}; "
                f"retry with: {retry_command(current.execution)}"
            )[:2000],
            opened_at=ctx.clock(),
        ),
    )
    ctx.metrics.count(BusinessMetric.WORKFLOW_FAILURES, dimensions={"step": step})
    ctx.write_back(current, status, detail=f"{step}: {cause}"[:1000])
    return {**current.model_dump(mode="json"), "status": status, "failed_step": step, "cause": cause}
