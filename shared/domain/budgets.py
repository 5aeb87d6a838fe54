"""Rate budgets: a vendor's published limits turned into request slots (GCRA), shared or in memory.

A vendor publishes limits per tenant ("500 requests per minute per realm", "100 requests per 10
seconds"); every Lambda container calling that tenant must stay inside them *together*. Each
published limit becomes one *band* of the generic cell rate algorithm (GCRA, the token bucket
written as one number per band: the theoretical arrival time, TAT, of the next request). Taking a
slot is a pure function of the stored TATs and the time, so the same arithmetic runs in memory
(unit tests, one process) and in DynamoDB with a conditional write (shared by every container,
`shared.aws.budget`).

Why GCRA and not a window counter: a fixed window lets 2x the limit through across a boundary, and
a sliding log needs every timestamp. A band with emission interval T and burst B lets at most
`floor(W / T) + B` requests into any window of W seconds, so choosing `T` and `B` from the published
limit (with a margin for the jitter between taking a slot and the vendor counting the request)
keeps every sliding window the vendor might use under its limit.

A *hold* is the vendor saying "stop": after a 429 it asks for a pause (Retry-After, or its documented
wait: QuickBooks 60 s). The budget then keeps one more number, the time the hold ends, and hands no
slot before it to any taker, in any container. A hold only ever moves later (a shorter one arriving
at the same time never shortens a longer one) and needs no clean-up: once its end has passed, it is
just a time in the past.

*Precedence*: background work (month-end posting of time and expenses, marked with `background()`)
shares the same budgets as interactive work (a closed-won deal's engagement setup), but may use at
most a share of each published limit (`PrioritizedBudgets`, 70% by default): it takes a slot of its
own, smaller budget first and waits for it, and only then a shared slot, so it never queues ahead of
interactive callers in the shared band. A full share sends the work back to its queue after at most
a short wait, and a 429 during background work delays its message instead of being slept out.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from shared.domain.errors import RateLimitedError

if TYPE_CHECKING:
    from shared.domain.ports import RateBudget, RateBudgets

# Kept unused from each published limit: the request takes a slot, then travels (latency varies),
# so the vendor may count a few requests closer together than they were scheduled.
MARGIN = 0.05
# Of what is left, this share may come at once (the burst); the rest is spread evenly.
BURST_SHARE = 1 / 50
# Epoch seconds in a float carry ~0.2 µs of noise: a wait shorter than this is none.
_EPSILON = 1e-5


@dataclass(frozen=True)
class RateLimit:
    """One published limit: at most `requests` in any `seconds` (per vendor tenant)."""

    requests: int
    seconds: float
    burst: int | None = None  # requests that may come at once; default: BURST_SHARE of the usable
    # Kept unused for the vendor's sake (MARGIN); a share inside another band (the background share of
    # a shared budget) needs none: the band it sits in keeps the margin toward the vendor.
    margin: float = MARGIN

    def __post_init__(self) -> None:
        if self.requests < 1 or self.seconds <= 0 or (self.burst is not None and self.burst < 1):
            raise ValueError(f"a rate limit needs requests >= 1, seconds > 0 and burst >= 1, not {self}")
        if not 0 <= self.margin < 1:
            raise ValueError(f"a rate limit's margin must be in [0, 1), not {self.margin}")

    def band(self) -> Band:
        """The GCRA band that keeps any window of `seconds` at or under `requests`, with the margin.

        At most `floor(W / interval) + burst` requests fit in a window of W seconds, so spreading
        `usable - burst` over the window and letting `burst` come at once adds up to `usable`.
        """
        kept = max(1, math.ceil(self.requests * self.margin)) if self.margin > 0 else 0
        usable = max(1, self.requests - kept)
        burst = min(usable, self.burst if self.burst is not None else max(1, int(usable * BURST_SHARE)))
        spread = max(1, usable - burst)
        interval = self.seconds / spread
        return Band(interval=interval, tolerance=(burst - 1) * interval)


@dataclass(frozen=True)
class Band:
    """GCRA parameters: `interval` between requests at the sustained rate, `tolerance` for a burst."""

    interval: float
    tolerance: float


def bands_of(limits: Sequence[RateLimit]) -> tuple[Band, ...]:
    """The bands of a vendor's limits, in the limits' order (stored TATs follow this order)."""
    if not limits:
        raise ValueError("a rate budget needs at least one published limit")
    return tuple(limit.band() for limit in limits)


def signature(limits: Sequence[RateLimit]) -> str:
    """A stable text naming the limits, so stored TATs of other limits are not misread."""
    return ",".join(
        f"{limit.requests}/{limit.seconds:g}/{limit.burst or ''}"
        + (f"/m{limit.margin:g}" if limit.margin != MARGIN else "")
        for limit in limits
    )


def extended_hold(held_until: float | None, now: float, seconds: float) -> float | None:
    """The hold's end once a vendor asked for `seconds` of pause at `now`: never earlier than before.

    None (no hold) when there is none and none is asked for (`seconds` <= 0).
    """
    asked = now + seconds if seconds > 0 else None
    if held_until is None or (asked is not None and asked > held_until):
        return asked
    return held_until


def reserve(
    tats: Sequence[float] | None, bands: Sequence[Band], now: float, held_until: float | None = None
) -> tuple[float, tuple[float, ...]]:
    """The earliest start for one more request, and the TATs once it is taken.

    `tats` are the stored theoretical arrival times (None: nothing taken yet). The request may
    start when every band allows it (`start >= tat - tolerance`); each TAT then moves on by its
    interval from `max(tat, start)`. Reserving ahead (start in the future) keeps callers in order:
    the one who reserved first goes first, and nobody spins on retries while waiting.
    No request starts before `held_until` (a vendor's pause after a 429); the slots after it are
    paced from its end, so the callers who waited do not all come back at the same instant.
    """
    current = tuple(tats) if tats is not None and len(tats) == len(bands) else (now,) * len(bands)
    start = now if held_until is None else max(now, held_until)
    for tat, band in zip(current, bands, strict=True):
        start = max(start, tat - band.tolerance)
    if start - now < _EPSILON:
        start = now  # float noise of stored times, not a wait
    updated = tuple(max(tat, start) + band.interval for tat, band in zip(current, bands, strict=True))
    return start, updated


def too_far(vendor: str, tenant: str, wait: float) -> RateLimitedError:
    """The error for a slot further away than the caller can wait: the queue retries it later."""
    return RateLimitedError(
        f"{vendor}: the shared rate budget of {tenant} has no slot for {wait:.1f} s", retry_after=wait
    )


class InMemoryBudget:
    """One tenant's budget in this process only: unit tests, fakes, and a single local process."""

    def __init__(
        self, vendor: str, tenant: str, limits: Sequence[RateLimit], *, clock: Callable[[], float]
    ) -> None:
        self.vendor = vendor
        self.tenant = tenant
        self._bands = bands_of(limits)
        self._clock = clock
        self._tats: tuple[float, ...] | None = None
        self._held_until: float | None = None
        self._lock = threading.Lock()
        self.taken = 0

    def reserve(self, *, max_wait: float) -> float:
        """Reserve the next slot; returns the seconds to wait for it (raises if over `max_wait`)."""
        with self._lock:
            now = self._clock()
            start, updated = reserve(self._tats, self._bands, now, self._held_until)
            wait = start - now
            if wait > max_wait:
                raise too_far(self.vendor, self.tenant, wait)
            self._tats = updated
            self.taken += 1
            return wait

    def hold(self, seconds: float) -> None:
        """Hand out no slot for `seconds` from now (or longer, if a longer hold is on)."""
        with self._lock:
            self._held_until = extended_hold(self._held_until, self._clock(), seconds)


class InMemoryBudgets:
    """`RateBudgets` kept in this process: one budget per (vendor, tenant), as the port promises."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._budgets: dict[tuple[str, str], InMemoryBudget] = {}
        self._lock = threading.Lock()

    def budget(self, vendor: str, tenant: str, limits: Sequence[RateLimit]) -> InMemoryBudget:
        with self._lock:
            key = (vendor, tenant)
            if key not in self._budgets:
                self._budgets[key] = InMemoryBudget(vendor, tenant, limits, clock=self._clock)
            return self._budgets[key]


# --- precedence: interactive work before background work -------------------------------------------


class Priority(Enum):
    """Whose work a vendor call is: a person waiting on it (a closed-won deal), or a batch nobody watches."""

    INTERACTIVE = "interactive"
    BACKGROUND = "background"


# The priority travels with the work, not with the connector: connectors are built once per process
# and shared by every flow (in the local runtime, every function runs in one process). A ContextVar
# is per thread (and per asyncio task), so a flow marking its calls never marks another flow's.
_PRIORITY: ContextVar[Priority] = ContextVar("close2cash_vendor_priority", default=Priority.INTERACTIVE)

# Of each published limit, the share background work may use at most (Settings.background_share).
BACKGROUND_SHARE = 0.7
# Budgets whose share differs, by vendor key. QuickBooks' batch endpoint (40 requests a minute per
# realm) is what month-end posting is bound by: 20,000 entries in batches of 10 are 2,000 batch
# requests, 50 minutes at the published limit. Interactive flows use it once per new customer (the
# namesake search) and engagement setup not at all: the shared band lets 37 a minute through (its
# margin), the background band 36 (no margin of its own, one in a burst: 35 spread), so interactive
# work keeps at least 2 a minute however large the burst, and month-end drains in 57 minutes,
# 1.14 times the vendor's bound (at 70% it would take 1.5 times).
BACKGROUND_SHARES: Mapping[str, float] = {"quickbooks-batch": 0.9}
# How long a background call may wait for its slots inside a Lambda (Settings.background_max_wait_seconds);
# further away, the message goes back to its queue with the wait as its delay. Two slots of the
# slowest background band (QuickBooks batch: 28 a minute, one each 2.4 s after the margin), so one or
# two posting containers pace themselves without bouncing messages. The wait costs Lambda time only:
# it is spent before the shared slot is taken, so it never delays interactive work.
BACKGROUND_MAX_WAIT = 5.0


def current_priority() -> Priority:
    """The priority of the work running in this thread (or task): INTERACTIVE unless marked."""
    return _PRIORITY.get()


@contextmanager
def background() -> Iterator[None]:
    """Mark the vendor calls made inside as background work (month-end posting of time and expenses).

    `with background(): target.post(batch)`: every budget from `PrioritizedBudgets` then takes a slot
    of the background share before the shared one, and a 429 is not waited out inside the Lambda.
    A worker thread started inside does not inherit the mark: run it with `contextvars.copy_context()`.
    """
    token = _PRIORITY.set(Priority.BACKGROUND)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


def background_limits(limits: Sequence[RateLimit], share: float) -> tuple[RateLimit, ...]:
    """Each published limit scaled to `share` (at least one request, and one of burst), with no margin
    of its own: every background call also takes a slot of the shared band, which keeps the margin
    toward the vendor (a second margin would only slow month-end below its share)."""
    return tuple(
        RateLimit(
            max(1, math.floor(limit.requests * share)),
            limit.seconds,
            None if limit.burst is None else max(1, math.floor(limit.burst * share)),
            margin=0.0,
        )
        for limit in limits
    )


class PrioritizedBudget:
    """A vendor tenant's shared budget plus the background share's budget (`RateBudget` port).

    Interactive calls take a slot of the shared budget only. Background calls first take a slot of
    the background budget (same tenant, vendor key `<vendor>-background`, every published limit
    scaled to the share) and wait for it, then take the shared slot at that moment. Waiting first
    is what gives interactive work precedence: a GCRA band is one queue (one TAT), so a shared slot
    reserved ahead for background work would make every interactive caller queue behind it.
    See `PrioritizedBudgets` for what this guarantees.
    """

    def __init__(
        self,
        shared: RateBudget,
        background_budget: RateBudget,
        *,
        background_max_wait: float,
        sleep: Callable[[float], None],
    ) -> None:
        self.shared = shared
        self.background = background_budget
        self._background_max_wait = background_max_wait
        self._sleep = sleep

    def reserve(self, *, max_wait: float) -> float:
        if current_priority() is Priority.INTERACTIVE:
            return self.shared.reserve(max_wait=max_wait)
        # Background work waits little inside a Lambda: further away, the queue delays the message.
        patience = min(max_wait, self._background_max_wait)
        own = self.background.reserve(max_wait=patience)
        if own > 0:
            self._sleep(own)
        # The background slot is spent even if the shared one is then too far (interactive work fills
        # it, or the vendor's hold began meanwhile): a GCRA slot cannot be handed back once others
        # may have reserved after it. Only the background share loses it; interactive work, nothing.
        return self.shared.reserve(max_wait=max(0.0, patience - own))

    def hold(self, seconds: float) -> None:
        """A vendor's pause stops everyone: the shared budget, and the background share's too.

        Holding the background budget as well makes a background call refuse at its own budget,
        before it reserves or waits for anything, for as long as the hold lasts.
        """
        self.shared.hold(seconds)
        self.background.hold(seconds)


class PrioritizedBudgets:
    """`RateBudgets` that give interactive flows precedence over background ones on every vendor tenant.

    Background work (calls made inside `background()`) takes, for each published limit, a slot of a
    second budget whose limit is `background_share` of the published one (at least one request),
    waits for it (at most `background_max_wait`, else RateLimitedError and the queue delays the
    message), then takes the shared slot. Per published limit of `requests` in `seconds`:

    - background work gets at most its own band: `floor(W / T_b) + B_b` requests in any window of W
      seconds, the band of `floor(requests * share)` with the usual margin (`RateLimit.band`);
    - the shared band lets `requests` less its margin into every window of `seconds`, so at least
      the difference, about (1 - share) of the limit, is always left to interactive work, however
      hard background work floods;
    - background calls take shared slots only when their own slot has come, at the background
      band's pace (T_b > T_s), so they never queue up ahead in the shared band: an interactive call
      waits at most about one shared interval (plus the background band's burst, B_b x T_s, less the
      shared tolerance) behind background work, plus its own place among interactive calls.
      Without precedence it queues behind every slot already reserved, up to `max_wait` (65 s) ahead.

    A hold (after a 429, on either priority) stops both budgets. A vendor's budget costs nothing
    extra until some call is marked background: only a background call touches the second budget.
    """

    def __init__(
        self,
        inner: RateBudgets,
        *,
        background_share: float = BACKGROUND_SHARE,
        background_max_wait: float = BACKGROUND_MAX_WAIT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < background_share < 1:
            raise ValueError(f"the background share must be in (0, 1), not {background_share}")
        self._inner = inner
        self.background_share = background_share
        self.background_max_wait = background_max_wait
        self._sleep = sleep

    def budget(self, vendor: str, tenant: str, limits: Sequence[RateLimit]) -> PrioritizedBudget:
        share = background_limits(limits, BACKGROUND_SHARES.get(vendor, self.background_share))
        return PrioritizedBudget(
            self._inner.budget(vendor, tenant, limits),
            self._inner.budget(f"{vendor}-background", tenant, share),
            background_max_wait=self.background_max_wait,
            sleep=self._sleep,
        )
