"""Pure mapping between the hub's engagement and NetSuite's project record (REST `job`); no I/O.

The project the hub makes for a deal carries an external id derived from the deal (the opportunity's
reference, encoded as a customer's is from its CRM account): it is the upsert key
(`PUT .../job/eid:{externalId}`), the way to find the project after a crash (one GET), and the stamp
the census decodes back into the deal.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html

Where an engagement stands is the project's Status (`entityStatus`), a value of the account's
Project Status list. Oracle's example names the list's defaults, "1 = Closed, 2 = In Progress,
3 = Not Awarded, 4 = Pending, 5 = Awarded", and the list can be edited per account (the connection's
`project_statuses` overrides the ids). The hub writes Pending for a draft waiting for approval, In
Progress once approved, Closed for a shell compensated after a rejected or failed setup (made
inactive too, so nobody picks it on a time sheet or invoice). Time and expense entry are allowed
only while the engagement is active.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_3795306517.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_0414124831.html
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.connectors.netsuite import mapper
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.netsuite.project_schemas import Project, ProjectRow
from shared.domain.engagement_ports import EngagementRecord, EngagementStatus
from shared.domain.errors import ValidationFailed
from shared.domain.models import SourceRef, SystemName
from shared.domain.reconciliation_ports import HeldEngagement

if TYPE_CHECKING:
    from shared.domain.engagements import Engagement

PROJECT_TYPE = "job"
# Oracle's default Project Status ids (see the module docstring), per engagement status.
DEFAULT_STATUS_IDS: dict[EngagementStatus, str] = {
    EngagementStatus.DRAFT: "4",  # Pending
    EngagementStatus.ACTIVE: "2",  # In Progress
    EngagementStatus.CLOSED: "1",  # Closed
}
# Whether time and expenses may be entered on the project ("Allow Time Entry", "Allow Expenses"):
# not before approval, nor after a compensation, so nobody bills a deal nobody approved.
# https://www.netsuite.com/help/helpcenter/en_US/srbrowser/Browser2020_1/script/record/job.html
WORK_ALLOWED: dict[EngagementStatus, dict[str, bool]] = {
    status: {
        "allowTime": status is EngagementStatus.ACTIVE,
        "allowExpenses": status is EngagementStatus.ACTIVE,
    }
    for status in EngagementStatus
}
# The line of the project's Comments that says why the hub closed it (a bookkeeper reads it there).
CLOSED_MARK = "close2cash closed: "
MAX_REASON = 300
# The project in NetSuite's own UI (UNCONFIRMED: the form's address is not in Oracle's REST docs;
# the host is the account's app domain, as its REST host is its suitetalk domain).
PROJECT_LINK = "https://{host}.app.netsuite.com/app/common/entity/custjob.nl?id={id}"


def stamp_source(engagement: Engagement) -> SourceRef:
    """The reference a deal's project is stamped with: its opportunity, else the engagement itself.

    `find_engagement` is asked by opportunity (the workflow knows it before any project exists).
    """
    return engagement.opportunity if engagement.opportunity is not None else engagement.source


def external_id(opportunity: SourceRef) -> str:
    """The project's external id for a deal: the customer encoding (case-proof, decodes back)."""
    return mapper.external_id(opportunity)


def status_ids(connection: NetSuiteConnection) -> dict[EngagementStatus, str]:
    """The Project Status id written for each engagement status (Oracle's, unless the connection says)."""
    configured = {EngagementStatus(key): value for key, value in connection.project_statuses.items()}
    return {**DEFAULT_STATUS_IDS, **configured}


def status_ref(status: EngagementStatus, connection: NetSuiteConnection) -> dict[str, str]:
    """`{"id": ...}` of the Project Status for `status`."""
    return {"id": status_ids(connection)[status]}


def engagement_status(
    status_id: str | None, inactive: bool, connection: NetSuiteConnection
) -> EngagementStatus:
    """Inactive or Closed -> CLOSED; Pending -> DRAFT; any other status (In Progress, Awarded, a
    firm's own) -> ACTIVE: the project is open for work."""
    ids = status_ids(connection)
    if inactive or status_id == ids[EngagementStatus.CLOSED]:
        return EngagementStatus.CLOSED
    if status_id == ids[EngagementStatus.DRAFT]:
        return EngagementStatus.DRAFT
    return EngagementStatus.ACTIVE


def project_status(project: Project, connection: NetSuiteConnection) -> EngagementStatus:
    """The engagement status a project record reads as."""
    status_id = project.entityStatus.id if project.entityStatus else None
    return engagement_status(status_id, project.isInactive is True, connection)


def project_name(name: str) -> str:
    """The Project Name written for an engagement's name (runs of whitespace as one space)."""
    return " ".join(name.split())


def create_payload(
    engagement: Engagement, connection: NetSuiteConnection, *, customer_id: str
) -> dict[str, Any]:
    """Body of `PUT .../job/eid:{externalId}`: a Pending project under customer `customer_id`.

    The customer is `parent` (REST does not serve `customer` on a project). The currency is the
    engagement's, as the connection maps ISO codes to currency records; the subsidiary is sent only
    where the connection maps the engagement's legal entity to one (otherwise the project takes its
    customer's). Dates are `YYYY-MM-DD`.
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_83090456314.html
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157305090645.html
    """
    currency = connection.currency_id(engagement.currency)
    if currency is None:
        raise ValidationFailed(
            f"netsuite: engagement {engagement.name!r} is in {engagement.currency}, which the NetSuite "
            "connection does not map to a currency record: add it to the connection's currencies"
        )
    body: dict[str, Any] = {
        "companyName": project_name(engagement.name),
        "parent": {"id": customer_id},
        "entityStatus": status_ref(EngagementStatus.DRAFT, connection),
        "isInactive": False,
        **WORK_ALLOWED[EngagementStatus.DRAFT],
        "startDate": engagement.start_date.isoformat(),
        "currency": {"id": currency},
    }
    if engagement.end_date is not None:
        body["projectedEndDate"] = engagement.end_date.isoformat()
    subsidiary = connection.subsidiaries.get(engagement.dimensions.legal_entity)
    if subsidiary:
        body["subsidiary"] = {"id": subsidiary}
    return body


def source_ref(record_id: str, last_modified: str | None) -> SourceRef:
    """Where a project lives: netsuite/job/<internal id>@<lastModifiedDate>."""
    return SourceRef(
        system=SystemName.NETSUITE,
        type=PROJECT_TYPE,
        id=record_id,
        version=mapper.version_of(mapper.rest_time(last_modified)),
    )


def engagement_record(project: Project, connection: NetSuiteConnection) -> EngagementRecord:
    """A project as the engagement's record in NetSuite."""
    if not project.id:
        raise ValueError("a NetSuite project without an id cannot be referenced")
    return EngagementRecord(
        ref=source_ref(project.id, project.lastModifiedDate),
        status=project_status(project, connection),
        name=project.companyName or project.entityId or f"Project {project.id}",
    )


def project_link(record_id: str, connection: NetSuiteConnection) -> str:
    """The project's page in NetSuite's UI."""
    host = connection.account_id.lower().replace("_", "-")
    return PROJECT_LINK.format(host=host, id=record_id)


def held_engagement(row: ProjectRow, connection: NetSuiteConnection) -> HeldEngagement:
    """A project as the census reads it, with the deal its external id names (None: not the hub's)."""
    modified = mapper.suiteql_time(row.lastmodified, mapper.query_zone(connection))
    inactive = (row.isinactive or "F").upper() == "T"
    return HeldEngagement(
        system=SystemName.NETSUITE,
        ref=SourceRef(
            system=SystemName.NETSUITE, type=PROJECT_TYPE, id=row.id, version=mapper.version_of(modified)
        ),
        name=row.companyname or f"Project {row.id}",
        opportunity=mapper.origin(row.externalid),
        customer=row.customer,
        status=engagement_status(row.entitystatus, inactive, connection),
        link=project_link(row.id, connection),
    )


# --- the closed reason, one line of the project's Comments ------------------------------------


def _other_lines(comments: str | None) -> list[str]:
    return [line for line in (comments or "").splitlines() if not line.startswith(CLOSED_MARK)]


def comments_closed(comments: str | None, reason: str) -> str:
    """The Comments with the hub's closed line (the reason, on one line, at most MAX_REASON characters)."""
    text = " ".join(reason.split())[:MAX_REASON] or "setup not approved"
    return "\n".join([*_other_lines(comments), CLOSED_MARK + text])


def comments_reopened(comments: str | None) -> str:
    """The Comments without the hub's closed line (a bookkeeper's own lines kept)."""
    return "\n".join(_other_lines(comments))


def closed_reason(comments: str | None) -> str | None:
    """The reason the hub closed the project, from its Comments (None: not closed by the hub)."""
    for line in (comments or "").splitlines():
        if line.startswith(CLOSED_MARK):
            return line.removeprefix(CLOSED_MARK)
    return None
