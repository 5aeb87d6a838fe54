"""Workers' capacity: the hours a worker can work in a period and what an hour of theirs costs.

The two facts behind utilization (billable hours / capacity) and margin (delivered - hours x cost
rate), both read from the PSA's people and schedules. The grain is the calendar month, split where
the PSA's schedule or cost rate changes inside it: one `WorkerCapacity` per worker, per month, per
schedule record that covers part of that month (its dates are the part it covers).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator

from shared.domain.decimals import ExactDecimal
from shared.domain.models import CanonicalModel, SourceRef
from shared.domain.money import Money
from shared.domain.refs import WorkerRef


class Month(CanonicalModel):
    """A calendar month: the period capacities are read for."""

    year: int = Field(ge=1900, le=9999)
    month: int = Field(ge=1, le=12)

    @classmethod
    def of(cls, day: date) -> Month:
        """The month `day` falls in."""
        return cls(year=day.year, month=day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """A month written `YYYY-MM`."""
        year, _, month = text.strip().partition("-")
        if not (year.isdigit() and month.isdigit()):
            raise ValueError(f"a month is written YYYY-MM, not {text!r}")
        return cls(year=int(year), month=int(month))

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def days(self) -> Iterator[date]:
        """Every day of the month, in order."""
        day = self.first_day
        while day <= self.last_day:
            yield day
            day += timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class WorkerCapacity(CanonicalModel):
    """The hours a worker can work between two dates (inclusive) and their cost rate, as the PSA says."""

    source: SourceRef = Field(description="the PSA record the figures come from (a schedule, a cost rate)")
    worker: WorkerRef = Field(description="the PSA's person or user")
    period_start: date
    period_end: date = Field(description="inclusive; within the month of period_start")
    capacity_hours: ExactDecimal = Field(
        ge=0, description="scheduled working hours in the period, less the holidays the PSA deducts"
    )
    time_off_hours: ExactDecimal | None = Field(
        default=None,
        ge=0,
        description="time off in the period, when the PSA reports it apart from capacity (None: not read)",
    )
    cost_rate: Money | None = Field(default=None, description="the PSA's cost of one hour of this worker")

    @model_validator(mode="after")
    def _one_period_in_one_month(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError(f"period ends {self.period_end} before it starts {self.period_start}")
        if Month.of(self.period_start) != Month.of(self.period_end):
            raise ValueError(f"period {self.period_start}..{self.period_end} spans more than one month")
        if self.cost_rate is not None and self.cost_rate.amount < 0:
            raise ValueError(f"cost rate must not be negative, got {self.cost_rate}")
        return self

    @property
    def month(self) -> Month:
        """The calendar month the period lies in."""
        return Month.of(self.period_start)

    @property
    def available_hours(self) -> Decimal:
        """Capacity less the time off reported apart from it (capacity itself when none was read)."""
        return max(self.capacity_hours - (self.time_off_hours or Decimal(0)), Decimal(0))
