"""The approval routes and the reminder: a person approves or rejects a setup waiting for a decision.

The workflow waits on a task token (`request_approval`); a decision here is recorded first, then
answers that token, so the workflow hears exactly the decision the record keeps.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta

from shared.domain.engagement_ports import ApprovalRequest, ApprovalState, ApprovalStore, Decision
from shared.domain.errors import NotFoundError, ValidationFailed
from shared.domain.metrics import BusinessMetric
from shared.domain.models import CanonicalModel, utcnow
from shared.domain.ports import Metrics, Notifier, TaskCallback
from shared.sync.engagements.state import REJECTED_ERROR

# How long a decision's writer holds its callback; longer than the approvals_api timeout (10 s), so
# only a writer that died lets a retry or the reminder deliver the decision in its place.
DELIVERY_LEASE = timedelta(seconds=60)


class AlreadyDecided(ValidationFailed):
    """An approval request that was approved, rejected or timed out earlier: answered 409."""


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
        self._metrics.count(BusinessMetric.APPROVALS_PENDING, len(waiting))
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
        self._metrics.count(BusinessMetric.APPROVALS_PENDING, len(self._approvals.pending()))
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
