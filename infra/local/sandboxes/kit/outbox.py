"""An outbox of change notices: each stays queued until the subscriber acknowledges it with a 2xx."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import httpx

T = TypeVar("T")
# Signs one body at the moment it is sent (a retry is signed anew): body -> headers to add.
Signer = Callable[[bytes], Mapping[str, str]]


@dataclass(frozen=True)
class Notice(Generic[T]):
    """One queued notice: its own id and what the vendor's body is made from."""

    payload: T
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class Subscriber:
    """Where notices go: a URL, reached through `transport` (e.g. a WSGITransport) when one is given."""

    url: str
    transport: httpx.BaseTransport | None = None

    def client(self) -> httpx.Client:
        """A client for one round of deliveries (closed by the caller)."""
        return httpx.Client(transport=self.transport, timeout=10.0)


class Outbox(Generic[T]):
    """Thread-safe queue of notices; a notice leaves it only when acknowledged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Notice[T]] = []

    def add(self, payload: T) -> Notice[T]:
        """Queue a notice about `payload`; returns it."""
        notice = Notice(payload)
        with self._lock:
            self._items.append(notice)
        return notice

    def pending(self) -> list[Notice[T]]:
        """The queued notices, oldest first (a copy of the list)."""
        with self._lock:
            return list(self._items)

    def acknowledge(self, notices: Iterable[Notice[T]]) -> None:
        """Drop these notices from the queue (the subscriber answered 2xx)."""
        done = {notice.id for notice in notices}
        with self._lock:
            self._items = [item for item in self._items if item.id not in done]

    def discard(self, lost: Callable[[T], bool]) -> int:
        """Lose the notices whose payload `lost` picks (a notice the vendor never sends); how many."""
        with self._lock:
            kept = [item for item in self._items if not lost(item.payload)]
            dropped = len(self._items) - len(kept)
            self._items = kept
            return dropped

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def deliver(
    outbox: Outbox[T],
    subscriber: Subscriber,
    batches: Sequence[tuple[Sequence[Notice[T]], bytes]],
    sign: Signer,
    *,
    stop_at_first_refusal: bool,
) -> int:
    """POST each (notices, body) batch signed; acknowledge those answered 2xx; return how many notices.

    With `stop_at_first_refusal` a refused batch holds back every later one (a vendor that will not
    send further events until the first is acknowledged); otherwise later batches are still tried.
    """
    delivered = 0
    with subscriber.client() as client:
        for notices, body in batches:
            headers = {"Content-Type": "application/json", **sign(body)}
            try:
                answer = client.post(subscriber.url, content=body, headers=headers)
                accepted = 200 <= answer.status_code < 300
            except httpx.HTTPError:
                accepted = False
            if accepted:
                outbox.acknowledge(notices)
                delivered += len(notices)
            elif stop_at_first_refusal:
                break
    return delivered
