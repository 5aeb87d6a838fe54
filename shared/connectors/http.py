"""Shared httpx pieces: timeouts, retries with full jitter (tenacity), Retry-After, rate budgets, errors.

Every connector builds its client from `VendorHttp`; vendor specifics (auth, error bodies, what
counts as retryable beyond 429/5xx) are passed in as small callables so no vendor leaks in here.
Rate budgets are a port (`shared.domain.ports.RateBudget`): the composition root hands each
connector the budget shared by every container (DynamoDB), unit tests an in-memory one.
A 429 puts the whole budget on hold for the vendor's wait, so the other containers pause too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_random_exponential

from shared.domain.budgets import Priority, current_priority
from shared.domain.deadline import time_left
from shared.domain.errors import NotFoundError, PermanentError, RateLimitedError, TransientError

if TYPE_CHECKING:
    from shared.domain.ports import RateBudget

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

    def backoff(self) -> wait_random_exponential:
        """Full-jitter exponential backoff: uniform in [0, min(max_delay, base_delay * 2^(n-1))]."""
        return wait_random_exponential(multiplier=self.base_delay, max=self.max_delay)

    def longest_wait(self) -> float:
        """The longest wait one request may sleep: a Retry-After cap, and the invocation's time left."""
        left = time_left()
        return self.max_retry_after if left is None else min(self.max_retry_after, left)


class _Again(Exception):
    """One attempt failed in a way a later attempt may not: `final` is raised if none is made."""

    def __init__(self, final: Exception, wait: float | None = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.wait = wait  # None: back off; a number: exactly this long (Retry-After, 0 after a refresh)


class _WaitTooLong(stop_base):
    """Stop when the next wait would not fit (Retry-After cap, or past the Lambda's remaining time)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.upcoming_sleep > self._policy.longest_wait()


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
    `budget` is the vendor tenant's shared rate budget: every attempt takes a slot from it first.
    After a 429 the budget is held for the Retry-After, or `throttle_wait` (the vendor's documented
    wait after a 429) when that is longer, so no container calls the throttled tenant before then.
    """

    vendor: str
    base_url: str
    auth_headers: Callable[[], Mapping[str, str]] = dict
    on_unauthorized: Callable[[], None] | None = None
    describe_error: ErrorDescriber = _default_describe
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    budget: RateBudget | None = None
    throttle_wait: float = 0.0
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    calls: int = 0  # vendor API calls made (attempts), for the per-record figures in `make bench`

    def __post_init__(self) -> None:
        self._client: httpx.Client | None = None
        self._backoff = self.retry.backoff()

    @property
    def client(self) -> httpx.Client:
        """The httpx client, made on the first call: a connector built only to verify a webhook
        never calls its vendor, and each client costs a TLS context (the CA bundle read and parsed)."""
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url, timeout=self.timeout, transport=self.transport
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _wait(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None else None
        if isinstance(failure, _Again) and failure.wait is not None:
            return failure.wait
        return float(self._backoff(retry_state))

    def _throttled(self, retry_after: float | None) -> float | None:
        """The pause a 429 asks for (None: unknown, back off), after holding the budget for it."""
        pause = max(retry_after or 0.0, self.throttle_wait)
        if pause <= 0:
            return retry_after
        if self.budget is not None:
            self.budget.hold(pause)
        return pause

    def _send(self, method: str, url: str, headers: Mapping[str, str] | None, **body: Any) -> httpx.Response:
        """One call: a budget slot first (waiting only as long as the invocation can), then the request."""
        if self.budget is not None:
            wait = self.budget.reserve(max_wait=self.retry.longest_wait())
            if wait > 0:
                self.sleep(wait)
        merged = {**self.auth_headers(), **(headers or {})}
        self.calls += 1
        return self.client.request(method, url, headers=merged, **body)

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
        A Retry-After (or backoff) longer than `retry.max_retry_after`, or than the invocation has
        left (`shared.domain.deadline`), is not slept: the error carries it as `retry_after` and the
        queue delays the message by it.

        `replay_safe=False` is for a create the vendor cannot deduplicate (no idempotency key): it
        is sent again only when the vendor surely did not act on it (no connection was made, 429,
        503). After a read timeout or another 5xx the outcome is unknown, so `TransientError` is
        raised at once and the caller's next attempt looks for the record before creating it.
        """
        refreshed = False
        body = {"params": params, "json": json, "content": content}

        def attempt() -> httpx.Response:
            nonlocal refreshed
            try:
                response = self._send(method, url, headers, **body)
                if response.status_code == 401 and self.on_unauthorized is not None and not refreshed:
                    refreshed = True
                    self.on_unauthorized()
                    response = self._send(method, url, headers, **body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                unsent = isinstance(exc, NEVER_SENT)
                error = TransientError(
                    f"{self.vendor}: {method} {url} failed: {exc!r}"
                    + ("" if unsent else "; whether the vendor acted on it is unknown")
                )
                error.__cause__ = exc
                if not (replay_safe or unsent):
                    raise error from exc
                raise _Again(error) from exc
            status = response.status_code
            if status < 300 or status in ok_statuses:
                return response
            message = f"{self.vendor}: {method} {url} -> {status}: {self.describe_error(response)}"
            if status in RETRYABLE_STATUSES:
                wait = parse_retry_after(response.headers.get("retry-after"))
                if status == 429:
                    wait = self._throttled(wait)
                again = replay_safe or status in NOT_ACTED_ON
                if not again:
                    message += "; whether the vendor acted on it is unknown"
                limited = RateLimitedError if status == 429 else TransientError
                error = limited(message, retry_after=wait)
                # Background work never waits out a 429 inside a Lambda: the budget is held for
                # everyone, and the queue delays the message by the vendor's wait.
                if not again or (status == 429 and current_priority() is Priority.BACKGROUND):
                    raise error
                raise _Again(error, wait)
            if status == 404:
                raise NotFoundError(message)
            raise PermanentError(message)

        retrying = Retrying(
            retry=retry_if_exception_type(_Again),
            # The wait is computed before the stop check, so a Retry-After that does not fit stops here.
            stop=stop_after_attempt(self.retry.attempts) | _WaitTooLong(self.retry),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Again as exhausted:
            raise exhausted.final from exhausted.final.__cause__
