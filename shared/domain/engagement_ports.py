"""Engagement setup's ports: the opportunity's CRM, the systems that hold the engagement, approvals."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import Field

from shared.domain.models import CanonicalModel, SourceRef, SystemName, UtcDateTime
from shared.domain.systems import Role

if TYPE_CHECKING:
    # Typing only: handlers that never set up engagements do not pay for importing these models.
    from shared.domain.commercial import Opportunity, RateCard
    from shared.domain.engagements import Engagement

# --- engagement setup (closed-won opportunity -> active engagement) ----------------------------


class EngagementStatus(StrEnum):
    """Where an engagement stands in the systems that hold it."""

    DRAFT = "draft"  # created, waiting for approval: nobody staffs or bills it yet
    ACTIVE = "active"
    CLOSED = "closed"  # compensated: created by a setup that was rejected or failed


class EngagementRecord(CanonicalModel):
    """An engagement (PSA project, accounting project / sub-customer) in one target system."""

    ref: SourceRef
    status: EngagementStatus
    name: str


class SetupProject(CanonicalModel):
    """The engagement's record in one system that holds it, and the part that system plays for it."""

    system: SystemName
    role: Role
    id: str = Field(min_length=1)


class SetupOutcome(CanonicalModel):
    """What engagement setup reports back to the opportunity in the CRM: the status, and the
    engagement's id in each system that holds it (none before a shell exists)."""

    status: str = Field(description="pending_approval, active, rejected or failed")
    projects: tuple[SetupProject, ...] = ()
    detail: str | None = Field(default=None, max_length=1000)

    def project_id(self, role: Role) -> str | None:
        """The engagement's id in the system playing `role` (PSA, accounting), if it has one."""
        return next((p.id for p in self.projects if p.role == role), None)


@runtime_checkable
class OpportunitySource(Protocol):
    """The CRM as the system of record for opportunities, and where setup's outcome is written back.

    `write_back` is idempotent: it upserts by the opportunity's external id, so running it twice
    leaves the same values.
    """

    system: SystemName

    def fetch_opportunity(self, opportunity_id: str) -> Opportunity: ...

    def write_back(self, opportunity_id: str, outcome: SetupOutcome) -> datetime | None:
        """Write setup's outcome onto the opportunity; the instant the CRM stamped on that write
        (its notice about it carries the same one), or None when the CRM did not say."""
        ...


@runtime_checkable
class EngagementTarget(Protocol):
    """A system that holds the engagement: the PSA project, or the accounting system's project.

    Every method is idempotent: `idempotency_key` is stable for the opportunity (and close version),
    and `find_engagement` finds the record an earlier attempt created by the reference stamped on it.
    """

    system: SystemName

    def find_engagement(
        self, opportunity: SourceRef, *, customer_id: str | None = None
    ) -> EngagementRecord | None:
        """The record an earlier attempt created for `opportunity`, by its stamp.

        `customer_id` (the client it was created under), when known, lets a system whose search
        cannot match the stamp exactly look among that client's records instead.
        """
        ...

    def create_engagement(
        self, engagement: Engagement, *, customer_id: str, idempotency_key: str, searched: bool = False
    ) -> EngagementRecord:
        """Create the engagement shell in DRAFT (not yet active), under the customer `customer_id`.

        `searched`: the caller has just asked `find_engagement` (with this customer) and it found
        nothing, so a connector that would look for its stamp first need not look again.
        """
        ...

    def apply_rate_card(self, record_id: str, rate_card: RateCard) -> None:
        """Set the engagement's rates per role (a no-op where the system does not price time)."""
        ...

    def activate_engagement(self, record_id: str) -> EngagementRecord:
        """DRAFT -> ACTIVE (ACTIVE stays); a CLOSED engagement is refused with ValidationFailed."""
        ...

    def reopen_engagement(self, record_id: str, engagement: Engagement) -> EngagementRecord:
        """CLOSED -> DRAFT for a setup that is run again (a retry, or the deal won again).

        The record comes back as an unapproved draft carrying `engagement`'s current terms (its
        dimensions may have been corrected since), so the new run prices it and asks for approval
        again instead of creating a second engagement; DRAFT and ACTIVE are returned as they are.
        """
        ...

    def close_engagement(self, record_id: str, *, reason: str) -> EngagementRecord:
        """Compensation: close / archive a shell nobody approved, as the system's API allows."""
        ...


class ApprovalState(StrEnum):
    """Where an approval request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"


class ApprovalRequest(CanonicalModel):
    """What a person approves before an engagement goes live: customer, dimensions, rates and budget."""

    id: str = Field(min_length=1, description="the execution name: one request per setup")
    subject: str = Field(default="engagement", description="what is approved: an engagement or an invoice")
    opportunity: SourceRef
    customer: str
    engagement: str
    dimensions: Mapping[str, str | None]
    rates: tuple[Mapping[str, str], ...] = ()
    budget: str
    task_token: str = Field(min_length=1, description="answers the workflow's waitForTaskToken state")
    requested_at: UtcDateTime
    state: ApprovalState = ApprovalState.PENDING
    decided_by: str | None = None
    reason: str | None = None
    reminded_at: UtcDateTime | None = None
    decided_at: UtcDateTime | None = None
    # None while a decision is recorded but the workflow not yet told (its callback pending).
    delivered_at: UtcDateTime | None = None


class Decision(CanonicalModel):
    """One approver's decision on a request; its writer holds the callback until `deliver_until`."""

    state: ApprovalState
    by: str = Field(min_length=1)
    at: UtcDateTime
    reason: str | None = None
    deliver_until: UtcDateTime


class ApprovalStore(Protocol):
    """Approval requests, kept in the ledger table beside the cross-references.

    A decision is one conditional write (pending -> decided, with who and when) made before the
    workflow is told; the decision's writer holds the delivery until `deliver_until`, after which a
    retry by the same approver, or the reminder, may take the delivery over (at-least-once).
    """

    def put(self, request: ApprovalRequest) -> None:
        """Record a request waiting for a decision (a retried step replaces it with its new token)."""
        ...

    def get(self, approval_id: str) -> ApprovalRequest | None: ...

    def pending(self) -> list[ApprovalRequest]:
        """Requests waiting for a decision."""
        ...

    def undelivered(self) -> list[ApprovalRequest]:
        """Requests decided whose workflow has not been told yet (a crash between the two)."""
        ...

    def decide(self, approval_id: str, decision: Decision) -> bool:
        """Pending -> the decision's state, only if still pending; False when another came first."""
        ...

    def claim_delivery(self, approval_id: str, *, now: datetime, until: datetime) -> bool:
        """Take over an undelivered decision whose holder's time ran out; False if someone holds it."""
        ...

    def release_delivery(self, approval_id: str) -> None:
        """Give the delivery up at once (the callback failed, a retry may try again now)."""
        ...

    def delivered(self, approval_id: str, *, at: datetime) -> None:
        """The workflow has the decision: the request is settled."""
        ...

    def time_out(self, approval_id: str) -> bool:
        """The workflow stopped waiting without hearing a decision; False if there is no request."""
        ...

    def reminded(self, approval_id: str, *, at: datetime) -> None:
        """A reminder went out for a request still pending."""
        ...
