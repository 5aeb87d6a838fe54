"""The DynamoDB rate budget: one per vendor tenant, shared by every container, correct under races."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from infra.wiring import LEDGER
from shared.aws.budget import DynamoBudgets
from shared.connectors.quickbooks.client import PER_MINUTE_LIMIT, PER_SECOND_LIMIT, REALM_LIMITS
from shared.domain.errors import RateLimitedError
from tests.benchmarks.budgets import START, AtomicDynamo, run_containers


def test_three_containers_on_one_realm_stay_inside_intuits_limits() -> None:
    # given three account_sync containers, each with its own connector, token and DynamoDB client,
    # reading from one QuickBooks realm whose sandbox enforces Intuit's per-realm limits
    # when each makes 120 calls at once (360 calls, more than the realm takes in a minute at full speed)
    figures = run_containers(3, reads_each=120, shared=True)
    print(figures.line())  # the figure for the notes: calls per minute per realm, 429s seen
    # then every call got through without a single 429, inside both of Intuit's windows
    assert (figures.calls, figures.throttled, figures.failed_reads) == (360, 0, 0)
    assert figures.peak_per_minute <= PER_MINUTE_LIMIT
    assert figures.peak_per_second <= PER_SECOND_LIMIT


def test_concurrent_takers_never_get_the_same_slot(dynamodb: Any) -> None:
    # given four containers taking slots of one realm at the same instant, each with its own client
    lock = threading.Lock()
    starts: list[float] = []

    def container() -> None:
        budget = DynamoBudgets(LEDGER.name, client=AtomicDynamo(dynamodb, lock), clock=lambda: START).budget(
            "quickbooks", "realm-1", REALM_LIMITS
        )
        for _ in range(30):
            wait = budget.reserve(max_wait=3600)
            with lock:
                starts.append(START + wait)

    threads = [threading.Thread(target=container) for _ in range(4)]
    # when all of them reserve 30 slots, racing on the one item
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then 120 slots were handed out, never more than 9 in any second (two takers on one slot would be 10)
    assert len(starts) == 120
    ordered = sorted(starts)
    assert max(sum(1 for s in ordered if first <= s < first + 1.0) for first in ordered) <= 9


def test_a_slot_further_than_the_caller_can_wait_is_refused_and_not_taken(dynamodb: Any) -> None:
    # given a realm whose slot for this instant is taken
    budget = DynamoBudgets(LEDGER.name, client=dynamodb, clock=lambda: START).budget(
        "quickbooks", "realm-2", REALM_LIMITS
    )
    assert budget.reserve(max_wait=0) == 0.0
    # when a caller with no time left asks for the next slot
    with pytest.raises(RateLimitedError) as refused:
        budget.reserve(max_wait=0)
    # then it is told how long to wait, and that slot is still free for the next caller
    assert refused.value.retry_after == pytest.approx(1 / 8, abs=1e-5)
    assert budget.reserve(max_wait=1) == pytest.approx(1 / 8, abs=1e-5)
