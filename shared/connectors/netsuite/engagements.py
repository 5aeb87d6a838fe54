"""NetSuite engagements: each one a project (REST `job`) under the account's customer.

The engagement's financial project is NetSuite's own project record, created under the customer
(its `parent`) by upsert on an external id derived from the deal, so a resent create finds the
project the first one made. Its Status (`entityStatus`) carries the engagement's: Pending while it
waits for approval, In Progress once approved, Closed (and inactive) when setup is compensated.
Time bills, expense lines and invoices name the project as their customer.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_83090456314.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shared.connectors.netsuite import engagement_mapper as em
from shared.connectors.netsuite.client import MAX_PAGE
from shared.connectors.netsuite.project_schemas import Project, ProjectRow
from shared.domain.engagement_ports import EngagementRecord, EngagementStatus
from shared.domain.errors import NotFoundError, TransientError, ValidationFailed
from shared.domain.reconciliation_ports import HeldEngagement

if TYPE_CHECKING:
    from shared.connectors.netsuite.client import NetSuiteClient
    from shared.connectors.netsuite.connection import NetSuiteConnection
    from shared.domain.commercial import RateCard
    from shared.domain.engagements import Engagement
    from shared.domain.models import SourceRef

# Every project, inactive ones included (SuiteQL has no default filter on isinactive), by id.
# REST's `parent` is SuiteQL's `customer` column on the job table (UNCONFIRMED in Oracle's pages:
# the column list is the SuiteQL metadata's as public connectors show it).
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
PROJECTS_QUERY = (
    "SELECT id, externalid, companyname, entitystatus, customer, isinactive, "
    """TO_CHAR(lastmodifieddate, 'YYYY-MM-DD"T"HH24:MI:SS') AS lastmodified FROM job ORDER BY id"""
)


class NetSuiteEngagements:
    """The EngagementTarget and EngagementCensus ports for one NetSuite account."""

    connection: NetSuiteConnection
    client: NetSuiteClient

    def _read_project(self, record_id: str) -> Project:
        payload = self.client.get_record(em.PROJECT_TYPE, record_id)
        try:
            return Project.model_validate(payload)
        except ValidationError as exc:
            raise TransientError(f"netsuite: read project {record_id}: unreadable: {exc}") from exc

    def _engagement(self, project: Project) -> EngagementRecord:
        return em.engagement_record(project, self.connection)

    def _stamped(self, opportunity: SourceRef) -> Project | None:
        try:
            return self._read_project(f"eid:{em.external_id(opportunity)}")
        except NotFoundError:
            return None

    def find_engagement(
        self, opportunity: SourceRef, *, customer_id: str | None = None
    ) -> EngagementRecord | None:
        """The project an earlier attempt made for `opportunity`: one GET by its external id.

        The external id is exact and unique per record type, so `customer_id` narrows nothing.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html
        """
        del customer_id
        found = self._stamped(opportunity)
        return None if found is None else self._engagement(found)

    def create_engagement(
        self, engagement: Engagement, *, customer_id: str, idempotency_key: str, searched: bool = False
    ) -> EngagementRecord:
        """Upsert the engagement as a Pending project (no time, no expenses) under `customer_id`.

        The external id is the key NetSuite deduplicates on: the project a resend finds is returned
        as it stands, with no write (a PUT would set an approved project back to Pending); a closed
        one (a setup compensated earlier, a cutover setting the deal up again) is reopened as the
        draft, since the deal can have no second project. A customer that does not exist is refused
        by NetSuite, named (INVALID_CONTENT on `parent`).
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html
        """
        del idempotency_key
        stamp = em.stamp_source(engagement)
        external = em.external_id(stamp)
        body = em.create_payload(engagement, self.connection, customer_id=customer_id)
        existing = None if searched else self._stamped(stamp)
        if existing is not None:
            held_by = existing.parent.id if existing.parent else None
            if held_by != customer_id:
                # NetSuite fixes a project's customer once it exists: say so rather than move it.
                raise ValidationFailed(
                    f"netsuite: the project for {stamp} ({existing.id}) is under customer {held_by}, "
                    f"not {customer_id}; a project's customer cannot be changed: close it and set "
                    "the engagement up again"
                )
            if em.project_status(existing, self.connection) is EngagementStatus.CLOSED:
                # One project per deal (its external id): asked for a draft, the closed one becomes it.
                return self.reopen_engagement(str(existing.id), engagement)
            return self._engagement(existing)
        record_id = self.client.upsert_record(em.PROJECT_TYPE, external, body)
        return self._engagement(self._read_project(record_id or f"eid:{external}"))

    def apply_rate_card(self, record_id: str, rate_card: RateCard) -> None:
        """A no-op: the REST project record has no simple place for rates.

        A project's per-resource rates live on its Resources sublist, which REST does not serve;
        billing rate cards apply to charge-based projects through charge rules and need three more
        features (Billing Rate Cards, Per-Employee Billing Rates, Charge-Based Billing). Rates reach
        NetSuite on the transactions instead: each time bill carries its own `rate`, written from
        the rate card when time is posted.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_83090456314.html
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_4719596844.html
        """
        del record_id, rate_card

    def activate_engagement(self, record_id: str) -> EngagementRecord:
        """Pending -> In Progress, time and expenses allowed; In Progress already: no write.

        A closed project is refused: it was compensated because its setup was rejected or failed.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_1545142407.html
        """
        current = self._read_project(record_id)
        status = em.project_status(current, self.connection)
        if status is EngagementStatus.CLOSED:
            reason = em.closed_reason(current.comments) or "closed in NetSuite"
            raise ValidationFailed(
                f"netsuite: project {record_id} was closed ({reason}); it cannot be activated"
            )
        if status is EngagementStatus.ACTIVE:
            return self._engagement(current)
        return self._write(record_id, EngagementStatus.ACTIVE, {})

    def reopen_engagement(self, record_id: str, engagement: Engagement) -> EngagementRecord:
        """A closed project back to a Pending draft, active again, with `engagement`'s name and dates.

        The hub's closed line leaves its Comments; the customer, currency and subsidiary stay (a
        project's customer is fixed). Pending and In Progress projects are returned as they are.
        """
        current = self._read_project(record_id)
        if em.project_status(current, self.connection) is not EngagementStatus.CLOSED:
            return self._engagement(current)
        terms: dict[str, Any] = {
            "companyName": em.project_name(engagement.name),
            "startDate": engagement.start_date.isoformat(),
            "isInactive": False,
            "comments": em.comments_reopened(current.comments),
        }
        if engagement.end_date is not None:
            terms["projectedEndDate"] = engagement.end_date.isoformat()
        return self._write(record_id, EngagementStatus.DRAFT, terms)

    def close_engagement(self, record_id: str, *, reason: str) -> EngagementRecord:
        """Compensation: Status Closed, inactive, no time or expenses, `reason` in its Comments.

        NetSuite keeps an inactive project and its history; a closed one is left as it is.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_161581923822.html
        """
        current = self._read_project(record_id)
        if em.project_status(current, self.connection) is EngagementStatus.CLOSED:
            return self._engagement(current)
        terms = {"isInactive": True, "comments": em.comments_closed(current.comments, reason)}
        return self._write(record_id, EngagementStatus.CLOSED, terms)

    def _write(self, record_id: str, status: EngagementStatus, fields: dict[str, Any]) -> EngagementRecord:
        """PATCH the project's Status (and what that status allows) with `fields`, then read it back."""
        body = {"entityStatus": em.status_ref(status, self.connection), **em.WORK_ALLOWED[status], **fields}
        self.client.update_record(em.PROJECT_TYPE, record_id, body)
        return self._engagement(self._read_project(record_id))

    # --- EngagementCensus -----------------------------------------------------------------------

    def census_engagements(self) -> Iterator[HeldEngagement]:
        """Every project the account holds, inactive ones too, with the deal its stamp names.

        1,000 a page; a census beyond one query's 100,000 rows would be silently short, so it is
        refused instead.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html
        """
        items, more = self.client.suiteql_rows(PROJECTS_QUERY, page_size=MAX_PAGE)
        if more:
            raise TransientError(
                "netsuite: the project census reaches past SuiteQL's 100,000 rows; "
                "reconcile engagements through SuiteAnalytics Connect"
            )
        for item in items:
            try:
                row = ProjectRow.model_validate(item)
            except ValidationError as exc:
                raise TransientError(f"netsuite: suiteql: unreadable project: {exc}") from exc
            yield em.held_engagement(row, self.connection)
