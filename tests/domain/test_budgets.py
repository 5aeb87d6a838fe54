"""GCRA bands from published limits: no sliding window ever holds more than the limit allows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.budgets import InMemoryBudgets, RateLimit, extended_hold
from shared.domain.errors import RateLimitedError

QUICKBOOKS = (RateLimit(10, 1.0, burst=3), RateLimit(500, 60.0))
PRODUCTIVE = (RateLimit(100, 10.0, burst=50), RateLimit(4000, 1800.0, burst=200))


def _most_in_any_window(times: list[float], seconds: float) -> int:
    ordered = sorted(times)
    return max((sum(1 for t in ordered if first <= t < first + seconds) for first in ordered), default=0)


@pytest.mark.parametrize("limits", [QUICKBOOKS, PRODUCTIVE], ids=["quickbooks", "productive"])
@given(gaps=st.lists(st.floats(min_value=0, max_value=2.0), min_size=50, max_size=400))
def test_greedy_callers_stay_under_every_published_window(limits: tuple[RateLimit, ...], gaps) -> None:
    # given callers arriving after arbitrary gaps, each taking the first slot the budget gives
    now = 0.0
    budget = InMemoryBudgets(clock=lambda: now).budget("vendor", "tenant", limits)
    sent: list[float] = []
    for gap in gaps:
        now += gap
        wait = budget.reserve(max_wait=1e9)
        sent.append(now + wait)
    # then no window of any published limit holds more than that limit
    for limit in limits:
        assert _most_in_any_window(sent, limit.seconds) <= limit.requests


def test_full_budget_refuses_with_the_wait() -> None:
    # given Productive's budget whose 50-request burst is spent at one instant
    budget = InMemoryBudgets(clock=lambda: 0.0).budget("productive", "org", PRODUCTIVE)
    for _ in range(50):
        budget.reserve(max_wait=0)
    # when one more caller cannot wait, then it is refused with how long it would have waited
    with pytest.raises(RateLimitedError) as refused:
        budget.reserve(max_wait=0)
    assert refused.value.retry_after == pytest.approx(10 / 45)


@given(holds=st.lists(st.tuples(st.floats(0, 100), st.floats(0, 300)), min_size=1, max_size=20))
def test_a_hold_only_ever_extends(holds: list[tuple[float, float]]) -> None:
    # given pauses asked for after arbitrary gaps, long and short in any order (Retry-After 120, then 60 s)
    held: float | None = None
    now = 0.0
    ends: list[float] = []
    for gap, seconds in holds:
        now += gap
        before = held
        # when each is applied
        held = extended_hold(held, now, seconds)
        if seconds > 0:
            ends.append(now + seconds)
        # then the hold's end never moves earlier
        assert before is None or (held is not None and held >= before)
    # and it ends exactly when the longest asked-for pause does
    assert held == (max(ends) if ends else None)


def test_no_slot_starts_inside_a_hold_and_the_hold_lapses_by_itself() -> None:
    # given QuickBooks' budget held for 60 s at t=0, then asked for a shorter 10 s hold at t=5
    now = 0.0
    budget = InMemoryBudgets(clock=lambda: now).budget("quickbooks", "realm", QUICKBOOKS)
    budget.hold(60)
    now = 5.0
    budget.hold(10)
    # when a caller who cannot wait asks at t=30, then it is refused with the 30 s left of the longer hold
    now = 30.0
    with pytest.raises(RateLimitedError) as refused:
        budget.reserve(max_wait=0)
    assert refused.value.retry_after == pytest.approx(30)
    # and callers who can wait start at the hold's end, paced from there (no herd at the same instant)
    starts = [now + budget.reserve(max_wait=60) for _ in range(4)]
    assert starts[0] == pytest.approx(60) and starts == sorted(starts) and len(set(starts)) >= 2
    # and once it is over, a caller needs no wait at all: nothing has to clear the hold
    now = 120.0
    assert budget.reserve(max_wait=0) == 0.0
