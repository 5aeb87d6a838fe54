"""Kantata OX workweeks, time off and cost rates as workers' monthly capacity (pure functions).

Vendor facts, each from the page named:
- https://developer.kantata.com/tag/Workweeks: "Workweeks in Kantata OX are owned by an Account. They
  can be used as the default for an Account or can be associated to a User through a Workweek
  Membership"; each has a `start_date` (a Sunday), an `end_date` and `<day>_minutes`, "the number of
  workable minutes" per weekday.
- https://developer.kantata.com/kantata/specification/workweek-memberships/create-workweek-membership:
  a membership carries `user_id`, `start_date` and "the number of available working minutes" per
  weekday; GET /workweek_memberships is "sorted by their start_date".
- https://developer.kantata.com/kantata/specification/time-off-entries (create): a time off entry is a
  user's `hours` on a day; "Time off hours cannot exceed the user's possible workday hours for that
  day". Time off is reported apart from capacity (`time_off_hours`), not deducted from it.
- https://developer.kantata.com/tag/Cost-Rates: "Cost Rate represents the hourly cost for an account
  member, specified in a specific currency", `amount_in_subunits` with `currency`, per
  `account_membership_id`; creating one for a member and currency overrides the existing one, and
  "Updating a cost rate will set the cost rate for future work" (POST /cost_rates).

So the grain is the calendar month split where a user's workweek changes: one record per user and
workweek (their own membership, else the account default) covering part of the month.

UNCONFIRMED / NOT DOCUMENTED as far as found: holidays (Kantata has holiday calendars, but no page
read here says how they reduce a workweek) are not deducted; cost rates carry no effective dates, so
a past month is read at the member's current cost rate; the time off entry's date field name
(`requested_date`); `user_id` on an account membership.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal

from shared.connectors.kantata.schemas import CostRate, Schedule, TimeOffEntry, Workweek, WorkweekMembership
from shared.domain.capacity import Month, WorkerCapacity
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money

USER_TYPE = "user"
MEMBERSHIP_TYPE = "workweek_membership"
WORKWEEK_TYPE = "workweek"
MINUTES_PER_HOUR = Decimal(60)


def cost_rate_of(rates: Sequence[CostRate], default_currency: str | None) -> Money | None:
    """A member's cost of one hour: the rate in the account's default currency, else their only one."""
    chosen = [r for r in rates if r.currency == default_currency] if default_currency else list(rates)
    if len(chosen) != 1:
        return None
    rate = chosen[0]
    money = Money.of(rate.amount_in_subunits, rate.currency)
    return Money.of(money.amount.scaleb(-money.minor_unit), rate.currency)


def _schedule_on(
    day: date, own: Sequence[WorkweekMembership], defaults: Sequence[Workweek]
) -> Schedule | None:
    for membership in own:
        if membership.covers(day):
            return membership
    for workweek in defaults:
        if workweek.default and workweek.covers(day):
            return workweek
    return None


def user_capacities(
    user_id: str,
    month: Month,
    *,
    own: Sequence[WorkweekMembership],
    defaults: Sequence[Workweek],
    time_off: Iterable[TimeOffEntry],
    cost_rate: Money | None,
) -> list[WorkerCapacity]:
    """One user's `month`, one record per workweek that schedules part of it, in date order."""
    off: dict[date, Decimal] = {}
    for entry in time_off:
        if entry.user_id == user_id:
            off[entry.requested_date] = off.get(entry.requested_date, Decimal(0)) + entry.hours
    segments: list[tuple[Schedule, list[date]]] = []
    for day in month.days():
        schedule = _schedule_on(day, own, defaults)
        if schedule is None:
            continue
        if segments and segments[-1][0] is schedule:
            segments[-1][1].append(day)
        else:
            segments.append((schedule, [day]))
    found = []
    for schedule, days in segments:
        kind = MEMBERSHIP_TYPE if isinstance(schedule, WorkweekMembership) else WORKWEEK_TYPE
        minutes = sum(schedule.minutes_on(day) for day in days)
        found.append(
            WorkerCapacity(
                source=SourceRef(system=SystemName.KANTATA, type=kind, id=schedule.id),
                worker=SourceRef(system=SystemName.KANTATA, type=USER_TYPE, id=user_id),
                period_start=days[0],
                period_end=days[-1],
                capacity_hours=Decimal(minutes) / MINUTES_PER_HOUR,
                time_off_hours=sum((off.get(day, Decimal(0)) for day in days), Decimal(0)),
                cost_rate=cost_rate,
            )
        )
    return found


def month_capacities(
    month: Month,
    *,
    users: Iterable[str],
    memberships: Iterable[WorkweekMembership],
    workweeks: Sequence[Workweek],
    time_off: Sequence[TimeOffEntry],
    cost_rates: Mapping[str, Money | None],
) -> list[WorkerCapacity]:
    """Every user's `month`: users are the account's members and whoever holds a workweek membership."""
    own: dict[str, list[WorkweekMembership]] = {}
    for membership in memberships:
        own.setdefault(membership.user_id, []).append(membership)
    everyone = sorted(set(users) | set(own), key=lambda u: (len(u), u))
    found: list[WorkerCapacity] = []
    for user in everyone:
        found += user_capacities(
            user,
            month,
            own=own.get(user, []),
            defaults=workweeks,
            time_off=time_off,
            cost_rate=cost_rates.get(user),
        )
    return found
