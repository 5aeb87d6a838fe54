"""Issue 10's figures: approved Productive time entries posted to QuickBooks.

1. Calls per 1,000 approved entries, end to end on the local runtime (webhooks, moto, the handlers),
   split by the function that made them: webhook_ingest (the notices), time_sync (the posting), the
   delivery sweep (one run after the drain, nothing left to do).
2. The modelled AWS cost per 1M approved entries from those counts (us-east-1 list prices).
3. Month-end: 20,000 entries approved at once, drained against the sandboxes with their published
   limits enforced, in the environment's virtual time.

One size: `python -m tests.benchmarks.time_posting 1000` (entries; the month-end uses 20x that).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from botocore.client import BaseClient
from rich.console import Console

from infra.local.demo import engagement_setup
from infra.local.environment import LocalEnvironment, local_environment
from infra.wiring import DELIVERY_SWEEP_MINUTES, WIRING
from shared import bootstrap
from shared.domain.budgets import BACKGROUND_SHARES, InMemoryBudgets, PrioritizedBudgets, background
from shared.domain.delivery_ports import BookedEngagement, PendingBatch, WorkRecord
from shared.domain.errors import Close2CashError, RateLimitedError
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.governance.routing import Routing
from shared.sync.delivery.sync import DeliverySync, notice_key
from tests.benchmarks.calls import verdict
from tests.benchmarks.engagement import (
    PRICE_DDB_READ,
    PRICE_DDB_WRITE,
    PRICE_EVENT,
    PRICE_LAMBDA_GB_SECOND,
    PRICE_LAMBDA_REQUEST,
    PRICE_SQS,
)
from tests.benchmarks.logs import handler_output
from tests.delivery_fakes import InMemoryPostings

# Issue 10's goals.
GOAL_QBO_WRITES_PER_10 = 1.0  # QuickBooks write calls per 10 approved entries (batches of 10)
GOAL_PSA_READS_PER_100 = 1.0  # Productive read calls per 100 approved entries (the worker's reads)
GOAL_COST_PER_MILLION = 5.0  # USD
GOAL_DRAIN_RATIO = 1.2
PEOPLE = 10
MONTH_END_FACTOR = 20  # the month-end drains 20x the per-1,000 size: 20,000 entries

# --- prices (us-east-1 list prices, USD) -----------------------------------------------------------
# API Gateway REST: $3.50 per 1M requests (first 333M a month). https://aws.amazon.com/api-gateway/pricing/
PRICE_API_REST = 3.50 / 1_000_000
# Memory of each function (infra/wiring.py).
MEMORY_GB = {f.name: f.memory_mb / 1024 for f in WIRING.functions}
# What a real vendor call costs in Lambda time that the loopback sandboxes do not (assumed): a
# QuickBooks batch of 10 creates ~1.5 s, any other vendor call ~0.3 s.
ASSUMED_QBO_BATCH_SECONDS = 1.5
ASSUMED_VENDOR_CALL_SECONDS = 0.3
# SQS bills per 64 KB chunk of each request; EventBridge PutEvents per 64 KB entry. Every message
# here is one notice (< 2 KB): one chunk each. An ESM batch of 100 is 10 ReceiveMessage calls of
# 10 and 10 DeleteMessageBatch calls; EventBridge's delivery to the queue is one SendMessage.
# https://aws.amazon.com/sqs/pricing/ https://aws.amazon.com/eventbridge/pricing/
SQS_REQUESTS_PER_MESSAGE = 1 + 0.1 + 0.1
DDB_WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem"}
WEBHOOK_FUNCTION = "webhook_ingest"
POSTING_FUNCTION = "time_sync"
SWEEP_FUNCTION = "delivery_sweep"


# --- counting ----------------------------------------------------------------------------------------


def _function_of(invoker: Any) -> str:
    """The logical function the current thread runs for (the local runtime names handler threads)."""
    name = threading.current_thread().name
    if name.startswith("lambda:"):
        return str(invoker.name_of(name[len("lambda:") :]) or name[len("lambda:") :])
    return "runtime"


def _item_kb(item: Mapping[str, Any]) -> int:
    """DynamoDB's size of an item (attribute names + values), in started KB."""
    size = 0
    for name, value in item.items():
        size += len(name)
        for raw in value.values():
            size += len(raw) if isinstance(raw, bytes | str) else len(json.dumps(raw, default=str))
    return max(1, math.ceil(size / 1024))


# The last size put of each batch item: an UpdateItem is billed on the item's size.
_BATCH_KB: dict[str, float] = {}


def _indexed(item: Mapping[str, Any], condition: str = "") -> float:
    """Index writes a put costs. DynamoDB writes an index only when the put changes the item's index
    keys or projected attributes
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations.Writes):
    `by-engagement` holds a work's keys only, so only its first put (`attribute_not_exists(pk)`)
    reaches it; the status index projects every attribute, so a parked work or a pending batch is
    written there whole."""
    pk = str(item.get("pk", {}).get("S", ""))
    units = 0.0
    if pk.startswith("WORK#") and "attribute_not_exists(pk)" in condition:
        units += 1
    if "status_key" in item:
        units += _item_kb(item)
    return units


def request_units(operation: str, params: Mapping[str, Any]) -> tuple[float, float]:
    """(write units, read units) of one DynamoDB call, from its parameters (see `cost` for the rules)."""
    if operation == "PutItem":
        item = params.get("Item", {})
        pk = str(item.get("pk", {}).get("S", ""))
        if pk.startswith("BATCH#"):
            _BATCH_KB[pk] = _item_kb(item)
        return _item_kb(item) + _indexed(item, str(params.get("ConditionExpression", ""))), 0.0
    if operation in ("UpdateItem", "DeleteItem"):
        pk = str(params.get("Key", {}).get("pk", {}).get("S", ""))
        # Billed on the larger of the item before and after; a batch leaving the status index is
        # one more write there.
        return (_BATCH_KB.pop(pk, 1.0) + 1.0) if pk.startswith("BATCH#") else 1.0, 0.0
    if operation == "TransactWriteItems":
        units = 0.0
        for part in params.get("TransactItems", []):
            if "Put" in part:
                item = part["Put"]["Item"]
                units += 2 * _item_kb(item) + _indexed(item)
            else:
                (kind,) = part.keys()
                units += 2 + (_indexed(part[kind].get("Key", {})) if kind != "ConditionCheck" else 0)
        return units, 0.0
    if operation == "BatchWriteItem":
        units = 0.0
        for requests in params.get("RequestItems", {}).values():
            for request in requests:
                item = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get(
                    "Key", {}
                )
                units += _item_kb(item) + _indexed(item)
        return units, 0.0
    if operation == "BatchGetItem":
        keys = sum(len(spec.get("Keys", [])) for spec in params.get("RequestItems", {}).values())
        return 0.0, float(keys)
    if operation == "TransactGetItems":
        return 0.0, 2.0 * len(params.get("TransactItems", []))
    # GetItem, Query, Scan: items of a few KB, one unit a call (strongly consistent, <= 4 KB).
    return 0.0, 1.0


@dataclass
class Counts:
    """What one phase cost, by the function that made each call."""

    aws: Counter[str] = field(default_factory=Counter)  # "<function> <service>:<Operation>"
    units: dict[str, list[float]] = field(default_factory=dict)  # function -> [write, read] units
    write_units: dict[str, float] = field(default_factory=dict)  # "<function> <Operation>" -> WRU
    vendor: Counter[str] = field(default_factory=Counter)  # "<function> <vendor> <read|write|batch|token>"
    hub_vendor: dict[str, int] = field(default_factory=dict)  # the connectors' own counts
    invocations: Counter[str] = field(default_factory=Counter)
    busy_seconds: Counter[str] = field(default_factory=Counter)  # wall time inside each function
    webhooks: int = 0  # webhook requests the sandboxes sent
    seconds: float = 0.0

    def aws_of(self, function: str) -> dict[str, int]:
        return {k.split(" ", 1)[1]: v for k, v in sorted(self.aws.items()) if k.split(" ", 1)[0] == function}

    def vendor_of(self, function: str) -> dict[str, int]:
        return {
            k.split(" ", 1)[1]: v for k, v in sorted(self.vendor.items()) if k.split(" ", 1)[0] == function
        }

    def vendor_calls(self, function: str, vendor: str, *kinds: str) -> int:
        return sum(
            v
            for k, v in self.vendor.items()
            if k.split(" ")[:2] == [function, vendor] and k.split(" ")[2] in kinds
        )


def _vendor_kind(method: str, path: str) -> str:
    if "oauth" in path or path.endswith("/tokens/bearer"):
        return "token"
    if path.endswith("/batch"):
        return "batch"
    return "read" if method == "GET" or path.endswith("/query") else "write"


@contextlib.contextmanager
def counting(env: LocalEnvironment) -> Iterator[Counts]:
    """Count AWS calls, vendor HTTP calls and invocations made while the block runs, per function."""
    assert env.runtime is not None
    counts = Counts()
    invoker = env.runtime.invoker
    lock = threading.Lock()
    original_aws = BaseClient._make_api_call
    original_send = httpx.Client.send
    original_invoke = invoker.invoke
    vendors = {url: name for name, url in env.urls.items()}

    def aws(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        service = self.meta.service_model.endpoint_prefix
        if api_params.get("Namespace") != "AWS/ApiGateway":
            function = _function_of(invoker)
            with lock:
                counts.aws[f"{function} {service}:{operation_name}"] += 1
                if service == "dynamodb":
                    write, read = request_units(operation_name, api_params)
                    units = counts.units.setdefault(function, [0.0, 0.0])
                    units[0] += write
                    units[1] += read
                    op = f"{function} {operation_name}"
                    counts.write_units[op] = counts.write_units.get(op, 0.0) + write
        return original_aws(self, operation_name, api_params)

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        url = str(request.url)
        vendor = next((name for base, name in vendors.items() if url.startswith(base)), None)
        if vendor is not None:
            key = f"{_function_of(invoker)} {vendor} {_vendor_kind(request.method, request.url.path)}"
            with lock:
                counts.vendor[key] += 1
        elif url.startswith(env.api_url + "/webhooks/"):
            with lock:
                counts.webhooks += 1
        return original_send(self, request, **kwargs)

    def invoke(name: str, event: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_invoke(name, event)
        finally:
            with lock:
                counts.invocations[name] += 1
                counts.busy_seconds[name] += time.perf_counter() - started

    hub_before = bootstrap.services().vendor_calls()
    BaseClient._make_api_call = aws  # type: ignore[method-assign]
    httpx.Client.send = send  # type: ignore[method-assign]
    invoker.invoke = invoke  # type: ignore[method-assign]
    started = time.perf_counter()
    try:
        yield counts
    finally:
        counts.seconds = time.perf_counter() - started
        BaseClient._make_api_call = original_aws  # type: ignore[method-assign]
        httpx.Client.send = original_send  # type: ignore[method-assign]
        del invoker.invoke
        hub_after = bootstrap.services().vendor_calls()
        counts.hub_vendor = {
            k: v - hub_before.get(k, 0) for k, v in hub_after.items() if v - hub_before.get(k, 0)
        }


# --- 1. calls per 1,000 approved entries, end to end ---------------------------------------------


@dataclass
class Landscape:
    """A won, approved engagement in both systems, with people who track time on it."""

    project: str
    services: list[str]
    people: list[str]


def set_up(env: LocalEnvironment) -> Landscape:
    """A closed-won deal approved to an active engagement; PEOPLE people in Productive and QuickBooks."""
    account_id = env.salesforce.put_account({"Name": "Bench Time Co", "CurrencyIsoCode": "USD"})
    env.settle()
    report = engagement_setup(env, Console(file=io.StringIO()), account_id=account_id)
    if not report.active_once:
        raise RuntimeError("the bench engagement did not become active in both systems")
    project = str(report.psa_projects[0]["id"])
    services = [str(s["id"]) for s in env.productive.services(project)]
    people = []
    for n in range(PEOPLE):
        email = f"bench.person{n}@example.com"
        people.append(env.productive.add_person("Bench", f"Person{n}", email=email))
        env.quickbooks.add_employee(f"Bench Person{n}", email=email)
    env.settle()
    return Landscape(project, services, people)


def log_entries(env: LocalEnvironment, landscape: Landscape, entries: int) -> list[str]:
    """`entries` hours tracked today by the landscape's people, on its services in turn."""
    day = env.clock.now().date().isoformat()
    return [
        env.productive.add_time_entry(
            landscape.people[n % len(landscape.people)],
            landscape.services[n % len(landscape.services)],
            day,
            60,
        )
        for n in range(entries)
    ]


@dataclass
class CallFigures:
    entries: int
    created: Counts
    approved: Counts
    swept: Counts  # a sweep from its cursor
    first_sweep: Counts  # the first sweep (35 days back)
    posted: int  # TimeActivities in the sandbox with a PSA reference
    duplicated: int
    wall_seconds: float

    def per_thousand(self, value: float) -> float:
        return value * 1000 / self.entries


REFERENCE = re.compile(r"\[close2cash productive/time_entries/(\d+)\]")


def posted_references(env: LocalEnvironment) -> Counter[str]:
    """The PSA entries the sandbox's TimeActivities name in their Description, with how often each."""
    with env.quickbooks._lock:
        rows = env.quickbooks.company.rows("TimeActivity")
    found: Counter[str] = Counter()
    for row in rows:
        match = REFERENCE.search(str(row.get("Description") or ""))
        if match:
            found[match.group(1)] += 1
    return found


def measure_calls(entries: int = 1000) -> CallFigures:
    """Log, approve and post `entries` time entries on the local runtime; count every call per phase."""
    started = time.perf_counter()
    with local_environment() as env:
        landscape = set_up(env)
        with counting(env) as created:
            ids = log_entries(env, landscape, entries)
            env.settle(timeout=600)
        with counting(env) as approved:
            for entry_id in ids:
                env.productive.approve_time_entry(entry_id)
            env.settle(timeout=900)
        sweep = DELIVERY_SWEEP_MINUTES * 60 + 1
        # The first delivery sweep looks back 35 days (every entry again, skipped by its version);
        # the next one reads from its cursor. Whatever else is scheduled meanwhile runs too.
        with counting(env) as first_sweep:
            env.pass_time(sweep, step=sweep)
        with counting(env) as swept:
            env.pass_time(sweep, step=sweep)
        references = posted_references(env)
    wanted = set(ids)
    return CallFigures(
        entries=entries,
        created=created,
        approved=approved,
        swept=swept,
        first_sweep=first_sweep,
        posted=len(wanted & set(references)),
        duplicated=sum(n - 1 for ref, n in references.items() if ref in wanted and n > 1),
        wall_seconds=time.perf_counter() - started,
    )


# --- 2. modelled AWS cost per 1M approved entries ---------------------------------------------------


def _lambda_cost(counts: Counts, function: str) -> tuple[float, float]:
    """(USD, modelled seconds per invocation) of one function's invocations in a phase."""
    invocations = counts.invocations.get(function, 0)
    if not invocations:
        return 0.0, 0.0
    batches = sum(v for k, v in counts.vendor.items() if k.startswith(f"{function} quickbooks batch"))
    others = sum(v for k, v in counts.vendor.items() if k.startswith(f"{function} ")) - batches
    seconds = (
        counts.busy_seconds[function]
        + batches * ASSUMED_QBO_BATCH_SECONDS
        + others * ASSUMED_VENDOR_CALL_SECONDS
    ) / invocations
    gb = MEMORY_GB.get(function, 0.5)
    return invocations * (PRICE_LAMBDA_REQUEST + seconds * gb * PRICE_LAMBDA_GB_SECOND), seconds


def cost(counts: Counts, function: str, *, entries: int) -> dict[str, float]:
    """Modelled USD per 1M entries of what `function` did in a phase, by AWS service."""
    scale = 1_000_000 / entries
    aws = counts.aws_of(function)
    write_units, read_units = counts.units.get(function, [0.0, 0.0])
    lambda_usd, _ = _lambda_cost(counts, function)
    events = aws.get("events:PutEvents", 0)
    result = {
        "Lambda": lambda_usd,
        "DynamoDB": write_units * PRICE_DDB_WRITE + read_units * PRICE_DDB_READ,
        # Each event put is delivered to the queue (one SendMessage), received and deleted in tens.
        "EventBridge + SQS": events * PRICE_EVENT + events * SQS_REQUESTS_PER_MESSAGE * PRICE_SQS,
    }
    if function == WEBHOOK_FUNCTION:
        result["API Gateway REST (webhooks)"] = counts.invocations.get(function, 0) * PRICE_API_REST
    return {k: v * scale for k, v in result.items()}


def sweep_cost_per_month(counts: Counts) -> float:
    """USD a month of the delivery sweep running every DELIVERY_SWEEP_MINUTES with nothing to do."""
    runs = max(1, counts.invocations.get(SWEEP_FUNCTION, 0))
    write_units, read_units = counts.units.get(SWEEP_FUNCTION, [0.0, 0.0])
    lambda_usd, _ = _lambda_cost(counts, SWEEP_FUNCTION)
    per_run = (lambda_usd + write_units * PRICE_DDB_WRITE + read_units * PRICE_DDB_READ) / runs
    return per_run * 30 * 24 * 60 / DELIVERY_SWEEP_MINUTES


# --- 3. month-end drain ----------------------------------------------------------------------------


class VirtualClock:
    """Time that moves only when someone waits: the drain's figure is the vendors' pacing alone.

    (The environment's own clock is wall time plus an offset; this bench's handler work runs one
    consumer after the other on 2 cores, so wall time would count twice what two consumers at once
    spend.) It stands in for the environment's clock in the sandboxes and the connectors.
    """

    def __init__(self, start: float) -> None:
        self._now = start
        self._lock = threading.Lock()

    def time(self) -> float:
        return self._now

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, tz=UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._now += seconds

    def advance_to(self, timestamp: float) -> None:
        with self._lock:
            self._now = max(self._now, timestamp)


class CountingPostings(InMemoryPostings):
    """The in-memory posting store, counting its calls per operation (what DynamoPostings would make)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def works(self, keys: Sequence[str]) -> dict[str, WorkRecord]:
        self.calls["works"] += 1
        return super().works(keys)

    def save_works(self, records: Sequence[WorkRecord], *, stale_before: datetime) -> set[str]:
        self.calls["save_works"] += 1
        return super().save_works(records, stale_before=stale_before)

    def claim(
        self, batch: PendingBatch, records: Mapping[str, WorkRecord], *, stale_before: datetime
    ) -> set[str]:
        self.calls["claim"] += 1
        return super().claim(batch, records, stale_before=stale_before)

    def pending(self, batch_id: str) -> PendingBatch | None:
        self.calls["pending"] += 1
        return super().pending(batch_id)

    def pending_batches(self, *, created_before: datetime) -> list[PendingBatch]:
        self.calls["pending_batches"] += 1
        return super().pending_batches(created_before=created_before)

    def finish(self, batch: PendingBatch, records: Sequence[WorkRecord]) -> set[str]:
        self.calls["finish"] += 1
        return super().finish(batch, records)

    def parked(self, project: str | None = None) -> list[WorkRecord]:
        self.calls["parked"] += 1
        return super().parked(project)

    def engagement(self, system: SystemName, project: str) -> BookedEngagement | None:
        self.calls["engagement"] += 1
        return super().engagement(system, project)


# What the work-changes consumer does (infra/wiring.py): 100 notices per invocation, two at once.
NOTICES_PER_INVOCATION = 100
CONSUMERS = 2
# A notice retried without a Retry-After comes back after the queue's visibility timeout (assumed 60 s).
DEFAULT_RETRY_SECONDS = 60.0
QBO_BATCHES_PER_MINUTE = 40  # https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
QBO_BATCH_SIZE = 10


@dataclass
class DrainFigures:
    entries: int
    virtual_seconds: float
    vendor_bound_seconds: float
    share_bound_seconds: float
    invocations: int
    redelivered: int  # notices that went back to the queue (a full budget, a held work)
    qbo_429: int
    qbo_batch_429: int
    productive_429: int
    qbo_calls: Counter[str]
    productive_calls: Counter[str]
    store_calls: Counter[str]
    posted: int
    lost: int
    duplicated: int
    wall_seconds: float

    @property
    def ratio(self) -> float:
        return self.virtual_seconds / self.vendor_bound_seconds

    @property
    def share_ratio(self) -> float:
        return self.virtual_seconds / self.share_bound_seconds


def _counted(app: Any, counter: Counter[str]) -> Any:
    """`app` (a sandbox's WSGI app), counting each request it is sent by kind."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        counter[_vendor_kind(str(environ["REQUEST_METHOD"]), str(environ.get("PATH_INFO", "")))] += 1
        return app(environ, start_response)

    return wsgi


def _delivery(
    env: LocalEnvironment, clock: VirtualClock, store: CountingPostings, sent: dict[str, Counter[str]]
) -> tuple[DeliverySync, Any, Any]:
    """The real use case over the real connectors to the sandboxes (in process), on `clock`."""
    from shared.connectors import productive as productive_connector
    from shared.connectors import quickbooks as quickbooks_connector

    services = bootstrap.services()
    budgets = PrioritizedBudgets(
        InMemoryBudgets(clock=clock.time),
        background_share=services.settings.background_share,
        background_max_wait=services.settings.background_max_wait_seconds,
        sleep=clock.sleep,
    )
    productive = productive_connector.build(
        env.productive.connection(env.urls["productive"]),
        transport=httpx.WSGITransport(app=_counted(env.productive, sent["productive"])),
        sleep=clock.sleep,
        clock=clock.now,
        budgets=budgets,
    )
    quickbooks = quickbooks_connector.build(
        env.quickbooks.connection(env.urls["quickbooks"]),
        transport=httpx.WSGITransport(app=_counted(env.quickbooks, sent["quickbooks"])),
        clock=clock.time,
        sleep=clock.sleep,
        budgets=budgets,
    )
    sync = DeliverySync(
        source=lambda: productive,
        target=lambda system: quickbooks,
        connected=lambda system: system is SystemName.QUICKBOOKS,
        store=store,
        ledger=services.ledger,
        metrics=services.metrics,
        mappings=services.mappings,
        routing=Routing(services.landscape),
        priority=background,
        clock=clock.now,
    )
    return sync, productive, quickbooks


def measure_month_end(entries: int = 20_000) -> DrainFigures:
    """`entries` approved at once; the work-changes consumer drained against the rate-limited sandboxes."""
    started = time.perf_counter()
    with local_environment() as env:
        landscape = set_up(env)
        clock = VirtualClock(env.clock.time())
        env.quickbooks.clock = clock.now
        env.productive.set_clock(clock.now)
        ids = log_entries(env, landscape, entries)
        for entry_id in ids:
            env.productive.approve_time_entry(entry_id)
        approved_at = clock.now()
        store = CountingPostings()
        engagement = bootstrap.services().postings.engagement(SystemName.PRODUCTIVE, landscape.project)
        if engagement is None:
            raise RuntimeError("the bench engagement is not booked in the ledger")
        store.save_engagement(engagement)
        sent: dict[str, Counter[str]] = {"productive": Counter(), "quickbooks": Counter()}
        sync, productive, quickbooks = _delivery(env, clock, store, sent)
        qbo_before = (env.quickbooks.rate.refused, env.quickbooks.batch_rate.refused)
        psa_before = env.productive.throttled
        # The webhooks' notices, as the queue holds them (the sandbox's own deliveries are not made).
        waiting: list[tuple[float, int, ChangeNotice]] = [
            (
                clock.time(),
                n,
                ChangeNotice(
                    provider=SystemName.PRODUCTIVE,
                    event_id=f"bench-approved-{entry_id}",
                    entity=EntityType.TIME_ENTRY,
                    vendor_type="time_entries",
                    record_id=entry_id,
                    operation=Operation.UPDATED,
                    occurred_at=approved_at,
                    realm=env.productive.organization_id,
                ),
            )
            for n, entry_id in enumerate(ids)
        ]
        begin = clock.time()
        invocations = redelivered = 0
        finished = begin
        while waiting:
            waiting.sort()
            now = clock.time()
            if waiting[0][0] > now:
                clock.advance_to(waiting[0][0])
                continue
            # The consumers take turns; each invocation takes the visible messages, up to 100.
            for _ in range(CONSUMERS):
                now = clock.time()
                visible = [w for w in waiting if w[0] <= now][:NOTICES_PER_INVOCATION]
                if not visible:
                    break
                taken = {w[1] for w in visible}
                waiting = [w for w in waiting if w[1] not in taken]
                invocations += 1
                notices = [w[2] for w in visible]
                try:
                    report = sync.on_notices(notices)
                except Close2CashError as failed:
                    delay = (
                        failed.retry_after
                        if isinstance(failed, RateLimitedError) and failed.retry_after
                        else DEFAULT_RETRY_SECONDS
                    )
                    waiting.extend((clock.time() + delay, w[1], w[2]) for w in visible)
                    redelivered += len(visible)
                    continue
                for w in visible:
                    key = notice_key(w[2])
                    error = report.retry.get(key) if key is not None else None
                    if error is not None:
                        delay = getattr(error, "retry_after", None) or DEFAULT_RETRY_SECONDS
                        waiting.append((clock.time() + delay, w[1], w[2]))
                        redelivered += 1
                finished = clock.time()
        references = posted_references(env)
        wanted = set(ids)
        figures = DrainFigures(
            entries=entries,
            virtual_seconds=finished - begin,
            vendor_bound_seconds=math.ceil(entries / QBO_BATCH_SIZE) / QBO_BATCHES_PER_MINUTE * 60,
            share_bound_seconds=math.ceil(entries / QBO_BATCH_SIZE)
            / math.floor(QBO_BATCHES_PER_MINUTE * BACKGROUND_SHARES["quickbooks-batch"])
            * 60,
            invocations=invocations,
            redelivered=redelivered,
            qbo_429=env.quickbooks.rate.refused - qbo_before[0],
            qbo_batch_429=env.quickbooks.batch_rate.refused - qbo_before[1],
            productive_429=env.productive.throttled - psa_before,
            qbo_calls=sent["quickbooks"],
            productive_calls=sent["productive"],
            store_calls=store.calls,
            posted=len(wanted & set(references)),
            lost=len(wanted - set(references)),
            duplicated=sum(n - 1 for ref, n in references.items() if ref in wanted and n > 1),
            wall_seconds=time.perf_counter() - started,
        )
        figures.qbo_calls["connector's own count"] = quickbooks.http_calls
        figures.productive_calls["connector's own count"] = productive.http_calls
        return figures


# --- printing ----------------------------------------------------------------------------------------


def _joined(counts: Mapping[str, float], scale: float = 1.0) -> str:
    return ", ".join(f"{k} {v * scale:g}" for k, v in sorted(counts.items()) if v) or "none"


def _units(counts: Counts, function: str, entries: int) -> str:
    write, read = counts.units.get(function, [0.0, 0.0])
    ops = {
        k.split(" ", 1)[1]: round(v * 1000 / entries)
        for k, v in counts.write_units.items()
        if k.split(" ", 1)[0] == function and v
    }
    return f"{write * 1000 / entries:,.0f} WRU ({_joined(ops)}), {read * 1000 / entries:,.0f} RRU"


def call_lines(figures: CallFigures) -> list[str]:
    """The per-1,000 figures, per side, with the goals' verdicts."""
    n = figures.entries
    per = figures.per_thousand
    approved, created, swept = figures.approved, figures.created, figures.swept
    qbo_writes = approved.vendor_calls(POSTING_FUNCTION, "quickbooks", "batch", "write")
    qbo_other = approved.vendor_calls(POSTING_FUNCTION, "quickbooks", "read", "token")
    psa_reads = approved.vendor_calls(POSTING_FUNCTION, "productive", "read")
    ingests = created.invocations.get(WEBHOOK_FUNCTION, 0) + approved.invocations.get(WEBHOOK_FUNCTION, 0)
    scale = 1000 / n
    return [
        f"  {n} entries logged then approved by {PEOPLE} people on one engagement;"
        f" {figures.posted} posted as TimeActivities, {figures.duplicated} duplicated"
        f" (wall {figures.wall_seconds:.0f} s; figures per 1,000 entries)",
        "  posting side (time_sync, on the approvals' notices):",
        f"    quickbooks write calls {per(qbo_writes):6.1f}  = {10 * qbo_writes / n:.2f} per 10 entries"
        f"  ({verdict(10 * qbo_writes / n, GOAL_QBO_WRITES_PER_10)}); other quickbooks calls"
        f" {per(qbo_other):.1f} (the employee list, once per container; token refreshes)",
        f"    productive read calls  {per(psa_reads):6.1f}  = {100 * psa_reads / n:.2f} per 100 entries"
        f"  ({verdict(100 * psa_reads / n, GOAL_PSA_READS_PER_100)})",
        f"    aws: {_joined(approved.aws_of(POSTING_FUNCTION), scale)}",
        f"    dynamodb request units (modelled): {_units(approved, POSTING_FUNCTION, n)}",
        f"    lambda: {per(approved.invocations.get(POSTING_FUNCTION, 0)):g} invocations of time_sync",
        "  creation notices (time_sync on the 'new' notices of entries not yet approved):",
        f"    vendor: {_joined(created.vendor_of(POSTING_FUNCTION), scale)};"
        f" lambda {per(created.invocations.get(POSTING_FUNCTION, 0)):g} invocations",
        f"    aws: {_joined(created.aws_of(POSTING_FUNCTION), scale)}",
        "  webhook side (webhook_ingest, two notices per entry: created, approved):",
        f"    requests {per(created.webhooks + approved.webhooks):g}; lambda {per(ingests):g} invocations",
        f"    aws: {_joined(created.aws_of(WEBHOOK_FUNCTION), scale)} (creation),"
        f" {_joined(approved.aws_of(WEBHOOK_FUNCTION), scale)} (approval)",
        f"    dynamodb request units (modelled): {_units(approved, WEBHOOK_FUNCTION, n)} (approval)",
        f"  the local runtime's ESM (not a function): {_joined(approved.aws_of('runtime'), scale)}"
        " (approval)",
        "  the delivery sweep afterwards (nothing left to post; not per 1,000): the first, 35 days back:"
        f" vendor {_joined(figures.first_sweep.vendor_of(SWEEP_FUNCTION))},"
        f" aws {_joined(figures.first_sweep.aws_of(SWEEP_FUNCTION))}; the next, from its cursor:"
        f" vendor {_joined(swept.vendor_of(SWEEP_FUNCTION))}, aws {_joined(swept.aws_of(SWEEP_FUNCTION))}",
        f"  the hub's own vendor counts (connectors' http_calls, every function): creation"
        f" {_joined(created.hub_vendor)}; approval {_joined(approved.hub_vendor)}",
    ]


ASSUMPTIONS = (
    "  assumptions: Lambda arm64 $0.20/1M requests + $0.0000133334/GB-s at each function's memory"
    " (time_sync 256 MB, the others 512 MB); duration = measured handler time on the local runtime"
    f" + {ASSUMED_QBO_BATCH_SECONDS} s per QuickBooks batch + {ASSUMED_VENDOR_CALL_SECONDS} s per other"
    " vendor call ({seconds}); DynamoDB on demand $0.625/1M WRU, $0.125/1M RRU: writes per started KB"
    " of the item sent, x2 in a transaction, an index written only where a put changes what it holds"
    " (by-engagement, keys only: a work's first put; the status index, every attribute: a pending"
    " batch or a parked work whole), an update billed on the item's size (a batch's done mark: its"
    " size + 1 for leaving the status index), reads 1 RRU per key (strongly consistent, < 4 KB); EventBridge"
    " $1.00/1M events (< 64 KB each); SQS $0.40/1M requests, 1.2 per message (sent by EventBridge,"
    " received and deleted in tens, < 64 KB each); API Gateway REST $3.50/1M requests; free tiers"
    " ignored"
)


def cost_lines(figures: CallFigures) -> list[str]:
    n = figures.entries
    sides = {
        "posting (time_sync, approvals)": cost(figures.approved, POSTING_FUNCTION, entries=n),
        "creation notices (time_sync)": cost(figures.created, POSTING_FUNCTION, entries=n),
        "webhooks (approvals)": cost(figures.approved, WEBHOOK_FUNCTION, entries=n),
        "webhooks (creations)": cost(figures.created, WEBHOOK_FUNCTION, entries=n),
    }
    api = sum(side.get("API Gateway REST (webhooks)", 0.0) for side in sides.values())
    total = sum(sum(side.values()) for side in sides.values())
    _, posting_seconds = _lambda_cost(figures.approved, POSTING_FUNCTION)
    _, ingest_seconds = _lambda_cost(figures.approved, WEBHOOK_FUNCTION)
    lines = [
        f"  {name:<32} ${sum(side.values()):7.3f}  ({_joined({k: round(v, 3) for k, v in side.items()})})"
        for name, side in sides.items()
    ]
    seconds = f"time_sync {posting_seconds:.1f} s, webhook_ingest {ingest_seconds:.2f} s per invocation"
    return [
        *lines,
        f"  total ${total - api:.2f} without API Gateway ({verdict(total - api, GOAL_COST_PER_MILLION)}),"
        f" ${total:.2f} with the webhooks' API Gateway requests (${api:.2f};"
        f" {verdict(total, GOAL_COST_PER_MILLION)})",
        f"  beside it, not per entry: the delivery sweep every {DELIVERY_SWEEP_MINUTES} min,"
        f" ${sweep_cost_per_month(figures.swept):.2f} a month",
        ASSUMPTIONS.replace("{seconds}", seconds),
    ]


def drain_lines(figures: DrainFigures) -> list[str]:
    share = BACKGROUND_SHARES["quickbooks-batch"]
    return [
        f"  {figures.entries:,} entries approved at once; drained in {figures.virtual_seconds / 60:.1f} min"
        f" of virtual time (wall {figures.wall_seconds:.0f} s)",
        f"  lower bound: {math.ceil(figures.entries / QBO_BATCH_SIZE):,} batch calls at"
        f" {QBO_BATCHES_PER_MINUTE}/min = {figures.vendor_bound_seconds / 60:.1f} min (QuickBooks' batch"
        " limit binds; 500/min, 10/s and Productive's 100/10 s, 4,000/30 min do not); at the background"
        f" share ({share:.0%}: {math.floor(QBO_BATCHES_PER_MINUTE * share)}/min)"
        f" {figures.share_bound_seconds / 60:.1f} min",
        f"  ratio {figures.ratio:.2f} against the vendor's bound"
        f" ({verdict(figures.ratio, GOAL_DRAIN_RATIO)}), {figures.share_ratio:.2f} against the share's",
        f"  429s: quickbooks {figures.qbo_429} (+ {figures.qbo_batch_429} batch),"
        f" productive {figures.productive_429}; {figures.invocations} invocations,"
        f" {figures.redelivered} notices back to the queue for a later turn",
        f"  lost {figures.lost}, duplicated {figures.duplicated} ({figures.posted:,} posted, one TimeActivity"
        " each by the PSA reference in its Description; goal 0 and 0)",
        f"  quickbooks calls: {_joined(figures.qbo_calls)};"
        f" productive calls: {_joined(figures.productive_calls)}",
        f"  posting store calls: {_joined(figures.store_calls)}",
    ]


def run(entries: int = 1000, *, month_end: int | None = None, say: Any = print) -> None:
    """Print the three sections (handler output goes to .close2cash/bench-time-posting.log)."""
    log = Path(".close2cash/bench-time-posting.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as stream, contextlib.redirect_stdout(stream), handler_output(stream):
        figures = measure_calls(entries)
        say(
            f"\n== Approved time entries to QuickBooks, end to end on the local runtime"
            f" ({entries} entries) =="
        )
        for line in call_lines(figures):
            say(line)
        say("\n== Modelled AWS cost per 1M approved time entries (us-east-1 list prices) ==")
        for line in cost_lines(figures):
            say(line)
        size = month_end if month_end is not None else entries * MONTH_END_FACTOR
        drain = measure_month_end(size)
        say(
            f"\n== Month-end: {size:,} entries approved at once, the sandboxes' published limits enforced"
            " (DeliverySync with the real connectors in process, the consumer's loop, virtual time) =="
        )
        for line in drain_lines(drain):
            say(line)


def main(argv: Sequence[str]) -> int:
    entries = int(argv[0]) if argv else 1000
    month_end = int(argv[1]) if len(argv) > 1 else None
    say = lambda text: print(text, file=sys.__stdout__, flush=True)  # noqa: E731 - the log takes stdout
    run(entries, month_end=month_end, say=say)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
