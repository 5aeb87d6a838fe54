"""Productive as the DeliverySource: time entries and expenses read in few calls, mapped to DeliveredWork."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector
from shared.connectors.productive.delivery import TimeEntryResource
from shared.connectors.productive.delivery_mapper import index, time_entry_work
from shared.domain.delivery_ports import DeliverySource
from shared.domain.errors import ValidationFailed
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import Approval, WorkKind

from .conftest import Clock
from .test_delivery_reads import _expense, _service


def _engagement(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, name: str, *, billing_type: int = 2
) -> tuple[str, str]:
    """(project id, service id): a service called `name` on the budget of a new project."""
    return _service(connector.client, sandbox, name, billing_type=billing_type)


def _service_without_project(connector: ProductiveConnector, name: str) -> str:
    """A service on a sales deal that has no project yet (a deal may exist before its project)."""
    client = connector.client
    company = client.create_company({"name": f"Client {name}"}).id
    deal = client.create_deal(
        {"name": f"{name} deal", "date": "2025-03-01", "currency": "EUR"}, {"company": ("companies", company)}
    ).id
    kind = client.create_service_type(f"{name} type").id
    return client.create_service(
        {"name": name, "billing_type_id": 2, "unit_id": 1},
        {"deal": ("deals", deal), "service_type": ("service_types", kind)},
    ).id


def test_the_connector_is_a_delivery_source(connector: ProductiveConnector) -> None:
    source: DeliverySource = connector
    assert source.system is SystemName.PRODUCTIVE


def test_250_approved_entries_on_two_projects_are_read_in_two_calls(connector, sandbox):
    # given 250 approved entries, by two people, on the services of two projects
    sandbox.set_rate_limiting(False)  # the set-up is people in the app
    project_a, service_a = _engagement(connector, sandbox, "Senior Consultant")
    project_b, service_b = _engagement(connector, sandbox, "Architect")
    ada = sandbox.add_person("Ada", "Lovelace", email="ada@firm.example")
    alan = sandbox.add_person("Alan", "Turing")
    manager = sandbox.add_person("Grace", "Hopper")
    on_project: dict[str, str] = {}
    for i in range(250):
        service, project = (service_a, project_a) if i % 2 else (service_b, project_b)
        entry = sandbox.add_time_entry(ada if i % 3 else alan, service, "2025-03-03", 30 + i % 90)
        sandbox.approve_time_entry(entry, approver_id=manager)
        on_project[entry] = project
    sandbox.set_rate_limiting(True)
    # when the hub asks for the current state of all of them
    before = connector.http_calls
    works = connector.fetch_work(WorkKind.TIME, list(on_project))
    # then two list calls answer every one, and each names its project, service and person
    assert connector.http_calls - before == 2
    assert {w.source.id: w.project for w in works} == on_project
    by_id = {w.source.id: w for w in works}
    first = by_id[next(iter(on_project))]
    assert first.service == service_b and first.service_name == "Architect"
    assert first.worker == SourceRef(system=SystemName.PRODUCTIVE, type="people", id=alan)
    assert (first.worker_name, first.worker_email) == ("Alan Turing", None)
    assert all(w.approval is Approval.APPROVED and w.approved_at is not None for w in works)
    assert all(w.postable for w in works)
    ada_entry = next(w for w in works if w.worker.id == ada)
    assert (ada_entry.worker_name, ada_entry.worker_email) == ("Ada Lovelace", "ada@firm.example")
    assert connector.last_unresolved == []


def test_a_time_entry_maps_minutes_dates_note_and_version_exactly(connector, sandbox, clock):
    project, service = _engagement(connector, sandbox, "Senior Consultant")
    ada = sandbox.add_person("Ada", "Lovelace")
    entry = sandbox.add_time_entry(ada, service, "2025-03-03", 135, billable_time=120, note="workshop")
    [pending] = connector.fetch_work(WorkKind.TIME, [entry])
    assert pending.kind is WorkKind.TIME and pending.project == project
    assert (pending.minutes, pending.worked_on, pending.note) == (120, date(2025, 3, 3), "workshop")
    assert pending.approval is Approval.PENDING and pending.approved_at is None and not pending.postable
    assert pending.billable and not pending.invoiced
    assert pending.source == SourceRef(
        system=SystemName.PRODUCTIVE, type="time_entries", id=entry, version=pending.changed_at.isoformat()
    )
    clock.advance(60)
    sandbox.approve_time_entry(entry)
    [approved] = connector.fetch_work(WorkKind.TIME, [entry])
    assert approved.approval is Approval.APPROVED and approved.changed_at == clock()
    assert approved.approved_at == clock() and approved.source.version != pending.source.version
    sandbox.reject_time_entry(entry, "wrong service")
    [rejected] = connector.fetch_work(WorkKind.TIME, [entry])
    assert rejected.approval is Approval.REJECTED


def test_a_deleted_entry_is_absent(connector, sandbox, raw):
    _, service = _engagement(connector, sandbox, "Senior Consultant")
    ada = sandbox.add_person("Ada", "Lovelace")
    kept = sandbox.add_time_entry(ada, service, "2025-03-03", 60)
    gone = sandbox.add_time_entry(ada, service, "2025-03-03", 60)
    assert raw.delete(f"time_entries/{gone}").status_code == 204
    assert [w.source.id for w in connector.fetch_work(WorkKind.TIME, [kept, gone])] == [kept]
    assert connector.fetch_work(WorkKind.TIME, [gone]) == []


def test_changed_work_returns_exactly_the_entries_changed_at_or_after_since(connector, sandbox, clock):
    _, service = _engagement(connector, sandbox, "Senior Consultant")
    ada = sandbox.add_person("Ada", "Lovelace")
    old = sandbox.add_time_entry(ada, service, "2025-03-03", 60)
    clock.advance(3600)
    since = clock()
    at_since = sandbox.add_time_entry(ada, service, "2025-03-04", 30)
    clock.advance(1)
    later = sandbox.add_time_entry(ada, service, "2025-03-05", 45)
    clock.advance(1)
    sandbox.approve_time_entry(at_since)  # changed again: now the newest change
    changed = list(connector.changed_work(WorkKind.TIME, since))
    assert [w.source.id for w in changed] == [at_since, later]
    assert old not in {w.source.id for w in changed}
    assert all(w.changed_at >= since for w in changed)


def test_changed_work_reads_pages_of_200(connector, sandbox, clock):
    _, service = _engagement(connector, sandbox, "Senior Consultant")
    ada = sandbox.add_person("Ada", "Lovelace")
    since = clock()
    made = {sandbox.add_time_entry(ada, service, "2025-03-03", 15) for _ in range(401)}
    before = connector.http_calls
    assert {w.source.id for w in connector.changed_work(WorkKind.TIME, since)} == made
    assert connector.http_calls - before == 3


def test_an_entry_on_a_non_billable_service_is_not_billable(connector, sandbox):
    _, internal = _engagement(connector, sandbox, "Internal", billing_type=3)
    ada = sandbox.add_person("Ada", "Lovelace")
    entry = sandbox.add_time_entry(ada, internal, "2025-03-03", 60)
    sandbox.approve_time_entry(entry)
    [work] = connector.fetch_work(WorkKind.TIME, [entry])
    assert work.approval is Approval.APPROVED and work.minutes == 60
    assert work.billable is False and not work.postable


def test_an_entry_with_no_billable_time_is_not_billable(connector, sandbox):
    _, service = _engagement(connector, sandbox, "Senior Consultant")
    ada = sandbox.add_person("Ada", "Lovelace")
    entry = sandbox.add_time_entry(ada, service, "2025-03-03", 60, billable_time=0)
    [work] = connector.fetch_work(WorkKind.TIME, [entry])
    assert work.minutes == 0 and work.billable is False


def test_an_entry_whose_budget_has_no_project_is_set_aside_not_dropped_as_deleted(connector, sandbox, caplog):
    # given one entry on a service of a sales deal that has no project, beside a good one
    _, service = _engagement(connector, sandbox, "Senior Consultant")
    orphan_service = _service_without_project(connector, "Presales")
    ada = sandbox.add_person("Ada", "Lovelace")
    good = sandbox.add_time_entry(ada, service, "2025-03-03", 60)
    bad = sandbox.add_time_entry(ada, orphan_service, "2025-03-03", 60)
    # when both are read in one call
    with caplog.at_level(logging.WARNING):
        read = connector.read_work(WorkKind.TIME, [good, bad])
    # then the good one maps, and the bad one is reported by id with the reason, not lost
    assert [w.source.id for w in read.works] == [good]
    [unresolved] = read.unresolved
    assert unresolved.id == bad and "names no project" in unresolved.reason
    assert f"time_entries {bad}" in unresolved.reason
    assert [w.source.id for w in connector.fetch_work(WorkKind.TIME, [good, bad])] == [good]
    assert [u.id for u in connector.last_unresolved] == [bad]
    assert bad in caplog.text


def test_the_mapper_refuses_an_entry_whose_service_was_not_included():
    entry = TimeEntryResource.model_validate(
        {
            "id": "77",
            "type": "time_entries",
            "attributes": {
                "date": "2025-03-03",
                "time": 60,
                "billable_time": 60,
                "recognized_time": 0,
                "approved": False,
                "rejected": False,
                "invoiced": False,
                "created_at": "2025-03-03T09:00:00.000+00:00",
                "updated_at": "2025-03-03T09:00:00.000+00:00",
            },
            "relationships": {
                "person": {"data": {"type": "people", "id": "1"}},
                "service": {"data": {"type": "services", "id": "2"}},
            },
        }
    )
    with pytest.raises(ValidationFailed, match="time_entries 77: its service 2"):
        time_entry_work(entry, index([]))


def test_an_expense_maps_its_billable_amount_exactly(connector, sandbox, raw):
    project, service = _engagement(connector, sandbox, "Travel")
    ada = sandbox.add_person("Ada", "Lovelace")
    hotel = _expense(raw, ada, service, "Hotel Berlin", 18950, billable_amount=18955)
    assert raw.patch(f"expenses/{hotel}/approve").status_code == 200
    [work] = connector.fetch_work(WorkKind.EXPENSE, [hotel])
    assert work.kind is WorkKind.EXPENSE and work.project == project and work.service_name == "Travel"
    assert work.amount == Money(amount=Decimal("189.55"), currency="EUR")
    assert work.amount is not None and work.amount.amount == Decimal("189.55")
    assert work.approval is Approval.APPROVED and work.billable and work.postable
    assert work.note == "Hotel Berlin" and work.source.type == "expenses" and work.minutes == 0


def test_expense_approval_states_and_non_billable_service(connector, sandbox, raw):
    _, service = _engagement(connector, sandbox, "Travel")
    _, internal = _engagement(connector, sandbox, "Internal", billing_type=3)
    ada = sandbox.add_person("Ada", "Lovelace")
    pending = _expense(raw, ada, service, "Train", 4200)
    rejected = _expense(raw, ada, service, "Taxi", 2300)
    sandbox.reject_expense(rejected)
    zero = _expense(raw, ada, service, "Gift", 5000, billable_amount=0)
    inside = _expense(raw, ada, internal, "Team lunch", 9000)
    works = {
        w.source.id: w for w in connector.fetch_work(WorkKind.EXPENSE, [pending, rejected, zero, inside])
    }
    assert works[pending].approval is Approval.PENDING and works[pending].billable
    assert works[rejected].approval is Approval.REJECTED
    assert works[zero].billable is False
    assert works[inside].billable is False


def test_expenses_are_read_one_call_each_and_a_deleted_one_is_absent(connector, sandbox, raw):
    # the expenses endpoint documents no `id` filter, so each one is read by its own URL
    _, service = _engagement(connector, sandbox, "Travel")
    ada = sandbox.add_person("Ada", "Lovelace")
    kept = [_expense(raw, ada, service, f"Receipt {i}", 100 + i) for i in range(3)]
    gone = _expense(raw, ada, service, "Lost", 100)
    assert raw.delete(f"expenses/{gone}").status_code == 204
    before = connector.http_calls
    assert sorted(w.source.id for w in connector.fetch_work(WorkKind.EXPENSE, [*kept, gone])) == sorted(kept)
    assert connector.http_calls - before == 4


def test_changed_expenses_stop_at_the_first_older_one(connector, sandbox, raw, clock: Clock):
    _, service = _engagement(connector, sandbox, "Travel")
    ada = sandbox.add_person("Ada", "Lovelace")
    old = _expense(raw, ada, service, "Old", 100)
    clock.advance(60)
    since = clock()
    new = _expense(raw, ada, service, "New", 200)
    clock.advance(1)
    assert raw.patch(f"expenses/{old}/approve").status_code == 200  # a change: now newer than `since`
    changed = list(connector.changed_work(WorkKind.EXPENSE, since))
    assert [w.source.id for w in changed] == [old, new]
    assert changed[0].approval is Approval.APPROVED
    clock.advance(timedelta(hours=1).total_seconds())
    assert list(connector.changed_work(WorkKind.EXPENSE, clock())) == []
