"""Salaries (cost rates), holiday calendars and holidays: what a person's capacity is read from.

https://developer.productive.io/salaries.html: GET /api/v2/salaries; a salary is a person's `cost`
(cents) in a `currency` for `started_on`..`ended_on`, of `salary_type_id` 1 monthly, 2 hourly,
3 weekly, 4 bi-weekly, 5 annually, with `working_hours` ("exactly 14 numbers", Monday first) and
`alternating_hours`; "A person can have multiple cost rates, however they cannot overlap in time"
(the twin refuses an overlapping one, 422); the listing "does not support sorting (default sorting is
by id descending)" (the page as rendered at withone.ai, third-party); its filters are `person_id`,
`after` and `before`. https://developer.productive.io/holiday_calendars.html: "Each cost rate has
exactly one holiday calendar". https://developer.productive.io/holidays.html: GET /api/v2/holidays,
filters `id`, `after`, `before`, `holiday_calendar_id`.

People set these up in the app (the control API below); the twin serves the reads. UNCONFIRMED:
what `after`/`before` mean on salaries (the twin: a salary still running on or after `after`, and
started on or before `before`); whether they include the bound day (the twin includes it).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.productive.engagements import EngagementWrites
from infra.local.sandboxes.productive.errors import ApiError

CAPACITY_RESOURCES = ("salaries", "holiday_calendars", "holidays")
SALARY_TYPES = frozenset({1, 2, 3, 4, 5})


def _to(kind: str, resource_id: str | None) -> dict[str, Any]:
    return {"data": None if resource_id is None else {"type": kind, "id": resource_id}}


def _number(value: Decimal | int | str) -> int | float:
    # JSON numbers as Productive writes them: integers, or decimals such as 7.5.
    exact = Decimal(str(value))
    return int(exact) if exact == exact.to_integral_value() else float(exact)


class Capacity(EngagementWrites):
    """Salaries and holidays, mixed into the sandbox that owns the stores."""

    # --- control API ------------------------------------------------------------------------

    def add_holiday_calendar(self, name: str, *, country: str | None = None) -> str:
        """An administrator adds a holiday calendar; returns its id."""
        with self._lock:
            calendar_id = str(next(self._ids))
            self._store["holiday_calendars"][calendar_id] = {
                "id": calendar_id,
                "type": "holiday_calendars",
                "attributes": {
                    "name": name,
                    "country": country,
                    "state": None,
                    "autogenerate_holidays": False,
                },
                "relationships": {},
            }
            return calendar_id

    def add_holiday(self, calendar_id: str, day: str, name: str = "Holiday") -> str:
        """A holiday on `day` (ISO date) in calendar `calendar_id`; returns its id."""
        with self._lock:
            if calendar_id not in self._store["holiday_calendars"]:
                raise KeyError(f"holiday calendar {calendar_id} is not in the sandbox")
            holiday_id = str(next(self._ids))
            self._store["holidays"][holiday_id] = {
                "id": holiday_id,
                "type": "holidays",
                "attributes": {"name": name, "date": date.fromisoformat(day).isoformat()},
                "relationships": {"holiday_calendar": _to("holiday_calendars", calendar_id)},
            }
            return holiday_id

    def add_salary(
        self,
        person_id: str,
        *,
        started_on: str,
        cost: int,
        currency: str = "EUR",
        salary_type_id: int = 2,
        working_hours: Sequence[Decimal | int | str] = (8, 8, 8, 8, 8, 0, 0) * 2,
        alternating_hours: bool = False,
        ended_on: str | None = None,
        holiday_calendar_id: str | None = None,
    ) -> str:
        """A cost rate set on a person's profile (cost in cents); returns its id. An overlap is 422."""
        if len(working_hours) != 14:
            raise ApiError(422, "Invalid Attribute", "working_hours must have 14 numbers", "/data/attributes")
        if salary_type_id not in SALARY_TYPES:
            raise ApiError(422, "Invalid Attribute", "salary_type_id is not included in the list")
        start = date.fromisoformat(started_on)
        end = date.fromisoformat(ended_on) if ended_on else None
        with self._lock:
            if person_id not in self._store["people"]:
                raise KeyError(f"person {person_id} is not in the sandbox")
            for other in self._store["salaries"].values():
                if other["relationships"]["person"]["data"]["id"] != person_id:
                    continue
                theirs = other["attributes"]
                their_end = date.fromisoformat(theirs["ended_on"]) if theirs["ended_on"] else date.max
                if start <= their_end and date.fromisoformat(theirs["started_on"]) <= (end or date.max):
                    raise ApiError(422, "Invalid Attribute", "cost rates cannot overlap", "/data/attributes")
            salary_id = str(next(self._ids))
            self._store["salaries"][salary_id] = {
                "id": salary_id,
                "type": "salaries",
                "attributes": {
                    "started_on": start.isoformat(),
                    "ended_on": end.isoformat() if end else None,
                    "cost": cost,
                    "currency": currency,
                    "salary_type_id": salary_type_id,
                    "working_hours": [_number(h) for h in working_hours],
                    "alternating_hours": alternating_hours,
                    "overhead": False,
                    "note": None,
                },
                "relationships": {
                    "person": _to("people", person_id),
                    "holiday_calendar": _to("holiday_calendars", holiday_calendar_id),
                },
            }
            return salary_id

    def salaries(self) -> list[dict[str, Any]]:
        """Every salary (copies), in id order."""
        with self._lock:
            found = self._store["salaries"]
            return [copy.deepcopy(found[k]) for k in sorted(found, key=int)]

    # --- routes -----------------------------------------------------------------------------

    def _listing(self, kind: str, resources: list[dict[str, Any]], request: Request) -> Response:
        raise NotImplementedError

    def _capacity_route(self, kind: str, tail: list[str], method: str, request: Request) -> Response:
        if not tail and method == "GET":
            if kind != "salaries":
                return self._list_resources(kind, request)
            if request.args.get("sort"):
                raise ApiError(400, "Unsupported Sort", "Sort is not supported on this endpoint")
            found = self._store["salaries"]
            return self._listing(kind, [found[k] for k in sorted(found, key=int, reverse=True)], request)
        if len(tail) == 1 and method == "GET":
            return self._single(kind, tail[0], request)
        raise ApiError(405, "Method Not Allowed", f"{method} {request.path} is not supported")
