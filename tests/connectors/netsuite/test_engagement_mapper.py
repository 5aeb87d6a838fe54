"""The pure side of NetSuite engagements: the project body, its status both ways, the closed reason."""

from __future__ import annotations

from typing import Any

import pytest

from shared.connectors.netsuite import engagement_mapper as em
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.netsuite.project_schemas import Project, ProjectRow
from shared.domain.dimensions import FinancialDimensions
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.errors import ConfigurationError
from shared.domain.models import SystemName
from tests.connectors.netsuite.test_engagements import OPPORTUNITY, make_engagement


def test_the_project_body_is_a_pending_project_without_time_under_the_customer(
    connection: dict[str, Any],
) -> None:
    body = em.create_payload(make_engagement(), NetSuiteConnection.parse(connection), customer_id="107")
    assert body == {
        "companyName": "ERP rollout 2025",
        "parent": {"id": "107"},
        "entityStatus": {"id": "4"},
        "isInactive": False,
        "allowTime": False,
        "allowExpenses": False,
        "startDate": "2026-12-07",
        "projectedEndDate": "2027-03-31",
        "currency": {"id": "1"},
    }


def test_the_subsidiary_is_sent_only_where_the_connection_maps_the_legal_entity(
    connection: dict[str, Any],
) -> None:
    # given a connection mapping UK01 to subsidiary 3 (and a default subsidiary for customers)
    settings = NetSuiteConnection.parse({**connection, "subsidiaries": {"UK01": "3"}})
    uk = make_engagement(dimensions=FinancialDimensions(legal_entity="UK01"))
    # then a UK01 engagement names it, a US01 one leaves NetSuite to take the customer's
    assert em.create_payload(uk, settings, customer_id="107")["subsidiary"] == {"id": "3"}
    assert "subsidiary" not in em.create_payload(make_engagement(), settings, customer_id="107")


@pytest.mark.parametrize(
    ("status_id", "inactive", "expected"),
    [
        ("4", False, EngagementStatus.DRAFT),  # Pending
        ("2", False, EngagementStatus.ACTIVE),  # In Progress
        ("5", False, EngagementStatus.ACTIVE),  # Awarded: open for work
        (None, False, EngagementStatus.ACTIVE),  # a project entered without a status
        ("1", False, EngagementStatus.CLOSED),  # Closed
        ("2", True, EngagementStatus.CLOSED),  # inactive, whatever its status says
    ],
)
def test_a_projects_status_reads_as_the_engagements(
    connection: dict[str, Any], status_id: str | None, inactive: bool, expected: EngagementStatus
) -> None:
    settings = NetSuiteConnection.parse(connection)
    project = Project(id="9", entityStatus={"id": status_id} if status_id else None, isInactive=inactive)
    row = ProjectRow(id="9", entitystatus=status_id, isinactive="T" if inactive else "F")
    assert em.project_status(project, settings) is expected
    assert em.held_engagement(row, settings).status is expected


def test_a_firm_with_its_own_project_statuses_names_their_ids(connection: dict[str, Any]) -> None:
    # given a firm whose drafts are "Awaiting approval" (id 7) in its Project Status list
    settings = NetSuiteConnection.parse({**connection, "project_statuses": {"draft": "7"}})
    # then a new project is written with it and read back as a draft; Pending is just open work there
    assert em.create_payload(make_engagement(), settings, customer_id="1")["entityStatus"] == {"id": "7"}
    assert em.engagement_status("7", False, settings) is EngagementStatus.DRAFT
    assert em.engagement_status("4", False, settings) is EngagementStatus.ACTIVE
    assert em.status_ref(EngagementStatus.CLOSED, settings) == {"id": "1"}


def test_a_status_name_the_hub_does_not_know_is_refused_in_the_connection(connection: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="project_statuses"):
        NetSuiteConnection.parse({**connection, "project_statuses": {"pending": "4"}})


def test_the_census_row_decodes_the_deal_from_the_external_id(connection: dict[str, Any]) -> None:
    settings = NetSuiteConnection.parse(connection)
    row = ProjectRow(
        id="312",
        externalid=em.external_id(OPPORTUNITY).upper(),  # NetSuite compares external ids without case
        companyname="ERP rollout 2025",
        entitystatus="2",
        customer="107",
        lastmodified="2026-12-03T09:15:00",
    )
    held = em.held_engagement(row, settings)
    assert held.opportunity == OPPORTUNITY.model_copy(update={"version": None})
    assert (held.system, held.ref.type, held.ref.version) == (
        SystemName.NETSUITE,
        "job",
        "2026-12-03T09:15:00Z",
    )
    assert (held.customer, held.name) == ("107", "ERP rollout 2025")


def test_the_closed_reason_is_one_line_of_the_comments_and_leaves_with_a_reopen() -> None:
    closed = em.comments_closed("PO 4471 expected", "rejected by\nJ. Partner " + "x" * 400)
    assert closed.splitlines()[0] == "PO 4471 expected"
    reason = em.closed_reason(closed)
    assert reason is not None and reason.startswith("rejected by J. Partner") and len(reason) == em.MAX_REASON
    # closing twice keeps one closed line; reopening keeps only the bookkeeper's
    assert em.comments_closed(closed, "again").count(em.CLOSED_MARK) == 1
    assert em.comments_reopened(closed) == "PO 4471 expected"
    assert em.closed_reason(em.comments_reopened(closed)) is None
