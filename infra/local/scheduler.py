"""Fires the wiring's ScheduleTrigger functions on the runtime's clock (moto's schedules never fire)."""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.local.clock import Clock
from infra.local.moto_patches import Invoker
from infra.wiring_model import ScheduleTrigger, Wiring

LOG = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_WEEKDAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}  # 1 = Sunday
# (low, high, names) of the six fields of an EventBridge cron expression.
_FIELDS: tuple[tuple[int, int, Mapping[str, int]], ...] = (
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, _MONTHS),
    (1, 7, _WEEKDAYS),
    (1970, 2199, {}),
)


class ScheduleError(ValueError):
    """A schedule expression EventBridge would reject, or one this runtime cannot evaluate."""


def _field_values(text: str, low: int, high: int, names: Mapping[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.upper().split(","):
        if any(flag in part for flag in ("L", "W", "#")) and part not in names:
            raise ScheduleError(f"cron field {text!r}: L, W and # are not supported by the local scheduler")
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = names.get(first) or int(first), names.get(last) or int(last)
        else:
            start = names.get(base) or int(base)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ScheduleError(f"cron field {text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """An EventBridge cron(minutes hours day-of-month month day-of-week year), evaluated in UTC."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: '?' (the day-of-week field decides)
    months: frozenset[int]
    weekdays: frozenset[int] | None  # None: '?'
    years: frozenset[int]

    @classmethod
    def parse(cls, body: str) -> Cron:
        fields = body.split()
        if len(fields) != 6:
            raise ScheduleError(
                f"cron({body}) needs 6 fields: minutes hours day-of-month month day-of-week year"
            )
        if (fields[2] == "?") == (fields[4] == "?"):
            raise ScheduleError(f"cron({body}): exactly one of day-of-month and day-of-week must be '?'")
        values = [_field_values(text, *spec) for text, spec in zip(fields, _FIELDS, strict=True)]
        return cls(
            minutes=values[0],
            hours=values[1],
            days=None if fields[2] == "?" else values[2],
            months=values[3],
            weekdays=None if fields[4] == "?" else values[4],
            years=values[5],
        )

    def _day_matches(self, t: datetime) -> bool:
        if self.days is not None:
            return t.day in self.days
        assert self.weekdays is not None
        return t.isoweekday() % 7 + 1 in self.weekdays

    def next_after(self, after: datetime) -> datetime:
        """The first whole minute strictly after `after` that the expression matches."""
        t = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(200_000):  # jumps by month/day/hour keep this far below the bound
            if t.year not in self.years:
                t = datetime(t.year + 1, 1, 1, tzinfo=UTC)
            elif t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        raise ScheduleError("cron expression never fires")


def parse_rate(expression: str) -> timedelta | None:
    """The period of a rate(...) expression, None if it is not one; EventBridge's singular/plural rule."""
    found = _RATE.match(expression)
    if found is None:
        return None
    value, unit = int(found.group(1)), found.group(2)
    if value < 1 or (value == 1) != (not unit.endswith("s")):
        raise ScheduleError(f"{expression}: use the singular unit for 1 and the plural otherwise")
    return timedelta(seconds=value * _UNIT_SECONDS[unit.rstrip("s")])


@dataclass
class _Entry:
    function: str
    expression: str
    rate: timedelta | None
    cron: Cron | None
    next_fire: datetime

    def following(self, now: datetime) -> datetime:
        if self.rate is not None:
            # Occurrences missed while the clock jumped are coalesced into the one just fired.
            upcoming = self.next_fire + self.rate
            while upcoming <= now:
                upcoming += self.rate
            return upcoming
        assert self.cron is not None
        return self.cron.next_after(now)


def scheduled_event(*, rule_arn: str, account_id: str, region: str, at: datetime) -> dict[str, Any]:
    """The event EventBridge sends to a schedule's target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


class Scheduler:
    """Invokes each schedule's function when its next occurrence (on the clock) has come."""

    def __init__(
        self,
        wiring: Wiring,
        invoker: Invoker,
        clock: Clock,
        *,
        rule_arns: Mapping[str, str],
        account_id: str,
        region: str,
    ) -> None:
        self._invoker = invoker
        self._clock = clock
        self._rule_arns = dict(rule_arns)
        self._account_id = account_id
        self._region = region
        self._lock = threading.Lock()
        self.fired: Counter[str] = Counter()
        self.errors: list[str] = []
        now = clock.now()
        self.entries: list[_Entry] = []
        for function in wiring.functions:
            if not isinstance(function.trigger, ScheduleTrigger):
                continue
            expression = function.trigger.expression
            rate = parse_rate(expression)
            cron_match = _CRON.match(expression)
            if rate is None and cron_match is None:
                raise ScheduleError(
                    f"function {function.name!r}: {expression!r} is neither rate(...) nor cron(...)"
                )
            cron = Cron.parse(cron_match.group(1)) if cron_match is not None else None
            # A new rate schedule first fires one period after it is created.
            if rate is not None:
                self.entries.append(_Entry(function.name, expression, rate, None, now + rate))
            elif cron is not None:
                self.entries.append(_Entry(function.name, expression, None, cron, cron.next_after(now)))

    def fire(self, function: str, *, at: datetime | None = None) -> Any:
        """Invoke `function` with a scheduled event now (the demo's "run the poller")."""
        event = scheduled_event(
            rule_arn=self._rule_arns.get(function, ""),
            account_id=self._account_id,
            region=self._region,
            at=at or self._clock.now(),
        )
        self.fired[function] += 1
        return self._invoker.invoke(function, event)

    def tick(self) -> list[str]:
        """Fire every schedule that has come due; returns the functions fired."""
        with self._lock:
            now = self._clock.now()
            due = [e for e in self.entries if e.next_fire <= now]
            for entry in due:
                at = entry.next_fire
                entry.next_fire = entry.following(now)
                try:
                    self.fire(entry.function, at=at)
                except Exception as exc:
                    # EventBridge invokes asynchronously: a failure is logged, never raised to the caller.
                    LOG.exception("scheduled function %s failed", entry.function)
                    self.errors.append(f"{entry.function}: {type(exc).__name__}: {exc}")
            return [e.function for e in due]

    def next_due(self) -> datetime | None:
        """The earliest upcoming occurrence over all schedules."""
        return min((e.next_fire for e in self.entries), default=None)
