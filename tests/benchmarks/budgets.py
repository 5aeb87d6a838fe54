"""N "containers" against one QuickBooks realm: what the sandbox counts, with shared or per-process budgets.

Each container is what one Lambda container holds: its own connector, OAuth token, HTTP client and
DynamoDB client. They share only what containers share in AWS: the vendor (one sandbox realm,
enforcing Intuit's published limits) and DynamoDB. Time is simulated: it moves on only when every
container is waiting, so minutes of traffic take a second and each request reaches the sandbox at
the exact time its budget slot starts (no scheduling noise in the figures).
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
from moto import mock_aws

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from infra.wiring import LEDGER
from shared.aws.budget import DynamoBudgets
from shared.connectors.quickbooks import QuickBooksConnector, build
from shared.domain.budgets import InMemoryBudgets
from shared.domain.errors import TransientError

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()


class SimClock:
    """Virtual time for `parties` threads: it jumps to the earliest wake-up once all of them wait."""

    def __init__(self, parties: int, start: float = START) -> None:
        self._now = start
        self._active = parties
        self._sleepers: list[tuple[float, int]] = []
        self._woken: set[int] = set()
        self._tickets = itertools.count()
        self._cond = threading.Condition()

    def time(self) -> float:
        with self._cond:
            return self._now

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def _advance(self) -> None:
        if self._active == 0 and self._sleepers:
            wake, ticket = heapq.heappop(self._sleepers)
            self._now = max(self._now, wake)
            self._woken.add(ticket)
            self._active += 1
            self._cond.notify_all()

    def sleep(self, seconds: float) -> None:
        with self._cond:
            ticket = next(self._tickets)
            heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), ticket))
            self._active -= 1
            self._advance()
            self._cond.wait_for(lambda: ticket in self._woken)
            self._woken.discard(ticket)

    def leave(self) -> None:
        """A party is done: it no longer holds time back."""
        with self._cond:
            self._active -= 1
            self._advance()


class AtomicDynamo:
    """A DynamoDB client whose calls are each atomic, as DynamoDB's are (moto's are not under threads)."""

    def __init__(self, client: Any, lock: threading.Lock) -> None:
        self._client = client
        self._lock = lock

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            with self._lock:
                return method(**kwargs)

        return call


@dataclass(frozen=True)
class RealmFigures:
    """What one run did to the realm, in the sandbox's own count."""

    containers: int
    shared: bool
    calls: int  # API requests that reached the realm
    throttled: int  # 429s the sandbox answered for a limit
    failed_reads: int  # reads that ended in an error after the connector's retries
    peak_per_minute: int
    peak_per_second: int
    per_minute: float  # average over the run

    def line(self) -> str:
        kind = "shared budget" if self.shared else "per-process budgets"
        return (
            f"  {self.containers} containers, {kind:<19}: {self.per_minute:5.0f} calls/min on average,"
            f" peak {self.peak_per_minute}/min and {self.peak_per_second}/s, {self.throttled} x 429,"
            f" {self.failed_reads} reads failed"
        )


def _ledger_table(client: Any) -> None:
    client.create_table(
        TableName=LEDGER.name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@contextmanager
def _aws() -> Iterator[None]:
    with mock_aws():
        _ledger_table(boto3.client("dynamodb", region_name="us-east-1"))
        yield


def run_containers(containers: int, *, reads_each: int, shared: bool) -> RealmFigures:
    """`containers` threads, each reading one customer `reads_each` times from the same realm."""
    sandbox = QuickBooksSandbox(realm_id="9130350000000001", refresh_token="rt-0")
    clock = SimClock(containers)
    sandbox.clock = clock.now
    dynamo_lock = threading.Lock()
    failures: list[Exception] = []
    with _aws():
        customer_id = sandbox.put_customer({"DisplayName": "Budget Test Co"})
        built: list[QuickBooksConnector] = []
        for _ in range(containers):
            budgets = (
                DynamoBudgets(
                    LEDGER.name,
                    client=AtomicDynamo(boto3.client("dynamodb", region_name="us-east-1"), dynamo_lock),
                    clock=clock.time,
                )
                if shared
                else InMemoryBudgets(clock=clock.time)  # what each process had before: its own window
            )
            connector = build(
                sandbox.connection("http://qbo.sandbox"),
                transport=httpx.WSGITransport(app=sandbox),
                clock=clock.time,
                sleep=clock.sleep,
                budgets=budgets,
            )
            # Each container refreshes once; Intuit rotates the refresh token, so the next one gets it.
            connector.client.refresh_tokens()
            built.append(connector)
        before = sandbox.peak_per_minute
        assert before == 0, "nothing but token refreshes before the run"
        started = clock.time()

        def container(connector: QuickBooksConnector) -> None:
            try:
                for _ in range(reads_each):
                    try:
                        connector.read_account(customer_id)
                    except TransientError as exc:
                        failures.append(exc)
            finally:
                clock.leave()

        threads = [threading.Thread(target=container, args=(c,), daemon=True) for c in built]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        elapsed = max(1e-9, clock.time() - started)
        calls = sum(c.client.api.calls for c in built)
        for connector in built:
            connector.close()
    return RealmFigures(
        containers=containers,
        shared=shared,
        calls=calls,
        throttled=sandbox.throttled,
        failed_reads=len(failures),
        peak_per_minute=sandbox.peak_per_minute,
        peak_per_second=sandbox.peak_per_second,
        per_minute=calls / elapsed * 60,
    )


def measure(reads_each: int = 150) -> list[RealmFigures]:
    """The figures for `make bench`: 1, 3 and 5 containers, shared budget vs one budget per process."""
    return [
        run_containers(n, reads_each=reads_each, shared=shared) for n in (1, 3, 5) for shared in (True, False)
    ]
