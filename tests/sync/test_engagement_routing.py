"""Engagement setup in a landscape with two ledgers: the routing of the deal's legal entity decides."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.domain.engagement_ports import EngagementStatus, SetupProject
from shared.domain.models import SystemName
from shared.domain.systems import Role
from shared.governance.loader import parse_landscape
from shared.governance.mappings import Mappings
from shared.governance.matching import Matcher
from shared.governance.ownership import Ownership
from shared.sync.accounts import AccountSync
from shared.sync.engagements.setup import EngagementSetup
from shared.sync.engagements.state import Step, StepPermanentError, initial_state
from tests.delivery_fakes import InMemoryPostings
from tests.engagement_fakes import (
    AFTER_APPROVAL,
    BEFORE_APPROVAL,
    COEXISTENCE,
    CUTOVER,
    FakeEngagementTarget,
    FakeEvents,
    FakeNotifier,
    FakeOpportunities,
    InMemoryApprovals,
)
from tests.fakes import FakeCrm, FakeMetrics, FakeTarget, InMemoryLedger


@dataclass
class Firm:
    opportunities: FakeOpportunities
    productive: FakeEngagementTarget
    quickbooks: FakeEngagementTarget
    netsuite: FakeEngagementTarget
    ledger: InMemoryLedger
    bookings: InMemoryPostings
    setup: EngagementSetup
    make_setup: Any

    def run(self, steps: tuple[Step, ...], state: dict[str, Any]) -> dict[str, Any]:
        """Plays the state machine (no transient failures here): Catch compensates a permanent one."""
        for step in steps:
            try:
                state = self.setup.run(step, state, token=f"token-{state['execution']}")
            except StepPermanentError as exc:
                cause = json.dumps({"errorMessage": str(exc), "errorType": "StepPermanentError"})
                return self.setup.compensate(state, {"Error": "StepPermanentError", "Cause": cause})
        return state

    def won(self, closed_on: date) -> dict[str, Any]:
        """A won USD (US01) deal closed on `closed_on`, and the workflow's input for it."""
        deal = self.opportunities.put("006W", "001A", close_date=closed_on)
        return initial_state("006W", deal.source.version, now=datetime(2025, 3, 1, 12, 0, tzinfo=UTC))


def _firm(landscape_text: str = COEXISTENCE) -> Firm:
    crm, ledger, metrics = FakeCrm(), InMemoryLedger(), FakeMetrics()
    customers = [
        FakeTarget(system) for system in (SystemName.PRODUCTIVE, SystemName.QUICKBOOKS, SystemName.NETSUITE)
    ]
    opportunities, bookings, approvals = FakeOpportunities(), InMemoryPostings(), InMemoryApprovals()
    targets = {
        system: FakeEngagementTarget(system)
        for system in (SystemName.PRODUCTIVE, SystemName.QUICKBOOKS, SystemName.NETSUITE)
    }

    def make_setup(text: str) -> EngagementSetup:
        landscape = parse_landscape(text, file="coexistence.toml")
        sync = AccountSync(
            source=lambda: crm,
            targets=lambda: customers,
            ledger=ledger,
            metrics=metrics,
            ownership=Ownership(landscape),
            mappings=Mappings(landscape),
            matcher=Matcher(landscape.matching),
        )
        return EngagementSetup(
            opportunities=lambda: opportunities,
            target=targets.__getitem__,
            accounts=lambda: crm,
            account_sync=lambda: sync,
            ledger=ledger,
            approvals=approvals,
            notifier=FakeNotifier,
            events=FakeEvents,
            metrics=metrics,
            mappings=Mappings(landscape),
            landscape=landscape,
            bookings=lambda: bookings,
        )

    crm.put("001A", "Acme Consulting")
    return Firm(
        opportunities,
        targets[SystemName.PRODUCTIVE],
        targets[SystemName.QUICKBOOKS],
        targets[SystemName.NETSUITE],
        ledger,
        bookings,
        make_setup(landscape_text),
        make_setup,
    )


@pytest.fixture
def firm() -> Firm:
    return _firm()


def test_an_engagement_starting_on_the_cutover_day_is_set_up_in_the_new_ledger(firm: Firm) -> None:
    # given US01 moves from QuickBooks to NetSuite on the cutover day, and a deal closed that day
    state = firm.won(CUTOVER)
    # when setup runs to the end
    done = firm.run(BEFORE_APPROVAL + AFTER_APPROVAL, state)
    # then NetSuite holds the active engagement, with NetSuite's own class, and QuickBooks nothing
    assert done["status"] == "done"
    assert firm.netsuite.statuses() == [EngagementStatus.ACTIVE] and firm.quickbooks.records == {}
    [held] = firm.netsuite.engagements.values()
    assert held.dimensions.accounting_class == "NS-ADV"
    # and the engagement is booked for postings against the NetSuite project
    [booked] = firm.bookings.booked.values()
    assert booked.accounting == {SystemName.NETSUITE: "netsuite-1"}


def test_an_engagement_starting_the_day_before_the_cutover_stays_in_the_old_ledger(firm: Firm) -> None:
    state = firm.won(date(2025, 2, 28))
    done = firm.run(BEFORE_APPROVAL + AFTER_APPROVAL, state)
    assert done["status"] == "done"
    assert firm.quickbooks.statuses() == [EngagementStatus.ACTIVE] and firm.netsuite.records == {}
    [held] = firm.quickbooks.engagements.values()
    assert held.dimensions.accounting_class == "QB-ADV"


def test_the_outcome_written_back_names_each_systems_project(firm: Firm) -> None:
    firm.run(BEFORE_APPROVAL + AFTER_APPROVAL, firm.won(CUTOVER))
    outcome = firm.opportunities.written["006W"][-1]
    assert outcome.status == "active"
    assert outcome.projects == (
        SetupProject(system=SystemName.PRODUCTIVE, role=Role.PSA, id="productive-1"),
        SetupProject(system=SystemName.NETSUITE, role=Role.ACCOUNTING, id="netsuite-1"),
    )


def test_a_setup_resumed_after_the_routing_moved_finishes_in_the_ledger_it_began_in(firm: Firm) -> None:
    # given a setup begun in QuickBooks, waiting for approval
    state = firm.run(BEFORE_APPROVAL, firm.won(date(2025, 2, 28)))
    # when the routing is edited to move US01 to NetSuite a month earlier, before the approval
    firm.setup = firm.make_setup(
        COEXISTENCE.replace(f"from_date = {CUTOVER.isoformat()}", "from_date = 2025-02-01")
    )
    done = firm.run(AFTER_APPROVAL, state)
    # then the engagement is activated where its shell is, and NetSuite never hears of it
    assert done["status"] == "done"
    assert firm.quickbooks.statuses() == [EngagementStatus.ACTIVE] and firm.netsuite.records == {}
    assert firm.opportunities.written["006W"][-1].project_id(Role.ACCOUNTING) == "quickbooks-1"


def test_a_state_begun_before_setup_kept_its_systems_goes_on_in_the_first_system_of_each_role(
    firm: Firm,
) -> None:
    # given an execution in flight from the release that always chose the first accounting system:
    # its state, past the shell step, has no systems
    state = firm.run(BEFORE_APPROVAL[:4], firm.won(date(2025, 2, 28)))
    older = {key: value for key, value in state.items() if key != "systems"}
    # when the workflow goes on with it after the deploy
    done = firm.run(BEFORE_APPROVAL[4:] + AFTER_APPROVAL, older)
    # then it loads, and finishes in the QuickBooks shell that release created
    assert done["status"] == "done" and done["systems"]["accounting"] == "quickbooks"
    assert firm.quickbooks.statuses() == [EngagementStatus.ACTIVE]


def test_a_deal_no_company_books_names_the_gap_and_nothing_is_set_up_anywhere(firm: Firm) -> None:
    # given a won deal in EUR, a currency none of the firm's companies books in
    deal = firm.opportunities.put("006E", "001A", currency="EUR", lines=(("Consultant", "10", "150.00"),))
    state = initial_state("006E", deal.source.version, now=datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    # when setup runs, it cannot tell which ledger the engagement belongs in
    result = firm.run(BEFORE_APPROVAL, state)
    # then the first step fails naming the gap, nothing exists anywhere, and the CRM is told
    assert (result["status"], result["failed_step"]) == ("failed", "validate_customer")
    assert "cannot be derived from currency EUR" in result["cause"]
    assert firm.productive.records == {} and firm.quickbooks.records == {} and firm.netsuite.records == {}
    [exception] = firm.ledger.exceptions.values()
    assert "cannot be derived from currency EUR" in exception.reason
    assert firm.opportunities.last_status("006E") == "failed"
