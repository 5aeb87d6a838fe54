"""The workflow start states every deal it reads (open, won, lost); only a won one starts setup."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.commercial import OpportunityStatus
from shared.domain.errors import TransientError
from shared.domain.events import OpportunityChanged, OpportunityClosedWon
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.sync.engagements.start import WorkflowStart
from tests.engagement_fakes import FakeEvents, FakeOpportunities, FakeStarter
from tests.fakes import FakeMetrics, InMemoryLedger

NOW = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)


class Crm:
    def __init__(self) -> None:
        self.opportunities = FakeOpportunities()
        self.starter = FakeStarter()
        self.bus: Any = FakeEvents()
        self.ledger = InMemoryLedger()
        self.start = WorkflowStart(
            opportunities=lambda: self.opportunities,
            starter=lambda: self.starter,
            ledger=self.ledger,
            metrics=FakeMetrics(),
            approval_timeout_seconds=60,
            clock=lambda: NOW,
            events=lambda: self.bus,
        )

    def deal(self, opportunity_id: str, *, probability: str | None = None, **fields: Any) -> None:
        put = self.opportunities.put(opportunity_id, "001A", **fields)
        chance = Decimal(probability) if probability is not None else None
        self.opportunities.opportunities[opportunity_id] = put.model_copy(update={"probability": chance})

    def of(self, cls: type) -> list[Any]:
        return [e for e in self.bus.events if isinstance(e, cls)]


def _notice(record_id: str, event_id: str = "e1", **extra: Any) -> ChangeNotice:
    return ChangeNotice(
        provider=SystemName.SALESFORCE,
        event_id=event_id,
        entity=EntityType.OPPORTUNITY,
        vendor_type="Opportunity",
        record_id=record_id,
        operation=Operation.UPDATED,
        **extra,
    )


def test_an_open_deal_notice_states_the_deal_without_starting_a_workflow() -> None:
    # given an open deal at 60 % of 120000.00, and a notice that itself says it is not won
    crm = Crm()
    crm.deal("006P", status=OpportunityStatus.OPEN, probability="60")
    # when the workflow start hears of it
    assert crm.start.on_notice(_notice("006P", won=False)) is None
    # then the pipeline hears of the deal as the CRM holds it, and no setup starts
    [changed] = crm.of(OpportunityChanged)
    assert (changed.data.status, changed.data.probability) == (OpportunityStatus.OPEN, Decimal("60"))
    assert changed.data.amount.amount == Decimal("120000.00")
    assert changed.occurred_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)  # the CRM's SystemModstamp
    assert crm.starter.started == {} and crm.of(OpportunityClosedWon) == []


def test_a_won_deal_is_stated_changed_and_closed_won_and_starts_setup_once() -> None:
    # given a won deal whose notice arrives twice (a redelivery)
    crm = Crm()
    crm.deal("006W", probability="100")
    started = crm.start.on_notice(_notice("006W"))
    assert crm.start.on_notice(_notice("006W", event_id="e2")) is None
    # then one setup started, and both reads stated the same two events (landing counts them once)
    assert started is not None and list(crm.starter.started) == [started]
    changed, won = crm.of(OpportunityChanged), crm.of(OpportunityClosedWon)
    assert len(changed) == len(won) == 2
    assert changed[0].id == changed[1].id and won[0].id == won[1].id
    assert won[0].correlation_id == started and changed[0].data.status is OpportunityStatus.WON


def test_a_reopened_deal_is_a_later_open_state_with_a_new_id() -> None:
    # given a won deal stated once
    crm = Crm()
    crm.deal("006R")
    crm.start.on_notice(_notice("006R"))
    # when it is re-opened in the CRM (a new SystemModstamp)
    crm.deal("006R", status=OpportunityStatus.OPEN, version="2025-03-04T08:00:00.000Z", probability="40")
    crm.start.on_notice(_notice("006R", event_id="e2", won=False))
    # then its open state is a new event, later than the won one: it supersedes it
    won, reopened = crm.of(OpportunityChanged)
    assert reopened.id != won.id and reopened.occurred_at > won.occurred_at
    assert reopened.data.status is OpportunityStatus.OPEN and len(crm.starter.started) == 1


def test_a_bus_that_fails_starts_nothing_and_the_retry_states_the_same_events() -> None:
    class DownBus:
        def publish_events(self, events: list[Any]) -> None:
            raise TransientError("EventBridge did not take 2 event(s)")

    crm = Crm()
    crm.deal("006F")
    crm.bus = DownBus()
    with pytest.raises(TransientError):
        crm.start.on_notice(_notice("006F"))
    assert crm.starter.started == {}
    crm.bus = FakeEvents()
    assert crm.start.on_notice(_notice("006F", event_id="e2")) is not None
    assert {e.type for e in crm.bus.events} == {
        OpportunityChanged.event_type(),
        OpportunityClosedWon.event_type(),
    }


def test_a_deleted_open_deal_opens_no_exception() -> None:
    # given a notice saying a deal is open, about a deal deleted since
    crm = Crm()
    assert crm.start.on_notice(_notice("006GONE", won=False)) is None
    # then there is nothing to state and nothing for a person to fix
    assert crm.bus.events == [] and crm.ledger.open_exceptions() == []
