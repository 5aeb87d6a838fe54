"""Precedence on the DynamoDB budgets: background work's share and holds, shared by every container."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from infra.wiring import LEDGER
from shared.aws.budget import DynamoBudgets, budget_key
from shared.bootstrap import Services
from shared.connectors.quickbooks import QuickBooksConnector, build
from shared.connectors.quickbooks.client import REALM_LIMITS, THROTTLE_WAIT_SECONDS
from shared.domain.budgets import InMemoryBudgets, PrioritizedBudgets, background
from shared.domain.deadline import RESERVE_SECONDS, time_limit
from shared.domain.errors import RateLimitedError
from shared.settings import Settings
from tests.benchmarks.budgets import REALM as BENCH_REALM
from tests.benchmarks.budgets import Answers, AtomicDynamo, StepClock, run_month_end

REALM = "9130350000000007"


def _budgets(dynamodb: Any, clock: StepClock) -> PrioritizedBudgets:
    """What `Services.rate_budgets` hands a container: its own budgets object on the ledger table."""
    inner = DynamoBudgets(LEDGER.name, client=dynamodb, clock=clock.time)
    return PrioritizedBudgets(inner, sleep=clock.sleep)


def _container(
    sandbox: QuickBooksSandbox, dynamodb: Any, clock: StepClock
) -> tuple[QuickBooksConnector, Answers]:
    door = Answers(httpx.WSGITransport(app=sandbox), clock.time)
    connector = build(
        sandbox.connection("http://qbo.sandbox"),
        transport=door,
        clock=clock.time,
        sleep=clock.sleep,
        budgets=_budgets(dynamodb, clock),
    )
    connector.client.refresh_tokens()
    return connector, door


def test_containers_flooding_in_the_background_leave_interactive_slots_free(dynamodb: Any) -> None:
    # given five containers posting in the background on one realm, each with its own budgets object
    # on the ledger table, and a deal's setup calling the realm twice a second meanwhile
    lock = threading.Lock()

    def ledger(clock: Callable[[], float]) -> DynamoBudgets:
        return DynamoBudgets(LEDGER.name, client=AtomicDynamo(dynamodb, lock), clock=clock)

    # when for twenty seconds they reserve as fast as the budgets let them
    figures = run_month_end(
        precedence=True, workers=5, deal_calls=20, deal_at=5.0, deal_every=0.5, seconds=20.0, shared=ledger
    )
    # then the background got at most 7 of Intuit's 10 a second in any second, and used it
    ordered = sorted(figures.background_sent)
    assert max(sum(1 for t in ordered if first <= t < first + 1) for first in ordered) <= 7
    assert len(ordered) >= 5 * 18
    # and every interactive call found its slot within one interval of the realm's shared band
    assert len(figures.deal_waits) == 20
    assert max(figures.deal_waits) <= 1 / 8 + 1e-6
    # and the share lives on the ledger beside the realm's budget, shared by every container
    for vendor in ("quickbooks", "quickbooks-background"):
        assert "Item" in dynamodb.get_item(TableName=LEDGER.name, Key=budget_key(vendor, BENCH_REALM))


def test_a_429_in_background_work_delays_its_message_and_holds_the_realm_for_everyone(dynamodb: Any) -> None:
    # given a posting container and a deal-setup container on one realm, through the prioritized budgets
    clock = StepClock()
    sandbox = QuickBooksSandbox(
        realm_id=REALM, refresh_token="rt-0", clock=lambda: datetime.fromtimestamp(clock.now, tz=UTC)
    )
    customer_id = sandbox.put_customer({"DisplayName": "Month End Co"})
    posting, posting_door = _container(sandbox, dynamodb, clock)
    deal, deal_door = _container(sandbox, dynamodb, clock)
    # when QuickBooks throttles the posting container's batch request
    sandbox.fail_next(1, 429)
    with background(), pytest.raises(RateLimitedError) as throttled:
        posting.client.batch_queries([("Customer", None, 10)])
    # then it does not sleep out Intuit's minute inside the Lambda: the error carries it for the queue
    assert throttled.value.retry_after == pytest.approx(THROTTLE_WAIT_SECONDS)
    assert clock.sleeps == []
    assert [status for _, status in posting_door.seen] == [429]
    # and the realm is held for the interactive container too: with 10 s left it makes no call
    with time_limit(lambda: int((10 + RESERVE_SECONDS) * 1000)), pytest.raises(RateLimitedError) as held:
        deal.read_account(customer_id)
    assert held.value.retry_after == pytest.approx(THROTTLE_WAIT_SECONDS, abs=1e-3)
    assert deal_door.seen == []
    # and the batch budget went through the same precedence: its share sits beside it on the ledger
    for vendor in ("quickbooks-batch", "quickbooks-batch-background", "quickbooks-background"):
        assert "Item" in dynamodb.get_item(TableName=LEDGER.name, Key=budget_key(vendor, REALM))
    # and once the minute is over, background work gets its slots again
    clock.now += THROTTLE_WAIT_SECONDS
    with background():
        assert posting.client.batch_queries([("Customer", None, 10)])[0][0]["Id"] == customer_id


def test_every_connector_gets_budgets_that_put_interactive_flows_first() -> None:
    # given a deployment whose environment lowers the background share to half of each limit
    settings = Settings.from_env(
        {"LEDGER_TABLE": LEDGER.name, "CONNECTIONS_SECRET": "connections", "BACKGROUND_SHARE": "0.5"}
    )
    clock = StepClock()
    # when the composition root hands out the rate budgets (here around in-memory ones)
    budgets = Services(settings=settings, budgets=InMemoryBudgets(clock=clock.time)).rate_budgets
    budget = budgets.budget("quickbooks", REALM, REALM_LIMITS)
    # then background work gets half of the realm's 10 a second (4 after the margin), one at once
    with background():
        assert budget.reserve(max_wait=0) == 0
    with background(), pytest.raises(RateLimitedError):
        budget.reserve(max_wait=0)
    # and interactive work still finds the shared slots beside it
    clock.now += 1 / 8
    assert budget.reserve(max_wait=0) == 0
    # and without the variable the share is 70%
    assert Settings(ledger_table=LEDGER.name, connections_secret="connections").background_share == 0.7
