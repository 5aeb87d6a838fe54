"""Delivered work on its way to accounting: what the PSA holds now, and what the hub posted for it.

`DeliveredWork` is a time entry or an expense as its system of record (the PSA) reports it at one
moment, whatever its approval state: the hub compares it with what it posted before and decides
(post, update, remove, park, nothing). `Posting` is the same work as it is to stand in one
accounting system, every code already translated (customer, worker, item, class, tax code), so a
connector only spells it in its vendor's words.

Time is kept in whole minutes, exactly as the PSA reports it (Productive counts minutes): an
amount is rate x minutes / 60, rounded half-up to the currency's minor unit once, at the end, so
55 minutes at 180.00 is 165.00 and never 164.99 from a rounded 0.92 hours.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from shared.domain.decimals import CONTEXT
from shared.domain.models import CanonicalModel, SourceRef, SystemName, UtcDateTime
from shared.domain.money import Money


class WorkKind(StrEnum):
    """The two kinds of delivered work that reach accounting."""

    TIME = "time"
    EXPENSE = "expense"


class Approval(StrEnum):
    """Where the work stands with its approver in the PSA."""

    APPROVED = "approved"
    PENDING = "pending"  # not yet approved (or approval withdrawn)
    REJECTED = "rejected"


def amount_for(rate: Money, minutes: int) -> Money:
    """Rate per hour times minutes / 60, rounded half-up to the minor unit once."""
    exact = CONTEXT.divide(CONTEXT.multiply(rate.amount, Decimal(minutes)), Decimal(60))
    return Money(amount=exact, currency=rate.currency).rounded()


class DeliveredWork(CanonicalModel):
    """One time entry or expense as the PSA holds it now (any approval state)."""

    source: SourceRef = Field(description="the PSA record; its version is the PSA's last change instant")
    kind: WorkKind
    project: str = Field(min_length=1, description="the PSA project (engagement) it is booked on")
    service: str = Field(min_length=1, description="the PSA service (budget line) it is booked on")
    service_name: str = Field(min_length=1, description="the service's name: the role, or the expense kind")
    worker: SourceRef
    worker_name: str | None = None
    worker_email: str | None = None
    worked_on: date
    minutes: int = Field(default=0, ge=0, le=24 * 60, description="time: the billable minutes")
    amount: Money | None = Field(default=None, description="expense: the billable amount")
    billable: bool
    approval: Approval
    approved_at: UtcDateTime | None = None
    invoiced: bool = Field(default=False, description="the PSA says it is on one of its own invoices")
    note: str | None = Field(default=None, max_length=4000)
    changed_at: UtcDateTime

    @model_validator(mode="after")
    def _amount_for_expenses(self) -> DeliveredWork:
        if self.kind is WorkKind.EXPENSE and self.amount is None:
            raise ValueError(f"expense {self.source.id}: field 'amount' is required")
        return self

    @property
    def postable(self) -> bool:
        """Approved and billable, with something to bill: only such work ever reaches accounting."""
        quantity = self.minutes if self.kind is WorkKind.TIME else (self.amount.amount if self.amount else 0)
        return self.approval is Approval.APPROVED and self.billable and quantity > 0

    @property
    def key(self) -> str:
        """`<system>:<kind>:<id>`: the work's identity across its versions."""
        return work_key(self.source.system, self.kind, self.source.id)


@dataclass(frozen=True)
class UnresolvedWork:
    """An entry the PSA answered but that cannot be read as work (its project cannot be found, ...):
    it exists, so it is not deleted; a person must look at it."""

    kind: WorkKind
    id: str
    reason: str


@dataclass(frozen=True)
class WorkRead:
    """One read of delivered work: what maps, and what exists in the PSA but cannot be mapped."""

    works: list[DeliveredWork]
    unresolved: list[UnresolvedWork] = field(default_factory=list)


def work_key(system: SystemName | str, kind: WorkKind | str, record_id: str) -> str:
    """The identity of one piece of work across its versions (ledger keys, references)."""
    return f"{system}:{kind}:{record_id}"


def work_kind_of(key: str | None) -> WorkKind | None:
    """The kind of work a `work_key` names (None for another origin: a milestone, a retainer)."""
    parts = (key or "").split(":", 2)
    if len(parts) != 3:
        return None
    try:
        return WorkKind(parts[1])
    except ValueError:
        return None


def reference_to(work: SourceRef) -> str:
    """How an accounting record names the PSA entry it was posted for (`close2cash <system>/<type>/<id>`)."""
    return f"close2cash {work.system}/{work.type}/{work.id}"


_REFERENCE = re.compile(r"close2cash (?P<system>[a-z0-9_]+)/(?P<type>[A-Za-z0-9_]+)/(?P<id>[^\s\]\)]+)")


def reference_origin(text: str | None) -> SourceRef | None:
    """The PSA entry a `reference_to` text names, wherever it sits in `text` (a description, a note)."""
    for found in _REFERENCE.finditer(text or ""):
        if found["system"] in _SYSTEMS:
            return SourceRef(system=SystemName(found["system"]), type=found["type"], id=found["id"])
    return None


_SYSTEMS = frozenset(system.value for system in SystemName)


class Posting(CanonicalModel):
    """Approved billable work as it is to stand in one accounting system, every code translated.

    Time: `minutes` at `rate`, `amount` = rate x minutes / 60 rounded once. Expense: `amount` as
    on the receipt, charged to `expense_account` and paid from `payment_account`.
    """

    work: SourceRef = Field(description="the PSA record (with the version posted)")
    kind: WorkKind
    target: SystemName
    legal_entity: str = Field(min_length=1)
    customer: str = Field(min_length=1, description="the engagement's record in the target (sub-customer)")
    worker: str = Field(min_length=1, description="the person's record in the target (employee)")
    worked_on: date
    minutes: int = Field(default=0, ge=0)
    rate: Money | None = None
    amount: Money
    item: str | None = Field(default=None, description="time: the service item")
    service: str | None = Field(
        default=None, description="the PSA's service: the role, or the expense category (what invoices name)"
    )
    expense_account: str | None = None
    payment_account: str | None = None
    accounting_class: str | None = None
    department: str | None = None
    location: str | None = Field(
        default=None, description="the engagement's location (QuickBooks keeps it in its department list)"
    )
    tax_code: str | None = None
    description: str = Field(min_length=1, max_length=4000)

    @model_validator(mode="after")
    def _complete(self) -> Posting:
        if self.kind is WorkKind.TIME:
            if self.rate is None or self.item is None or self.minutes <= 0:
                raise ValueError(f"time posting for {self.work}: rate, item and minutes are required")
            if amount_for(self.rate, self.minutes) != self.amount:
                raise ValueError(f"time posting for {self.work}: amount must be rate x minutes / 60, rounded")
        elif self.expense_account is None or self.payment_account is None:
            raise ValueError(f"expense posting for {self.work}: expense and payment accounts are required")
        return self

    @property
    def reference(self) -> str:
        """The reference back to the PSA entry carried on the accounting record."""
        return reference_to(self.work)

    def checksum(self) -> str:
        """What was posted, independent of the PSA version: an edit that changes nothing posts nothing."""
        # The service is what the hub calls the work, not something accounting holds: naming it (or
        # ledgers written before it was kept) changes nothing posted.
        content = self.model_dump(mode="json", exclude={"work", "service"})
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


class PostingState(StrEnum):
    """Where one piece of work stands between the PSA and accounting (`close2cash time list`)."""

    POSTED = "posted"  # in accounting as approved
    CORRECTED = "corrected"  # posted, then updated after an edit in the PSA (still unbilled)
    REMOVED = "removed"  # posted, then removed (un-approved, rejected, deleted, made non-billable)
    PARKED = "parked"  # approved and billable, waiting for its engagement to be active in accounting
    EXCEPTION = "exception"  # needs a person: a mapping missing, a refusal, a change after billing
    NOT_POSTED = "not_posted"  # seen, but not approved or not billable: nothing to post


class PostedRecord(CanonicalModel):
    """The accounting record as the target reports it now: its version and whether it was billed."""

    id: str
    version: str | None = Field(default=None, description="what an update must name (QBO SyncToken)")
    billed: bool = False
    invoice: str | None = Field(default=None, description="the invoice it was billed on, when known")


class HeldPosting(CanonicalModel):
    """A posted record as the target holds it now: its version and billing, and the posting's fields
    as stored there (the names of `Posting`'s fields, in the target's own terms where it differs)."""

    record: PostedRecord
    fields: dict[str, Any] = Field(
        default_factory=dict, description="field -> value as held (str, int, bool, Decimal or None)"
    )


class WriteOperation(StrEnum):
    """What one item of a batch does to the accounting record."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class PostingWrite(CanonicalModel):
    """One item of a batch: `posting` created, or written over / deleted from `record`."""

    key: str = Field(min_length=1, description="work_key of the work: unique in its batch")
    operation: WriteOperation
    kind: WorkKind
    posting: Posting | None = None
    record: PostedRecord | None = None
    source: SourceRef | None = Field(
        default=None, description="the PSA record at the version this write brings (a delete has no posting)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> PostingWrite:
        if self.operation is not WriteOperation.DELETE and self.posting is None:
            raise ValueError(f"{self.key}: a {self.operation} needs the posting")
        if self.operation is not WriteOperation.CREATE and self.record is None:
            raise ValueError(f"{self.key}: a {self.operation} needs the record it changes")
        return self


class WriteOutcome(CanonicalModel):
    """One batch item's answer: the record written, or the vendor's refusal of that item alone."""

    key: str
    record: PostedRecord | None = None
    error: str | None = Field(default=None, description="the vendor's reason, when the item was refused")
    code: str | None = Field(default=None, description="the vendor's error code")
    transient: bool = Field(default=False, description="a refusal a later attempt may not meet")
    billed: bool = Field(default=False, description="refused because the record was billed meanwhile")

    @property
    def ok(self) -> bool:
        return self.error is None
