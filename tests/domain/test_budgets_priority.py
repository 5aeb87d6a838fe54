"""Interactive flows before background ones: a month-end flood never starves a closed-won deal."""

from __future__ import annotations

import threading

import pytest

from shared.domain.budgets import (
    InMemoryBudgets,
    PrioritizedBudgets,
    Priority,
    RateLimit,
    background,
    background_limits,
    current_priority,
)
from shared.domain.errors import RateLimitedError
from tests.benchmarks.budgets import run_month_end

# QuickBooks' per-realm limits, as the client declares them.
REALM = (RateLimit(10, 1.0, burst=1), RateLimit(500, 60.0))
SHARED_INTERVAL = 1.0 / 8  # the 10/s band: 9 usable, 1 at once, 8 spread over the second


class Clock:
    """Fake time that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _most_in_any_window(times: list[float], seconds: float) -> int:
    ordered = sorted(times)
    return max((sum(1 for t in ordered if first <= t < first + seconds) for first in ordered), default=0)


def test_a_background_flood_gets_at_most_its_share_and_interactive_calls_barely_wait() -> None:
    # given ten containers posting month-end time to one realm as fast as the budget lets them,
    # and a closed-won deal's engagement setup calling the same realm twice a second meanwhile
    # when two minutes go by (the deal's 60 calls from the 10th second on)
    figures = run_month_end(precedence=True, workers=10, deal_calls=60, deal_at=10.0, deal_every=0.5)
    flood = list(figures.background_sent)
    # then background work got at most 70% of either published limit in any window
    assert _most_in_any_window(flood, 60.0) <= 0.7 * 500
    assert _most_in_any_window(flood, 1.0) <= 0.7 * 10
    # and still used most of what it was given (7/s less the margin is 5/s sustained): over half the realm
    assert len(flood) / 2 > 0.55 * 500
    # and every interactive call got its slot within one interval of the realm's shared band
    assert len(figures.deal_waits) == 60
    assert max(figures.deal_waits) <= SHARED_INTERVAL + 1e-9


def test_without_precedence_the_same_flood_makes_every_interactive_call_queue() -> None:
    # given the same flood in one queue for everyone (the budgets before precedence)
    # when the deal's setup calls the realm twice a second
    figures = run_month_end(precedence=False, workers=10, deal_calls=60, deal_at=10.0, deal_every=0.5)
    # then its calls queue behind the ten containers' slots: about ten intervals each
    assert min(figures.deal_waits) > 5 * SHARED_INTERVAL


def test_a_hold_after_a_429_stops_interactive_and_background_work_alike() -> None:
    # given a realm's prioritized budget, and the background share's own budget underneath
    clock = Clock()
    inner = InMemoryBudgets(clock=clock)
    budget = PrioritizedBudgets(inner).budget("quickbooks", "realm-1", REALM)
    own = inner.budget("quickbooks-background", "realm-1", background_limits(REALM, 0.7))
    # when QuickBooks throttles an interactive call and asks for its minute
    budget.hold(60.0)
    clock.now = 10.0
    # then an interactive call would wait out the rest of the minute
    with pytest.raises(RateLimitedError) as interactive:
        budget.reserve(max_wait=0)
    assert interactive.value.retry_after == pytest.approx(50.0)
    # and a background call is refused by its own budget, without spending a slot of the share
    with background(), pytest.raises(RateLimitedError) as posting:
        budget.reserve(max_wait=65.0)
    assert posting.value.retry_after == pytest.approx(50.0)
    assert own.taken == 0
    # and once the minute is over both get slots again
    clock.now = 60.0
    assert budget.reserve(max_wait=0) == 0
    with background():
        assert budget.reserve(max_wait=1.0) <= SHARED_INTERVAL


def test_the_priority_travels_with_the_work_not_with_the_shared_connector() -> None:
    # given one budget object shared by two flows in one process (the local runtime)
    seen: dict[str, Priority] = {}
    inside = threading.Event()
    checked = threading.Event()

    def posting() -> None:
        with background():
            seen["posting"] = current_priority()
            inside.set()
            checked.wait(5)
        seen["posting after"] = current_priority()

    # when the posting flow marks its calls as background while a deal's setup runs beside it
    worker = threading.Thread(target=posting)
    worker.start()
    inside.wait(5)
    seen["deal"] = current_priority()
    checked.set()
    worker.join(5)
    # then only the posting flow's calls are background, and only inside its block
    assert seen == {
        "posting": Priority.BACKGROUND,
        "deal": Priority.INTERACTIVE,
        "posting after": Priority.INTERACTIVE,
    }


def test_the_background_share_of_each_published_limit_keeps_at_least_one_request() -> None:
    # given QuickBooks' realm limits and its batch limit
    # when scaled to 70%, and to a share so small it rounds to nothing
    scaled = background_limits((*REALM, RateLimit(40, 60.0)), 0.7)
    tiny = background_limits((RateLimit(1, 1.0),), 0.1)
    # then each keeps its window, and at least one request (and one of burst), with no margin of its
    # own (the shared band it sits in keeps the vendor's)
    assert scaled == (
        RateLimit(7, 1.0, burst=1, margin=0),
        RateLimit(350, 60.0, margin=0),
        RateLimit(28, 60.0, margin=0),
    )
    assert tiny == (RateLimit(1, 1.0, margin=0),)
