"""Productive.io time entries and expenses as raw JSON:API resources (the read side of delivery).

https://developer.productive.io/time_entries.html and
https://developer.productive.io/reference/resources/time-entries: `time`, `billable_time` and
`recognized_time` are minutes; "time is recognised and billable only after approval"
(https://help.productive.io/en/articles/2179594-approving-time-overview), so `recognized_time` is 0
until then. https://developer.productive.io/reference/resources/expenses: `amount` is an integer
"in the expense currency" (minor units as in the docs' samples, UNCONFIRMED), `approval_status` is
1 approved, 2 not approved, 3 rejected, 4 auto-approved
(https://developer-staging.productive.io/expenses.html).

Unknown attributes are ignored (Productive adds fields); a missing required one fails validation,
naming the field. Relationships carry ids only, and only when the request `include`s them
(https://developer.productive.io/resource_representation.html): otherwise `meta.included: false`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import IntEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class RawModel(BaseModel):
    """Base of the delivery payloads: unknown fields ignored, frozen, built on first use."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# An ISO 8601 timestamp with an offset, as Productive sends it, turned to UTC; a naive one is refused.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]


class TimeEntryStatus(IntEnum):
    """`filter[status]` of GET /time_entries (https://developer.productive.io/time_entries.html)."""

    APPROVED = 1
    UNAPPROVED = 2
    REJECTED = 3


class ExpenseApprovalStatus(IntEnum):
    """`approval_status` of an expense (https://developer.productive.io/reference/resources/expenses)."""

    APPROVED = 1
    NOT_APPROVED = 2
    REJECTED = 3
    AUTO_APPROVED = 4


class Identifier(RawModel):
    """A JSON:API resource identifier."""

    type: str
    id: str


class Related(RawModel):
    """A relationship: `data` when included (None when empty), absent when `meta.included` is false."""

    data: Identifier | None = None


def _require_related(relationships: dict[str, Related], names: tuple[str, ...]) -> None:
    for name in names:
        related = relationships.get(name)
        if related is None or related.data is None:
            raise ValueError(f"relationship {name!r} has no id (request it with include={name})")


def _id(relationships: dict[str, Related], name: str) -> str | None:
    related = relationships.get(name)
    return related.data.id if related is not None and related.data is not None else None


class BookedResource(RawModel):
    """A resource a person books on a service (time entry, expense): both ids are required."""

    id: str
    relationships: dict[str, Related] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_owner(self) -> BookedResource:
        _require_related(self.relationships, ("person", "service"))
        return self

    @property
    def person_id(self) -> str:
        """Who tracked the time or spent the money."""
        return _id(self.relationships, "person") or ""

    @property
    def service_id(self) -> str:
        """The budget line it is booked on."""
        return _id(self.relationships, "service") or ""


class TimeEntryAttributes(RawModel):
    """The attributes of a `time_entries` resource this hub reads (minutes, approval, invoicing)."""

    date: date
    time: int
    billable_time: int
    recognized_time: int
    note: str | None = None
    approved: bool
    approved_at: UtcDatetime | None = None
    rejected: bool
    rejected_at: UtcDatetime | None = None
    rejected_reason: str | None = None
    invoiced: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime


class TimeEntryResource(BookedResource):
    """A JSON:API resource of type `time_entries`."""

    type: str = "time_entries"
    attributes: TimeEntryAttributes

    @property
    def approver_id(self) -> str | None:
        """Who approved it (None until approved, or when not included)."""
        return _id(self.relationships, "approver")

    @property
    def task_id(self) -> str | None:
        """The task, when the entry has one and it was included."""
        return _id(self.relationships, "task")


class ExpenseAttributes(RawModel):
    """The attributes of an `expenses` resource this hub reads."""

    name: str
    date: date
    amount: int
    currency: str
    billable_amount: int | None = None
    invoicing_status: int | None = None
    invoiced: bool | None = None
    approval_status: ExpenseApprovalStatus
    approved_at: UtcDatetime | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ExpenseResource(BookedResource):
    """A JSON:API resource of type `expenses`."""

    type: str = "expenses"
    attributes: ExpenseAttributes


class IncludedResource(RawModel):
    """A resource of a document's `included` (a person, service, deal or project), read by the mapper.

    Attributes stay a mapping: each kind has its own, and the mapper reads the few it needs
    (https://jsonapi.org/format/#document-compound-documents).
    """

    type: str
    id: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    relationships: dict[str, Related] = Field(default_factory=dict)

    def related_id(self, name: str) -> str | None:
        """The id relationship `name` points at (None when empty or not included)."""
        return _id(self.relationships, name)


class Meta(RawModel):
    """Pagination meta (https://developer.productive.io/ "Pagination")."""

    current_page: int = 1
    total_pages: int = 1
    total_count: int | None = None


D = TypeVar("D", TimeEntryResource, ExpenseResource)


class One(RawModel, Generic[D]):
    """A document whose primary data is one resource, with the resources its `include` asked for."""

    data: D
    included: list[IncludedResource] = Field(default_factory=list)


class Page(RawModel, Generic[D]):
    """A document whose primary data is one page of resources, with the resources its `include` asked for."""

    data: list[D]
    included: list[IncludedResource] = Field(default_factory=list)
    meta: Meta = Field(default_factory=Meta)


TimeEntryDocument = One[TimeEntryResource]
TimeEntryPage = Page[TimeEntryResource]
ExpenseDocument = One[ExpenseResource]
ExpensePage = Page[ExpenseResource]
