"""N "containers" against one QuickBooks realm: what the sandbox counts, with shared or per-process budgets.

Each container is what one Lambda container holds: its own connector, OAuth token, HTTP client and
DynamoDB client. They share only what containers share in AWS: the vendor (one sandbox realm,
enforcing Intuit's published limits) and DynamoDB. Time is simulated: it moves on only when every
container is waiting, so minutes of traffic take a second and each request reaches the sandbox at
the exact time its budget slot starts (no scheduling noise in the figures).

`run_beside_outside_app` adds another app on the same realm that spends part of the realm's 500 a
minute, so the realm throttles our containers however well they pace themselves: it compares the
429s they collect when a 429 holds the realm's budget for everyone with when only the container
that got it waits.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import httpx
from moto import mock_aws

from infra.local.sandboxes.quickbooks import PER_MINUTE_LIMIT, QuickBooksSandbox
from infra.wiring import LEDGER
from shared.aws.budget import DynamoBudget, DynamoBudgets
from shared.connectors.http import RetryPolicy
from shared.connectors.oauth import MemoryTokenStore
from shared.connectors.quickbooks import QuickBooksConnector, build
from shared.connectors.quickbooks.client import REALM_LIMITS
from shared.domain.budgets import InMemoryBudgets, PrioritizedBudgets, RateLimit, background
from shared.domain.errors import RateLimitedError, TransientError

if TYPE_CHECKING:
    from shared.domain.ports import RateBudgets

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()
REALM = "9130350000000001"


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


class StepClock:
    """Virtual time that moves only when a container sleeps (so every wait is visible and exact)."""

    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


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


def _run_readers(
    connectors: list[QuickBooksConnector],
    clock: SimClock,
    customer_id: str,
    reads_each: int,
    failures: list[Exception],
    finished: list[float],
) -> None:
    """One thread per container, each reading one customer `reads_each` times; returns when all are done."""

    def container(connector: QuickBooksConnector) -> None:
        try:
            for _ in range(reads_each):
                try:
                    connector.read_account(customer_id)
                except TransientError as exc:
                    failures.append(exc)
            finished.append(clock.time())
        finally:
            clock.leave()

    threads = [threading.Thread(target=container, args=(c,), daemon=True) for c in connectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


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
        # Both ways share the rotating tokens (Secrets Manager in AWS, since issue 8): only the
        # rate budget differs, so the comparison is about budgets alone.
        tokens = MemoryTokenStore()
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
                token_store=tokens,
            )
            # Each container refreshes once; Intuit rotates the refresh token, the store keeps it.
            connector.client.refresh_tokens()
            built.append(connector)
        before = sandbox.peak_per_minute
        assert before == 0, "nothing but token refreshes before the run"
        started = clock.time()

        _run_readers(built, clock, customer_id, reads_each, failures, [])
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


class _Unheld:
    """A shared budget whose `hold` does nothing: a 429 pauses only the container that got it."""

    def __init__(self, budget: DynamoBudget) -> None:
        self._budget = budget

    def reserve(self, *, max_wait: float) -> float:
        return self._budget.reserve(max_wait=max_wait)

    def hold(self, seconds: float) -> None:
        del seconds  # what the budget did before holds existed


class _UnheldBudgets:
    """`RateBudgets` of `_Unheld` budgets on the ledger table (the "without the hold" runs)."""

    def __init__(self, budgets: DynamoBudgets) -> None:
        self._budgets = budgets

    def budget(self, vendor: str, tenant: str, limits: tuple[RateLimit, ...]) -> _Unheld:
        return _Unheld(self._budgets.budget(vendor, tenant, limits))


class Answers(httpx.BaseTransport):
    """The realm's API answers one container got: when (on `clock`), and with what status."""

    def __init__(self, inner: httpx.BaseTransport, clock: Callable[[], float]) -> None:
        self._inner = inner
        self._clock = clock
        self.seen: list[tuple[float, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if "/v3/company/" in request.url.path:
            self.seen.append((self._clock(), response.status_code))
        return response


@dataclass(frozen=True)
class HoldFigures:
    """Containers after the realm throttled them: 429s, and calls in the minute Intuit asks to wait."""

    containers: int
    hold: bool
    outside_per_minute: int
    calls: int  # our API requests that reached the realm (429s included)
    throttled: int  # of those, answered 429
    in_wait: int  # requests sent in the 60 s after the first 429, which Intuit asks to wait out
    failed_reads: int
    minutes: float  # until our last read was done

    def line(self) -> str:
        kind = "a 429 holds the realm" if self.hold else "only the 429'd waits"
        cause = f"another app at {self.outside_per_minute}/min" if self.outside_per_minute else "one 429"
        return (
            f"  {self.containers} containers, {cause:<24}, {kind:<21}: {self.throttled:2} x 429,"
            f" {self.in_wait:3} calls inside the 60 s after the first, {self.calls} calls,"
            f" {self.failed_reads} reads failed, {self.minutes:.1f} min"
        )


def run_after_throttle(
    containers: int, *, reads_each: int, hold: bool, outside_per_minute: int = 0
) -> HoldFigures:
    """`containers` sharing the realm's budget, throttled by what another app on the realm does.

    With `outside_per_minute`, the other app spends that much of the realm's 500 a minute all along.
    Intuit's 10 a second is per realm *and app*; only the 500 a minute is the realm's, whoever calls,
    so the realm lets our app have what is left. Without it, the other app's burst costs our first
    request one 429 (Intuit then asks for 60 s).
    """
    sandbox = QuickBooksSandbox(realm_id="9130350000000001", refresh_token="rt-0")
    clock = SimClock(containers)
    sandbox.clock = clock.now
    dynamo_lock = threading.Lock()
    failures: list[Exception] = []
    finished: list[float] = []
    with _aws():
        customer_id = sandbox.put_customer({"DisplayName": "Busy Realm Co"})
        ours: list[tuple[QuickBooksConnector, Answers]] = []
        for _ in range(containers):
            shared = DynamoBudgets(
                LEDGER.name,
                client=AtomicDynamo(boto3.client("dynamodb", region_name="us-east-1"), dynamo_lock),
                clock=clock.time,
            )
            answers = Answers(httpx.WSGITransport(app=sandbox), clock.time)
            connector = build(
                sandbox.connection("http://qbo.sandbox"),
                transport=answers,
                clock=clock.time,
                sleep=clock.sleep,
                budgets=shared if hold else _UnheldBudgets(shared),
            )
            connector.client.refresh_tokens()
            ours.append((connector, answers))
        sandbox.per_minute_limit = PER_MINUTE_LIMIT - outside_per_minute
        if not outside_per_minute:
            sandbox.fail_next(1, 429)
        started = clock.time()

        _run_readers([c for c, _ in ours], clock, customer_id, reads_each, failures, finished)
        for connector, _ in ours:
            connector.close()
    seen = sorted(answer for _, answers in ours for answer in answers.seen)
    first = next((at for at, status in seen if status == 429), None)
    return HoldFigures(
        containers=containers,
        hold=hold,
        outside_per_minute=outside_per_minute,
        calls=len(seen),
        throttled=sum(1 for _, status in seen if status == 429),
        in_wait=0 if first is None else sum(1 for at, _ in seen if first < at < first + 60),
        failed_reads=len(failures),
        minutes=(max(finished, default=started) - started) / 60,
    )


def measure(reads_each: int = 150) -> list[RealmFigures | HoldFigures]:
    """The figures for `make bench`: 1, 3 and 5 containers, shared budget vs one budget per process;
    then 3 containers throttled (one 429; another app taking 300 of the realm's 500 a minute), with
    and without the hold (the realm's pause for every container)."""
    figures: list[RealmFigures | HoldFigures] = [
        run_containers(n, reads_each=reads_each, shared=shared) for n in (1, 3, 5) for shared in (True, False)
    ]
    figures += [
        run_after_throttle(3, reads_each=reads_each, hold=hold, outside_per_minute=outside)
        for outside in (0, 300)
        for hold in (True, False)
    ]
    return figures


@dataclass(frozen=True)
class MonthEndFigures:
    """A month-end flood of background calls on one realm, and a closed-won deal's calls in the middle."""

    precedence: bool
    workers: int
    background_sent: tuple[float, ...]  # when each background call went out
    background_refused: int  # background calls sent back to the queue (a full share, a hold)
    deal_waits: tuple[float, ...]  # each interactive call's wait for its slot
    deal_seconds: float  # from the deal's first call to its last answer

    def line(self) -> str:
        kind = "interactive first (70% share)" if self.precedence else "one queue for all (no precedence)"
        if not self.workers:
            kind = "a quiet realm (no month-end)"
        per_minute = len(self.background_sent) / max(1e-9, MONTH_END_SECONDS) * 60
        return (
            f"  {self.workers:2} posting containers, {kind:<34}: the deal's {len(self.deal_waits)} calls"
            f" waited {sum(self.deal_waits):5.1f} s in all (longest {max(self.deal_waits):4.2f} s),"
            f" done in {self.deal_seconds:5.1f} s; background {per_minute:3.0f} calls/min,"
            f" {self.background_refused} sent back to the queue"
        )


MONTH_END_SECONDS = 120.0


def run_month_end(
    *,
    precedence: bool,
    workers: int,
    deal_calls: int = 20,
    deal_at: float = 60.0,
    deal_every: float = 0.0,
    latency: float = 0.0,
    seconds: float = MONTH_END_SECONDS,
    limits: tuple[RateLimit, ...] = REALM_LIMITS,
    shared: Callable[[Callable[[], float]], RateBudgets] | None = None,
) -> MonthEndFigures:
    """`workers` containers posting as fast as one realm's budget lets them for `seconds`, and a deal
    whose setup makes `deal_calls` interactive calls one after another from `deal_at` on (each
    `latency` long, at least `deal_every` apart). A background call refused goes back to the queue
    for its Retry-After, rounded up to SQS's whole seconds. Simulated time; the budgets are
    `shared(clock)` (DynamoDB in moto), one budget object per container, else in memory."""
    clock = SimClock(workers + 1)
    inner = shared(clock.time) if shared is not None else InMemoryBudgets(clock=clock.time)
    budgets: RateBudgets = PrioritizedBudgets(inner, sleep=clock.sleep) if precedence else inner
    sent: list[float] = []
    refused: list[float] = []
    waits: list[float] = []
    span: list[float] = []
    end = clock.time() + seconds
    mark = background if precedence else contextlib.nullcontext

    def posting() -> None:
        budget = budgets.budget("quickbooks", REALM, limits)
        try:
            while clock.time() < end:
                try:
                    with mark():
                        wait = budget.reserve(max_wait=RetryPolicy().max_retry_after)
                except RateLimitedError as full:
                    refused.append(clock.time())
                    clock.sleep(max(1, math.ceil(full.retry_after or 0)))
                    continue
                clock.sleep(wait)
                sent.append(clock.time())
                clock.sleep(latency)
        finally:
            clock.leave()

    def deal() -> None:
        budget = budgets.budget("quickbooks", REALM, limits)
        try:
            clock.sleep(deal_at)
            started = clock.time()
            for _ in range(deal_calls):
                asked = clock.time()
                wait = budget.reserve(max_wait=RetryPolicy().max_retry_after)
                waits.append(wait)
                clock.sleep(wait + latency)
                clock.sleep(max(0.0, asked + deal_every - clock.time()))
            span.append(clock.time() - started)
        finally:
            clock.leave()

    threads = [threading.Thread(target=posting, daemon=True) for _ in range(workers)]
    threads.append(threading.Thread(target=deal, daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return MonthEndFigures(
        precedence=precedence,
        workers=workers,
        background_sent=tuple(sent),
        background_refused=len(refused),
        deal_waits=tuple(waits),
        deal_seconds=span[0] if span else float("nan"),
    )


def measure_month_end() -> list[MonthEndFigures]:
    """The figures for `make bench`: a deal of 20 calls (200 ms each, QuickBooks' realm limits) on a
    quiet realm, then beside 5 and 20 posting containers at month-end, without and with precedence."""
    return [run_month_end(precedence=False, workers=0, latency=0.2)] + [
        run_month_end(precedence=precedence, workers=workers, latency=0.2)
        for workers in (5, 20)
        for precedence in (False, True)
    ]
