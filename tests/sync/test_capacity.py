"""The monthly capacity read: one capacity.changed fact per record, in batches, with stable ids."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector, build
from shared.domain.capacity import Month, WorkerCapacity
from shared.domain.events import CapacityChanged, parse_event
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.sync.capacity import CapacitySync
from tests.engagement_fakes import FakeEvents

MAY = Month(year=2025, month=5)


def _capacity(worker: str, hours: str, rate: str | None = "25.00") -> WorkerCapacity:
    return WorkerCapacity(
        source=SourceRef(system=SystemName.PRODUCTIVE, type="salaries", id=f"s-{worker}"),
        worker=SourceRef(system=SystemName.PRODUCTIVE, type="people", id=worker),
        period_start=date(2025, 5, 1),
        period_end=date(2025, 5, 31),
        capacity_hours=Decimal(hours),
        cost_rate=None if rate is None else Money.of(rate, "EUR"),
    )


class FakePsa:
    """A PSA reporting the capacities it is given, whatever the month."""

    system = SystemName.PRODUCTIVE

    def __init__(self, capacities: list[WorkerCapacity]) -> None:
        self.records = capacities
        self.months: list[Month] = []

    def capacities(self, month: Month) -> list[WorkerCapacity]:
        self.months.append(month)
        return list(self.records)


def test_each_workers_month_becomes_one_fact_published_in_batches() -> None:
    # given a PSA with 5 workers' May and a batch size of 2
    psa, bus = FakePsa([_capacity(str(n), "160") for n in range(5)]), FakeEvents()
    sync = CapacitySync(source=lambda: psa, events=lambda: bus, batch_size=2)
    # when May is read
    run = sync.run(MAY)
    # then 5 capacity.changed events went out in 3 calls, each about its worker's record
    assert psa.months == [MAY]
    assert [len(call) for call in bus.calls] == [2, 2, 1]
    assert {type(e) for e in bus.events} == {CapacityChanged}
    assert [e.data.worker.id for e in bus.events] == ["0", "1", "2", "3", "4"]
    assert run.read == run.published == 5
    first = bus.events[0]
    assert first.occurred_at == datetime(2025, 5, 1, tzinfo=UTC)
    assert first.correlation_id == "capacity-2025-05"
    # and each event reads back as itself off the bus
    assert parse_event(first.model_dump_json()) == first


def test_the_same_month_read_twice_is_the_same_events() -> None:
    # given the same records read on two days
    bus = FakeEvents()
    psa = FakePsa([_capacity("7", "160"), _capacity("8", "120", rate=None)])
    sync = CapacitySync(source=lambda: psa, events=lambda: bus)
    # when May is read twice
    first, second = sync.run(MAY), sync.run(MAY)
    # then the ids repeat: whoever lands them counts each fact once
    assert first.event_ids == second.event_ids
    assert len(set(first.event_ids)) == 2


def test_a_changed_figure_is_a_new_fact() -> None:
    # given a worker whose May capacity drops after a holiday is added in the PSA
    bus = FakeEvents()
    psa = FakePsa([_capacity("7", "168")])
    sync = CapacitySync(source=lambda: psa, events=lambda: bus)
    before = sync.run(MAY)
    psa.records = [_capacity("7", "160")]
    # when May is read again
    after = sync.run(MAY)
    # then the new figures have a new id (it supersedes the earlier one downstream)
    assert before.event_ids != after.event_ids


def test_nothing_read_publishes_nothing() -> None:
    bus = FakeEvents()
    run = CapacitySync(source=lambda: FakePsa([]), events=lambda: bus).run(MAY)
    assert (run.read, bus.calls) == (0, [])


@pytest.fixture
def productive() -> Iterator[tuple[ProductiveSandbox, ProductiveConnector]]:
    sandbox = ProductiveSandbox(organization_id="4242", api_token="tok", webhook_secret="whsec")
    connector = build(
        sandbox.connection("http://productive.sandbox/api/v2"), transport=httpx.WSGITransport(app=sandbox)
    )
    yield sandbox, connector
    connector.close()


def test_a_month_read_from_productive_publishes_its_people(productive) -> None:
    # given a person in Productive at an hourly cost of 50.00 EUR, 8 h a weekday
    sandbox, connector = productive
    person = sandbox.add_person("Ana", "Horvat")
    salary = sandbox.add_salary(person, started_on="2025-01-01", cost=5000)
    bus = FakeEvents()
    # when May 2025 (22 weekdays) is read
    CapacitySync(source=lambda: connector, events=lambda: bus).run(MAY)
    # then one fact says 176 hours at 50.00 EUR, about her salary record
    (event,) = bus.events
    assert event.source == SourceRef(system=SystemName.PRODUCTIVE, type="salaries", id=salary)
    assert (event.data.capacity_hours, event.data.cost_rate) == (Decimal(176), Money.of("50.00", "EUR"))


def test_the_composition_root_reads_capacity_from_the_psa_that_owns_time(productive) -> None:
    # given the demo landscape (Productive owns time) connected to the Productive sandbox
    from shared.bootstrap import Services
    from shared.domain.budgets import InMemoryBudgets
    from shared.settings import Settings

    sandbox, _ = productive
    sandbox.add_salary(sandbox.add_person("Ben", "Kovač"), started_on="2025-05-16", cost=3500)
    services = Services(
        settings=Settings(
            ledger_table="ledger",
            connections_secret="connections",
            landscape_file="infra/landscapes/demo.toml",
        ),
        secrets_loader=lambda _: {"productive": sandbox.connection("http://productive.sandbox/api/v2")},
        transports={SystemName.PRODUCTIVE: httpx.WSGITransport(app=sandbox)},
        budgets=InMemoryBudgets(),
    )
    bus = FakeEvents()
    services.__dict__["publisher"] = bus
    # when the capacity read runs for May 2025
    run = services.capacity_sync.run(MAY)
    # then Productive answered and its one record is on the bus
    assert (run.system, run.read, len(bus.events)) == ("productive", 1, 1)
    assert bus.events[0].data.period_start == date(2025, 5, 16)
