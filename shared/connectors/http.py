"""Shared httpx pieces: timeouts, retries with full jitter, Retry-After, rate budgets, error translation.

Every connector builds its client from `VendorHttp`; vendor specifics (auth, error bodies, what
counts as retryable beyond 429/5xx) are passed in as small callables so no vendor leaks in here.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from shared.domain.errors import NotFoundError, PermanentError, RateLimitedError, TransientError

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Answers that say the request was not acted on, so even a create without an idempotency key may be
# sent again: 429 (rate limited) and 503 (unavailable), https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4
NOT_ACTED_ON = frozenset({429, 503})
# Transport failures before the request left this machine.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure inside one request."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 65.0  # QBO asks for 60 s after a 429; longer waits go back to the queue

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff (attempt counts from 1)."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(0, cap)  # noqa: S311 - jitter, not cryptography


class RateBudget:
    """A sliding-window budget: at most `limit` requests per `window` seconds, shared per process.

    Vendors publish per-tenant limits (QBO 500/min per realm, Xero 60/min per tenant, ...); a worker
    waits for room instead of spending the tenant's allowance on 429s.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate budget needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one request from the budget, waiting if needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return waited
                pause = self.window - (now - self._sent[0])
            self._sleep(pause)
            waited += pause


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header, either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


ErrorDescriber = Callable[[httpx.Response], str]


def _default_describe(response: httpx.Response) -> str:
    return response.text[:500]


@dataclass
class VendorHttp:
    """An httpx client with the hub's retry, rate-budget and error-translation rules.

    `auth_headers` is called before every attempt, so a refreshed token is picked up on retry;
    `on_unauthorized` (e.g. refresh the OAuth token) runs once after a 401 before one more try.
    """

    vendor: str
    base_url: str
    auth_headers: Callable[[], Mapping[str, str]] = dict
    on_unauthorized: Callable[[], None] | None = None
    describe_error: ErrorDescriber = _default_describe
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    budget: RateBudget | None = None
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    calls: int = 0  # vendor API calls made (attempts), for the per-record figures in `make bench`

    def __post_init__(self) -> None:
        self._client = httpx.Client(base_url=self.base_url, timeout=self.timeout, transport=self.transport)

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] = frozenset(),
        replay_safe: bool = True,
    ) -> httpx.Response:
        """Send with retries; returns a 2xx response (or one in `ok_statuses`), else raises.

        Raises `RateLimitedError` / `TransientError` when retries are exhausted, `NotFoundError` on
        404, `PermanentError` on any other 4xx: callers map these to retry-later or exception.

        `replay_safe=False` is for a create the vendor cannot deduplicate (no idempotency key): it
        is sent again only when the vendor surely did not act on it (no connection was made, 429,
        503). After a read timeout or another 5xx the outcome is unknown, so `TransientError` is
        raised at once and the caller's next attempt looks for the record before creating it.
        """
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            if self.budget is not None:
                self.budget.acquire()
            merged = {**self.auth_headers(), **(headers or {})}
            self.calls += 1
            try:
                response = self._client.request(
                    method, url, params=params, json=json, content=content, headers=merged
                )
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                unsent = isinstance(exc, NEVER_SENT)
                if attempt >= self.retry.attempts or not (replay_safe or unsent):
                    raise TransientError(
                        f"{self.vendor}: {method} {url} failed: {exc!r}"
                        + ("" if unsent else "; whether the vendor acted on it is unknown")
                    ) from exc
                self.sleep(self.retry.backoff(attempt))
                continue
            status = response.status_code
            if status < 300 or status in ok_statuses:
                return response
            if status == 401 and self.on_unauthorized is not None and not refreshed:
                refreshed = True
                self.on_unauthorized()
                continue
            if status in RETRYABLE_STATUSES:
                wait = parse_retry_after(response.headers.get("retry-after"))
                again = replay_safe or status in NOT_ACTED_ON
                if (
                    again
                    and attempt < self.retry.attempts
                    and (wait is None or wait <= self.retry.max_retry_after)
                ):
                    self.sleep(wait if wait is not None else self.retry.backoff(attempt))
                    continue
                message = f"{self.vendor}: {method} {url} -> {status}: {self.describe_error(response)}"
                if not again:
                    message += "; whether the vendor acted on it is unknown"
                if status == 429:
                    raise RateLimitedError(message, retry_after=wait)
                raise TransientError(message, retry_after=wait)
            message = f"{self.vendor}: {method} {url} -> {status}: {self.describe_error(response)}"
            if status == 404:
                raise NotFoundError(message)
            raise PermanentError(message)
