"""Productive.io salaries (cost rates) and holidays as workers' monthly capacity (the CapacitySource port).

Vendor facts, each from the page named:
- https://developer.productive.io/salaries.html: a salary ("also called cost rates") is one person's
  cost for a period (`started_on`, `ended_on`); "A person can have multiple cost rates, however they
  cannot overlap in time". `cost` is money in cents with a `currency`; `salary_type_id` is
  1 monthly, 2 hourly, 3 weekly, 4 bi-weekly, 5 annually. `working_hours` is "exactly 14 numbers" of
  hours, Monday first: the first seven a normal week, the last seven "an alternative week" used when
  `alternating_hours` is true. Each salary has one holiday calendar (`holiday_calendar_id`).
- https://developer.productive.io/holidays.html: GET /api/v2/holidays, filters `after`, `before`,
  `holiday_calendar_id`; a holiday is a `date` of that calendar, which defines "an employee's
  availability on a specific calendar date based on their defined cost rate".
- https://help.productive.io/en/articles/7945844-calculating-hourly-costs-based-on-working-days:
  "Public holidays or other non-working days reduce the total capacity"; for fixed cost types
  (weekly, bi-weekly, monthly, annual) "Productive divides their total cost by the exact working
  capacity" of the period; and "time off reduces availability, not capacity" — so time off is not
  deducted here (`time_off_hours` stays None: not read).

UNCONFIRMED (not in the pages above): which week of an alternating schedule counts as the "normal"
one (taken here as the week `started_on` falls in, then every other week); whether `after`/`before`
include the bound day (the request brackets the year by a day either side and filters here); the
divisor of weekly and bi-weekly costs (taken as the hours of one or both weeks of `working_hours`,
holidays ignored); organization overhead (the `overhead` flag adds an amount the salary does not
carry): the cost rate here excludes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta
from decimal import Decimal
from enum import IntEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from shared.connectors.productive.delivery_mapper import PERSON_TYPE
from shared.domain.capacity import Month, WorkerCapacity
from shared.domain.decimals import CONTEXT
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money

if TYPE_CHECKING:
    from shared.connectors.productive.client import ProductiveClient

SALARY_TYPE = "salaries"
# Cost rates that come from a division are kept to a hundredth of a cent.
RATE_QUANTUM = Decimal("0.0001")


class SalaryType(IntEnum):
    """`salary_type_id` (https://developer.productive.io/salaries.html)."""

    MONTHLY = 1
    HOURLY = 2
    WEEKLY = 3
    BI_WEEKLY = 4
    ANNUALLY = 5


class _Raw(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class _Identifier(_Raw):
    type: str
    id: str


class _Related(_Raw):
    data: _Identifier | None = None


class SalaryAttributes(_Raw):
    """The attributes of a salary this connector reads."""

    started_on: date
    ended_on: date | None = None
    cost: int | None = None  # cents
    currency: str | None = None
    salary_type_id: int | None = None
    working_hours: Annotated[list[Decimal], Field(min_length=14, max_length=14)]
    alternating_hours: bool = False
    # Writable attributes that may come back on a read (the relationships are the documented answer).
    person_id: int | str | None = None
    holiday_calendar_id: int | str | None = None


class SalaryResource(_Raw):
    """A salary (cost rate) resource."""

    id: str
    type: str = SALARY_TYPE
    attributes: SalaryAttributes
    relationships: dict[str, _Related] = Field(default_factory=dict)

    def related(self, name: str) -> str | None:
        """The id of relationship `name`, else the `<name>_id` attribute (None when neither says)."""
        link = self.relationships.get(name)
        if link is not None and link.data is not None:
            return link.data.id
        value = getattr(self.attributes, f"{name}_id", None)
        return None if value is None else str(value)


class HolidayAttributes(_Raw):
    """The attributes of a holiday."""

    date: date
    name: str | None = None


class HolidayResource(_Raw):
    """A holiday resource."""

    id: str
    attributes: HolidayAttributes


class _Meta(_Raw):
    total_pages: int = 1


class SalaryPage(_Raw):
    """One page of GET /salaries."""

    data: list[SalaryResource]
    meta: _Meta = Field(default_factory=_Meta)


class HolidayPage(_Raw):
    """One page of GET /holidays."""

    data: list[HolidayResource]
    meta: _Meta = Field(default_factory=_Meta)


# --- pure mapping -------------------------------------------------------------------------------


def _covers(salary: SalaryAttributes, day: date) -> bool:
    return salary.started_on <= day and (salary.ended_on is None or day <= salary.ended_on)


def _scheduled(salary: SalaryAttributes, day: date, holidays: frozenset[date]) -> Decimal:
    # The weekday's hours of `working_hours`, whether or not the salary covers `day`.
    if day in holidays:
        return Decimal(0)
    week = 0
    if salary.alternating_hours:
        anchor = salary.started_on - timedelta(days=salary.started_on.weekday())
        week = ((day - anchor).days // 7) % 2
    return salary.working_hours[week * 7 + day.weekday()]


def hours_on(salary: SalaryAttributes, day: date, holidays: frozenset[date]) -> Decimal:
    """The hours `salary` schedules on `day` (0 on a holiday of its calendar or outside its dates)."""
    return _scheduled(salary, day, holidays) if _covers(salary, day) else Decimal(0)


def _hours(salary: SalaryAttributes, days: Iterable[date], holidays: frozenset[date]) -> Decimal:
    return sum((hours_on(salary, day, holidays) for day in days), Decimal(0))


def _full(salary: SalaryAttributes, days: Iterable[date], holidays: frozenset[date]) -> Decimal:
    # The capacity of a whole period the salary pays for, as if it covered all of it.
    return sum((_scheduled(salary, day, holidays) for day in days), Decimal(0))


def _year(year: int) -> Iterator[date]:
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


def cost_rate(salary: SalaryAttributes, month: Month, holidays: frozenset[date]) -> Money | None:
    """The cost of one hour under `salary` in `month`; None without cost, currency or known type."""
    if salary.cost is None or not salary.currency:
        return None
    try:
        kind = SalaryType(salary.salary_type_id or 0)
    except ValueError:
        return None
    cost = Decimal(salary.cost) / 100
    if kind is SalaryType.HOURLY:
        return Money.of(cost, salary.currency)
    # A fixed cost over the capacity of the period it pays for.
    divisor = {
        SalaryType.MONTHLY: lambda: _full(salary, month.days(), holidays),
        SalaryType.ANNUALLY: lambda: _full(salary, _year(month.year), holidays),
        SalaryType.WEEKLY: lambda: sum(salary.working_hours[:7], Decimal(0)),
        SalaryType.BI_WEEKLY: lambda: sum(salary.working_hours, Decimal(0)),
    }[kind]()
    if divisor <= 0:
        return None
    return Money.of(CONTEXT.divide(cost, divisor).quantize(RATE_QUANTUM, context=CONTEXT), salary.currency)


def capacity_of(salary: SalaryResource, month: Month, holidays: frozenset[date]) -> WorkerCapacity | None:
    """What `salary` says of its person in `month` (None when it covers no day of the month).

    `holidays` are the dates of the salary's holiday calendar (at least those of the month's year).
    """
    attributes = salary.attributes
    days = [day for day in month.days() if _covers(attributes, day)]
    if not days:
        return None
    person = salary.related("person")
    if person is None:
        raise ValueError(f"salary {salary.id} names no person (request it with include=person)")
    return WorkerCapacity(
        source=SourceRef(system=SystemName.PRODUCTIVE, type=SALARY_TYPE, id=salary.id),
        worker=SourceRef(system=SystemName.PRODUCTIVE, type=PERSON_TYPE, id=person),
        period_start=days[0],
        period_end=days[-1],
        capacity_hours=_hours(attributes, days, holidays),
        cost_rate=cost_rate(attributes, month, holidays),
    )


# --- reading ------------------------------------------------------------------------------------


class ProductiveCapacity:
    """CapacitySource on Productive: every salary covering the month, its calendar's holidays."""

    def __init__(self, client: ProductiveClient, *, page_size: int = 200) -> None:
        self._client = client
        self._page_size = page_size

    # https://developer.productive.io/salaries.html "GET /api/v2/salaries" (filters person_id,
    # after, before; default sort id descending; pages per https://developer.productive.io/ "Pagination").
    def salaries(self) -> Iterator[SalaryResource]:
        """Every salary of the organization, each with its person and holiday calendar ids."""
        params = {"include": "person,holiday_calendar"}
        for page in self._client._pages(SALARY_TYPE, params, SalaryPage, self._page_size):
            yield from page.data

    # https://developer.productive.io/holidays.html "GET /api/v2/holidays" (filters holiday_calendar_id,
    # after, before).
    def holidays(self, calendar_id: str, year: int) -> frozenset[date]:
        """The holiday dates of calendar `calendar_id` in `year`."""
        params: Mapping[str, Any] = {
            "filter[holiday_calendar_id]": calendar_id,
            # A day either side: whether the bounds include their own day is not documented.
            "filter[after]": date(year - 1, 12, 31).isoformat(),
            "filter[before]": date(year + 1, 1, 1).isoformat(),
        }
        found: set[date] = set()
        for page in self._client._pages("holidays", params, HolidayPage, self._page_size):
            found.update(h.attributes.date for h in page.data if h.attributes.date.year == year)
        return frozenset(found)

    def capacities(self, month: Month) -> list[WorkerCapacity]:
        """Every person's capacity in `month`, one record per salary covering part of it."""
        calendars: dict[str, frozenset[date]] = {}
        found: list[WorkerCapacity] = []
        for salary in self.salaries():
            attributes = salary.attributes
            if attributes.started_on > month.last_day or (
                attributes.ended_on is not None and attributes.ended_on < month.first_day
            ):
                continue
            calendar_id = salary.related("holiday_calendar")
            holidays = frozenset[date]()
            if calendar_id is not None:
                if calendar_id not in calendars:
                    calendars[calendar_id] = self.holidays(calendar_id, month.year)
                holidays = calendars[calendar_id]
            capacity = capacity_of(salary, month, holidays)
            if capacity is not None:
                found.append(capacity)
        return sorted(found, key=lambda c: (len(c.worker.id), c.worker.id, c.period_start))
