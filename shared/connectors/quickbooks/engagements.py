"""QuickBooks Online engagements: each one a sub-customer of the account's customer (EngagementTarget)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.connectors.quickbooks import mapper
from shared.connectors.quickbooks.client import DuplicateNameError, QuickBooksClient, quote_literal
from shared.connectors.quickbooks.connection import QuickBooksConnection
from shared.connectors.quickbooks.records import SUB_CUSTOMERS, customers, request_id, sparse_update, tracking
from shared.connectors.quickbooks.schemas import Customer, TrackingCategory
from shared.domain.engagement_ports import EngagementRecord, EngagementStatus
from shared.domain.errors import ValidationFailed
from shared.domain.models import SourceRef

if TYPE_CHECKING:
    from shared.domain.commercial import RateCard
    from shared.domain.engagements import Engagement


class QuickBooksEngagements:
    """The EngagementTarget port for one QuickBooks Online company."""

    def __init__(self, connection: QuickBooksConnection, client: QuickBooksClient) -> None:
        self.connection = connection
        self.client = client

    # The engagement's financial project is a sub-customer (Customer with Job=true and ParentRef)
    # under the account's customer, created with the v3 REST Customer endpoint. QBO "Projects" are
    # created only through the GraphQL Project API (projectManagementCreateProject, its own OAuth
    # scope project-management.project, and a company with ProjectsEnabled); in REST, `IsProject`
    # is a read-only flag that QBO ignores on writes. The sub-customer is what REST documents for
    # job costing, works on every QBO edition, and is what a QBO project is underneath (a
    # sub-customer billed with its parent), so time, expenses and invoices post to it by CustomerRef.
    # https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
    # https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-projects/develop-project
    # https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-projects/get-started
    # https://github.com/intuit/QuickBooks-V3-DotNET-SDK/issues/197

    def find_engagement(
        self, opportunity: SourceRef, *, customer_id: str | None = None
    ) -> EngagementRecord | None:
        """The sub-customer an earlier attempt created for `opportunity`, found by its Notes stamp.

        Inactive ones included: a DRAFT or CLOSED engagement is inactive, and the default query
        leaves inactive customers out. Every sub-customer's stamp is compared exactly, so
        `customer_id` is not needed to narrow anything.
        https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
        """
        del customer_id
        customer = self._stamped_sub_customer(opportunity)
        return None if customer is None else mapper.engagement_record(customer)

    def _stamped_sub_customer(self, source: SourceRef) -> Customer | None:
        where = f"Active IN (true, false) AND {SUB_CUSTOMERS}"
        for customer in self.client.query_customers(where):
            if customer.is_sub_customer and mapper.carries_stamp(customer, source):
                return customer
        return None

    def create_engagement(
        self, engagement: Engagement, *, customer_id: str, idempotency_key: str, searched: bool = False
    ) -> EngagementRecord:
        """Create the engagement as an inactive (DRAFT) sub-customer of customer `customer_id`.

        `engagement.dimensions.accounting_class` / `.department` arrive already mapped to QBO Class
        and Department ids; each is checked to exist and be active before anything is written, since
        a posting tagged with a missing class would fail much later. The requestid comes from
        `idempotency_key`, so a resend replays the first answer; after the replay window a 6240
        (name taken) finds our own stamped sub-customer instead of failing.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        https://blogs.intuit.com/blog/2015/04/06/15346/
        """
        del searched  # nothing is looked up first: the requestid and the name refuse a second one
        class_id, department_id = _tracking_ids(engagement)
        self._check_before_create(customer_id, engagement, class_id, department_id)
        body = mapper.engagement_create_payload(
            engagement, parent_id=customer_id, class_id=class_id, department_id=department_id
        )
        # DisplayName is unique across all customers, vendors and employees, sub-customers included,
        # so two clients' deals called "Phase 2" collide: the second is named after its deal as well.
        names = (body["DisplayName"], mapper.engagement_unique_name(engagement))
        for attempt, name in enumerate(names):
            key = idempotency_key if attempt == 0 else f"{idempotency_key}:{attempt}"
            try:
                customer = self.client.create_customer(
                    {**body, "DisplayName": name}, request_id=request_id("e", key)
                )
                break
            except DuplicateNameError as exc:
                found = self._stamped_sub_customer(mapper.engagement_stamp_source(engagement))
                if found is not None:
                    return mapper.engagement_record(found)
                if attempt == len(names) - 1:
                    raise DuplicateNameError(
                        f"{exc}. QuickBooks already has customers, vendors or employees named "
                        f"{names[0]!r} and {name!r} that close2cash did not create for this "
                        "engagement: rename the engagement or those records"
                    ) from exc
        if customer.Active is not False and customer.Id:
            # Active is writable on Customer, but should a company answer a create with an active
            # record anyway, the draft is made inactive at once rather than left open for posting.
            return self._write_engagement(customer.Id, "d", lambda _: {"Active": False})
        return mapper.engagement_record(customer)

    def _check_before_create(
        self, customer_id: str, engagement: Engagement, class_id: str | None, department_id: str | None
    ) -> None:
        """The class, the department and the parent customer, read in one batch request, then checked."""
        queries: list[tuple[str, str | None, int]] = [
            ("Customer", f"Active IN (true, false) AND Id = {quote_literal(customer_id)}", 1)
        ]
        tracked = [
            (kind, entity, wanted)
            for kind, entity, wanted in (
                ("class", "Class", class_id),
                ("department", "Department", department_id),
            )
            if wanted
        ]
        queries += [
            (entity, f"Active IN (true, false) AND Id = {quote_literal(wanted)}", 1)
            for _, entity, wanted in tracked
        ]
        parent, *lists = self.client.batch_queries(queries)
        for (kind, _, wanted), rows in zip(tracked, lists, strict=True):
            self._require_tracking(kind, wanted, tracking(rows))
        self._require_parent(customer_id, engagement, customers(parent))

    def _look_up_tracking(
        self, kind: str, wanted: str | None, query: Callable[[str], list[TrackingCategory]]
    ) -> None:
        """`_require_tracking` with its own query (inactive ones asked for too)."""
        if wanted:
            self._require_tracking(
                kind, wanted, query(f"Active IN (true, false) AND Id = {quote_literal(wanted)}")
            )

    def _require_tracking(self, kind: str, wanted: str | None, found: list[TrackingCategory]) -> None:
        """Raise `ValidationFailed` naming `wanted` unless that Class/Department exists and is active.

        Inactive ones are asked for too, so the error can say "inactive" rather than "missing".
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/class
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/department
        """
        if not wanted:
            return
        if not found:
            raise ValidationFailed(
                f"quickbooks: {kind} {wanted!r} does not exist in company {self.connection.realm_id}: "
                f"map the engagement's {kind} to an existing QuickBooks {kind} id"
            )
        if found[0].Active is False:
            raise ValidationFailed(
                f"quickbooks: {kind} {wanted!r} ({found[0].Name}) is inactive in company "
                f"{self.connection.realm_id}: make it active or map the engagement to another {kind}"
            )

    def _require_parent(self, customer_id: str, engagement: Engagement, found: list[Customer]) -> None:
        """The parent must be an active customer in the engagement's currency, or a clear refusal.

        QBO answers a reference to an inactive customer with 610 "made inactive"; reading first
        lets the error name the customer. A sub-customer shares its parent's currency.
        """
        if not found:
            raise ValidationFailed(
                f"quickbooks: customer {customer_id} for engagement {engagement.name!r} does not exist: "
                "sync the account to QuickBooks first"
            )
        parent = found[0]
        if parent.Active is False:
            raise ValidationFailed(
                f"quickbooks: customer {customer_id} ({parent.DisplayName}) is inactive: "
                "make it active before setting up an engagement under it"
            )
        currency = parent.CurrencyRef.value if parent.CurrencyRef else self.connection.home_currency
        if currency != engagement.currency:
            raise ValidationFailed(
                f"quickbooks: customer {customer_id} is in {currency}, the engagement in "
                f"{engagement.currency}: a sub-customer takes its parent's currency"
            )

    def apply_rate_card(self, record_id: str, rate_card: RateCard) -> None:
        """A no-op: QBO keeps no rates on a customer or project.

        Rates live on the transactions: a TimeActivity carries its own HourlyRate and an invoice
        line its price, both written from the rate card when time is posted.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
        """
        del record_id, rate_card

    def activate_engagement(self, record_id: str) -> EngagementRecord:
        """Make the sub-customer active (sparse update with its SyncToken); active already: no write.

        A CLOSED engagement is refused: it was compensated because its setup was rejected or failed.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        """

        def activate(current: Customer) -> dict[str, Any] | None:
            status = mapper.engagement_status(current)
            if status is EngagementStatus.CLOSED:
                raise ValidationFailed(
                    f"quickbooks: engagement {record_id} was closed "
                    f"({mapper.stamped_value(current, mapper.CLOSED_LINE)}); it cannot be activated"
                )
            return None if status is EngagementStatus.ACTIVE else {"Active": True}

        return self._write_engagement(record_id, "a", activate)

    def reopen_engagement(self, record_id: str, engagement: Engagement) -> EngagementRecord:
        """Drop the closed mark of a compensated sub-customer, which stays inactive: a draft again.

        The class and department lines are rewritten from `engagement` (checked first, as at
        creation), since the mapping may have been corrected before the retry. DRAFT and ACTIVE
        are returned as they are.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        """
        class_id, department_id = _tracking_ids(engagement)

        def reopen(current: Customer) -> dict[str, Any] | None:
            if mapper.engagement_status(current) is not EngagementStatus.CLOSED:
                return None
            self._look_up_tracking("class", class_id, self.client.query_classes)
            self._look_up_tracking("department", department_id, self.client.query_departments)
            notes = mapper.notes_reopened(current.Notes, class_id=class_id, department_id=department_id)
            return {"Active": False, "Notes": notes}

        return self._write_engagement(record_id, "o", reopen)

    def close_engagement(self, record_id: str, *, reason: str) -> EngagementRecord:
        """Make the sub-customer inactive with `reason` in its Notes; closed already: no write.

        QBO has no delete for customers: making one inactive is its delete, and keeps any history.
        The reason is one more line of the Notes stamp, so `find_engagement` still finds it.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        """

        def close(current: Customer) -> dict[str, Any] | None:
            if mapper.engagement_status(current) is EngagementStatus.CLOSED:
                return None
            return {"Active": False, "Notes": mapper.notes_with_closed_reason(current.Notes, reason)}

        return self._write_engagement(record_id, "x", close)

    def _write_engagement(
        self, record_id: str, kind: str, change: Callable[[Customer], dict[str, Any] | None]
    ) -> EngagementRecord:
        """`_sparse_update` of a sub-customer (an engagement); any other customer is refused."""

        def checked(current: Customer) -> dict[str, Any] | None:
            if not current.is_sub_customer:
                raise ValidationFailed(
                    f"quickbooks: customer {record_id} is not a sub-customer: it is not an engagement"
                )
            return change(current)

        return mapper.engagement_record(sparse_update(self.client, record_id, kind, checked))


def _tracking_ids(engagement: Engagement) -> tuple[str | None, str | None]:
    """The QBO Class and Department ids an engagement's postings carry, already mapped.

    QBO has two tracking lists: Class (the service line) and Department, which its UI calls
    Location. A delivery location maps to it when the deal names one, else the department.
    https://developer.intuit.com/app/developer/qbo/docs/workflows/categorize-income-and-expenses
    """
    dimensions = engagement.dimensions
    return dimensions.accounting_class, dimensions.location or dimensions.department
