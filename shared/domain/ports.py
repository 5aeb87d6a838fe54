"""The interfaces use cases are written against; adapters in connectors/ and aws/ implement them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import Field

from shared.domain.metrics import BusinessMetric
from shared.domain.models import CanonicalModel, EntityType, SourceRef, SystemName, UtcDateTime
from shared.domain.money import Money
from shared.domain.notices import ChangeNotice

if TYPE_CHECKING:
    # Typing only: handlers that never set up engagements do not pay for importing these models.
    from shared.domain.budgets import RateLimit

# --- state ----------------------------------------------------------------------------------


class CrossReference(CanonicalModel):
    """One record known in two systems: the system of record's id and a target's id."""

    entity: EntityType
    source: SourceRef
    target: SourceRef
    checksum: str = Field(description="checksum of the content last written to (or read from) target")
    synced_at: UtcDateTime
    content: Mapping[str, Any] | None = Field(
        default=None, description="the canonical fields as the target holds them, to tell which changed"
    )
    active: bool = Field(
        default=True, description="False once the hub deactivated the copy (its account deleted or merged)"
    )
    target_modified_at: UtcDateTime | None = Field(
        default=None,
        description="when the target says it last changed the record, as of the hub's last write or read;"
        " the target's own notice of that change carries the same instant (echo without a read)",
    )


class SyncAction(StrEnum):
    """What one sync of one record into one target did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # content already there: a duplicate prevented
    LINKED = "linked"  # found the record we created before a crash; linked, not created again
    ECHO = "echo"  # a target's notice about our own write: recognised, goes nowhere
    DRIFT = "drift"  # a non-owner changed an owned record: not propagated, recorded as an exception
    IGNORED = "ignored"  # a notice about a record the hub does not manage
    ACCEPTED = "accepted"  # a target changed only fields it owns: recorded, not drift
    EXCEPTION = "exception"  # could not be synced (e.g. a mapping is missing): an exception is open
    DEACTIVATED = "deactivated"  # the account was deleted or merged away: its copy made inactive
    REPOINTED = "repointed"  # a merge: the cross-reference now names the surviving record
    SKIPPED = "skipped"  # nothing to do yet (e.g. an open deal that is not complete)


class NoticeClaim(StrEnum):
    """What claiming a webhook notice found (see `Ledger.claim_notice`)."""

    CLAIMED = "claimed"  # this request records and publishes it
    PUBLISHED = "published"  # a redelivery of a notice already on the bus
    IN_FLIGHT = "in_flight"  # another request holds a fresh claim and may still fail


class Evidence(CanonicalModel):
    """One system's side of a difference: the record, the value it holds, and where to see it."""

    system: SystemName
    record: str | None = Field(default=None, description="the record's id there (None: it has none)")
    value: str | None = Field(default=None, max_length=1000, description="what it holds, as text")
    link: str | None = Field(default=None, description="the record in the vendor's own UI")


class ExceptionRecord(CanonicalModel):
    """Something that needs a person: what happened, to which record, and what resolves it."""

    id: str = Field(min_length=1, description="stable: the same problem twice is one exception")
    kind: str
    entity: EntityType
    subject: SourceRef
    reason: str
    owner: str = "integration-ops"
    state: str = "open"
    step: str | None = Field(default=None, description="where it stopped: a worker or workflow step")
    opened_at: UtcDateTime
    evidence: tuple[Evidence, ...] = Field(default=(), description="each system's side, when they differ")
    action: str | None = Field(default=None, max_length=2000, description="what a person should do")
    at_stake: Money | None = Field(default=None, description="the money the difference is about")


class Ledger(Protocol):
    """Cross-reference ids, checksums and notice records (DynamoDB in AWS and locally)."""

    def cross_reference(
        self, entity: EntityType, source: SourceRef, target_system: SystemName
    ) -> CrossReference | None: ...

    def cross_references(self, entity: EntityType, source: SourceRef) -> list[CrossReference]: ...

    def find_by_target(self, entity: EntityType, target: SourceRef) -> CrossReference | None: ...

    def record_sync(self, xref: CrossReference, action: SyncAction) -> None: ...

    def repoint(self, xref: CrossReference, *, was: SourceRef) -> None:
        """Record `xref`, which now names the survivor of a merge, and forget the target `was`."""
        ...

    def record_exception(self, exception: ExceptionRecord) -> bool:
        """Open `exception`; True when it opened (new, or back after a resolution).

        One already open under its id keeps its first reason and opening time (False).
        """
        ...

    def resolve_exception(self, exception_id: str, *, resolution: str, at: datetime) -> datetime | None:
        """Mark an open exception resolved with what resolved it.

        Returns when it was opened (for the resolution time), or None if none was open.
        """
        ...

    def acquire_lease(self, name: str, owner: str, seconds: int) -> bool:
        """Hold `name` for `seconds` so two workers never create the same record twice."""
        ...

    def release_lease(self, name: str, owner: str) -> None: ...

    def cursor(self, name: str) -> str | None:
        """Where a sweep left off last time (e.g. the delete log's last covered instant), if anywhere."""
        ...

    def set_cursor(self, name: str, value: str) -> None: ...

    def claim_notice(self, notice: ChangeNotice, *, holder: str) -> NoticeClaim:
        """Claim `notice` for `holder` (one request): exclusive until published, released or stale.

        CLAIMED the first time, or when an earlier claim was released or went stale (its holder
        died before publishing); PUBLISHED for a redelivery; IN_FLIGHT while another holder's claim
        is fresh.
        """
        ...

    def claim_notices(self, notices: Sequence[ChangeNotice], *, holder: str) -> list[NoticeClaim]:
        """`claim_notice` for each of `notices`, in their order, in as few writes as the store allows."""
        ...

    def release_notice(self, notice: ChangeNotice, *, holder: str) -> None:
        """Give up `holder`'s claim (publishing failed), so the vendor's redelivery is let through."""
        ...

    def mark_published(self, notice: ChangeNotice) -> None: ...

    def mark_all_published(self, notices: Sequence[ChangeNotice]) -> None:
        """`mark_published` for each of `notices`, in as few writes as the store allows."""
        ...


class NoticePublisher(Protocol):
    """Puts notices on the event bus (EventBridge in AWS and locally)."""

    def publish(self, notices: list[ChangeNotice]) -> None: ...


class Metrics(Protocol):
    """Business metrics (Powertools EMF in the handlers; a counter dict in unit tests), each one a
    `BusinessMetric` (shared/domain/metrics.py), emitted in its own unit.

    `dimensions` make a metric of their own per value (CloudWatch bills each); `properties` ride along
    in the log record only (EMF metadata): a value per customer is queried there, not charged as a
    metric per customer.
    """

    def count(
        self,
        metric: BusinessMetric,
        value: float = 1,
        dimensions: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> None: ...


class TaskCallback(Protocol):
    """Answers a workflow's waitForTaskToken state (Step Functions SendTaskSuccess / SendTaskFailure).

    Raises NotFoundError when nothing waits for the token any more (the wait timed out, or the
    execution ended).
    """

    def succeed(self, token: str, output: Mapping[str, Any]) -> None: ...

    def fail(self, token: str, *, error: str, cause: str) -> None: ...


class WorkflowStarter(Protocol):
    """Starts the engagement setup workflow under a deterministic name."""

    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        """True if started; False if an execution of that name already exists (a duplicate prevented)."""
        ...


class Notifier(Protocol):
    """Tells people something (an SNS topic in AWS and locally): staffing, approval reminders."""

    def notify(self, subject: str, message: str, *, attributes: Mapping[str, str] | None = None) -> None: ...


class EventPublisher(Protocol):
    """Puts domain events (shared.domain.events) on the event bus."""

    def publish_events(self, events: list[Any]) -> None: ...


# --- rate budgets ---------------------------------------------------------------------------


class RateBudget(Protocol):
    """One vendor tenant's request slots, shared by whoever holds the same budget (see domain.budgets)."""

    def reserve(self, *, max_wait: float) -> float:
        """Reserve the next request slot; returns the seconds until it starts.

        Raises RateLimitedError (with `retry_after`) and reserves nothing when the slot is more than
        `max_wait` seconds away: the caller gives the work back to its queue instead of waiting.
        """
        ...

    def hold(self, seconds: float) -> None:
        """Pause the budget for every taker: no slot starts within `seconds` from now.

        Called after the vendor throttled a request (429), with its Retry-After or documented wait.
        A hold only extends: a shorter one never ends a longer one early, and it lapses by itself.
        """
        ...


class RateBudgets(Protocol):
    """Where budgets live: one per (vendor, tenant), e.g. ("quickbooks", realm id)."""

    def budget(self, vendor: str, tenant: str, limits: Sequence[RateLimit]) -> RateBudget: ...
