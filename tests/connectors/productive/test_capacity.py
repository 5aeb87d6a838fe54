"""Productive salaries and holidays read as workers' monthly capacity and cost rate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector
from shared.connectors.productive.capacity import (
    ProductiveCapacity,
    SalaryPage,
    capacity_of,
    cost_rate,
)
from shared.domain.capacity import Month
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money

# GET /api/v2/salaries as the documentation shows its answer (https://developer.productive.io/salaries.html,
# rendered at https://www.withone.ai/knowledge/productive/ "List Salaries"), with the person included.
DOCUMENTED_SALARIES = {
    "data": [
        {
            "id": "254",
            "type": "salaries",
            "attributes": {
                "default_salary": False,
                "ended_on": "2026-02-14",
                "exchange_date": "2025-03-14",
                "exchange_rate": "1.25",
                "note": None,
                "overhead": True,
                "salary_type_id": 2,
                "started_on": "2025-03-14",
                "working_hours": [8, 8, 8, 8, 8, 0, 0, 8, 8, 8, 8, 8, 0, 0],
                "alternating_hours": False,
                "currency": "EUR",
                "currency_default": "USD",
                "currency_normalized": "EUR",
                "cost": 2000,
                "cost_default": 2500,
                "cost_normalized": 2000,
                "hourly_rate": 2000,
            },
            "relationships": {
                "organization": {"data": {"type": "organizations", "id": "1941"}},
                "person": {"data": {"type": "people", "id": "77"}},
                "holiday_calendar": {"meta": {"included": False}},
            },
        }
    ],
    "meta": {"current_page": 1, "total_pages": 1, "total_count": 1, "page_size": 30, "max_page_size": 200},
}
# The holiday of https://developer.productive.io/holidays.html's sample answer.
DOCUMENTED_HOLIDAY = date(2025, 5, 20)


def _salary():
    return SalaryPage.model_validate(DOCUMENTED_SALARIES).data[0]


def test_a_salary_starting_mid_month_counts_its_working_days_from_its_start() -> None:
    # given the documented hourly salary of 20.00 EUR, 8 h Monday to Friday, from Friday 14 March 2025
    # when March 2025 is read
    capacity = capacity_of(_salary(), Month(year=2025, month=3), frozenset())
    # then the period is 14..31 March: 12 weekdays, 96 hours, at the hourly cost
    assert capacity is not None
    assert (capacity.period_start, capacity.period_end) == (date(2025, 3, 14), date(2025, 3, 31))
    assert capacity.capacity_hours == Decimal(96)
    assert capacity.cost_rate == Money.of("20.00", "EUR")
    assert capacity.worker == SourceRef(system=SystemName.PRODUCTIVE, type="people", id="77")
    assert capacity.source == SourceRef(system=SystemName.PRODUCTIVE, type="salaries", id="254")
    assert capacity.time_off_hours is None  # Productive: time off reduces availability, not capacity


def test_a_holiday_of_the_calendar_takes_its_day_out_of_the_month() -> None:
    # given the same salary and the documented holiday, Tuesday 20 May 2025
    # when May 2025 (22 weekdays) is read
    capacity = capacity_of(_salary(), Month(year=2025, month=5), frozenset({DOCUMENTED_HOLIDAY}))
    # then 21 working days remain
    assert capacity is not None and capacity.capacity_hours == Decimal(168)


def test_a_salary_that_ended_before_the_month_says_nothing_of_it() -> None:
    assert capacity_of(_salary(), Month(year=2026, month=3), frozenset()) is None


def test_a_monthly_salary_costs_its_amount_over_the_months_capacity() -> None:
    # given a monthly cost of 6,720.00 EUR, and May 2025 with one holiday (168 working hours)
    monthly = _salary().attributes.model_copy(update={"salary_type_id": 1, "cost": 672000})
    # then an hour costs 6720 / 168 = 40 EUR; without the holiday, 6720 / 176
    assert cost_rate(monthly, Month(year=2025, month=5), frozenset({DOCUMENTED_HOLIDAY})) == Money.of(
        "40", "EUR"
    )
    assert cost_rate(monthly, Month(year=2025, month=5), frozenset()) == Money.of("38.1818", "EUR")


def test_an_alternating_schedule_uses_the_other_week_every_second_week() -> None:
    # given 8 h days on the first week, Fridays off on the alternative week, from Monday 3 March 2025
    hours = [8, 8, 8, 8, 8, 0, 0, 8, 8, 8, 8, 0, 0, 0]
    salary = _salary().model_copy(
        update={
            "attributes": _salary().attributes.model_copy(
                update={
                    "started_on": date(2025, 3, 3),
                    "working_hours": [Decimal(h) for h in hours],
                    "alternating_hours": True,
                }
            )
        }
    )
    # when March 3..31 is read (weeks of 3, 10, 17, 24 and Monday 31)
    capacity = capacity_of(salary, Month(year=2025, month=3), frozenset())
    # then weeks 2 and 4 lose their Friday: 21 weekdays x 8 - 2 x 8
    assert capacity is not None and capacity.capacity_hours == Decimal(21 * 8 - 16)


@pytest.fixture
def staffed(sandbox: ProductiveSandbox) -> dict[str, str]:
    """Two people: Ana at a monthly cost all year, Ben hourly until 15 May then at a raise."""
    calendar = sandbox.add_holiday_calendar("Croatian calendar", country="Croatia")
    sandbox.add_holiday(calendar, "2025-05-01", "Labour Day")
    sandbox.add_holiday(calendar, "2025-05-30", "Statehood Day")
    ana = sandbox.add_person("Ana", "Horvat")
    ben = sandbox.add_person("Ben", "Kovač")
    sandbox.add_salary(
        ana, started_on="2025-01-01", cost=400000, salary_type_id=1, holiday_calendar_id=calendar
    )
    first = sandbox.add_salary(
        ben,
        started_on="2025-01-01",
        ended_on="2025-05-15",
        cost=3000,
        working_hours=(6, 6, 6, 6, 6, 0, 0) * 2,
        holiday_calendar_id=calendar,
    )
    second = sandbox.add_salary(
        ben, started_on="2025-05-16", cost=3500, working_hours=(6, 6, 6, 6, 6, 0, 0) * 2
    )
    return {"ana": ana, "ben": ben, "ben_first": first, "ben_second": second}


def test_the_connector_reads_each_persons_month_from_the_sandbox(
    connector: ProductiveConnector, staffed: dict[str, str]
) -> None:
    # given Ana (8 h days, 2 holidays in May 2025) and Ben whose cost rate changes on 16 May
    # when May 2025 is read through the connector
    found = connector.capacities(Month(year=2025, month=5))
    # then Ana has 22 - 2 = 20 days at 4,000.00 / 160 h; Ben has two periods split at his raise
    by_source = {c.source.id: c for c in found}
    assert len(found) == 3
    ana = next(c for c in found if c.worker.id == staffed["ana"])
    assert ana.capacity_hours == Decimal(160)
    assert ana.cost_rate == Money.of("25", "EUR")
    first, second = by_source[staffed["ben_first"]], by_source[staffed["ben_second"]]
    # 1..15 May: 11 weekdays less Labour Day = 10 x 6 h; 16..31 May: 11 weekdays x 6 h (no calendar)
    assert (first.period_start, first.period_end, first.capacity_hours) == (
        date(2025, 5, 1),
        date(2025, 5, 15),
        Decimal(60),
    )
    assert (second.period_start, second.period_end, second.capacity_hours) == (
        date(2025, 5, 16),
        date(2025, 5, 31),
        Decimal(66),
    )
    assert (first.cost_rate, second.cost_rate) == (Money.of("30", "EUR"), Money.of("35", "EUR"))


def test_every_page_of_salaries_is_read(connector: ProductiveConnector, staffed: dict[str, str]) -> None:
    # given pages of one salary each
    capacity = ProductiveCapacity(connector.client, page_size=1)
    # when May is read, then all three salaries are there, as with one page
    assert len(capacity.capacities(Month(year=2025, month=5))) == 3


def test_a_sorted_salary_listing_is_refused_as_productive_does(raw, staffed: dict[str, str]) -> None:
    # given the salaries listing, which "does not support sorting"
    response = raw.get("salaries", params={"sort": "started_on"})
    # then it answers 400, and the unsorted listing comes newest id first
    assert response.status_code == 400
    ids = [r["id"] for r in raw.get("salaries").json()["data"]]
    assert ids == sorted(ids, key=int, reverse=True)


def test_an_overlapping_cost_rate_is_refused(sandbox: ProductiveSandbox, staffed: dict[str, str]) -> None:
    # "A person can have multiple cost rates, however they cannot overlap in time"
    from infra.local.sandboxes.productive.errors import ApiError

    with pytest.raises(ApiError):
        sandbox.add_salary(staffed["ben"], started_on="2025-05-01", cost=1)
