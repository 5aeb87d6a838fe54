"""Kantata OX workweeks, time off and cost rates read as workers' monthly capacity."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from infra.local.sandboxes.kantata import KantataSandbox
from shared.connectors.kantata import KantataConnector, build
from shared.connectors.kantata.capacity import cost_rate_of, month_capacities
from shared.connectors.kantata.schemas import CostRate, Listing, Workweek, WorkweekMembership
from shared.domain.capacity import Month
from shared.domain.errors import PermanentError
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money

BASE_URL = "http://kantata.sandbox/api/v1"
MAY = Month(year=2025, month=5)

# GET /workweek_memberships.json in the documented response shape (https://developer.kantata.com/
# kantata/specification/workweek-memberships: `count`, `meta`, `results` [{key, id}], records indexed
# by id under `workweek_memberships`), the documented fields with this test's values.
MEMBERSHIPS = {
    "count": 1,
    "meta": {"count": 1, "page_count": 1, "page_number": 1, "page_size": 20},
    "results": [{"key": "workweek_memberships", "id": "31"}],
    "workweek_memberships": {
        "31": {
            "user_id": 12,
            "start_date": "2025-04-27",
            "end_date": None,
            "sunday_minutes": 0,
            "monday_minutes": 480,
            "tuesday_minutes": 480,
            "wednesday_minutes": 480,
            "thursday_minutes": 480,
            "friday_minutes": 240,
            "saturday_minutes": 0,
            "created_at": "2025-04-20T14:15:22Z",
        }
    },
}
# The documented Cost Rate object (https://developer.kantata.com/tag/Cost-Rates), this test's values.
COST_RATE = {
    "id": "5",
    "account_membership_id": 40,
    "amount_in_subunits": 7550,
    "created_at": "2019-08-24T14:15:22Z",
    "currency": "USD",
    "in_use": True,
    "updated_at": "2019-08-24T14:15:22Z",
}


def test_a_users_own_workweek_gives_their_month_in_hours() -> None:
    # given a membership of 8 h Monday to Thursday and 4 h Fridays, from Sunday 27 April 2025
    (membership,) = [
        WorkweekMembership.model_validate(r)
        for r in Listing.model_validate(MEMBERSHIPS).records("workweek_memberships")
    ]
    # when May 2025 (22 weekdays, 5 of them Fridays) is read
    (capacity,) = month_capacities(
        MAY, users=["12"], memberships=[membership], workweeks=[], time_off=[], cost_rates={}
    )
    # then 17 x 8 h + 5 x 4 h = 156 h over the whole month, from that membership
    assert capacity.capacity_hours == Decimal(156)
    assert (capacity.period_start, capacity.period_end) == (date(2025, 5, 1), date(2025, 5, 31))
    assert capacity.source == SourceRef(system=SystemName.KANTATA, type="workweek_membership", id="31")
    assert capacity.worker == SourceRef(system=SystemName.KANTATA, type="user", id="12")
    assert capacity.time_off_hours == 0


def test_the_cost_rate_is_the_members_hourly_cost_in_the_accounts_currency() -> None:
    usd = CostRate.model_validate(COST_RATE)
    eur = CostRate.model_validate(COST_RATE | {"id": "6", "currency": "EUR", "amount_in_subunits": 7000})
    # given 75.50 USD and 70.00 EUR for one member
    # then the account's default currency picks one; with none named, two rates give none
    assert cost_rate_of([usd, eur], "USD") == Money.of("75.50", "USD")
    assert cost_rate_of([usd], None) == Money.of("75.50", "USD")
    assert cost_rate_of([usd, eur], None) is None


def test_a_user_without_own_workweek_works_the_accounts_default() -> None:
    default = Workweek.model_validate(
        {"id": "2", "start_date": "2025-01-05", "default": True}
        | {f"{d}_minutes": 450 for d in ("monday", "tuesday", "wednesday", "thursday", "friday")}
    )
    (capacity,) = month_capacities(
        MAY, users=["9"], memberships=[], workweeks=[default], time_off=[], cost_rates={}
    )
    # 22 weekdays x 7.5 h
    assert capacity.capacity_hours == Decimal("165")
    assert capacity.source.type == "workweek"


@pytest.fixture
def sandbox() -> KantataSandbox:
    return KantataSandbox(access_token="tok-kantata")


@pytest.fixture
def connector(sandbox: KantataSandbox) -> Iterator[KantataConnector]:
    built = build(
        sandbox.connection(BASE_URL) | {"default_currency": "USD"}, transport=httpx.WSGITransport(app=sandbox)
    )
    yield built
    built.close()


@pytest.fixture
def staffed(sandbox: KantataSandbox) -> dict[str, str]:
    """Ana on the account's 8 h default; Ben on his own 6 h week until 17 May, then 8 h; costs in USD."""
    sandbox.add_workweek("2025-01-05", (0, 480, 480, 480, 480, 480, 0))
    ana, ana_member = sandbox.add_user()
    ben, ben_member = sandbox.add_user()
    first = sandbox.add_workweek_membership(
        ben, "2025-01-05", (0, 360, 360, 360, 360, 360, 0), end_date="2025-05-17"
    )
    second = sandbox.add_workweek_membership(ben, "2025-05-18", (0, 480, 480, 480, 480, 480, 0))
    sandbox.add_time_off(ana, "2025-05-02", 8)
    sandbox.add_time_off(ana, "2025-05-05", 4)
    sandbox.add_time_off(ana, "2025-06-02", 8)  # another month
    sandbox.set_cost_rate(ana_member, 6000)
    sandbox.set_cost_rate(ben_member, 5000)
    sandbox.set_cost_rate(ben_member, 5500)  # overrides his USD rate
    return {"ana": ana, "ben": ben, "ben_first": first, "ben_second": second}


def test_the_connector_reads_each_users_month_from_the_sandbox(
    connector: KantataConnector, staffed: dict[str, str]
) -> None:
    # when May 2025 is read through the connector
    found = connector.capacities(MAY)
    # then Ana: 22 x 8 h on the default workweek, 12 h of time off reported apart, at 60.00 USD
    ana = [c for c in found if c.worker.id == staffed["ana"]]
    assert [(c.capacity_hours, c.time_off_hours, c.cost_rate) for c in ana] == [
        (Decimal(176), Decimal(12), Money.of("60.00", "USD"))
    ]
    assert ana[0].available_hours == Decimal(164)
    # and Ben: 1..17 May on his 6 h week (12 weekdays), 18..31 May on 8 h (10 weekdays), at 55.00 USD
    ben = [c for c in found if c.worker.id == staffed["ben"]]
    assert [(c.source.id, c.period_start, c.period_end, c.capacity_hours) for c in ben] == [
        (staffed["ben_first"], date(2025, 5, 1), date(2025, 5, 17), Decimal(72)),
        (staffed["ben_second"], date(2025, 5, 18), date(2025, 5, 31), Decimal(80)),
    ]
    assert {c.cost_rate for c in ben} == {Money.of("55.00", "USD")}


def test_every_page_is_read(sandbox: KantataSandbox, staffed: dict[str, str]) -> None:
    # given pages of one record each
    small = build(sandbox.connection(BASE_URL) | {"page_size": 1}, transport=httpx.WSGITransport(app=sandbox))
    # then the month is the same as with one page (Ana's one period, Ben's two)
    assert len(small.capacities(MAY)) == 3
    small.close()


def test_a_wrong_token_is_refused(sandbox: KantataSandbox) -> None:
    wrong = build({"base_url": BASE_URL, "access_token": "nope"}, transport=httpx.WSGITransport(app=sandbox))
    with pytest.raises(PermanentError, match="authentication"):
        wrong.capacities(MAY)


def test_a_page_size_above_the_documented_maximum_is_refused(sandbox: KantataSandbox) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url=BASE_URL + "/") as api:
        answer = api.get(
            "cost_rates.json", params={"per_page": "201"}, headers={"Authorization": "Bearer tok-kantata"}
        )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["message"] == "per_page must be at most 200"


def test_a_passing_server_error_is_retried(sandbox: KantataSandbox, staffed: dict[str, str]) -> None:
    # given Kantata answering 503 once
    sleeps: list[float] = []
    retrying = build(
        sandbox.connection(BASE_URL), transport=httpx.WSGITransport(app=sandbox), sleep=sleeps.append
    )
    sandbox.fail_next(1, 503)
    # when the month is read, then the read succeeds after one pause
    assert len(retrying.capacities(MAY)) == 3
    assert len(sleeps) == 1
    retrying.close()
