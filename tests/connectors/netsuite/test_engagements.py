"""NetSuite as an EngagementTarget and census on the sandbox: a deal's project, draft to closed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from infra.local.clock import Clock
from infra.local.sandboxes.netsuite import NetSuiteError, NetSuiteSandbox
from shared.connectors.netsuite import NetSuiteConnector, engagement_mapper
from shared.domain.commercial import RateCard, RateCardLine
from shared.domain.dimensions import FinancialDimensions
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.engagements import BillingModel, Engagement
from shared.domain.errors import ValidationFailed
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from tests.connectors.netsuite.conftest import Waits, connect, make_account

OPPORTUNITY = SourceRef(system=SystemName.SALESFORCE, type="opportunity", id="006ERP", version="2")
# Oracle's default Project Status ids: 1 Closed, 2 In Progress, 4 Pending.
CLOSED, IN_PROGRESS, PENDING = "1", "2", "4"


def make_engagement(**changes: Any) -> Engagement:
    fields: dict[str, Any] = {
        "source": SourceRef(system=SystemName.PRODUCTIVE, type="project", id="P-1"),
        "name": "ERP rollout 2025",
        "account": SourceRef(system=SystemName.SALESFORCE, type="account", id="001ACME"),
        "opportunity": OPPORTUNITY,
        "template": "implementation-t&m",
        "billing_model": BillingModel.TIME_AND_MATERIALS,
        "currency": "USD",
        "rate_card": SourceRef(system=SystemName.PRODUCTIVE, type="rate_card", id="RC-1"),
        "dimensions": FinancialDimensions(legal_entity="US01"),
        "budget": Money.of("45000.00", "USD"),
        "start_date": date(2026, 12, 7),
        "end_date": date(2027, 3, 31),
    }
    fields.update(changes)
    return Engagement(**fields)


@pytest.fixture
def connector(sandbox: NetSuiteSandbox, clock: Clock) -> NetSuiteConnector:
    return connect(sandbox, clock, Waits(clock))


@pytest.fixture
def customer_id(connector: NetSuiteConnector) -> str:
    """The account's customer, created by the customer sync."""
    return connector.create_account(make_account(), idempotency_key="create:001ACME").ref.id


def _create(connector: NetSuiteConnector, customer_id: str, **changes: Any) -> str:
    record = connector.create_engagement(
        make_engagement(**changes), customer_id=customer_id, idempotency_key="opp:006ERP@2"
    )
    return record.ref.id


def _time_bill(sandbox: NetSuiteSandbox, project_id: str) -> dict[str, Any]:
    return {
        "employee": {"id": sandbox.add_employee("Emily", "Platt")},
        "customer": {"id": project_id},
        "item": {"id": sandbox.add_item("Consulting")},
        "hours": 2,
        "tranDate": "2026-12-08",
    }


def test_the_same_create_sent_twice_makes_one_pending_project_under_the_customer(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, customer_id: str
) -> None:
    # when the workflow creates the engagement's financial project
    first = connector.create_engagement(
        make_engagement(), customer_id=customer_id, idempotency_key="opp:006ERP@2"
    )
    writes, calls = sandbox.writes, connector.http_calls
    # and the step is retried after a crash
    second = connector.create_engagement(
        make_engagement(), customer_id=customer_id, idempotency_key="opp:006ERP@2"
    )
    # then NetSuite holds one project, under the account's customer, Pending, stamped with the deal
    assert second == first
    assert (first.ref.system, first.ref.type, first.status) == (
        SystemName.NETSUITE,
        "job",
        EngagementStatus.DRAFT,
    )
    [project] = sandbox.records("job")
    assert project["id"] == first.ref.id and project["parent"] == customer_id
    assert project["companyName"] == "ERP rollout 2025" and project["entityStatus"] == PENDING
    assert (project["startDate"], project["projectedEndDate"]) == (date(2026, 12, 7), date(2027, 3, 31))
    assert project["externalId"] == "c2c-salesforce-opportunity-006_e_r_p"
    # and the second found the first with one GET and wrote nothing
    assert sandbox.writes == writes
    assert connector.http_calls == calls + 1


def test_no_time_is_entered_on_a_draft_and_time_is_taken_once_it_is_active(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, customer_id: str
) -> None:
    # given a draft project nobody approved yet
    project_id = _create(connector, customer_id)
    # then a consultant's time on it is refused
    with pytest.raises(NetSuiteError, match="USER_ERROR"):
        sandbox.enter("timeBill", _time_bill(sandbox, project_id))
    # when the approval comes and the engagement is activated
    active = connector.activate_engagement(project_id)
    # then the project is In Progress and takes time
    assert active.status is EngagementStatus.ACTIVE
    assert sandbox.record("job", project_id)["entityStatus"] == IN_PROGRESS
    assert sandbox.enter("timeBill", _time_bill(sandbox, project_id))
    # and activating again writes nothing
    writes = sandbox.writes
    assert connector.activate_engagement(project_id).status is EngagementStatus.ACTIVE
    assert sandbox.writes == writes


def test_a_rejected_approval_closes_the_project_which_cannot_then_be_activated(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, customer_id: str
) -> None:
    # given a draft whose approval the partner rejected
    project_id = _create(connector, customer_id)
    # when setup compensates
    closed = connector.close_engagement(project_id, reason="rejected by J. Partner: rate too low")
    # then the project is Closed, inactive, takes no time, and says why
    held = sandbox.record("job", project_id)
    assert closed.status is EngagementStatus.CLOSED
    assert (held["entityStatus"], held["isInactive"], held["allowTime"]) == (CLOSED, True, False)
    assert held["comments"] == "close2cash closed: rejected by J. Partner: rate too low"
    # and a late activation is refused, naming the reason; closing again writes nothing
    with pytest.raises(ValidationFailed, match="rate too low"):
        connector.activate_engagement(project_id)
    writes = sandbox.writes
    assert connector.close_engagement(project_id, reason="again").status is EngagementStatus.CLOSED
    assert sandbox.writes == writes


def test_a_closed_project_reopens_as_a_draft_with_the_engagements_terms(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, customer_id: str
) -> None:
    # given a project closed after a rejection, on which a bookkeeper had written a comment
    project_id = _create(connector, customer_id)
    sandbox.edit("job", project_id, {"comments": "PO 4471 expected"})
    connector.close_engagement(project_id, reason="rejected")
    # when the deal is won again with corrected terms and setup runs again
    corrected = make_engagement(name="ERP rollout 2026", start_date=date(2027, 1, 4), end_date=None)
    reopened = connector.reopen_engagement(project_id, corrected)
    # then the same project is a Pending draft again, active, with the new name; the comment kept
    held = sandbox.record("job", project_id)
    assert (reopened.status, reopened.name) == (EngagementStatus.DRAFT, "ERP rollout 2026")
    assert (held["entityStatus"], held["isInactive"], held["allowTime"]) == (PENDING, False, False)
    assert (held["startDate"], held["comments"]) == (date(2027, 1, 4), "PO 4471 expected")
    assert len(sandbox.records("job")) == 1
    # and it activates like any draft; reopening an active project changes nothing
    assert connector.activate_engagement(project_id).status is EngagementStatus.ACTIVE
    writes = sandbox.writes
    assert connector.reopen_engagement(project_id, corrected).status is EngagementStatus.ACTIVE
    assert sandbox.writes == writes


def test_a_create_for_a_deal_whose_project_was_closed_reopens_that_project(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, customer_id: str
) -> None:
    # given the deal's project, closed by an earlier setup that was rejected
    project_id = _create(connector, customer_id)
    connector.close_engagement(project_id, reason="rejected")
    # when a later setup (the cutover's, say) asks NetSuite for the deal's draft again
    again = connector.create_engagement(
        make_engagement(), customer_id=customer_id, idempotency_key="cutover:US01"
    )
    # then the one project is the draft again, and activates
    assert (again.ref.id, again.status) == (project_id, EngagementStatus.DRAFT)
    assert len(sandbox.records("job")) == 1
    assert connector.activate_engagement(project_id).status is EngagementStatus.ACTIVE


def test_after_a_crash_the_project_is_found_by_its_deal(
    sandbox: NetSuiteSandbox, clock: Clock, connector: NetSuiteConnector, customer_id: str
) -> None:
    assert connector.find_engagement(OPPORTUNITY) is None
    # given a create that succeeded in NetSuite before the worker crashed
    project_id = _create(connector, customer_id)
    # when a fresh worker looks for the deal's project
    fresh = connect(sandbox, clock, Waits(clock))
    found = fresh.find_engagement(OPPORTUNITY, customer_id=customer_id)
    # then it finds the one project (one GET by external id), and none for another deal
    assert found is not None and (found.ref.id, found.status) == (project_id, EngagementStatus.DRAFT)
    other = OPPORTUNITY.model_copy(update={"id": "006OTHER"})
    assert fresh.find_engagement(other) is None
    # and the workflow, told nothing was found for another deal, creates that one without looking again
    calls = fresh.http_calls
    fresh.create_engagement(
        make_engagement(opportunity=other), customer_id=customer_id, idempotency_key="k", searched=True
    )
    assert fresh.http_calls == calls + 2  # the upsert and its read back
    assert len(sandbox.records("job")) == 2


def test_the_census_lists_every_project_with_the_deal_its_stamp_names(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, customer_id: str
) -> None:
    # given two of the hub's projects, one active and one closed, and one a project manager made in the UI
    active_id = _create(connector, customer_id)
    connector.activate_engagement(active_id)
    other = OPPORTUNITY.model_copy(update={"id": "006LOST"})
    closed = connector.create_engagement(
        make_engagement(opportunity=other, name="Audit"), customer_id=customer_id, idempotency_key="k2"
    )
    connector.close_engagement(closed.ref.id, reason="failed")
    ui_id = sandbox.enter("job", {"companyName": "Internal training", "parent": {"id": customer_id}})
    # when reconciliation takes the census
    held = {engagement.ref.id: engagement for engagement in connector.census_engagements()}
    # then every project is there, the hub's ones naming their deals, under the customer, in their status
    assert set(held) == {active_id, closed.ref.id, ui_id}
    assert [(h.opportunity, h.status) for h in (held[active_id], held[closed.ref.id])] == [
        (OPPORTUNITY.model_copy(update={"version": None}), EngagementStatus.ACTIVE),
        (other.model_copy(update={"version": None}), EngagementStatus.CLOSED),
    ]
    assert held[ui_id].opportunity is None
    assert {h.customer for h in held.values()} == {customer_id}
    assert held[active_id].name == "ERP rollout 2025" and held[active_id].ref.version is not None
    assert held[active_id].link == (
        f"https://tstdrv1234567.app.netsuite.com/app/common/entity/custjob.nl?id={active_id}"
    )


def test_a_customer_that_does_not_exist_is_refused_with_netsuites_error(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    # when the engagement names a customer NetSuite does not have
    with pytest.raises(ValidationFailed) as refused:
        connector.create_engagement(make_engagement(), customer_id="999", idempotency_key="k")
    # then NetSuite's refusal is named (its code and the field), and no project exists
    assert "INVALID_CONTENT" in str(refused.value) and "parent" in str(refused.value)
    assert sandbox.records("job") == []


def test_an_engagement_in_a_currency_the_connection_does_not_map_writes_nothing(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, customer_id: str
) -> None:
    writes, calls = sandbox.writes, connector.http_calls
    with pytest.raises(ValidationFailed, match="EUR"):
        connector.create_engagement(
            make_engagement(currency="EUR", budget=Money.of("1000.00", "EUR")),
            customer_id=customer_id,
            idempotency_key="k",
        )
    assert (sandbox.writes, connector.http_calls) == (writes, calls)


def test_the_deals_project_is_not_moved_to_another_customer(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, customer_id: str
) -> None:
    # given the deal's project under Acme, and the deal now pointing at another customer
    project_id = _create(connector, customer_id)
    other = connector.create_account(
        make_account(crm_id="001BETA", name="Beta LLC"), idempotency_key="b"
    ).ref.id
    # then a create for the other customer is refused, naming both, and the project stays Acme's
    with pytest.raises(ValidationFailed, match=f"under customer {customer_id}, not {other}"):
        connector.create_engagement(make_engagement(), customer_id=other, idempotency_key="k")
    assert sandbox.record("job", project_id)["parent"] == customer_id


def test_a_rate_card_is_not_written_to_the_project(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, customer_id: str
) -> None:
    # NetSuite prices time on the time bill: the rate card leaves the project as it was
    project_id = _create(connector, customer_id)
    writes, calls = sandbox.writes, connector.http_calls
    card = RateCard(
        source=SourceRef(system=SystemName.PRODUCTIVE, type="rate_card", id="RC-1"),
        id="RC-1",
        name="Standard 2026",
        currency="USD",
        lines=(
            RateCardLine(
                role="Consultant", rate=Money.of(Decimal("150.00"), "USD"), effective_from=date(2026, 1, 1)
            ),
        ),
    )
    connector.apply_rate_card(project_id, card)
    assert (sandbox.writes, connector.http_calls) == (writes, calls)
    assert engagement_mapper.closed_reason(sandbox.record("job", project_id).get("comments")) is None
