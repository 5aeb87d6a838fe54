"""Reading time entries and expenses from the Productive sandbox: pages, filters, approval, 404, 429."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive.client import ProductiveClient
from shared.connectors.productive.connection import ProductiveConnection
from shared.connectors.productive.delivery import (
    ExpenseApprovalStatus,
    TimeEntryResource,
    TimeEntryStatus,
)
from shared.domain.errors import NotFoundError, RateLimitedError

from .conftest import BASE_URL, Clock


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sandbox: ProductiveSandbox, clock: Clock, sleeps: list[float]) -> Iterator[ProductiveClient]:
    def sleep(seconds: float) -> None:  # a wait lets the sandbox's rate windows move on
        sleeps.append(seconds)
        clock.advance(seconds)

    built = ProductiveClient(
        ProductiveConnection.parse(sandbox.connection(BASE_URL)),
        transport=httpx.WSGITransport(app=sandbox),
        sleep=sleep,
    )
    yield built
    built.close()


def _service(
    client: ProductiveClient, sandbox: ProductiveSandbox, name: str, *, billing_type: int = 2
) -> tuple[str, str]:
    """(project id, service id): a service called `name` on the budget of a new project."""
    company = client.create_company({"name": f"Client {name}"}).id
    template = sandbox.add_template(f"Template {name}")
    project = client.copy_project({"name": name, "template_id": template, "company_id": company}).id
    deal = client.create_deal(
        {"name": f"{name} budget", "budget": True, "date": "2025-03-01", "currency": "EUR"},
        {"company": ("companies", company), "project": ("projects", project)},
    ).id
    kind = client.create_service_type(f"{name} type").id
    service = client.create_service(
        {"name": name, "billing_type_id": billing_type, "unit_id": 1},
        {"deal": ("deals", deal), "service_type": ("service_types", kind)},
    ).id
    return project, service


def _expense(raw: httpx.Client, person: str, service: str, name: str, amount: int, **extra: object) -> str:
    attributes = {"name": name, "date": "2025-03-02", "amount": amount, "currency": "EUR", **extra}
    body = {
        "data": {
            "type": "expenses",
            "attributes": attributes,
            "relationships": {
                "person": {"data": {"type": "people", "id": person}},
                "service": {"data": {"type": "services", "id": service}},
            },
        }
    }
    response = raw.post("expenses", content=json.dumps(body))
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


@pytest.mark.parametrize("count", [200, 401, 1000])
def test_every_entry_is_read_in_ceil_n_over_200_calls(client, sandbox, count):
    _, service = _service(client, sandbox, "Design")
    person = sandbox.add_person("Ada", "Lovelace")
    made = {sandbox.add_time_entry(person, service, "2025-03-03", 30 + i % 7) for i in range(count)}
    before = client.calls
    seen = [entry.id for entry in client.time_entries()]
    assert client.calls - before == math.ceil(count / 200)
    assert sorted(seen) == sorted(made) and len(seen) == count


def test_filters_narrow_the_entries(client, sandbox, clock):
    project_a, service_a = _service(client, sandbox, "A")
    _, service_b = _service(client, sandbox, "B")
    person = sandbox.add_person("Ada", "Lovelace")
    old = sandbox.add_time_entry(person, service_a, "2025-03-03", 60)
    clock.advance(3600)
    since = clock()
    on_a = sandbox.add_time_entry(person, service_a, "2025-03-04", 90)
    on_b = sandbox.add_time_entry(person, service_b, "2025-03-04", 45)
    rejected = sandbox.add_time_entry(person, service_a, "2025-03-05", 15)
    clock.advance(1)
    sandbox.approve_time_entry(on_a, approver_id=person)
    clock.advance(1)
    sandbox.reject_time_entry(rejected, "not this client")
    assert {e.id for e in client.time_entries(updated_since=since)} == {on_a, on_b, rejected}
    assert {e.id for e in client.time_entries(project_id=project_a)} == {old, on_a, rejected}
    assert [e.id for e in client.time_entries(status=TimeEntryStatus.APPROVED)] == [on_a]
    assert [e.id for e in client.time_entries(status=TimeEntryStatus.REJECTED)] == [rejected]
    unapproved = client.time_entries(status=TimeEntryStatus.UNAPPROVED, project_id=project_a)
    assert [e.id for e in unapproved] == [old]
    # newest change first
    assert [e.id for e in client.time_entries(updated_since=since)] == [rejected, on_a, on_b]


def test_approval_state_and_minutes_parse_exactly(client, sandbox, clock):
    _, service = _service(client, sandbox, "Design")
    person = sandbox.add_person("Ada", "Lovelace")
    manager = sandbox.add_person("Grace", "Hopper")
    entry_id = sandbox.add_time_entry(person, service, "2025-03-03", 135, billable_time=120, note="workshop")
    fresh = client.time_entry(entry_id)
    assert (fresh.attributes.time, fresh.attributes.billable_time, fresh.attributes.recognized_time) == (
        135,
        120,
        0,
    )
    assert fresh.attributes.approved is False and fresh.attributes.approved_at is None
    assert fresh.approver_id is None and fresh.person_id == person and fresh.service_id == service
    clock.advance(60)
    sandbox.approve_time_entry(entry_id, approver_id=manager)
    approved = client.time_entry(entry_id)
    attributes = approved.attributes
    assert attributes.approved is True and attributes.recognized_time == 135
    assert attributes.approved_at == datetime(2025, 3, 1, 9, 1, tzinfo=UTC)
    assert attributes.approved_at.utcoffset() == timedelta(0)
    assert attributes.date == date(2025, 3, 3) and attributes.note == "workshop"
    assert attributes.invoiced is False and approved.approver_id == manager
    assert attributes.updated_at > attributes.created_at
    sandbox.reject_time_entry(entry_id, "wrong service")
    rejected = client.time_entry(entry_id).attributes
    assert rejected.rejected and rejected.rejected_reason == "wrong service" and not rejected.approved


def test_unknown_attributes_are_ignored_and_missing_ones_named():
    body = {
        "id": "7",
        "type": "time_entries",
        "attributes": {
            "date": "2025-03-03",
            "time": 60,
            "billable_time": 60,
            "recognized_time": 60,
            "approved": True,
            "approved_at": "2025-03-04T10:00:00.000+02:00",
            "rejected": False,
            "invoiced": False,
            "created_at": "2025-03-03T09:00:00.000+00:00",
            "updated_at": "2025-03-04T10:00:00.000+02:00",
            "a_new_vendor_field": {"x": 1},
        },
        "relationships": {
            "person": {"data": {"type": "people", "id": "1"}},
            "service": {"data": {"type": "services", "id": "2"}},
        },
    }
    entry = TimeEntryResource.model_validate(body)
    assert entry.attributes.approved_at == datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
    del body["attributes"]["billable_time"]  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="billable_time"):
        TimeEntryResource.model_validate(body)


def test_expense_approval_status_amount_and_filters(client, sandbox, raw):
    project, service = _service(client, sandbox, "Travel")
    _, other = _service(client, sandbox, "Other")
    person = sandbox.add_person("Ada", "Lovelace")
    hotel = _expense(raw, person, service, "Hotel", 18950)
    train = _expense(raw, person, service, "Train", 4200)
    taxi = _expense(raw, person, other, "Taxi", 2300)
    assert raw.patch(f"expenses/{hotel}/approve").status_code == 200
    sandbox.reject_expense(train)
    got = client.expense(hotel)
    assert got.attributes.approval_status is ExpenseApprovalStatus.APPROVED
    assert (got.attributes.amount, got.attributes.currency, got.attributes.name) == (18950, "EUR", "Hotel")
    assert got.attributes.billable_amount == 18950 and got.attributes.approved_at is not None
    assert got.person_id == person and got.service_id == service
    assert client.expense(train).attributes.approval_status is ExpenseApprovalStatus.REJECTED
    assert client.expense(taxi).attributes.approval_status is ExpenseApprovalStatus.NOT_APPROVED
    approved = client.expenses(approval_status=ExpenseApprovalStatus.APPROVED)
    assert [e.id for e in approved] == [hotel]
    assert {e.id for e in client.expenses(project_id=project)} == {hotel, train}


def test_expenses_since_stop_paging_at_the_first_older_one(client, sandbox, raw, clock):
    _, service = _service(client, sandbox, "Travel")
    person = sandbox.add_person("Ada", "Lovelace")
    sandbox.set_rate_limiting(False)  # the set-up is people in the app, not this integration
    for i in range(250):
        _expense(raw, person, service, f"old {i}", 100)
    clock.advance(60)
    since = clock()
    new = {_expense(raw, person, service, f"new {i}", 100) for i in range(3)}
    sandbox.set_rate_limiting(True)
    before = client.calls
    assert {e.id for e in client.expenses(updated_since=since)} == new
    assert client.calls - before == 1  # 250 older ones behind them are never fetched
    before = client.calls
    assert len(list(client.expenses())) == 253 and client.calls - before == 2


def test_a_missing_entry_or_expense_is_not_found(client):
    with pytest.raises(NotFoundError):
        client.time_entry("999999")
    with pytest.raises(NotFoundError):
        client.expense("999999")


def _fill_the_window(raw: httpx.Client) -> None:
    """Another integration of the same organization uses up the 100 requests / 10 s window."""
    while raw.get("people").status_code != 429:
        pass


def test_a_window_that_frees_during_the_backoff_is_retried(client, sandbox, raw, clock, sleeps):
    _, service = _service(client, sandbox, "Design")
    person = sandbox.add_person("Ada", "Lovelace")
    entry_id = sandbox.add_time_entry(person, service, "2025-03-03", 60)
    clock.advance(10)  # the set-up's requests leave the window
    _fill_the_window(raw)
    clock.advance(9.99999)  # the window's oldest request leaves it a moment from now
    refused, before = sandbox.throttled, client.calls
    assert [e.id for e in client.time_entries()] == [entry_id]
    assert sandbox.throttled == refused + 1 and client.calls - before == 2 and len(sleeps) == 1


def test_a_window_still_full_after_the_retries_is_a_rate_limited_error(client, sandbox, raw, clock):
    _, service = _service(client, sandbox, "Design")
    person = sandbox.add_person("Ada", "Lovelace")
    entry_id = sandbox.add_time_entry(person, service, "2025-03-03", 60)
    clock.advance(10)
    _fill_the_window(raw)
    before = client.calls
    # Productive documents no Retry-After: the client backs off (at most 0.5 + 1 + 2 s) and gives up,
    # leaving the retry to the caller's queue, as for every other Productive call.
    with pytest.raises(RateLimitedError):
        list(client.time_entries())
    assert client.calls - before == 4
    clock.advance(10)
    assert [e.id for e in client.time_entries()] == [entry_id]


def test_page_size_beyond_the_documented_maximum_is_refused(client):
    with pytest.raises(ValueError, match="page_size"):
        list(client.time_entries(page_size=201))
