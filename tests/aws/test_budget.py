"""The DynamoDB rate budget: one per vendor tenant, shared by every container, correct under races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from infra.wiring import LEDGER
from shared.aws.budget import DynamoBudgets
from shared.connectors.quickbooks import QuickBooksConnector, build
from shared.connectors.quickbooks.client import (
    PER_MINUTE_LIMIT,
    PER_SECOND_LIMIT,
    REALM_LIMITS,
    THROTTLE_WAIT_SECONDS,
)
from shared.domain.deadline import RESERVE_SECONDS, time_limit
from shared.domain.errors import RateLimitedError, TransientError
from tests.benchmarks.budgets import (
    START,
    Answers,
    AtomicDynamo,
    StepClock,
    run_after_throttle,
    run_containers,
)


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


def test_after_one_429_three_containers_leave_the_realm_alone_for_intuits_minute() -> None:
    # given three account_sync containers on one realm, whose first request another app's burst throttles
    figures = run_after_throttle(3, reads_each=40, hold=True)
    print(figures.line())  # the figure for the notes
    # then in the minute Intuit asks for, the realm sees only the two slots reserved before the 429 came
    assert figures.throttled == 1
    assert figures.in_wait <= 2
    # and every read still got done once the minute was over
    assert (figures.calls, figures.failed_reads) == (121, 0)


def test_concurrent_takers_never_get_the_same_slot(dynamodb: Any) -> None:
    # given four containers taking slots of one realm at the same instant, each with its own client
    lock = threading.Lock()
    starts: list[float] = []

    def container() -> None:
        budget = DynamoBudgets(LEDGER.name, client=AtomicDynamo(dynamodb, lock), clock=lambda: START).budget(
            "quickbooks", "realm-1", REALM_LIMITS
        )
        taken = 0
        while taken < 30:
            try:
                wait = budget.reserve(max_wait=3600)
            except TransientError:
                continue  # lost every race of a burst: the worker's message is retried, as SQS would
            taken += 1
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


def _container(
    sandbox: QuickBooksSandbox, dynamodb: Any, clock: StepClock
) -> tuple[QuickBooksConnector, Answers]:
    door = Answers(httpx.WSGITransport(app=sandbox), clock.time)  # when each request reached the sandbox
    connector = build(
        sandbox.connection("http://qbo.sandbox"),
        transport=door,
        clock=clock.time,
        sleep=clock.sleep,
        budgets=DynamoBudgets(LEDGER.name, client=dynamodb, clock=clock.time),
    )
    connector.client.refresh_tokens()  # Intuit rotates the refresh token: the next container gets the new one
    return connector, door


def test_a_429_seen_by_one_container_pauses_the_realm_for_every_container(dynamodb: Any) -> None:
    # given two account_sync containers (own connector, token and budget object) on one realm's ledger budget
    clock = StepClock()
    sandbox = QuickBooksSandbox(
        realm_id="9130350000000002",
        refresh_token="rt-0",
        clock=lambda: datetime.fromtimestamp(clock.now, tz=UTC),
    )
    customer_id = sandbox.put_customer({"DisplayName": "Held Realm Co"})
    first, first_door = _container(sandbox, dynamodb, clock)
    second, second_door = _container(sandbox, dynamodb, clock)
    # when QuickBooks throttles the first container's read, which has 10 s left to wait
    sandbox.fail_next(1, 429)
    throttled_at = clock.time()
    with (
        time_limit(lambda: int((10 + RESERVE_SECONDS) * 1000)),
        pytest.raises(RateLimitedError) as first_refused,
    ):
        first.read_account(customer_id)
    assert first_refused.value.retry_after == pytest.approx(THROTTLE_WAIT_SECONDS)
    assert first_door.seen == [(throttled_at, 429)]
    # then the second container, 20 s later with 10 s left, is refused without a call: the hold's remainder
    clock.now += 20
    with time_limit(lambda: int((10 + RESERVE_SECONDS) * 1000)), pytest.raises(RateLimitedError) as refused:
        second.read_account(customer_id)
    assert refused.value.retry_after == pytest.approx(THROTTLE_WAIT_SECONDS - 20, abs=1e-3)
    assert second_door.seen == []
    # and a caller who can wait sleeps out the hold: its one request reaches QuickBooks after the minute
    assert second.read_account(customer_id).ref.id == customer_id
    assert second_door.seen == [(pytest.approx(throttled_at + THROTTLE_WAIT_SECONDS, abs=1e-3), 200)]
    assert clock.sleeps == [pytest.approx(THROTTLE_WAIT_SECONDS - 20, abs=1e-3)]


def test_a_shorter_hold_never_shortens_a_longer_one_even_across_containers(dynamodb: Any) -> None:
    # given one container holding a realm for 120 s (a Retry-After), and another container's budget object
    clock = StepClock()
    holder, other = (
        DynamoBudgets(LEDGER.name, client=dynamodb, clock=clock.time).budget(
            "quickbooks", "realm-3", REALM_LIMITS
        )
        for _ in range(2)
    )
    holder.hold(120)
    # when the other sees a 429 of its own 10 s later and holds for Intuit's 60 s
    clock.now += 10
    other.hold(60)
    # then the realm stays held until the longer hold ends, and no longer: it lapses by itself
    with pytest.raises(RateLimitedError) as refused:
        holder.reserve(max_wait=0)
    assert refused.value.retry_after == pytest.approx(110, abs=1e-3)
    clock.now = START + 120
    assert other.reserve(max_wait=0) == 0.0


class _HoldAfterRead:
    """A DynamoDB client on which another container's hold lands between this taker's read and write."""

    def __init__(self, client: Any, hold: Callable[[], None]) -> None:
        self._client = client
        self._hold: Callable[[], None] | None = hold

    def get_item(self, **kwargs: Any) -> Any:
        item = self._client.get_item(**kwargs)
        if self._hold is not None:
            hold, self._hold = self._hold, None
            hold()
        return item

    def put_item(self, **kwargs: Any) -> Any:
        return self._client.put_item(**kwargs)


def test_a_hold_written_while_a_taker_decides_is_not_overwritten_by_its_slot(dynamodb: Any) -> None:
    # given a realm budget a taker has read, when another container holds it for 60 s before the taker writes
    clock = StepClock()
    holder = DynamoBudgets(LEDGER.name, client=dynamodb, clock=clock.time).budget(
        "quickbooks", "realm-4", REALM_LIMITS
    )
    taker = DynamoBudgets(
        LEDGER.name, client=_HoldAfterRead(dynamodb, lambda: holder.hold(60)), clock=clock.time
    ).budget("quickbooks", "realm-4", REALM_LIMITS)
    # then the taker's write loses the race, it reads the hold, and it gets no slot inside it
    with pytest.raises(RateLimitedError) as refused:
        taker.reserve(max_wait=0)
    assert refused.value.retry_after == pytest.approx(60, abs=1e-3)
    assert taker.races == 1
    # and the hold is still there for everyone
    with pytest.raises(RateLimitedError):
        holder.reserve(max_wait=59)


class _Counting:
    """A DynamoDB client that counts the operations it is asked for."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            return method(**kwargs)

        return call


def test_a_containers_slots_after_its_first_cost_one_put_each_and_races_stay_correct(dynamodb: Any) -> None:
    # given two containers of one realm, each with its own client
    one, two = _Counting(dynamodb), _Counting(dynamodb)
    first = DynamoBudgets(LEDGER.name, client=one, clock=lambda: START).budget(
        "quickbooks", "r", REALM_LIMITS
    )
    second = DynamoBudgets(LEDGER.name, client=two, clock=lambda: START).budget(
        "quickbooks", "r", REALM_LIMITS
    )
    # when the first takes five slots
    waits = [first.reserve(max_wait=3600) for _ in range(5)]
    # then only its first slot read the item; every slot is one conditional put
    assert one.calls == ["get_item"] + ["put_item"] * 5
    # and when the second takes one, then the first takes another over the item it remembers
    second_wait = second.reserve(max_wait=3600)
    one.calls.clear()
    again = first.reserve(max_wait=3600)
    # then the first's put was refused (the item moved on), the refusal brought the item, and the
    # retry took the next slot: seven slots, all distinct, and no read
    assert one.calls == ["put_item", "put_item"] and first.races == 1
    assert len({*waits, second_wait, again}) == 7
