"""The ports of the time and expense flow: the PSA that reports work, the ledger that posts it, the state.

Adapters: `shared.connectors.productive` (DeliverySource), `shared.connectors.quickbooks`
(PostingTarget), `shared.aws.postings` (PostingStore, on the ledger table).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from pydantic import Field

from shared.domain.billing_runs import BillingTerms
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.models import CanonicalModel, SourceRef, SystemName, UtcDateTime
from shared.domain.money import Money
from shared.domain.postings import (
    DeliveredWork,
    HeldPosting,
    PostedRecord,
    Posting,
    PostingState,
    PostingWrite,
    UnresolvedWork,
    WorkKind,
    WorkRead,
    WriteOutcome,
)


@runtime_checkable
class DeliverySource(Protocol):
    """The PSA as the system of record for time entries and expenses."""

    system: SystemName

    # What the last `changed_work` sweep read but could not map (it exists: not a delete).
    last_unresolved: list[UnresolvedWork]

    def read_work(self, kind: WorkKind, ids: Sequence[str]) -> WorkRead:
        """The current state of each of `ids`, read in as few calls as the vendor allows (pages of its
        largest size). An id the PSA no longer has is in neither list (deleted); one it has but that
        cannot be mapped is in `unresolved`, with the reason."""
        ...

    def changed_work(self, kind: WorkKind, since: datetime) -> Iterator[DeliveredWork]:
        """Every piece of work changed at or after `since`, newest change first, page by page; what
        cannot be mapped is left out and kept in `last_unresolved`."""
        ...


@runtime_checkable
class PostingTarget(Protocol):
    """An accounting system that takes approved billable work (QuickBooks TimeActivity, Purchase)."""

    system: SystemName
    # Items per batch write: the vendor's documented safe size.
    batch_size: int

    def find_worker(self, worker: SourceRef, *, name: str | None, email: str | None) -> str | None:
        """The id of the person's record in this system (an employee), found by e-mail, else by name."""
        ...

    def posted_records(self, kind: WorkKind, ids: Sequence[str]) -> dict[str, PostedRecord]:
        """The records `ids` as the system holds them now (version, billed); a deleted one is absent."""
        ...

    def held_postings(self, kind: WorkKind, ids: Sequence[str]) -> dict[str, HeldPosting]:
        """The records `ids` with their content as the system holds them now (read in bulk, as
        `posted_records`); a deleted one is absent."""
        ...

    def held_fields(self, posting: Posting) -> dict[str, Any]:
        """The fields `held_postings` would read back once `posting` is written (pure): what the
        system can store of it, in its terms (a replay compares the two field by field)."""
        ...

    def write_postings(self, request_id: str, writes: Sequence[PostingWrite]) -> list[WriteOutcome]:
        """One batch write; `request_id` (stable per batch) makes a resend replay, never write twice.

        Answers one outcome per write, in order; a refused item fails that item only.
        """
        ...


class BookedEngagement(CanonicalModel):
    """An engagement the hub set up, as postings need it: where it lives, its codes and its rates."""

    psa: SourceRef = Field(description="the PSA project")
    opportunity: SourceRef
    name: str
    legal_entity: str = Field(min_length=1)
    currency: str
    status: EngagementStatus
    accounting: dict[SystemName, str] = Field(
        default_factory=dict, description="the engagement's record in each accounting system"
    )
    dimensions: dict[str, str | None] = Field(
        default_factory=dict, description="class, department, location as accounting names them"
    )
    ledger_dimensions: dict[SystemName, dict[str, str | None]] = Field(
        default_factory=dict,
        description="the same, as a ledger the engagement was set up in later (a cutover's) names them",
    )
    rates: dict[str, Decimal] = Field(default_factory=dict, description="role -> rate per hour")
    account: SourceRef | None = Field(default=None, description="the CRM account the deal is with")
    billing: BillingTerms = Field(default_factory=BillingTerms, description="how the contract bills it")
    booked: Money | None = Field(
        default=None, description="the amount won on the deal (None: set up before it was kept)"
    )
    updated_at: UtcDateTime

    def dimensions_in(self, system: SystemName) -> dict[str, str | None]:
        """Class, department and location as `system` names them (each ledger has its own ids)."""
        return self.ledger_dimensions.get(system, self.dimensions)

    def rate(self, role: str) -> Money | None:
        """The rate card's rate for `role`, in the engagement's currency."""
        rate = self.rates.get(role)
        return None if rate is None else Money(amount=rate, currency=self.currency)


class EngagementBook(Protocol):
    """Where engagement setup records the engagements it made, for the postings that follow."""

    def engagement(self, system: SystemName, project: str) -> BookedEngagement | None: ...

    def save_engagement(self, engagement: BookedEngagement) -> None: ...


class WorkRecord(CanonicalModel):
    """What the ledger knows of one piece of work: the version last handled and what is in accounting."""

    key: str = Field(min_length=1, description="work_key: system, kind and PSA id")
    kind: WorkKind
    source: SourceRef = Field(description="the PSA record, at the version last handled")
    project: str
    worked_on: date
    state: PostingState
    minutes: int = 0
    amount: Money | None = Field(default=None, description="the amount as posted or to be posted")
    billable: bool = True
    approved_at: UtcDateTime | None = None
    target: SystemName | None = None
    posted: Posting | None = Field(default=None, description="what accounting holds (None: nothing)")
    record: PostedRecord | None = None
    reason: str | None = Field(default=None, max_length=2000, description="why parked or in exception")
    exception: str | None = Field(default=None, description="the kind of the exception open on it, if any")
    posted_at: UtcDateTime | None = None
    batch: str | None = Field(default=None, description="the batch writing it now (a claim)")
    batch_at: UtcDateTime | None = None
    revision: str | None = Field(
        default=None,
        description="the store's token of the write this record was read from (None: never stored);"
        " a save or a claim names it, and is refused when someone wrote the work since",
    )


class PendingBatch(CanonicalModel):
    """A batch recorded before it is sent: a resend after a crash sends the same writes, same request id."""

    id: str = Field(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")
    target: SystemName
    writes: tuple[PostingWrite, ...] = Field(min_length=1)
    created_at: UtcDateTime

    @property
    def keys(self) -> list[str]:
        return [write.key for write in self.writes]


class PostingStore(Protocol):
    """Work records, pending batches and booked engagements, in the ledger table (DynamoDB)."""

    def works(self, keys: Sequence[str]) -> dict[str, WorkRecord]:
        """The records of `keys` that exist (strongly consistent reads, as few calls as possible)."""
        ...

    def save_works(self, records: Sequence[WorkRecord], *, stale_before: datetime) -> set[str]:
        """Write records no batch is writing (parked, not posted, exception), as few calls as possible.

        Each is written only if the work is still as it was read (its `revision`; None: absent) and
        no live batch holds it; the keys refused are returned (the caller reads them again later).
        """
        ...

    def claim(
        self, batch: PendingBatch, records: Mapping[str, WorkRecord], *, stale_before: datetime
    ) -> set[str]:
        """Mark each of `batch`'s works as being written by it, then record the batch (with the works
        it holds); a crash in between leaves claims on a batch that never existed, taken over once stale.

        `records` are the works' records as they are to stand while the batch is out (new ones
        included). A work another batch holds (claimed at or after `stale_before`), or that was
        written since the caller read it (its `revision` moved; a new work that exists now), is not
        claimed: its key is returned, and the batch is recorded without it (or not at all, when it
        held no other). Returns the keys refused.
        """
        ...

    def pending(self, batch_id: str) -> PendingBatch | None: ...

    def pending_batches(self, *, created_before: datetime) -> list[PendingBatch]:
        """Batches recorded before `created_before` and never finished (their sender died)."""
        ...

    def finish(self, batch: PendingBatch, records: Sequence[WorkRecord]) -> set[str]:
        """The batch's outcome: its works' records as they now stand (claims released), batch done.

        A record is written only where this batch still holds the work's claim: a work another batch
        took over (this one's claim went stale) keeps that batch's record. Returns those keys.
        """
        ...

    def parked(self, project: str | None = None) -> list[WorkRecord]:
        """Work parked for `project` (every project when None), from the status index."""
        ...

    def engagement_works(
        self, system: SystemName, project: str, *, since: date | None = None
    ) -> list[WorkRecord]:
        """The work of one engagement (from the by-engagement index), oldest first."""
        ...

    def engagement(self, system: SystemName, project: str) -> BookedEngagement | None: ...

    def save_engagement(self, engagement: BookedEngagement) -> None: ...

    def engagements(self, status: EngagementStatus) -> list[BookedEngagement]:
        """The engagements booked in `status` (the billing calendar bills the active ones)."""
        ...
