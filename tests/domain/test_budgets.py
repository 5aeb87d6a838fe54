"""GCRA bands from published limits: no sliding window ever holds more than the limit allows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.budgets import InMemoryBudgets, RateLimit
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
