"""An outbox of change notices: each stays queued until the subscriber acknowledges it.

A vendor that documents how it retries (Salesforce's Outbound Messages: backoff up to two hours
between tries, dropped at 24 hours) gets a `RetrySchedule`: a refused notice waits its turn in the
sandbox's clock, so a test sees a retry only once that much virtual time has passed, and a notice
too old is dropped as the vendor drops it. Without a schedule every round tries every notice again.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

import httpx

T = TypeVar("T")
# Signs one body at the moment it is sent (a retry is signed anew): body -> headers to add.
Signer = Callable[[bytes], Mapping[str, str]]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Notice(Generic[T]):
    """One queued notice: its own id, what the vendor's body is made from, and when it was queued."""

    payload: T
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    queued_at: datetime | None = None


@dataclass(frozen=True)
class RetrySchedule:
    """When a vendor tries a refused notice again (exponential backoff, capped), and when it gives up."""

    first_wait: timedelta
    longest_wait: timedelta
    give_up_after: timedelta
    factor: float = 2.0

    def wait_after(self, refusals: int) -> timedelta:
        """The wait before the next try once a notice was refused `refusals` times (1: the first)."""
        seconds = self.first_wait.total_seconds() * self.factor ** max(0, refusals - 1)
        return min(timedelta(seconds=seconds), self.longest_wait)


@dataclass(frozen=True)
class Subscriber:
    """Where notices go: a URL, reached through `transport` (e.g. a WSGITransport) when one is given."""

    url: str
    transport: httpx.BaseTransport | None = None
    timeout: float = 10.0  # how long the vendor waits for the answer

    def client(self) -> httpx.Client:
        """A client for one round of deliveries (closed by the caller)."""
        return httpx.Client(transport=self.transport, timeout=self.timeout)


@dataclass(frozen=True)
class Delivery:
    """One POST of a batch of notices to the subscriber, and what came of it."""

    at: datetime | None
    notification_ids: tuple[str, ...]
    status: int | None
    acknowledged: bool
    error: str | None = None


@dataclass
class _Tries:
    refusals: int = 0
    due_at: datetime | None = None  # None: due now


class Outbox(Generic[T]):
    """Thread-safe queue of notices; a notice leaves it when acknowledged, or dropped by its schedule."""

    def __init__(self, *, clock: Clock | None = None, retry: RetrySchedule | None = None) -> None:
        if retry is not None and clock is None:
            raise ValueError("a retry schedule counts in a clock: pass one")
        self._clock = clock
        self._retry = retry
        self._lock = threading.Lock()
        self._items: list[Notice[T]] = []
        self._tries: dict[str, _Tries] = {}
        self.dropped: list[Notice[T]] = []  # given up on by the schedule, oldest first

    def add(
        self, payload: T, *, notice_id: str | None = None, first: bool = False, at: datetime | None = None
    ) -> Notice[T]:
        """Queue a notice about `payload` (under `notice_id`, at the front with `first`, queued `at`
        rather than now); returns it."""
        stamp = at if at is not None else (self._clock() if self._clock is not None else None)
        notice = Notice(payload, queued_at=stamp) if notice_id is None else Notice(payload, notice_id, stamp)
        with self._lock:
            if first:
                self._items.insert(0, notice)
            else:
                self._items.append(notice)
            self._tries[notice.id] = _Tries()
        return notice

    def pending(self) -> list[Notice[T]]:
        """The queued notices, oldest first (a copy of the list)."""
        with self._lock:
            return list(self._items)

    def refusals(self, notice: Notice[T]) -> int:
        """How many times the subscriber refused this notice so far."""
        with self._lock:
            tries = self._tries.get(notice.id)
            return tries.refusals if tries is not None else 0

    def due(self) -> list[Notice[T]]:
        """The notices to try now, oldest first; those past the schedule's age are dropped first."""
        with self._lock:
            if self._retry is None or self._clock is None:
                return list(self._items)
            now = self._clock()
            horizon = now - self._retry.give_up_after
            expired = [n for n in self._items if n.queued_at is not None and n.queued_at <= horizon]
            if expired:
                self._forget({n.id for n in expired})
                self.dropped.extend(expired)
            return [n for n in self._items if (self._tries[n.id].due_at or now) <= now]

    def refused(self, notices: Iterable[Notice[T]]) -> None:
        """The subscriber did not acknowledge these: each waits its schedule's next interval."""
        now = self._clock() if self._clock is not None else None
        with self._lock:
            for notice in notices:
                tries = self._tries.get(notice.id)
                if tries is None:
                    continue  # acknowledged or dropped meanwhile
                tries.refusals += 1
                if self._retry is not None and now is not None:
                    tries.due_at = now + self._retry.wait_after(tries.refusals)

    def acknowledge(self, notices: Iterable[Notice[T]]) -> None:
        """Drop these notices from the queue (the subscriber acknowledged them)."""
        with self._lock:
            self._forget({notice.id for notice in notices})

    def discard(self, lost: Callable[[T], bool]) -> int:
        """Lose the notices whose payload `lost` picks (a notice the vendor never sends); how many."""
        with self._lock:
            gone = {item.id for item in self._items if lost(item.payload)}
            self._forget(gone)
            return len(gone)

    def snapshot(self) -> tuple[list[Notice[T]], dict[str, _Tries]]:
        """The queue as it is now, for a rolled-back transaction to return to."""
        with self._lock:
            return list(self._items), {k: _Tries(v.refusals, v.due_at) for k, v in self._tries.items()}

    def restore(self, snapshot: tuple[list[Notice[T]], dict[str, _Tries]]) -> None:
        """Return to `snapshot` (notices queued since then are gone)."""
        items, tries = snapshot
        with self._lock:
            self._items, self._tries = list(items), dict(tries)

    def _forget(self, ids: set[str]) -> None:
        self._items = [item for item in self._items if item.id not in ids]
        for notice_id in ids:
            self._tries.pop(notice_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def _answered_2xx(response: httpx.Response) -> bool:
    return 200 <= response.status_code < 300


def deliver(
    outbox: Outbox[T],
    subscriber: Subscriber,
    batches: Sequence[tuple[Sequence[Notice[T]], bytes]],
    sign: Signer,
    *,
    stop_at_first_refusal: bool,
    content_type: str = "application/json",
    acknowledges: Callable[[httpx.Response], bool] = _answered_2xx,
    clock: Clock | None = None,
) -> list[Delivery]:
    """POST each (notices, body) batch signed; acknowledge those `acknowledges` (default: a 2xx).

    A refused batch's notices wait their outbox's retry schedule. With `stop_at_first_refusal` a
    refused batch holds back every later one (a vendor that will not send further events until the
    first is acknowledged); otherwise later batches are still tried. Returns one Delivery a POST.
    """
    deliveries: list[Delivery] = []
    with subscriber.client() as client:
        for notices, body in batches:
            headers = {"Content-Type": content_type, **sign(body)}
            ids = tuple(notice.id for notice in notices)
            status: int | None = None
            try:
                answer = client.post(subscriber.url, content=body, headers=headers)
                status, accepted = answer.status_code, acknowledges(answer)
                error = None if accepted else f"HTTP {answer.status_code}: {answer.text[:200]}"
            except httpx.HTTPError as exc:
                accepted, error = False, f"{type(exc).__name__}: {exc}"
            deliveries.append(Delivery(clock() if clock else None, ids, status, accepted, error))
            if accepted:
                outbox.acknowledge(notices)
            else:
                outbox.refused(notices)
                if stop_at_first_refusal:
                    break
    return deliveries


def delivered(deliveries: Iterable[Delivery]) -> int:
    """How many notices these deliveries got acknowledged."""
    return sum(len(d.notification_ids) for d in deliveries if d.acknowledged)
