"""Kantata OX payloads the capacity read uses, as pydantic models tolerant of unknown fields.

https://developer.kantata.com/ "Response Format" (as every endpoint page restates it): "the returned
data will be referenced in sorted order in the results array and will be indexed by ID in the
<collection> top-level JSON key", with `count` and `meta` (`count`, `page_count`, `page_number`,
`page_size`). Errors are `{"errors": [{"type", "message"}]}` (each page's 4xx response fields).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Day fields of a workweek, Monday first (Python's date.weekday() order).
DAY_FIELDS = (
    "monday_minutes",
    "tuesday_minutes",
    "wednesday_minutes",
    "thursday_minutes",
    "friday_minutes",
    "saturday_minutes",
    "sunday_minutes",
)


class Raw(BaseModel):
    """Base of Kantata payloads: unknown fields ignored, frozen, built on first use."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True, coerce_numbers_to_str=True)


class Meta(Raw):
    """Pagination meta of a listing."""

    count: int = 0
    page_count: int = 1
    page_number: int = 1
    page_size: int = 20


class ResultKey(Raw):
    """One entry of `results`: which collection and which id, in the answer's order."""

    key: str
    id: str


class Listing(Raw):
    """One page of a listing: `results` in order, the records indexed by id under their collection."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True, coerce_numbers_to_str=True)

    count: int = 0
    meta: Meta = Field(default_factory=Meta)
    results: list[ResultKey] = Field(default_factory=list)

    def records(self, collection: str) -> list[dict[str, Any]]:
        """The page's records of `collection`, in `results` order."""
        index = (self.model_extra or {}).get(collection) or {}
        return [{"id": r.id, **index[r.id]} for r in self.results if r.key == collection and r.id in index]


class Schedule(Raw):
    """Minutes of work per weekday from `start_date` to `end_date` (None: open-ended)."""

    id: str
    start_date: date
    end_date: date | None = None
    sunday_minutes: int = Field(default=0, ge=0)
    monday_minutes: int = Field(default=0, ge=0)
    tuesday_minutes: int = Field(default=0, ge=0)
    wednesday_minutes: int = Field(default=0, ge=0)
    thursday_minutes: int = Field(default=0, ge=0)
    friday_minutes: int = Field(default=0, ge=0)
    saturday_minutes: int = Field(default=0, ge=0)

    def covers(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)

    def minutes_on(self, day: date) -> int:
        minutes: int = getattr(self, DAY_FIELDS[day.weekday()])
        return minutes


class Workweek(Schedule):
    """An account workweek (https://developer.kantata.com/tag/Workweeks): the default for its dates."""

    default: bool = True


class WorkweekMembership(Schedule):
    """A user's own workweek (https://developer.kantata.com/kantata/specification/workweek-memberships)."""

    user_id: str


class TimeOffEntry(Raw):
    """Time off a user requested (https://developer.kantata.com/ "Time Off Entries"): hours on a day."""

    id: str
    user_id: str
    hours: Decimal = Field(ge=0)
    requested_date: date  # UNCONFIRMED field name (the create page lists user_id and hours)


class AccountMembership(Raw):
    """A user's membership of the account: what a cost rate belongs to."""

    id: str
    user_id: str


class CostRate(Raw):
    """An account member's hourly cost in one currency (https://developer.kantata.com/tag/Cost-Rates)."""

    id: str
    account_membership_id: str
    amount_in_subunits: int = Field(ge=0)
    currency: str
    in_use: bool | None = None
