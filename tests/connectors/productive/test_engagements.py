"""The Productive connector as an EngagementTarget: template copy, draft, rate card, activation, closing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector
from shared.domain.commercial import RateCard, RateCardLine
from shared.domain.dimensions import FinancialDimensions
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.engagements import BillingModel, Engagement
from shared.domain.errors import NotFoundError, PermanentError, TransientError, ValidationFailed
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money

from .conftest import crm_account

OPPORTUNITY = SourceRef(system=SystemName.SALESFORCE, type="Opportunity", id="006A000001")


def _dimensions() -> FinancialDimensions:
    return FinancialDimensions(legal_entity="DE01")


def engagement(template: str, opportunity: SourceRef = OPPORTUNITY) -> Engagement:
    return Engagement(
        source=SourceRef(system=SystemName.SALESFORCE, type="Opportunity", id=opportunity.id),
        name="Acme ERP rollout",
        account=SourceRef(system=SystemName.SALESFORCE, type="Account", id="001A000001"),
        opportunity=opportunity,
        template=template,
        billing_model=BillingModel.TIME_AND_MATERIALS,
        currency="EUR",
        rate_card=SourceRef(system=SystemName.SALESFORCE, type="RateCard", id="rc-1"),
        dimensions=_dimensions(),
        budget=Money.of("48000.00", "EUR"),
        start_date=date(2025, 4, 1),
        end_date=date(2025, 9, 30),
    )


def rate_card(consultant: str = "120.00") -> RateCard:
    source = SourceRef(system=SystemName.SALESFORCE, type="RateCard", id="rc-1")
    return RateCard(
        source=source,
        id="rc-1",
        name="Standard 2025",
        currency="EUR",
        lines=(
            RateCardLine(
                role="Consultant", rate=Money.of(consultant, "EUR"), effective_from=date(2025, 1, 1)
            ),
            RateCardLine(role="Architect", rate=Money.of("180.00", "EUR"), effective_from=date(2025, 1, 1)),
            # a rate that ended before the engagement starts is not sold for it
            RateCardLine(
                role="Intern",
                rate=Money.of("50.00", "EUR"),
                effective_from=date(2024, 1, 1),
                effective_to=date(2024, 12, 31),
            ),
        ),
    )


@pytest.fixture
def customer_id(connector: ProductiveConnector) -> str:
    return connector.create_account(crm_account(), idempotency_key="acct").ref.id


@pytest.fixture
def template(sandbox: ProductiveSandbox) -> str:
    return sandbox.add_template("Template: ERP implementation")


def test_create_makes_a_draft_project_from_the_template(connector, sandbox, customer_id, template):
    # given a won opportunity mapped to the ERP template, when the shell is created
    record = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    # then one project for the customer, stamped with the opportunity, archived until approval,
    # with one open EUR budget
    assert record.status is EngagementStatus.DRAFT
    project = sandbox.project(record.ref.id)
    assert project["attributes"]["project_number"] == "salesforce-006A000001"
    assert project["attributes"]["archived_at"] is not None
    assert project["relationships"]["company"]["data"]["id"] == customer_id
    assert project["relationships"]["template_object"]["data"]["id"] == template
    (budget,) = sandbox.budgets(record.ref.id)
    assert budget["attributes"]["currency"] == "EUR" and budget["attributes"]["closed_at"] is None
    assert budget["attributes"]["date"] == "2025-04-01"
    assert record.ref.system is SystemName.PRODUCTIVE and record.name == "Acme ERP rollout"


def test_rerun_create_returns_the_same_project(connector, sandbox, customer_id, template):
    # given a shell already created (the worker crashed before recording it)
    first = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    # when create runs again, then it is the same project with one budget, and find sees it
    again = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    assert again.ref.id == first.ref.id
    assert len(sandbox.projects()) == 1 and len(sandbox.budgets(first.ref.id)) == 1
    found = connector.find_engagement(OPPORTUNITY)
    assert found is not None and found.ref.id == first.ref.id and found.status is EngagementStatus.DRAFT
    other = SourceRef(system=SystemName.SALESFORCE, type="Opportunity", id="006NEVER")
    assert connector.find_engagement(other) is None


def test_create_cut_short_before_the_budget_is_finished_on_rerun(connector, sandbox, customer_id, template):
    # given a project copied and stamped, but the worker died before archiving and budgeting it
    copied = connector.client.copy_project({"name": "x", "template_id": template, "company_id": customer_id})
    connector.client.update_project(copied.id, {"project_number": "salesforce-006A000001"})
    # when create runs again, then that project becomes the draft, with its budget
    record = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    assert record.ref.id == copied.id and record.status is EngagementStatus.DRAFT
    assert len(sandbox.projects()) == 1 and len(sandbox.budgets(copied.id)) == 1


def test_rate_card_applied_twice_leaves_one_service_per_role(connector, sandbox, customer_id, template):
    record = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    # when the rate card is applied, re-applied, and applied again with a new consultant rate
    connector.apply_rate_card(record.ref.id, rate_card())
    connector.apply_rate_card(record.ref.id, rate_card())
    connector.apply_rate_card(record.ref.id, rate_card(consultant="125.50"))
    # then each sold role has one service at its rate (in cents), the expired role none
    services = {s["attributes"]["name"]: s["attributes"] for s in sandbox.services(record.ref.id)}
    assert sorted(services) == ["Architect", "Consultant"]
    assert Decimal(services["Consultant"]["price"]) == Decimal("12550")
    assert Decimal(services["Architect"]["price"]) == Decimal("18000")
    assert services["Consultant"]["unit_id"] == 1 and services["Consultant"]["billing_type_id"] == 2


def test_rate_card_in_another_currency_is_refused(connector, customer_id, template):
    record = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    card = rate_card().model_copy(update={"currency": "USD", "lines": ()})
    with pytest.raises(ValidationFailed, match="USD"):
        connector.apply_rate_card(record.ref.id, card)


def test_activate_restores_the_project(connector, sandbox, customer_id, template):
    record = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    active = connector.activate_engagement(record.ref.id)
    assert active.status is EngagementStatus.ACTIVE
    assert sandbox.project(record.ref.id)["attributes"]["archived_at"] is None
    # activating twice is harmless, and a rerun of create does not put it back into draft
    assert connector.activate_engagement(record.ref.id).status is EngagementStatus.ACTIVE
    again = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    assert again.status is EngagementStatus.ACTIVE


def test_close_is_idempotent_and_final(connector, sandbox, customer_id, template):
    record = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    closed = connector.close_engagement(record.ref.id, reason="rejected by finance")
    again = connector.close_engagement(record.ref.id, reason="rejected by finance")
    assert closed.status is EngagementStatus.CLOSED and again.status is EngagementStatus.CLOSED
    assert sandbox.project(record.ref.id)["attributes"]["archived_at"] is not None
    assert all(b["attributes"]["closed_at"] for b in sandbox.budgets(record.ref.id))
    with pytest.raises(ValidationFailed, match="closed"):
        connector.activate_engagement(record.ref.id)


def test_reopen_makes_a_closed_project_a_draft_again_that_can_be_priced_and_activated(
    connector, sandbox, customer_id, template
):
    record = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    connector.close_engagement(record.ref.id, reason="approval timed out")
    reopened = connector.reopen_engagement(record.ref.id, engagement(template))
    assert reopened.status is EngagementStatus.DRAFT and reopened.ref == record.ref
    # the project stays archived (nobody books time on it before approval), its budget is open again
    assert sandbox.project(record.ref.id)["attributes"]["archived_at"] is not None
    assert [b["attributes"]["closed_at"] for b in sandbox.budgets(record.ref.id)] == [None]
    # reopening a draft is a no-op, and create on the rerun finds the same project
    assert connector.reopen_engagement(record.ref.id, engagement(template)).status is EngagementStatus.DRAFT
    again = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    assert again.ref == record.ref and len(sandbox.projects()) == 1
    connector.apply_rate_card(record.ref.id, rate_card())
    assert connector.activate_engagement(record.ref.id).status is EngagementStatus.ACTIVE


def test_rate_limited_create_is_retried(connector, sandbox, customer_id, template, sleeps):
    sandbox.fail_next(1, 429)
    record = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    assert record.status is EngagementStatus.DRAFT
    assert len(sleeps) >= 1 and len(sandbox.projects()) == 1


def test_a_copy_whose_answer_was_lost_is_not_sent_again_and_the_rerun_adopts_it(
    connector, sandbox, customer_id, template, sleeps
):
    # given Productive made the copy but the answer never arrived (a gateway timeout after the write)
    sandbox.fail_next(1, 504, path="/projects/copy", after=True)
    with pytest.raises(TransientError, match="whether the vendor acted on it is unknown"):
        connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    assert len(sandbox.projects()) == 1 and sleeps == []  # sent once, not retried blindly
    # when the step runs again, it finds that copy instead of making a second one
    record = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    [project] = sandbox.projects()
    assert record.ref.id == project["id"] and record.status is EngagementStatus.DRAFT
    assert project["attributes"]["project_number"] == "salesforce-006A000001"
    assert len(sandbox.budgets(record.ref.id)) == 1


def test_a_rerun_finds_its_project_even_if_the_search_does_not_index_project_numbers(
    connector, sandbox, customer_id, template
):
    first = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    sandbox.query_matches_numbers = False  # the pessimistic reading of Productive's free-text search
    again = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    assert again.ref == first.ref and len(sandbox.projects()) == 1
    # and compensation, which knows the client from the state, finds it the same way
    assert connector.find_engagement(OPPORTUNITY) is None
    found = connector.find_engagement(OPPORTUNITY, customer_id=customer_id)
    assert found is not None and found.ref == first.ref


def test_a_project_of_the_same_name_that_is_numbered_is_never_adopted(
    connector, sandbox, customer_id, template
):
    first = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    other = SourceRef(system=SystemName.SALESFORCE, type="Opportunity", id="006B000002")
    second = connector.create_engagement(
        engagement(template, opportunity=other), customer_id=customer_id, idempotency_key="k2"
    )
    assert first.ref.id != second.ref.id and len(sandbox.projects()) == 2


def test_an_unnumbered_project_of_the_same_name_from_another_template_is_not_adopted(
    connector, sandbox, customer_id, template
):
    # given a person copied a project of the same name for this client from another template
    other_template = sandbox.add_template("Template: advisory")
    foreign = connector.client.copy_project(
        {"name": engagement(template).name, "template_id": other_template, "company_id": customer_id}
    )
    # when the hub creates its engagement (Productive lists relationships' ids only when included)
    record = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    # then it makes its own copy of its own template instead of taking the stranger's project
    assert record.ref.id != foreign.id and len(sandbox.projects()) == 2
    assert sandbox.project(record.ref.id)["relationships"]["template_object"]["data"]["id"] == template


def test_an_unavailable_copy_is_retried_in_the_request(connector, sandbox, customer_id, template, sleeps):
    sandbox.fail_next(2, 503, path="/projects/copy")  # refused before acting: safe to send again
    record = connector.create_engagement(engagement(template), customer_id=customer_id, idempotency_key="k")
    assert record.status is EngagementStatus.DRAFT and len(sleeps) == 2 and len(sandbox.projects()) == 1


def test_unknown_template_is_a_clear_permanent_error(connector, customer_id):
    with pytest.raises(PermanentError, match="template 999 not found"):
        connector.create_engagement(engagement("999"), customer_id=customer_id, idempotency_key="k")


def test_unknown_customer_is_a_clear_permanent_error(connector, template):
    with pytest.raises(PermanentError, match="company 424242 not found"):
        connector.create_engagement(engagement(template), customer_id="424242", idempotency_key="k")


def test_missing_project_is_not_found(connector):
    with pytest.raises(NotFoundError, match="Project 999 not found"):
        connector.activate_engagement("999")


def test_engagement_without_opportunity_is_refused(connector, customer_id, template):
    orphan = engagement(template).model_copy(update={"opportunity": None})
    with pytest.raises(ValidationFailed, match="no opportunity"):
        connector.create_engagement(orphan, customer_id=customer_id, idempotency_key="k")
