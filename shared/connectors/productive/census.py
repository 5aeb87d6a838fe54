"""The reconciliation censuses on Productive: companies, projects, time and expenses, invoices.

Each census is one JSON:API listing per kind read at the largest page Productive allows
(`page[size]` 200, https://developer.productive.io/guides/pagination, "30 by default" and at most 200,
`meta.total_pages` to follow), with `include` so a page answers every lookup it needs: 450 time
entries are three calls, whatever their services and projects. Nothing is read one record at a time.

- customers: every company, active (`filter[status]=1`) and archived (`2`), mapped as `read_account`
  maps one (the hub's `company_code` stamp as origin). Two listings, so the answer does not rest on
  whether the unfiltered listing includes archived companies (the page does not say: UNCONFIRMED).
- engagements: every project that is not a template (active and archived listings, `include=company`)
  and every budget (`GET /deals?filter[type]=2&include=project`, one listing for all projects), the
  status decided by `mapper.engagement_status`, the booked amount the budgets' `budget_total` (cents).
- work: time entries by `filter[after]` and expenses by `filter[date_after]` (the dates each page
  documents), with the delivery include (person, service, its budget and project), mapped by
  `delivery_mapper` exactly as the delivery sweep maps them.
- invoices: every invoice the hub mirrored (`invoice_type_id` 1) issued on or after `since`, with
  the figures Productive computes (cents), and the project its budget attribution names.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import Field

from shared.connectors.productive import delivery_mapper, mapper
from shared.connectors.productive.amounts import from_minor_units
from shared.connectors.productive.billing_schemas import (
    AttributionResource,
    InvoiceListDocument,
    InvoiceResource,
)
from shared.connectors.productive.client import DELIVERY_INCLUDE, MAX_PAGE_SIZE
from shared.connectors.productive.delivery import ExpensePage, IncludedResource, TimeEntryPage
from shared.connectors.productive.schemas import (
    CompanyListDocument,
    CompanyResource,
    DealListDocument,
    DealResource,
    ListDocument,
    ProjectListDocument,
    ProjectResource,
)
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import Approval, DeliveredWork, UnresolvedWork, WorkKind
from shared.domain.reconciliation_ports import HeldEngagement, HeldInvoice, HeldWork

if TYPE_CHECKING:
    from shared.connectors.productive.client import ProductiveClient
    from shared.connectors.productive.connection import ProductiveConnection
    from shared.domain.account_ports import TargetRecord

__all__ = ["ProductiveCensus", "opportunity_from_reference"]

_log = logging.getLogger(__name__)

APP_URL = "https://app.productive.io"
ACTIVE, ARCHIVED = (
    "1",
    "2",
)  # companies/projects filter[status] (https://developer.productive.io/projects.html)
INVOICE_TYPE = 1  # invoice_type_id 1 invoice, 2 credit note (https://developer.productive.io/invoices.html)
VOID_SUFFIX = "/VOID"  # the credit note the mirror writes for a voided invoice (see billing.py)
_SYSTEMS = {system.value: system for system in SystemName}


class _AttributionPage(ListDocument[AttributionResource]):
    """A page of invoice attributions with the budgets (and their projects) it `include`s."""

    included: list[IncludedResource] = Field(default_factory=list)


def _issued(invoice: InvoiceResource) -> date | None:
    text = (invoice.attributes.invoiced_on or "")[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def opportunity_from_reference(project_number: str | None) -> SourceRef | None:
    """The CRM opportunity a project's `project_number` stamp names (`mapper.engagement_reference`)."""
    system, sep, record_id = (project_number or "").strip().partition("-")
    if not sep or not record_id or system not in _SYSTEMS:
        return None
    return SourceRef(system=_SYSTEMS[system], type="opportunity", id=record_id)


def _booked(budgets: Iterable[DealResource]) -> Money | None:
    """The budgets' `budget_total` summed ("Total budget amount across all services", in cents,
    https://developer.productive.io/reference/resources/deals); None without a total or with budgets
    in two currencies (no one sum is right then)."""
    totals = [(b.attributes.currency, b.attributes.budget_total) for b in budgets]
    known = [(c.upper(), t) for c, t in totals if c and t is not None]
    currencies = {c for c, _ in known}
    if len(currencies) != 1:
        return None
    return from_minor_units(sum(t for _, t in known), currencies.pop())


def _held_work(work: DeliveredWork, link: str) -> HeldWork:
    return HeldWork(
        system=SystemName.PRODUCTIVE,
        ref=work.source,
        kind=work.kind,
        engagement=work.project,
        worked_on=work.worked_on,
        minutes=work.minutes,
        amount=work.amount if work.kind is WorkKind.EXPENSE else None,
        service=work.service_name,
        billable=work.billable,
        approved=work.approval is Approval.APPROVED,
        billed=work.invoiced,
        link=link,
    )


class ProductiveCensus:
    """`CustomerCensus`, `EngagementCensus`, `WorkCensus` and `InvoiceCensus` (mixed into the connector)."""

    system = SystemName.PRODUCTIVE
    connection: ProductiveConnection
    client: ProductiveClient
    # Entries the last `census_work` found but could not map (no service, budget or project): logged.
    census_unresolved: list[UnresolvedWork]

    if TYPE_CHECKING:

        @staticmethod
        def _record(company: CompanyResource) -> TargetRecord: ...

    def _link(self, *path: str) -> str:
        return "/".join((APP_URL, self.connection.organization_id, *path))

    def _every(self, path: str, params: Mapping[str, str], model: type[Any]) -> Iterator[Any]:
        """Every page of one listing at MAX_PAGE_SIZE (`ProductiveClient._pages`: one call a page)."""
        yield from self.client._pages(path, params, model, MAX_PAGE_SIZE)

    def _resources(self, path: str, params: Mapping[str, str], model: type[Any]) -> Iterator[Any]:
        seen: set[str] = set()
        for page in self._every(path, params, model):
            for resource in page.data:
                if resource.id not in seen:  # a record moved across a page boundary is read once
                    seen.add(resource.id)
                    yield resource

    def census_customers(self) -> Iterator[TargetRecord]:
        """Every company, active and archived, as `read_account` reads one.

        https://developer.productive.io/companies.html "GET /api/v2/companies" (`filter[status]`
        1 active, 2 archived).
        """
        for status in (ACTIVE, ARCHIVED):
            params = {"filter[status]": status, "sort": "created_at"}
            for company in self._resources("companies", params, CompanyListDocument):
                yield self._record(company)

    def _projects(self) -> Iterator[ProjectResource]:
        # https://developer.productive.io/projects.html "GET /api/v2/projects" (filter status 1 active,
        # 2 archived; `include=company` gives the client's id)
        for status in (ACTIVE, ARCHIVED):
            params = {"filter[status]": status, "include": "company", "sort": "created_at"}
            for project in self._resources("projects", params, ProjectListDocument):
                if not project.attributes.template:
                    yield project

    def _budgets_by_project(self) -> dict[str, list[DealResource]]:
        # https://developer.productive.io/deals.html "GET /api/v2/deals" (filter[type] 2: budgets;
        # `include=project` gives the project's id)
        grouped: dict[str, list[DealResource]] = defaultdict(list)
        params = {"filter[type]": mapper.BUDGET_FILTER, "include": "project", "sort": "created_at"}
        for deal in self._resources("deals", params, DealListDocument):
            relationship = deal.relationships.get("project")
            if relationship is not None and relationship.data is not None:
                grouped[relationship.data.id].append(deal)
        return grouped

    def census_engagements(self) -> Iterator[HeldEngagement]:
        """Every project that is not a template, with its budgets' status and total (three listings)."""
        budgets = self._budgets_by_project()
        for project in self._projects():
            own = budgets.get(project.id, [])
            record = mapper.engagement_record(project, own)
            yield HeldEngagement(
                system=SystemName.PRODUCTIVE,
                ref=record.ref,
                name=record.name,
                opportunity=opportunity_from_reference(project.attributes.project_number),
                customer=mapper.related_id(project, "company"),
                status=record.status,
                booked=_booked(own),
                link=self._link("projects", project.id),
            )

    def census_work(self, since: date) -> Iterator[HeldWork]:
        """Every time entry and expense dated on or after `since`: one listing per kind.

        The date filters are asked from the day before and `since` is applied here, so the answer does
        not rest on whether Productive's bound is inclusive (the pages do not say: UNCONFIRMED).
        """
        self.census_unresolved = []
        bound = (since - timedelta(days=1)).isoformat()
        # https://developer.productive.io/time_entries.html "GET /api/v2/time_entries": filter `after`
        # (date), sort `date`
        time_params = {"filter[after]": bound, "sort": "date", "include": DELIVERY_INCLUDE}
        # https://developer-staging.productive.io/expenses.html "GET /api/v2/expenses": filter `date_after`
        expense_params = {"filter[date_after]": bound, "sort": "date", "include": DELIVERY_INCLUDE}
        listings: tuple[tuple[WorkKind, str, Mapping[str, str], type[Any]], ...] = (
            (WorkKind.TIME, "time_entries", time_params, TimeEntryPage),
            (WorkKind.EXPENSE, "expenses", expense_params, ExpensePage),
        )
        for kind, path, params, model in listings:
            seen: set[str] = set()
            for page in self._every(path, params, model):
                fresh = [r for r in page.data if r.id not in seen]
                seen.update(r.id for r in fresh)
                works, refused = delivery_mapper.map_page(kind, fresh, page.included)
                for entry in refused:
                    _log.warning("productive %s %s left out of the census: %s", kind, entry.id, entry.reason)
                self.census_unresolved.extend(refused)
                for work in works:
                    if work.worked_on >= since:
                        yield _held_work(work, self._link("projects", work.project))

    def _invoice_projects(self) -> dict[str, str]:
        """Invoice id -> the project of the budget it is attributed to (one listing of attributions).

        https://developer.productive.io/reference/resources/invoice-attributions "a link between a
        budget and an invoice"; `include=invoice,budget.project` gives both ids and the budget's project.
        """
        params = {"include": "invoice,budget.project"}  # relationships carry ids only when included
        pages = list(self._every("invoice_attributions", params, _AttributionPage))
        budgets = {
            resource.id: project
            for page in pages
            for resource in page.included
            if resource.type == "deals" and (project := resource.related_id("project")) is not None
        }
        projects: dict[str, str] = {}
        for page in pages:
            for attribution in page.data:
                invoice, budget = attribution.related("invoice"), attribution.related("budget")
                if invoice is not None and budget is not None and budget in budgets:
                    projects.setdefault(invoice, budgets[budget])
        return projects

    def census_invoices(self, since: date) -> Iterator[HeldInvoice]:
        """Every invoice (not credit note) issued on or after `since`, in Productive's own figures.

        https://developer.productive.io/invoices.html "GET /api/v2/invoices" (`include=parent_invoice`
        names a credit note's invoice). The page documents no issue-date filter the twin could keep
        to (UNCONFIRMED), so every invoice is listed and `invoiced_on` compared here.
        """
        invoices: list[InvoiceResource] = []
        voided: set[str] = set()
        params = {"include": "parent_invoice", "sort": "created_at"}
        for invoice in self._resources("invoices", params, InvoiceListDocument):
            attributes = invoice.attributes
            if attributes.invoice_type_id == INVOICE_TYPE:
                invoices.append(invoice)
            elif (attributes.number or "").endswith(VOID_SUFFIX) and attributes.finalized_on:
                parent = invoice.related("parent_invoice")
                if parent is not None:
                    voided.add(parent)
        wanted = [i for i in invoices if (_issued(i) or date.min) >= since]
        projects = self._invoice_projects() if wanted else {}
        for invoice in wanted:
            yield self._held_invoice(invoice, projects.get(invoice.id), invoice.id in voided)

    def _held_invoice(self, invoice: InvoiceResource, project: str | None, voided: bool) -> HeldInvoice:
        attributes = invoice.attributes
        currency = attributes.currency or ""

        def money(cents: int | None) -> Money:
            return from_minor_units(cents or 0, currency)

        return HeldInvoice(
            system=SystemName.PRODUCTIVE,
            ref=SourceRef(system=SystemName.PRODUCTIVE, type="invoices", id=invoice.id),
            number=attributes.number,
            engagement=project,
            issued_on=_issued(invoice) or date.min,
            total=money(attributes.amount_with_tax),
            tax=money(attributes.amount_tax) if attributes.amount_tax is not None else None,
            credited=money(attributes.amount_credited),
            paid=money(attributes.amount_paid),
            open=money(attributes.amount_unpaid),
            voided=voided,
            link=self._link("invoices", invoice.id),
        )
