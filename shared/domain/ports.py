"""The interfaces use cases are written against; adapters in connectors/ and aws/ implement them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import ConfigDict, Field

from shared.domain.models import Account, CanonicalModel, EntityType, SourceRef, SystemName, UtcDateTime
from shared.domain.money import Money
from shared.domain.notices import ChangeNotice, ReceivedChanges

if TYPE_CHECKING:
    # Typing only: handlers that never set up engagements do not pay for importing these models.
    from shared.domain.budgets import RateLimit
    from shared.domain.commercial import Opportunity, RateCard
    from shared.domain.engagements import Engagement

# --- webhooks -------------------------------------------------------------------------------


class WebhookRequest(CanonicalModel):
    """An inbound HTTP request exactly as received: the signature covers `body`, byte for byte."""

    # Header and query values are credentials (a signature, an endpoint token): compared as sent,
    # so the canonical models' whitespace trimming must not touch them.
    model_config = ConfigDict(str_strip_whitespace=False)

    method: str
    path: str
    query: Mapping[str, str] = Field(default_factory=dict)
    headers: Mapping[str, str] = Field(default_factory=dict, description="names lower-cased")
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class WebhookReply(CanonicalModel):
    """What the vendor expects back (a SOAP Ack for Salesforce, an empty 200 for QBO, ...)."""

    status: int = 200
    body: str = ""
    content_type: str = "application/json"


class ReceivedWebhook(CanonicalModel):
    """An authentic webhook: the notices it carries and the reply its sender expects."""

    notices: tuple[ChangeNotice, ...]
    reply: WebhookReply = Field(default_factory=WebhookReply)
    dropped: Mapping[str, int] = Field(
        default_factory=dict, description="notices acknowledged but not recorded, counted per reason"
    )


@runtime_checkable
class WebhookReceiver(Protocol):
    """Verifies one vendor's webhooks on the raw bytes and parses them into notices.

    Raises `AuthenticityError` (401) or `MalformedNotice` (400); never enqueues anything itself.
    """

    provider: SystemName

    def receive(self, request: WebhookRequest) -> ReceivedWebhook: ...


@runtime_checkable
class ChangeEventReceiver(Protocol):
    """Reads one event of a vendor's change stream delivered through an event bus (Salesforce Change
    Data Capture relayed to EventBridge): the notices it carries and the sweeps it asks for.

    Raises `AuthenticityError` (not this tenant's stream) or `MalformedNotice`.
    """

    provider: SystemName

    def read_change_event(self, event: Mapping[str, Any]) -> ReceivedChanges: ...


@runtime_checkable
class ChangedRecordsFeed(Protocol):
    """A system that can say which records of a type changed since an instant (a catch-up sweep)."""

    system: SystemName

    def records_changed_since(self, vendor_type: str, since: datetime) -> list[str]: ...


# --- systems of record and targets ----------------------------------------------------------


class RecordFate(CanonicalModel):
    """What became of a record its system no longer returns: deleted, or merged into a survivor."""

    deleted: bool
    merged_into: str | None = Field(default=None, description="the surviving record's id, on a merge")


@runtime_checkable
class AccountSource(Protocol):
    """The system of record for accounts (the CRM): the hub reads the current record from it."""

    system: SystemName

    def fetch_account(self, account_id: str) -> Account: ...

    def account_fate(self, account_id: str) -> RecordFate | None:
        """What became of an account `fetch_account` no longer finds: deleted, or merged into another.

        None when the system knows nothing of the id (never existed, or purged for good).
        """
        ...

    def merged_away(self, survivor_id: str) -> list[str]:
        """Ids of the accounts merged into `survivor_id` (deleted, their copies maybe orphaned)."""
        ...

    def fetch_with_merged(self, account_id: str) -> tuple[Account, list[str]]:
        """`fetch_account` and `merged_away` together, in one call where the system can answer both.

        Raises what `fetch_account` raises (NotFoundError once the account itself is gone).
        """
        ...

    def show_owned_elsewhere(self, account_id: str, values: Mapping[str, str | None]) -> None:
        """Show on the account the values of fields another system owns (e.g. payment terms).

        `values` is keyed by canonical field name, in this system's words; writing them twice
        leaves the same record.
        """
        ...


class TargetRecord(CanonicalModel):
    """A record in a target system and its content seen through the canonical model."""

    ref: SourceRef
    view: Account
    origin: SourceRef | None = Field(
        default=None,
        description="the system-of-record record the hub stamped on it when it made it (None: no stamp)",
    )
    active: bool = Field(default=True, description="False: made inactive (archived) in its system")

    def made_for(self, source: SourceRef) -> bool:
        """True when the hub made this record for `source` (its stamp names that system and id)."""
        return self.origin is not None and (self.origin.system, self.origin.id) == (source.system, source.id)


# A handful is enough for a person to compare in an exception, and small enough that looking for
# namesakes costs one or two vendor calls per new customer, never a walk through the whole list.
MAX_MATCH_CANDIDATES = 20


@runtime_checkable
class AccountTarget(Protocol):
    """A system that holds a copy of each account (PSA client, accounting customer).

    Idempotency: `idempotency_key` is stable for the intent (the same account being created, or the
    same content being written over the same version); the connector passes it to the vendor's own
    device (QBO `requestid`, ...) so that a retried request never creates a second record.
    """

    system: SystemName

    def project(self, account: Account) -> Account:
        """The content this system will hold after writing `account` (fields it cannot store drop)."""
        ...

    def read_account(self, record_id: str) -> TargetRecord: ...

    def find_account(self, account: Account) -> TargetRecord | None:
        """The record this hub created earlier for `account`, found by the reference stamped on it."""
        ...

    def match_candidates(self, account: Account) -> list[TargetRecord]:
        """Records that could be the same customer as `account`, at most `MAX_MATCH_CANDIDATES`.

        Found by name (and by web domain where the vendor can search it), inactive or archived ones
        included and none excluded: deciding which one, if any, is the same customer is the
        matching rules' job (`shared.governance.matching`), not the connector's. When more records
        share a name than the bound, the connector narrows its search rather than cut the list at
        random, because a cut list could make an ambiguous name look unique.
        """
        ...

    def create_account(self, account: Account, *, idempotency_key: str) -> TargetRecord: ...

    def update_account(
        self,
        record_id: str,
        account: Account,
        *,
        idempotency_key: str,
        last_synced: CrossReference | None = None,
    ) -> TargetRecord:
        """Write `account` over the record; `last_synced` is what the ledger knows of it (its version
        and content as last synced), so a connector that needs the version can skip reading it first
        (and reads it only when the vendor says the version moved)."""
        ...

    def deactivate_account(self, record_id: str, *, reason: str) -> TargetRecord:
        """Make the copy inactive (kept, with its history, but out of use); twice is the same as once."""
        ...


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
    """Business metrics (Powertools EMF in the handlers; a counter dict in unit tests).

    `dimensions` make a metric of their own per value (CloudWatch bills each); `properties` ride along
    in the log record only (EMF metadata): a value per customer is queried there, not charged as a
    metric per customer.
    """

    def count(
        self,
        name: str,
        value: float = 1,
        unit: str = "Count",
        dimensions: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> None: ...


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


class SetupOutcome(CanonicalModel):
    """What engagement setup reports back to the opportunity in the CRM."""

    status: str = Field(description="pending_approval, active, rejected or failed")
    psa_project_id: str | None = None
    accounting_project_id: str | None = None
    detail: str | None = Field(default=None, max_length=1000)


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
