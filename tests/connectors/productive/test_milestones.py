"""Milestones as Productive milestone tasks: created by engagement setup, completed by the project manager."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector
from shared.domain.billing_runs import CompletedMilestone, MilestoneTerm
from shared.domain.errors import ValidationFailed

TERMS = [
    MilestoneTerm(code="M1", name="Discovery", amount=Decimal(10000)),
    MilestoneTerm(code="M2", name="Build", amount=Decimal(30000)),
    MilestoneTerm(code="M3", name="Handover", amount=Decimal(5000)),
]


@pytest.fixture
def project(connector: ProductiveConnector, sandbox: ProductiveSandbox) -> str:
    company = connector.client.create_company({"name": "Acme Consulting GmbH"}).id
    template = sandbox.add_template("Fixed fee template")
    project = connector.client.copy_project(
        {"name": "Acme rollout", "template_id": template, "company_id": company}
    ).id
    sandbox.add_task_list(project, "Delivery")
    return project


def test_setup_creates_one_milestone_task_per_term_once(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, project: str
):
    # Given a fixed-fee engagement with three milestones
    # When engagement setup ensures them twice (a retried step)
    first = connector.ensure_milestones(project, TERMS)
    second = connector.ensure_milestones(project, TERMS)
    # Then the project has one milestone task per milestone, titled by code and name
    assert first == second
    titles = sorted(t["attributes"]["title"] for t in sandbox.tasks(project))
    assert titles == ["M1: Discovery", "M2: Build", "M3: Handover"]
    assert {t["attributes"]["type_id"] for t in sandbox.tasks(project)} == {2}


def test_completed_milestones_are_returned_with_their_dates_and_open_ones_are_not(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, project: str
):
    # Given the milestones, and an ordinary task called like one that is closed too
    connector.ensure_milestones(project, TERMS)
    lists = connector.billing.api.task_lists(project)
    connector.billing.api.create_task(
        {"title": "M3: check the slides"},
        {"project": ("projects", project), "task_list": ("task_lists", lists[0].id)},
    )
    # When the project manager closes M1 and M2 in Productive, and the ordinary task
    sandbox.complete_milestone(project, "M1", on=date(2025, 3, 14))
    sandbox.complete_milestone(project, "M2", on=date(2025, 4, 30))
    ordinary = next(t for t in sandbox.tasks(project) if t["attributes"]["type_id"] == 1)
    sandbox.close_task(ordinary["id"], on=date(2025, 4, 1))
    # Then the completed milestones are M1 and M2 on the days they were closed; M3 is not among them
    assert connector.completed_milestones(project) == [
        CompletedMilestone(code="M1", completed_on=date(2025, 3, 14)),
        CompletedMilestone(code="M2", completed_on=date(2025, 4, 30)),
    ]


def test_a_project_without_a_task_list_cannot_hold_milestones(
    connector: ProductiveConnector, sandbox: ProductiveSandbox
):
    # Given a project whose template carries no task list
    company = connector.client.create_company({"name": "Globex"}).id
    template = sandbox.add_template("Bare template")
    bare = connector.client.copy_project(
        {"name": "Globex", "template_id": template, "company_id": company}
    ).id
    # When setup ensures its milestones, Then it is told what the project lacks
    with pytest.raises(ValidationFailed, match="no open task list"):
        connector.ensure_milestones(bare, TERMS)
