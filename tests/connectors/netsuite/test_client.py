"""The REST client against NetSuite's documented answers: errors, throttling, async jobs, SuiteQL paging."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shared.connectors.netsuite import build
from shared.connectors.netsuite.client import ASSUMED_REQUEST_SECONDS
from shared.connectors.netsuite.errors import NetSuiteRecordError
from shared.connectors.netsuite.jobs import idempotency_uuid
from shared.domain.budgets import InMemoryBudget, InMemoryBudgets, RateLimit, background
from shared.domain.errors import (
    ConfigurationError,
    NotFoundError,
    RateLimitedError,
    TransientError,
    ValidationFailed,
)
from tests.connectors.netsuite.conftest import BASE_URL, ScriptedNetSuite, Sleeps, error, make_account


def connect(
    connection: dict[str, Any], netsuite: ScriptedNetSuite, clock: Sleeps | None = None, **kw: Any
) -> Any:
    clock = clock or Sleeps()
    return build(connection, transport=netsuite.transport(), clock=clock.time, sleep=clock.sleep, **kw)


class HeldBudgets:
    """`RateBudgets` in memory that remember which budgets were asked for and every hold."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.inner = InMemoryBudgets(clock=clock)
        self.keys: list[tuple[str, str, tuple[RateLimit, ...]]] = []
        self.holds: list[float] = []

    def budget(self, vendor: str, tenant: str, limits: Sequence[RateLimit]) -> _Held:
        self.keys.append((vendor, tenant, tuple(limits)))
        return _Held(self.inner.budget(vendor, tenant, limits), self.holds)


class _Held:
    def __init__(self, inner: InMemoryBudget, holds: list[float]) -> None:
        self.inner, self.holds = inner, holds

    def reserve(self, *, max_wait: float) -> float:
        return self.inner.reserve(max_wait=max_wait)

    def hold(self, seconds: float) -> None:
        self.holds.append(seconds)
        self.inner.hold(seconds)


def test_a_refused_record_names_netsuites_detail_and_path(connection: dict[str, Any]) -> None:
    # given NetSuite refusing the upsert with its documented 400 body
    refused = error(
        400,
        "INVALID_CONTENT",
        "Error while accessing resource: You have entered an Invalid Field Value 9 "
        "for the following field: terms",
        **{"o:errorPath": "terms"},
    )
    unknown = error(404, "NONEXISTENT_ID", "The record instance does not exist.")
    netsuite = ScriptedNetSuite(answers=[unknown, refused])
    connector = connect(connection, netsuite)
    # when the hub creates the customer (none holds its external id yet)
    with pytest.raises(ValidationFailed) as failed:
        connector.create_account(make_account(payment_terms="9"), idempotency_key="k")
    # then the exception a person reads says what NetSuite said, and where
    message = str(failed.value)
    assert "INVALID_CONTENT" in message and "Invalid Field Value 9" in message and "(at terms)" in message
    assert isinstance(failed.value, NetSuiteRecordError) and failed.value.codes == {"INVALID_CONTENT"}
    # and the upsert was sent once (a refusal is not retried)
    assert [r.method for r in netsuite.requests] == ["GET", "PUT"]


def test_an_unknown_record_is_not_found(connection: dict[str, Any]) -> None:
    netsuite = ScriptedNetSuite(answers=[error(404, "NONEXISTENT_ID", "The record instance does not exist.")])
    with pytest.raises(NotFoundError, match="NONEXISTENT_ID"):
        connect(connection, netsuite).read_account("999")


def test_find_account_is_one_get_by_external_id(connection: dict[str, Any]) -> None:
    netsuite = ScriptedNetSuite(answers=[error(404, "NONEXISTENT_ID", "The record instance does not exist.")])
    assert connect(connection, netsuite).find_account(make_account()) is None
    assert (
        netsuite.requests[0].url.path
        == "/services/rest/record/v1/customer/eid:c2c-salesforce-account-001_a_c_m_e"
    )
    assert netsuite.requests[0].url.params["expandSubResources"] == "true"


def test_a_role_without_permission_is_a_configuration_error(connection: dict[str, Any]) -> None:
    # given NetSuite refusing even a fresh token (the role lost its REST web services permission)
    refused = error(401, "INVALID_LOGIN", "Invalid login attempt.")
    netsuite = ScriptedNetSuite(answers=[refused, refused])
    with pytest.raises(ConfigurationError, match=r"INVALID_LOGIN.*role"):
        connect(connection, netsuite).read_account("107")


def test_a_429_is_honoured_and_the_shared_budget_held(connection: dict[str, Any]) -> None:
    # given the account over its concurrency limit once, NetSuite asking for 3 s
    throttled = httpx.Response(
        429, headers={"Retry-After": "3"}, json={"title": "Too Many Requests", "o:errorDetails": []}
    )
    customer = httpx.Response(
        200, json={"id": "107", "companyName": "Acme", "lastModifiedDate": "2026-12-03T07:00:00Z"}
    )
    netsuite = ScriptedNetSuite(answers=[throttled, customer])
    clock = Sleeps()
    budgets = HeldBudgets(clock.time)
    connector = connect(connection, netsuite, clock, budgets=budgets)
    # when the hub reads a customer
    record = connector.read_account("107")
    # then it waited the 3 s NetSuite asked for and then got the customer
    assert record.ref.id == "107"
    assert 3.0 in clock.slept
    # and the account's one budget (every container's) was held for those 3 s
    assert budgets.holds == [3.0]
    assert budgets.keys == [("netsuite", "1234567_SB1", (RateLimit(15, ASSUMED_REQUEST_SECONDS),))]


def test_background_work_hands_a_429_back_to_its_queue(connection: dict[str, Any]) -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "30"}, json={})
    netsuite = ScriptedNetSuite(answers=[throttled])
    with background(), pytest.raises(RateLimitedError) as limited:
        connect(connection, netsuite).read_account("107")
    assert limited.value.retry_after == 30.0


def test_a_server_error_that_persists_is_transient(connection: dict[str, Any]) -> None:
    failing = error(500, "UNEXPECTED_ERROR", "An unexpected error occurred.")
    netsuite = ScriptedNetSuite(answers=[failing] * 4)
    with pytest.raises(TransientError, match="UNEXPECTED_ERROR"):
        connect(connection, netsuite).read_account("107")
    assert len(netsuite.requests) == 4


def test_the_concurrency_error_restlets_answer_is_a_throttle(connection: dict[str, Any]) -> None:
    netsuite = ScriptedNetSuite(answers=[error(400, "SSS_REQUEST_LIMIT_EXCEEDED", "Request limit exceeded.")])
    with pytest.raises(RateLimitedError):
        connect(connection, netsuite).read_account("107")


# --- asynchronous requests with an idempotency key ---------------------------------------------------


def _job(job_id: str, completed: bool) -> httpx.Response:
    return httpx.Response(
        200, json={"id": job_id, "completed": completed, "progress": "succeeded" if completed else "pending"}
    )


def _task_list(job_id: str) -> httpx.Response:
    href = f"{BASE_URL}/services/rest/async/v1/job/{job_id}/task/1"
    return httpx.Response(200, json={"items": [{"links": [{"rel": "self", "href": href}]}]})


def test_an_async_request_is_polled_until_done_and_its_result_read(connection: dict[str, Any]) -> None:
    # given NetSuite accepting the request as job 42, finishing it on the third poll
    accepted = httpx.Response(
        202, headers={"Location": "/services/rest/async/v1/job/42", "Preference-Applied": "respond-async"}
    )
    netsuite = ScriptedNetSuite(
        answers=[
            accepted,
            _job("42", False),
            _job("42", False),
            _job("42", True),
            _task_list("42"),
            httpx.Response(200, json={"id": "1", "completed": True, "progress": "succeeded"}),
            httpx.Response(200, json={"companyName": "Acme Consulting Ltd", "id": "107"}),
        ]
    )
    clock = Sleeps()
    client = connect(connection, netsuite, clock).client
    # when the hub sends it
    outcome = client.run_async(
        "POST", "/services/rest/record/v1/customer", {"companyName": "Acme"}, idempotency_key="key-1"
    )
    # then the request carried the headers Oracle documents, and the task's result came back
    sent = netsuite.requests[0]
    assert sent.headers["Prefer"] == "respond-async"
    assert sent.headers["X-NetSuite-Idempotency-Key"] == idempotency_uuid("key-1")
    assert str(uuid.UUID(idempotency_uuid("key-1"))) == idempotency_uuid("key-1") != idempotency_uuid("key-2")
    assert (outcome.job_id, outcome.task_id, outcome.result["id"]) == ("42", "1", "107")
    assert [r.url.path for r in netsuite.requests[4:]] == [
        "/services/rest/async/v1/job/42/task",
        "/services/rest/async/v1/job/42/task/1",
        "/services/rest/async/v1/job/42/task/1/result",
    ]
    assert [wait for wait in clock.slept if wait >= 0.5] == [0.5, 1.0]  # backing off between polls


def test_a_resent_async_request_follows_the_first_job(connection: dict[str, Any]) -> None:
    # given the same key sent again: NetSuite refuses it and points at the first request's job
    duplicate = error(
        400, "IDEMPOTENCY_ERROR", "A request with the same idempotency key is already submitted."
    )
    duplicate.headers["Location"] = "/services/rest/async/v1/job/42"
    netsuite = ScriptedNetSuite(
        answers=[
            duplicate,
            _job("42", True),
            _task_list("42"),
            httpx.Response(200, json={"id": "1", "completed": True, "progress": "succeeded"}),
            httpx.Response(200, json={"id": "107"}),
        ]
    )
    outcome = connect(connection, netsuite).client.run_async(
        "POST", "/services/rest/record/v1/customer", {}, idempotency_key="key-1"
    )
    # then the first request's outcome is what the resend gets: nothing was done twice
    assert outcome.job_id == "42" and outcome.result == {"id": "107"}


def test_a_failed_async_task_is_a_refusal_naming_the_detail(connection: dict[str, Any]) -> None:
    accepted = httpx.Response(202, headers={"Location": "/services/rest/async/v1/job/5"})
    failed = error(400, "USER_ERROR", "Please enter value(s) for: Subsidiary")
    netsuite = ScriptedNetSuite(
        answers=[
            accepted,
            _job("5", True),
            _task_list("5"),
            httpx.Response(200, json={"id": "1", "completed": True, "progress": "failed"}),
            failed,
        ]
    )
    with pytest.raises(ValidationFailed, match="USER_ERROR: Please enter value"):
        connect(connection, netsuite).client.run_async(
            "POST", "/services/rest/record/v1/customer", {}, idempotency_key="k"
        )


def test_a_job_still_running_after_the_polls_goes_back_to_the_queue(connection: dict[str, Any]) -> None:
    accepted = httpx.Response(202, headers={"Location": "/services/rest/async/v1/job/9"})
    netsuite = ScriptedNetSuite(answers=[accepted, *[_job("9", False)] * 16])
    with pytest.raises(TransientError, match="still pending"):
        connect(connection, netsuite).client.run_async(
            "POST", "/services/rest/record/v1/customer", {}, idempotency_key="k"
        )


# --- SuiteQL -------------------------------------------------------------------------------------------


def _page(rows: list[dict[str, Any]], *, offset: int, more: bool) -> httpx.Response:
    return httpx.Response(
        200, json={"items": rows, "hasMore": more, "count": len(rows), "offset": offset, "links": []}
    )


def test_suiteql_pages_with_limit_and_offset_and_is_transient(connection: dict[str, Any]) -> None:
    netsuite = ScriptedNetSuite(
        answers=[
            _page([{"id": "1"}, {"id": "2"}], offset=0, more=True),
            _page([{"id": "3"}], offset=2, more=False),
        ]
    )
    client = connect(connection, netsuite).client
    rows, more = client.suiteql_rows("SELECT id FROM customer ORDER BY id", page_size=2)
    assert [row["id"] for row in rows] == ["1", "2", "3"] and not more
    assert [(r.url.params["limit"], r.url.params["offset"]) for r in netsuite.requests] == [
        ("2", "0"),
        ("2", "2"),
    ]
    assert {r.headers["Prefer"] for r in netsuite.requests} == {"transient"}
    assert json.loads(netsuite.requests[0].content) == {"q": "SELECT id FROM customer ORDER BY id"}


def test_suiteql_paging_needs_an_order_by_and_pages_of_at_most_1000(connection: dict[str, Any]) -> None:
    client = connect(connection, ScriptedNetSuite()).client
    with pytest.raises(ValueError, match="ORDER BY"):
        client.suiteql_rows("SELECT id FROM customer")
    with pytest.raises(ValueError, match="1 to 1000"):
        client.suiteql("SELECT id FROM customer", limit=1001)


def test_the_sweep_ends_at_netsuites_clock(connection: dict[str, Any]) -> None:
    # given NetSuite's clock behind ours, and one customer changed in the window
    row = {"id": "107", "lastmodified": "2026-12-03T07:20:00", "companyname": "Acme"}
    netsuite = ScriptedNetSuite(
        answers=[
            httpx.Response(200, json={"serverTime": "2026-12-03T07:29:00.000Z"}),
            _page([row], offset=0, more=False),
        ]
    )
    since = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
    window = connect(connection, netsuite).changed_accounts(since, datetime(2026, 12, 3, 7, 30, tzinfo=UTC))
    # then the window reaches NetSuite's time, and the statement asked for exactly that window
    assert window.covered_until == datetime(2026, 12, 3, 7, 29, tzinfo=UTC) and window.complete
    assert [(c.record_id, c.version) for c in window.changes] == [("107", "2026-12-03T07:20:00Z")]
    statement = json.loads(netsuite.requests[1].content)["q"]
    assert "lastmodifieddate > TO_TIMESTAMP('2026-12-03 07:00:00', 'YYYY-MM-DD HH24:MI:SS')" in statement
    assert "lastmodifieddate <= TO_TIMESTAMP('2026-12-03 07:29:00', 'YYYY-MM-DD HH24:MI:SS')" in statement
    assert statement.endswith("ORDER BY lastmodifieddate, id")


def test_match_candidates_quote_what_the_name_holds(connection: dict[str, Any]) -> None:
    netsuite = ScriptedNetSuite(answers=[_page([], offset=0, more=False)])
    connect(connection, netsuite).match_candidates(make_account(name="O'Brien & Co", website=None))
    statement = json.loads(netsuite.requests[0].content)["q"]
    assert "WHERE (LOWER(companyname) LIKE 'o''brien%') ORDER BY id" in statement
    assert netsuite.requests[0].url.params["limit"] == "21"


def test_match_candidates_read_their_billing_addresses_in_one_statement(connection: dict[str, Any]) -> None:
    # given two namesakes, one with a default billing address
    rows = [
        {"id": "107", "companyname": "Acme Consulting", "defaultbillingaddress": "5001", "isinactive": "F"},
        {"id": "108", "companyname": "Acme Corp", "url": "https://acme.example", "isinactive": "T"},
    ]
    address = {"nkey": "5001", "addr1": "1 Congress Ave", "city": "Austin", "country": "US"}
    netsuite = ScriptedNetSuite(
        answers=[_page(rows, offset=0, more=False), _page([address], offset=0, more=False)]
    )
    # when the hub looks for customers that could be the account
    found = connect(connection, netsuite).match_candidates(make_account())
    # then both come back (the inactive one too), the first with its address, in two statements
    assert [(c.ref.id, c.active) for c in found] == [("107", True), ("108", False)]
    assert found[0].view.billing_address is not None and found[0].view.billing_address.city == "Austin"
    first, second = (json.loads(r.content)["q"] for r in netsuite.requests)
    assert "LOWER(url) LIKE '%acme.example%'" in first
    assert second == (
        "SELECT nkey, addr1, city, state, zip, country FROM entityaddress "
        "WHERE nkey IN ('5001') ORDER BY nkey"
    )


def test_the_customer_census_reads_every_customer_a_page_at_a_time(connection: dict[str, Any]) -> None:
    # given 1,001 customers (two pages), one of them inactive and one with a billing address
    rows = [{"id": str(n), "companyname": f"Customer {n}", "isinactive": "F"} for n in range(1, 1002)]
    rows[0] = {**rows[0], "isinactive": "T", "defaultbillingaddress": "77"}
    address = {"nkey": "77", "addr1": "1 Congress Ave", "country": "US"}
    netsuite = ScriptedNetSuite(
        answers=[
            _page(rows[:1000], offset=0, more=True),
            _page(rows[1000:], offset=1000, more=False),
            _page([address], offset=0, more=False),
        ]
    )
    # when reconciliation takes the census
    census = list(connect(connection, netsuite).census_customers())
    # then every customer is in it, inactive ones too, in three calls
    assert len(census) == 1001 and not census[0].active and census[1].active
    assert (
        census[0].view.billing_address is not None
        and census[0].view.billing_address.street == "1 Congress Ave"
    )
    assert len(netsuite.requests) == 3
