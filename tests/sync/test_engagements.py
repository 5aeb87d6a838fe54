"""Engagement setup against fakes: approve, reject, transient and permanent failures, missing mapping."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.domain.commercial import OpportunityStatus
from shared.domain.engagement_ports import ApprovalState, EngagementStatus
from shared.domain.events import EngagementActivated
from shared.domain.models import SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.systems import Role
from shared.governance.loader import parse_landscape
from shared.governance.mappings import Mappings
from shared.governance.matching import Matcher
from shared.governance.ownership import Ownership
from shared.sync.accounts import AccountSync
from shared.sync.engagements.approvals import AlreadyDecided, ApprovalDesk
from shared.sync.engagements.setup import EngagementSetup
from shared.sync.engagements.start import WorkflowStart
from shared.sync.engagements.state import (
    Step,
    StepPermanentError,
    StepTransientError,
    execution_name,
    initial_state,
)
from shared.sync.write_back import write_back_key
from tests.engagement_fakes import (
    AFTER_APPROVAL,
    BEFORE_APPROVAL,
    FakeCallback,
    FakeEngagementTarget,
    FakeEvents,
    FakeNotifier,
    FakeOpportunities,
    FakeStarter,
    InMemoryApprovals,
    flaky,
)
from tests.fakes import FakeCrm, FakeMetrics, FakeTarget, InMemoryLedger

DEMO_LANDSCAPE = Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml"


@dataclass
class World:
    crm: FakeCrm
    opportunities: FakeOpportunities
    psa: FakeEngagementTarget
    accounting: FakeEngagementTarget
    psa_clients: FakeTarget
    erp_customers: FakeTarget
    ledger: InMemoryLedger
    approvals: InMemoryApprovals
    notifier: FakeNotifier
    events: FakeEvents
    callback: FakeCallback
    metrics: FakeMetrics
    setup: EngagementSetup
    desk: ApprovalDesk
    now: list[datetime]

    def run(self, steps: tuple[Step, ...], state: dict[str, Any], *, attempts: int = 3) -> dict[str, Any]:
        """Plays the state machine: Retry on StepTransientError, Catch (compensate) on anything else."""
        for step in steps:
            for attempt in range(attempts):
                try:
                    state = self.setup.run(step, state, token=f"token-{state['execution']}")
                    break
                except StepTransientError:
                    if attempt == attempts - 1:
                        return self.fail(state, "StepTransientError", "exhausted")
                except StepPermanentError as exc:
                    return self.fail(state, "StepPermanentError", str(exc))
        return state

    def fail(self, state: dict[str, Any], error: str, message: str) -> dict[str, Any]:
        cause = json.dumps({"errorMessage": message, "errorType": error})
        return self.setup.compensate(state, {"Error": error, "Cause": cause})


@pytest.fixture
def world() -> World:
    return make_world(DEMO_LANDSCAPE.read_text())


def make_world(landscape_text: str) -> World:
    landscape = parse_landscape(landscape_text, file="demo.toml")
    crm, ledger, metrics = FakeCrm(), InMemoryLedger(), FakeMetrics()
    psa_clients, erp_customers = FakeTarget(SystemName.PRODUCTIVE), FakeTarget(SystemName.QUICKBOOKS)
    sync = AccountSync(
        source=lambda: crm,
        targets=lambda: [psa_clients, erp_customers],
        ledger=ledger,
        metrics=metrics,
        ownership=Ownership(landscape),
        mappings=Mappings(landscape),
        matcher=Matcher(landscape.matching),
    )
    opportunities = FakeOpportunities()
    psa, accounting = FakeEngagementTarget(SystemName.PRODUCTIVE), FakeEngagementTarget(SystemName.QUICKBOOKS)
    approvals, notifier, events, callback = InMemoryApprovals(), FakeNotifier(), FakeEvents(), FakeCallback()
    now = [datetime(2025, 3, 1, 12, 0, tzinfo=UTC)]
    setup = EngagementSetup(
        opportunities=lambda: opportunities,
        target={psa.system: psa, accounting.system: accounting}.__getitem__,
        accounts=lambda: crm,
        account_sync=lambda: sync,
        ledger=ledger,
        approvals=approvals,
        notifier=lambda: notifier,
        events=lambda: events,
        metrics=metrics,
        mappings=Mappings(landscape),
        landscape=landscape,
        required_account_fields=("name", "phone"),
        clock=lambda: now[0],
    )
    desk = ApprovalDesk(
        approvals=approvals,
        callback=lambda: callback,
        notifier=lambda: notifier,
        metrics=metrics,
        clock=lambda: now[0],
    )
    crm.put("001A", "Acme Consulting", phone="+1 555 0100")
    sync.sync_account("001A")
    return World(
        crm,
        opportunities,
        psa,
        accounting,
        psa_clients,
        erp_customers,
        ledger,
        approvals,
        notifier,
        events,
        callback,
        metrics,
        setup,
        desk,
        now,
    )


def _start(world: World, opportunity_id: str = "006W") -> dict[str, Any]:
    return initial_state(
        opportunity_id, world.opportunities.opportunities[opportunity_id].source.version, now=world.now[0]
    )


def test_approved_setup_leaves_one_active_engagement_in_each_system_and_tells_everyone(world: World) -> None:
    # given a won opportunity for a synced customer, with one contracted rate
    world.opportunities.put("006W", "001A")
    # when setup runs to the approval checkpoint
    state = world.run(BEFORE_APPROVAL, _start(world))
    # then a request with customer, dimensions, rates and budget waits, and the shells are drafts
    [pending] = world.desk.pending()
    assert pending.budget == "120000.00 USD"
    assert pending.dimensions["legal_entity"] == "US01"
    assert pending.dimensions["accounting_class"] == "100000000000128001"
    assert pending.rates == ({"role": "Consultant", "rate": "180.00", "currency": "USD"},)
    assert world.psa.statuses() == [EngagementStatus.DRAFT] and world.accounting.statuses() == [
        EngagementStatus.DRAFT
    ]
    assert next(iter(world.psa.engagements.values())).template == "900301"
    # when a person approves it and the workflow resumes
    world.desk.approve(pending.id, by="ops@northwind.example")
    assert world.callback.answers[0][:2] == ("success", pending.task_token)
    state = world.run(AFTER_APPROVAL, state)
    # then both engagements are active, staffing was told, the bus got the event, the CRM shows the ids
    assert state["status"] == "done"
    assert world.psa.statuses() == [EngagementStatus.ACTIVE] and world.accounting.statuses() == [
        EngagementStatus.ACTIVE
    ]
    assert world.notifier.kinds() == ["engagement_activated"]
    assert [type(e) for e in world.events.events] == [EngagementActivated]
    outcome = world.opportunities.written["006W"][-1]
    assert (outcome.status, outcome.project_id(Role.PSA), outcome.project_id(Role.ACCOUNTING)) == (
        "active",
        "productive-1",
        "quickbooks-1",
    )
    assert world.approvals.requests[pending.id].state is ApprovalState.APPROVED


def test_rejected_setup_closes_the_shells_opens_an_exception_and_shows_rejected_in_the_crm(
    world: World,
) -> None:
    world.opportunities.put("006W", "001A")
    state = world.run(BEFORE_APPROVAL, _start(world))
    [pending] = world.desk.pending()
    # when a person rejects it with a reason (the workflow's Catch compensates with the Rejected error)
    world.desk.reject(pending.id, by="cfo@northwind.example", reason="budget not signed off")
    _, _, failure = world.callback.answers[0]
    result = world.setup.compensate(state, failure)
    # then nothing created stays open, and the exception and the CRM say why
    assert result["status"] == "rejected"
    assert world.psa.statuses() == [EngagementStatus.CLOSED] and world.accounting.statuses() == [
        EngagementStatus.CLOSED
    ]
    [exception] = world.ledger.exceptions.values()
    assert exception.kind == "engagement_rejected"
    assert "request_approval" in exception.reason and "budget not signed off" in exception.reason
    assert world.opportunities.last_status("006W") == "rejected"
    # and the request keeps the approver's decision: compensation of a rejection never rewrites it
    # (it may run before the route has stored REJECTED, and must not turn it into TIMED_OUT)
    world.approvals.put(pending)  # as compensation may find it: still pending
    world.setup.compensate(state, failure)
    assert world.approvals.requests[pending.id].state is ApprovalState.PENDING


def test_transient_vendor_failure_is_retried_and_creates_one_engagement(world: World) -> None:
    world.opportunities.put("006W", "001A")
    world.psa.fail_next["create"] = flaky(2)
    world.run(BEFORE_APPROVAL, _start(world))
    assert len(world.psa.records) == 1 and len(world.accounting.records) == 1


def test_a_step_retried_after_it_created_the_shell_finds_it_instead_of_creating_another(world: World) -> None:
    world.opportunities.put("006W", "001A")
    state = world.run(BEFORE_APPROVAL[:4], _start(world))
    # the same step again (a Retry after a timeout that hid the success)
    world.setup.run(Step.GENERATE_SHELL, state)
    assert len(world.psa.records) == 1 and len(world.accounting.records) == 1


def test_permanent_failure_opens_an_exception_naming_the_step_the_cause_and_the_retry_command(
    world: World,
) -> None:
    world.opportunities.put("006W", "001A")
    world.psa.fail_next["rate_card"] = [StepPermanentError("role Consultant is unknown in the PSA")]
    result = world.run(BEFORE_APPROVAL, _start(world))
    [exception] = world.ledger.exceptions.values()
    assert result["failed_step"] == "apply_rate_card"
    assert (
        "step apply_rate_card failed" in exception.reason and "role Consultant is unknown" in exception.reason
    )
    assert f"close2cash workflow retry {result['execution']}" in exception.reason
    assert world.psa.statuses() == [EngagementStatus.CLOSED]
    assert world.opportunities.last_status("006W") == "failed"
    assert world.metrics.totals["WorkflowFailures[step=apply_rate_card]"] == 1


def test_a_retry_after_a_permanent_failure_completes_once_and_resolves_the_exception(world: World) -> None:
    # given a setup that failed after both shells existed, and was compensated
    world.opportunities.put("006W", "001A")
    first = _start(world)
    world.psa.fail_next["rate_card"] = [StepPermanentError("role Consultant is unknown in the PSA")]
    world.run(BEFORE_APPROVAL, first)
    assert world.psa.statuses() == [EngagementStatus.CLOSED]
    # when the cause is fixed and the retry runs the same input again, and it is approved
    world.now[0] += timedelta(hours=5)
    state = world.run(BEFORE_APPROVAL, first)
    request = world.approvals.requests[state["approval_id"]]
    assert request.state is ApprovalState.PENDING and request.requested_at == world.now[0]
    assert "reopened after an earlier failed run: psa, accounting" in request.engagement
    world.desk.approve(state["approval_id"], by="ops@example.com")
    done = world.run(AFTER_APPROVAL, state)
    # then the same engagements (reopened, not created again) are active, and the exception is resolved
    assert done["status"] == "done"
    assert world.psa.statuses() == [EngagementStatus.ACTIVE]
    assert world.accounting.statuses() == [EngagementStatus.ACTIVE]
    assert world.psa.reopened == ["productive-1"] and world.accounting.reopened == ["quickbooks-1"]
    [exception] = world.ledger.exceptions.values()
    assert exception.state == "resolved"
    assert "engagement active" in world.ledger.resolutions[exception.id]
    # counted for the dashboard: one opened, one resolved five hours later
    assert world.metrics.totals["ExceptionsOpened"] == 1 and world.metrics.totals["ExceptionsResolved"] == 1
    assert world.metrics.totals["ExceptionResolutionTime"] == 5 * 3600
    assert world.opportunities.last_status("006W") == "active"


def test_a_retry_finishes_a_draft_an_interrupted_run_left_without_reopening_it(world: World) -> None:
    # given the accounting shell refused, so only the PSA draft exists, and compensation closed it
    world.opportunities.put("006W", "001A")
    world.accounting.fail_next["create"] = [StepPermanentError("class 100000000000128001 is inactive")]
    first = _start(world)
    world.run(BEFORE_APPROVAL, first)
    # when the class is made active and the setup retried
    state = world.run(BEFORE_APPROVAL, first)
    # then the PSA shell is reopened and accounting gets its first and only shell
    assert world.psa.reopened == ["productive-1"] and world.accounting.reopened == []
    assert len(world.psa.records) == 1 and len(world.accounting.records) == 1
    assert state["status"] == "pending_approval" and state["reopened"] == ["psa"]


def test_accounting_gets_the_mapped_class_while_the_psa_keeps_the_firms_code(world: World) -> None:
    world.opportunities.put("006W", "001A")
    world.run(BEFORE_APPROVAL, _start(world))
    [in_psa] = world.psa.engagements.values()
    [in_accounting] = world.accounting.engagements.values()
    assert in_psa.dimensions.accounting_class == "Advisory"
    assert in_accounting.dimensions.accounting_class == "100000000000128001"


def test_the_deals_department_location_and_cost_center_are_mapped_for_accounting(world: World) -> None:
    world.opportunities.put("006W", "001A", department="Strategy", location="New York", cost_center="CC-100")
    state = world.run(BEFORE_APPROVAL, _start(world))
    assert state["dimensions"]["department"] == "Strategy" and state["dimensions"]["location"] == "New York"
    posting = state["posting_dimensions"]
    assert (posting["department"], posting["location"], posting["cost_center"]) == ("1", "3", "Delivery US")
    [in_accounting] = world.accounting.engagements.values()
    assert in_accounting.dimensions.location == "3" and in_accounting.dimensions.cost_center == "Delivery US"
    request = world.approvals.requests[state["approval_id"]]
    assert request.dimensions["cost_center"] == "Delivery US"


def test_a_location_with_no_mapping_for_the_entity_names_the_table_and_creates_nothing(world: World) -> None:
    # London is mapped for the UK entity only; this deal books in USD (US01)
    world.opportunities.put("006W", "001A", location="London")
    result = world.run(BEFORE_APPROVAL, _start(world))
    assert result["failed_step"] == "assign_dimensions"
    assert "locations" in result["cause"] and "London" in result["cause"]
    assert world.psa.records == {} and world.accounting.records == {}


def test_a_deal_without_priced_lines_gets_its_templates_default_card(world: World) -> None:
    world.opportunities.put("006W", "001A", lines=())
    state = world.run(BEFORE_APPROVAL, _start(world))
    assert state["rates_source"] == "template card Standard 2025 USD"
    assert {r["role"]: r["rate"] for r in state["rates"]} == {
        "Partner": "350.00",
        "Senior Consultant": "220.00",
        "Consultant": "180.00",
        "Architect": "250.00",
    }
    [(record_id, card)] = world.psa.rate_cards.items()
    assert card.currency == "USD" and record_id in world.psa.records
    assert world.approvals.requests[state["approval_id"]].rates[0]["rate"] == "350.00"


def test_a_template_card_without_rates_in_the_landscape_is_named_and_nothing_stays_open() -> None:
    text = DEMO_LANDSCAPE.read_text()
    without_usd = text.replace('name = "Standard 2025 USD"', 'name = "Standard 2025 GBP"', 1)
    without_usd = without_usd[: without_usd.rindex("[[rate_card]]")]  # one GBP card, no USD card
    world = make_world(without_usd)
    world.opportunities.put("006W", "001A", lines=())
    result = world.run(BEFORE_APPROVAL, _start(world))
    assert result["failed_step"] == "apply_rate_card"
    assert "rate card 'Standard 2025 USD'" in result["cause"] and "[[rate_card]]" in result["cause"]
    assert world.psa.statuses() == [EngagementStatus.CLOSED]


def test_a_shell_created_by_the_step_that_failed_is_closed_too(world: World) -> None:
    # given accounting refuses the shell after the PSA already created its own in the same step
    world.opportunities.put("006W", "001A")
    world.accounting.fail_next["create"] = [StepPermanentError("class 100000000000128001 is inactive")]
    result = world.run(BEFORE_APPROVAL, _start(world))
    # then compensation finds the PSA shell by its stamp and closes it: nothing is left behind
    assert result["failed_step"] == "generate_shell"
    assert world.psa.statuses() == [EngagementStatus.CLOSED]
    assert world.accounting.records == {}


def test_missing_template_mapping_names_the_mapping_and_creates_nothing(world: World) -> None:
    # given a service line the landscape maps to no project template
    world.opportunities.put("006W", "001A", service_line="Managed Services")
    result = world.run(BEFORE_APPROVAL, _start(world))
    [exception] = world.ledger.exceptions.values()
    assert result["failed_step"] == "assign_dimensions"
    assert "mapping 'project_templates' has no row for 'Managed Services'" in exception.reason
    assert world.psa.records == {} and world.accounting.records == {}


def test_customer_not_yet_synced_is_synced_first(world: World) -> None:
    # given a won opportunity whose account has never reached the PSA or accounting
    world.crm.put("001B", "Brand New Ltd", phone="+44 20 0000")
    world.opportunities.put("006N", "001B")
    world.run(BEFORE_APPROVAL, _start(world, "006N"))
    assert len(world.psa_clients.records) == 2 and len(world.erp_customers.records) == 2
    # and the engagement hangs under the client that sync just created
    assert set(world.psa.customers.values()) <= set(world.psa_clients.records)


def test_a_missing_required_account_field_is_named(world: World) -> None:
    world.crm.put("001C", "No Phone Inc")
    world.opportunities.put("006C", "001C")
    result = world.run(BEFORE_APPROVAL, _start(world, "006C"))
    assert result["failed_step"] == "validate_customer"
    assert "required field 'phone'" in result["cause"]


def test_reminder_goes_once_to_requests_pending_longer_than_the_threshold(world: World) -> None:
    world.opportunities.put("006W", "001A")
    world.run(BEFORE_APPROVAL, _start(world))
    assert world.desk.remind(older_than=timedelta(hours=24), now=world.now[0] + timedelta(hours=2)) == []
    later = world.now[0] + timedelta(hours=25)
    assert len(world.desk.remind(older_than=timedelta(hours=24), now=later)) == 1
    assert world.desk.remind(older_than=timedelta(hours=24), now=later) == []
    assert world.notifier.kinds() == ["approval_reminder"]


def test_approval_timeout_compensates_as_a_failure_of_the_approval_step(world: World) -> None:
    world.opportunities.put("006W", "001A")
    state = world.run(BEFORE_APPROVAL, _start(world))
    # the waiting state's result goes to $.approval, so the state the Catch passes on has no approval id
    as_caught = {**state, "approval_id": None}
    result = world.setup.compensate(as_caught, {"Error": "States.Timeout", "Cause": None})
    assert (result["status"], result["failed_step"]) == ("failed", "request_approval")
    assert world.approvals.requests[state["execution"]].state is ApprovalState.TIMED_OUT


def test_a_decision_after_the_workflow_stopped_waiting_is_refused_and_the_request_times_out(
    world: World,
) -> None:
    world.opportunities.put("006W", "001A")
    state = world.run(BEFORE_APPROVAL, _start(world))
    world.callback.gone.add(f"token-{state['execution']}")  # Step Functions: InvalidToken / TaskTimedOut
    with pytest.raises(AlreadyDecided, match="timed out: setup no longer waits"):
        world.desk.approve(state["approval_id"], by="ops@example.com")
    assert world.approvals.requests[state["approval_id"]].state is ApprovalState.TIMED_OUT
    assert world.callback.answers == []


def _deal_notice(record_id: str, operation: Operation, **extra: Any) -> ChangeNotice:
    """Salesforce's notice `e1` about opportunity `record_id`."""
    return ChangeNotice(
        provider=SystemName.SALESFORCE,
        event_id="e1",
        entity="opportunity",
        vendor_type="Opportunity",
        record_id=record_id,
        operation=operation,
        **extra,
    )


def _workflow_start(world: World, starter: FakeStarter, metrics: FakeMetrics) -> WorkflowStart:
    return WorkflowStart(
        opportunities=lambda: world.opportunities,
        starter=lambda: starter,
        ledger=world.ledger,
        metrics=metrics,
        approval_timeout_seconds=60,
    )


def test_duplicate_closed_won_starts_one_execution_and_a_reclose_starts_another(world: World) -> None:
    starter, metrics = FakeStarter(), FakeMetrics()
    start = _workflow_start(world, starter, metrics)
    world.opportunities.put("006W", "001A")
    notice = _deal_notice("006W", Operation.UPDATED)
    assert start.on_notice(notice) is not None
    assert start.on_notice(notice.model_copy(update={"event_id": "e2"})) is None
    world.opportunities.put("006W", "001A", version="2025-04-01T09:00:00.000Z")
    assert start.on_notice(notice.model_copy(update={"event_id": "e3"})) is not None
    assert len(starter.started) == 2
    assert metrics.totals["DuplicatesPrevented[flow=engagement_setup]"] == 1


def test_a_notice_that_says_the_deal_is_open_starts_nothing_and_reads_nothing(world: World) -> None:
    starter = FakeStarter()
    start = _workflow_start(world, starter, FakeMetrics())
    world.opportunities.put("006O", "001A", status=OpportunityStatus.OPEN)
    # given an outbound message whose IsWon field says the deal is still open
    notice = _deal_notice("006O", Operation.CHANGED, won=False)
    # when the workflow start hears of it
    assert start.on_notice(notice) is None
    # then no setup starts and the CRM is not asked
    assert starter.started == {} and world.opportunities.fetches == 0
    # and a notice that says it is won is fetched and checked as before
    world.opportunities.put("006O", "001A")
    assert start.on_notice(notice.model_copy(update={"event_id": "e2", "won": True})) is not None
    assert world.opportunities.fetches == 1


def test_the_write_back_echo_is_known_by_its_instant_without_a_fetch(world: World) -> None:
    starter, metrics = FakeStarter(), FakeMetrics()
    start = _workflow_start(world, starter, metrics)
    # given setup wrote its outcome back and Salesforce stamped that write at `written`
    written = datetime(2025, 3, 2, 8, 0, tzinfo=UTC)
    world.ledger.set_cursor(write_back_key(SystemName.SALESFORCE, "006E"), written.isoformat())
    notice = _deal_notice("006E", Operation.CHANGED, occurred_at=written, won=True)
    # when the outbound message about that write arrives
    assert start.on_notice(notice) is None
    # then it is the hub's own echo: nothing starts and the deal is not fetched
    assert starter.started == {} and world.opportunities.fetches == 0
    assert metrics.totals["EchoesSuppressed[flow=engagement_setup]"] == 1
    # and an edit after it (a later instant) is fetched and judged as before
    world.opportunities.put("006E", "001A")
    later = notice.model_copy(
        update={"event_id": "e2", "occurred_at": datetime(2025, 3, 2, 9, 0, tzinfo=UTC)}
    )
    assert start.on_notice(later) is not None
    assert world.opportunities.fetches == 1


def test_the_hubs_own_write_back_does_not_start_a_second_setup(world: World) -> None:
    starter = FakeStarter()
    start = _workflow_start(world, starter, FakeMetrics())
    closed = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    world.opportunities.put("006B", "001A", stage_changed_at=closed)
    notice = _deal_notice("006B", Operation.UPDATED)
    assert start.on_notice(notice) is not None
    # the write-back edits the opportunity: a new SystemModstamp, the same stage change
    world.opportunities.put("006B", "001A", version="2025-03-02T08:00:00.000Z", stage_changed_at=closed)
    assert start.on_notice(notice.model_copy(update={"event_id": "e2"})) is None
    # a re-open and re-close moves the stage change: a new setup
    later = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
    world.opportunities.put("006B", "001A", version="2025-04-01T09:00:00.000Z", stage_changed_at=later)
    assert start.on_notice(notice.model_copy(update={"event_id": "e3"})) is not None
    assert len(starter.started) == 2


def test_execution_names_are_legal_for_step_functions() -> None:
    name = execution_name("006Ab000001xYz", "2025-03-01T10:00:00.000+0000")
    assert name == "opp-006Ab000001xYz-2025-03-01T10-00-00-000-0000"
    assert len(execution_name("x" * 200, "v")) == 80
