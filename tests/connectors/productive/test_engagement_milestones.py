"""Engagement setup on Productive gives a fixed-fee project its milestone tasks before archiving the draft."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector, build
from shared.domain.billing_runs import milestone_terms
from shared.domain.engagement_ports import EngagementRecord, EngagementStatus
from shared.domain.engagements import BillingModel, Engagement, Milestone
from shared.domain.errors import TransientError, ValidationFailed
from shared.domain.money import Money

from .conftest import BASE_URL, Clock, crm_account
from .test_engagements import OPPORTUNITY, engagement


class RecordingTransport(httpx.WSGITransport):
    """The sandbox mounted in-process, keeping each request's method and path (under /api/v2/)."""

    def __init__(self, app: ProductiveSandbox) -> None:
        super().__init__(app=app)
        self.sent: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path.removeprefix("/api/v2/")))
        return super().handle_request(request)

    def paths(self) -> list[str]:
        return [path for _, path in self.sent]


@pytest.fixture
def transport(sandbox: ProductiveSandbox) -> RecordingTransport:
    return RecordingTransport(sandbox)


@pytest.fixture
def connector(
    sandbox: ProductiveSandbox, transport: RecordingTransport, clock: Clock
) -> Iterator[ProductiveConnector]:
    built = build(sandbox.connection(BASE_URL), transport=transport, sleep=lambda _: None, clock=clock)
    yield built
    built.close()


@pytest.fixture
def customer_id(connector: ProductiveConnector) -> str:
    return connector.create_account(crm_account(), idempotency_key="acct").ref.id


def fixed_fee(template: str) -> Engagement:
    """The ERP rollout sold for 48,000.00 EUR in two milestones."""
    return engagement(template).model_copy(
        update={
            "billing_model": BillingModel.FIXED_FEE,
            "rate_card": None,
            "fixed_fee": Money.of("48000.00", "EUR"),
            "milestones": (
                Milestone(code="M1", name="Discovery", amount=Money.of("18000.00", "EUR")),
                Milestone(code="M2", name="Build", amount=Money.of("30000.00", "EUR")),
            ),
        }
    )


def created_alone(
    connector: ProductiveConnector, transport: RecordingTransport, wanted: Engagement, customer_id: str
) -> EngagementRecord:
    """`create_engagement` with the transport's log emptied first, so it holds that call's requests."""
    transport.sent.clear()
    return connector.create_engagement(wanted, customer_id=customer_id, idempotency_key="k")


def milestone_titles(sandbox: ProductiveSandbox, project: str) -> list[str]:
    return [t["attributes"]["title"] for t in sandbox.tasks(project) if t["attributes"]["type_id"] == 2]


def test_a_fixed_fee_engagement_gets_one_milestone_task_per_milestone_before_it_is_archived(
    connector: ProductiveConnector,
    sandbox: ProductiveSandbox,
    transport: RecordingTransport,
    customer_id: str,
) -> None:
    # given a template that carries a "Delivery" task list
    template = sandbox.add_template("Template: fixed fee", task_lists=("Delivery",))
    # when the shell of a fixed-fee engagement with two milestones is created
    record = created_alone(connector, transport, fixed_fee(template), customer_id)
    # then the draft has the milestones as milestone tasks titled by code, on the list it copied
    project = record.ref.id
    assert record.status is EngagementStatus.DRAFT
    assert milestone_titles(sandbox, project) == ["M1: Discovery", "M2: Build"]
    [delivery] = sandbox.task_lists(project)
    assert delivery["attributes"]["name"] == "Delivery"
    assert {t["relationships"]["task_list"]["data"]["id"] for t in sandbox.tasks(project)} == {delivery["id"]}
    # and they were written while the project was still open (archived projects refuse most writes)
    writes = [(method, path) for method, path in transport.sent if method != "GET"]
    assert writes == [
        ("POST", "projects/copy"),
        ("PATCH", f"projects/{project}"),
        ("POST", "tasks"),
        ("POST", "tasks"),
        ("PATCH", f"projects/{project}/archive"),
        ("POST", "deals"),
    ]
    # and one listing of the tasks and one of the task lists were all it read for them
    reads = [path for method, path in transport.sent if method == "GET"]
    assert reads.count("tasks") == 1 and reads.count("task_lists") == 1

    # when the step runs again (the worker died before the workflow recorded it)
    again = created_alone(connector, transport, fixed_fee(template), customer_id)
    # then it is the same project and nothing new is written
    assert again.ref == record.ref
    assert [method for method, _ in transport.sent if method != "GET"] == []
    assert milestone_titles(sandbox, project) == ["M1: Discovery", "M2: Build"]


def test_a_setup_cut_short_between_milestones_finishes_them_without_duplicates(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, customer_id: str
) -> None:
    # given the copy was stamped and M1 written when the worker died
    template = sandbox.add_template("Template: fixed fee", task_lists=("Delivery",))
    copied = connector.client.copy_project({"name": "x", "template_id": template, "company_id": customer_id})
    connector.client.update_project(copied.id, {"project_number": "salesforce-006A000001"})
    connector.ensure_milestones(copied.id, milestone_terms(fixed_fee(template).milestones[:1]))
    # when the step runs again
    record = connector.create_engagement(fixed_fee(template), customer_id=customer_id, idempotency_key="k")
    # then the same project has M1 once and M2, and is a draft with its budget
    assert record.ref.id == copied.id and record.status is EngagementStatus.DRAFT
    assert milestone_titles(sandbox, copied.id) == ["M1: Discovery", "M2: Build"]
    assert len(sandbox.budgets(copied.id)) == 1


def test_a_time_and_materials_engagement_makes_no_task_calls(
    connector: ProductiveConnector,
    sandbox: ProductiveSandbox,
    transport: RecordingTransport,
    customer_id: str,
) -> None:
    template = sandbox.add_template("Template: ERP implementation", task_lists=("Delivery",))
    record = created_alone(connector, transport, engagement(template), customer_id)
    assert record.status is EngagementStatus.DRAFT
    assert not [path for path in transport.paths() if path.startswith(("tasks", "task_lists"))]
    assert sandbox.tasks(record.ref.id) == []


def test_a_template_without_a_task_list_fails_naming_it_and_a_retry_after_the_fix_finishes_the_draft(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, customer_id: str
) -> None:
    # given a template a firm set up without any task list
    template = sandbox.add_template("Template: bare")
    # when the shell of a fixed-fee engagement is created, then setup is told what to fix
    with pytest.raises(ValidationFailed) as refused:
        connector.create_engagement(fixed_fee(template), customer_id=customer_id, idempotency_key="k")
    [project] = [p["id"] for p in sandbox.projects()]
    message = str(refused.value)
    assert f"project {project}" in message and f"template {template} needs a task list" in message
    # and the workflow compensates: the project is archived, it has no budget, hence a draft
    connector.close_engagement(project, reason="setup failed")
    found = connector.find_engagement(OPPORTUNITY)
    assert found is not None and found.status is EngagementStatus.DRAFT
    # when a person adds a task list to the template and to the project, and retries the setup
    sandbox.add_task_list(template, "Delivery")
    sandbox.add_task_list(project, "Delivery")
    record = connector.create_engagement(fixed_fee(template), customer_id=customer_id, idempotency_key="k")
    # then the same project gets its milestones, archived again, with its budget
    assert record.ref.id == project and record.status is EngagementStatus.DRAFT
    assert milestone_titles(sandbox, project) == ["M1: Discovery", "M2: Build"]
    assert sandbox.project(project)["attributes"]["archived_at"] is not None
    assert len(sandbox.budgets(project)) == 1


def test_a_copy_carries_the_templates_task_lists_under_its_own_ids(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, customer_id: str
) -> None:
    template = sandbox.add_template("Template: phased", task_lists=("Discovery", "Delivery"))
    copied = connector.client.copy_project({"name": "y", "template_id": template, "company_id": customer_id})
    lists = sandbox.task_lists(copied.id)
    assert [t["attributes"]["name"] for t in lists] == ["Discovery", "Delivery"]
    assert not {t["id"] for t in lists} & {t["id"] for t in sandbox.task_lists(template)}
    # and the API lists them on the copy, as the connector reads them
    assert [t.attributes.name for t in connector.billing.api.task_lists(copied.id)] == [
        "Discovery",
        "Delivery",
    ]


def test_a_draft_whose_archive_failed_after_its_milestones_is_still_a_draft_and_is_finished(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, customer_id: str
) -> None:
    # given the milestones were written but Productive kept refusing the archive (the step will retry)
    template = sandbox.add_template("Template: fixed fee", task_lists=("Delivery",))
    sandbox.fail_next(4, 503, path="/archive")  # every attempt the connector makes (http.py: 4)
    with pytest.raises(TransientError):
        connector.create_engagement(fixed_fee(template), customer_id=customer_id, idempotency_key="k")
    # then the open project without a budget reads as a draft to finish, not an approved engagement
    found = connector.find_engagement(OPPORTUNITY)
    assert found is not None and found.status is EngagementStatus.DRAFT
    # and the retried step finishes it: milestones once, archived, one budget
    record = connector.create_engagement(fixed_fee(template), customer_id=customer_id, idempotency_key="k")
    assert record.ref == found.ref and record.status is EngagementStatus.DRAFT
    assert milestone_titles(sandbox, record.ref.id) == ["M1: Discovery", "M2: Build"]
    assert sandbox.project(record.ref.id)["attributes"]["archived_at"] is not None
    assert len(sandbox.budgets(record.ref.id)) == 1
