"""A vendor's Retry-After longer than the function may run delays the message; nothing sleeps through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.local.environment import LocalEnvironment, local_environment
from infra.local.pollers import QueuePoller
from infra.wiring import WIRING

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        yield environment


def _account_sync(env: LocalEnvironment) -> QueuePoller:
    assert env.runtime is not None
    return next(p for p in env.runtime.pollers.pollers if p.function.name == "account_sync")


def test_retry_after_longer_than_the_timeout_delays_the_message_then_it_syncs(env: LocalEnvironment) -> None:
    assert env.runtime is not None
    poller = _account_sync(env)
    timeout = WIRING.function("account_sync").timeout_seconds
    # given QuickBooks will answer the next call with 429 and Retry-After: 120 (account_sync may run 60 s)
    env.quickbooks.fail_next(1, 429, retry_after=2 * timeout)
    account_id = env.salesforce.put_account({"Name": "Throttled Partners"})
    started = env.runtime.clock.time()
    # when the hub settles the account's notice
    env.settle()
    # then the message was put back for the 120 s QuickBooks asked for (not slept, not the queue's 360 s)
    assert 2 * timeout <= env.runtime.clock.time() - started < poller.queue.visibility_timeout
    assert poller.stats.delays == [pytest.approx(2 * timeout, abs=2)]
    assert not [e for e in poller.stats.errors if "timed out" in e]
    # and the second delivery synced the account: one customer, nothing dead-lettered
    names = [c["DisplayName"] for c in env.quickbooks.customers()]
    assert names.count("Throttled Partners") == 1
    assert poller.stats.sent_to_dlq == 0
    assert account_id
