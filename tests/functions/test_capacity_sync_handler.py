"""The daily capacity read covers last month and this one (early in a month, last month still moves)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from functions.capacity_sync.handler import handler
from shared import bootstrap
from shared.domain.capacity import Month
from tests.functions.test_cash_feedback_handler import Context


@dataclass
class Run:
    event_ids: tuple[str, ...]

    @property
    def published(self) -> int:
        return len(self.event_ids)


@dataclass
class Recording:
    """`CapacitySync` as a test double: which months were read."""

    months: list[str] = field(default_factory=list)

    def run(self, month: Month) -> Run:
        self.months.append(str(month))
        return Run(event_ids=("e",) * (2 if str(month).endswith("12") else 1))


class Services:
    capacity_sync = Recording()


@pytest.fixture
def services() -> Iterator[Services]:
    replacement = Services()
    replacement.capacity_sync = Recording()
    bootstrap.override(replacement)  # type: ignore[arg-type]
    yield replacement
    bootstrap.override(None)


def test_last_month_and_this_one_are_read(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    import functions.capacity_sync.handler as module

    # Given the schedule fires on 3 January 2027
    monkeypatch.setattr(module, "utcnow", lambda: datetime(2027, 1, 3, 2, 20, tzinfo=UTC))
    # When the handler runs
    answer = handler({}, Context(function_name="capacity-sync"))  # type: ignore[arg-type]
    # Then December and January were read, in that order, and what each published is answered
    assert services.capacity_sync.months == ["2026-12", "2027-01"]
    assert answer == {"published": {"2026-12": 2, "2027-01": 1}}
