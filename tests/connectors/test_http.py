"""VendorHttp: retries (tenacity) that never wait past the invocation's remaining time."""

from __future__ import annotations

import httpx
import pytest

from shared.connectors.http import VendorHttp
from shared.domain.budgets import InMemoryBudgets, RateLimit
from shared.domain.deadline import RESERVE_SECONDS, time_limit
from shared.domain.errors import RateLimitedError, TransientError


def _vendor(answers: list[httpx.Response], sleeps: list[float], **fields: object) -> VendorHttp:
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        return queue.pop(0)

    return VendorHttp(
        vendor="acme",
        base_url="http://acme",
        transport=httpx.MockTransport(answer),
        sleep=sleeps.append,
        **fields,
    )


def test_retry_after_longer_than_the_time_left_is_not_slept() -> None:
    # given a vendor that asks for 30 s and an invocation with 10 s of waiting left
    sleeps: list[float] = []
    http = _vendor([httpx.Response(429, headers={"Retry-After": "30"}), httpx.Response(200)], sleeps)
    # when the request is sent, then it fails at once with the wait for the queue to honour
    with time_limit(lambda: int((10 + RESERVE_SECONDS) * 1000)), pytest.raises(RateLimitedError) as limited:
        http.request("GET", "/things")
    assert limited.value.retry_after == 30
    assert (sleeps, http.calls) == ([], 1)


def test_retry_after_that_fits_is_slept_then_retried() -> None:
    # given the same answer outside any invocation (no deadline)
    sleeps: list[float] = []
    http = _vendor([httpx.Response(429, headers={"Retry-After": "30"}), httpx.Response(200)], sleeps)
    # when the request is sent, then it waited what the vendor asked and succeeded
    assert http.request("GET", "/things").status_code == 200
    assert (sleeps, http.calls) == ([30.0], 2)


def test_a_budget_slot_past_the_time_left_goes_back_to_the_queue_without_a_call() -> None:
    # given a tenant budget of one request a minute, already spent, and 5 s left to wait
    sleeps: list[float] = []
    clock = [0.0]
    budget = InMemoryBudgets(clock=lambda: clock[0]).budget("acme", "t1", (RateLimit(2, 60.0, burst=1),))
    http = _vendor([httpx.Response(200), httpx.Response(200)], sleeps, budget=budget)
    http.request("GET", "/first")
    with time_limit(lambda: int((5 + RESERVE_SECONDS) * 1000)), pytest.raises(RateLimitedError) as limited:
        http.request("GET", "/second")
    # then the vendor was not called and the error says when the slot comes
    assert limited.value.retry_after == pytest.approx(60.0)
    assert (sleeps, http.calls) == ([], 1)


def test_unauthorized_refreshes_once_and_a_timeout_on_a_create_is_not_resent() -> None:
    # given a token that expired (401 once), then a create whose answer is lost (read timeout)
    sleeps: list[float] = []
    refreshed: list[bool] = []
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(401)
        raise httpx.ReadTimeout("lost", request=request)

    http = VendorHttp(
        vendor="acme",
        base_url="http://acme",
        transport=httpx.MockTransport(answer),
        sleep=sleeps.append,
        on_unauthorized=lambda: refreshed.append(True),
    )
    # when a create that the vendor cannot deduplicate is sent
    with pytest.raises(TransientError, match="unknown"):
        http.request("POST", "/things", json={}, replay_safe=False)
    # then the token was refreshed once, the create sent twice (401, then lost), never a third time
    assert (refreshed, calls, sleeps, http.calls) == ([True], ["/things", "/things"], [], 2)


def test_a_retry_after_holds_the_tenant_budget_for_every_client_sharing_it() -> None:
    # given two clients (two containers) of one tenant's budget, and a vendor answering 429 Retry-After: 30
    clock = [0.0]
    budget = InMemoryBudgets(clock=lambda: clock[0]).budget("acme", "t1", (RateLimit(100, 10.0, burst=50),))
    throttled = _vendor([httpx.Response(429, headers={"Retry-After": "30"})], [], budget=budget)
    other_sleeps: list[float] = []
    other = _vendor([httpx.Response(200)], other_sleeps, budget=budget)
    with time_limit(lambda: int((10 + RESERVE_SECONDS) * 1000)), pytest.raises(RateLimitedError):
        throttled.request("GET", "/things")
    # when the other client calls 12 s later with 10 s to wait, then it is refused without calling the vendor
    clock[0] = 12.0
    with time_limit(lambda: int((10 + RESERVE_SECONDS) * 1000)), pytest.raises(RateLimitedError) as limited:
        other.request("GET", "/things")
    assert limited.value.retry_after == pytest.approx(18.0)
    assert other.calls == 0
    # and without a deadline it sleeps out the rest of the hold, then calls once
    assert other.request("GET", "/things").status_code == 200
    assert (other_sleeps, other.calls) == ([pytest.approx(18.0)], 1)
