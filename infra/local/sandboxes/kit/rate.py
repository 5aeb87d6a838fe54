"""Sliding request windows ("n requests per s seconds") and a count of requests in flight."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class Window:
    """At most `limit` requests in any `seconds`; `name` says which published limit it is."""

    name: str
    limit: int
    seconds: float


class RateWindows:
    """The vendor's published windows over one stream of requests, with the peaks each one saw.

    `admit` counts a request unless a window is already full; then it answers that window and the
    request is not counted (the vendor refused it). `now` is the sandbox's clock, which never goes
    back, so the requests counted are in time order. Not thread-safe on its own: call under the
    sandbox's lock.
    """

    def __init__(self, windows: Sequence[Window]) -> None:
        self._windows = list(windows)
        self._hits: deque[datetime] = deque()
        self.enabled = True
        self.refused = 0  # requests refused because a window was full
        self.peaks: dict[str, int] = {window.name: 0 for window in self._windows}

    def window(self, name: str) -> Window:
        """The window called `name` (KeyError when there is none)."""
        for window in self._windows:
            if window.name == name:
                return window
        raise KeyError(name)

    def set_limit(self, name: str, limit: int) -> None:
        """Change one window's limit (a realm another app also uses, a test's smaller budget)."""
        self._windows = [replace(w, limit=limit) if w.name == name else w for w in self._windows]

    def reset(self) -> None:
        """Forget every request counted so far."""
        self._hits.clear()

    def _count(self, now: datetime, seconds: float) -> int:
        # Only hits within the longest window are kept (`_forget_older` runs first), so that window
        # is their number: a day's window of 15,000 requests costs nothing to count. A shorter one
        # is counted newest first, stopping at its edge.
        if seconds >= self._longest:
            return len(self._hits)
        count = 0
        for hit in reversed(self._hits):
            if (now - hit).total_seconds() >= seconds:
                break
            count += 1
        return count

    @property
    def _longest(self) -> float:
        return max((w.seconds for w in self._windows), default=0.0)

    def _forget_older(self, now: datetime) -> None:
        longest = self._longest
        while self._hits and (now - self._hits[0]).total_seconds() >= longest:
            self._hits.popleft()

    def used(self, name: str, now: datetime) -> int:
        """Requests counted in the window called `name` as of `now` (what a usage header reports)."""
        self._forget_older(now)
        return self._count(now, self.window(name).seconds)

    def admit(self, now: datetime) -> Window | None:
        """None and the request is counted, or the full window that refuses it."""
        if not self.enabled:
            return None
        self._forget_older(now)
        for window in self._windows:
            if self._count(now, window.seconds) >= window.limit:
                self.refused += 1
                return window
        self._hits.append(now)
        for window in self._windows:
            self.peaks[window.name] = max(self.peaks[window.name], self._count(now, window.seconds))
        return None


class InFlight:
    """How many requests are being answered at once, and the most there ever were."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    @contextmanager
    def request(self) -> Iterator[None]:
        """Count one request for as long as it is being answered."""
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            yield
        finally:
            with self._lock:
                self.now -= 1
