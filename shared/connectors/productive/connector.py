"""The Productive.io connector: accounts become companies, engagements projects; signed webhooks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from shared.connectors.productive import delivery_mapper, mapper
from shared.connectors.productive.billing import ProductiveBilling
from shared.connectors.productive.capacity import ProductiveCapacity
from shared.connectors.productive.census import ProductiveCensus
from shared.connectors.productive.client import MAX_PAGE_SIZE, ProductiveClient
from shared.connectors.productive.connection import ProductiveConnection
from shared.connectors.productive.delivery import (
    ExpensePage,
    ExpenseResource,
    IncludedResource,
    TimeEntryPage,
    TimeEntryResource,
)
from shared.connectors.productive.schemas import (
    CompanyResource,
    DealResource,
    ProjectResource,
    ServiceResource,
)
from shared.connectors.productive.webhooks import ProductiveWebhooks
from shared.domain.account_ports import MAX_MATCH_CANDIDATES, AccountTarget, TargetRecord
from shared.domain.billing_ports import InvoiceMirror, MilestoneSource
from shared.domain.billing_runs import milestone_terms
from shared.domain.capacity_ports import CapacitySource
from shared.domain.delivery_ports import DeliverySource
from shared.domain.engagement_ports import EngagementRecord, EngagementStatus, EngagementTarget
from shared.domain.errors import NotFoundError, PermanentError, ValidationFailed
from shared.domain.intake_ports import ReceivedWebhook, WebhookReceiver, WebhookRequest
from shared.domain.models import Account, SourceRef, SystemName, utcnow
from shared.domain.ports import CrossReference
from shared.domain.postings import DeliveredWork, UnresolvedWork, WorkKind, WorkRead
from shared.domain.reconciliation_ports import CustomerCensus, EngagementCensus, InvoiceCensus, WorkCensus

if TYPE_CHECKING:
    from shared.domain.billing import Invoice
    from shared.domain.billing_runs import CompletedMilestone, MilestoneTerm
    from shared.domain.capacity import Month, WorkerCapacity
    from shared.domain.cash import InvoiceStanding
    from shared.domain.commercial import RateCard
    from shared.domain.engagements import Engagement
    from shared.domain.ports import RateBudgets

__all__ = ["ProductiveConnection", "ProductiveConnector", "UnresolvedWork", "WorkRead", "build"]

_log = logging.getLogger(__name__)

# How far back a lost copy is looked for: a setup step's retries (Step Functions Retry, SQS
# redelivery) and a person's `workflow retry` on the same day all fall inside it.
ORPHAN_WINDOW = timedelta(days=1)


def _created_after(project: ProjectResource, cutoff: datetime) -> bool:
    created = project.attributes.created_at
    if not created:
        return False
    try:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment.astimezone(cutoff.tzinfo) >= cutoff if moment.tzinfo else False


class ProductiveConnector(ProductiveCensus):
    """Productive as an AccountTarget (companies), an EngagementTarget (projects), a DeliverySource
    (time entries, expenses), a WebhookReceiver and the reconciliation censuses (`census`)."""

    system = SystemName.PRODUCTIVE
    # The ports this connector implements (tests/connectors/test_ports.py holds it to its role's).
    implements: ClassVar[tuple[type, ...]] = (
        AccountTarget,
        EngagementTarget,
        DeliverySource,
        MilestoneSource,
        InvoiceMirror,
        CustomerCensus,
        EngagementCensus,
        WorkCensus,
        InvoiceCensus,
        WebhookReceiver,
        CapacitySource,
    )
    provider = SystemName.PRODUCTIVE

    def __init__(
        self,
        connection: ProductiveConnection,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
        budgets: RateBudgets | None = None,
    ) -> None:
        self.connection = connection
        self._clock = clock
        self.client = ProductiveClient(connection, transport=transport, sleep=sleep, budgets=budgets)
        self.webhooks = ProductiveWebhooks.for_connection(connection, clock=clock)
        # InvoiceMirror and MilestoneSource (shared.connectors.productive.billing)
        self.billing = ProductiveBilling(self.client, document_type_id=connection.invoice_document_type_id)
        # CapacitySource (shared.connectors.productive.capacity): salaries and holidays
        self.capacity = ProductiveCapacity(self.client)
        # The entries the last fetch_work / changed_work answered but could not map (see read_work).
        self.last_unresolved: list[UnresolvedWork] = []
        self.census_unresolved: list[UnresolvedWork] = []

    def capacities(self, month: Month) -> list[WorkerCapacity]:
        """CapacitySource: every person's capacity and cost rate in `month` (see `capacity`)."""
        return self.capacity.capacities(month)

    @property
    def http_calls(self) -> int:
        """Vendor API calls made so far (from VendorHttp.calls)."""
        return self.client.calls

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self.client.close()

    # --- AccountTarget ------------------------------------------------------------------------

    def project(self, account: Account) -> Account:
        """The content a Productive company holds after `account` is written."""
        return mapper.project(account)

    @staticmethod
    def _record(company: CompanyResource) -> TargetRecord:
        view = mapper.account_from_company(company)
        return TargetRecord(
            ref=view.source,
            view=view,
            origin=mapper.reference_origin(company.attributes.company_code),
            active=company.attributes.archived_at is None,
        )

    def read_account(self, record_id: str) -> TargetRecord:
        """The company `record_id` seen as an Account; NotFoundError when it does not exist."""
        return self._record(self.client.get_company(record_id))

    def find_account(self, account: Account) -> TargetRecord | None:
        """The company this hub created for `account`, found by the reference in `company_code`."""
        code = mapper.reference_code(account.source)
        # `eq` is asked for explicitly (https://developer.productive.io/ "Filter Operations"), and the
        # match is checked again here so a looser server-side match can never link the wrong client.
        for company in self.client.iter_companies({"company_code:eq": code}):
            if (company.attributes.company_code or "").strip() == code:
                return self._record(company)
        return None

    def match_candidates(self, account: Account) -> list[TargetRecord]:
        """Companies with the account's VAT number, then those whose name contains its leading words.

        At most MAX_MATCH_CANDIDATES in all.

        Productive's companies endpoint filters by `name` (and code, billing name, VAT, ...) but not
        by `domain` (https://developer.productive.io/companies.html "Supported filter params"), so
        the search is by name only; the matcher still compares web sites among what it finds. Of
        the filter operations, `contains` is used rather than `eq`: `eq` is exact, so
        "ACME Consulting" would never find "Acme Consulting LLC", and there is no "starts with"
        (https://developer.productive.io/ "Filter Operations"). Archived companies are included:
        they are still the customer, and deciding is the matcher's job.
        """
        found: dict[str, CompanyResource] = {}
        if account.tax_id:
            # The VAT number is the strongest key the matcher has; `vat` is one of the companies
            # endpoint's filters (https://developer.productive.io/companies.html).
            by_vat = self.client.list_companies(
                {"vat": account.tax_id}, page_number=1, page_size=MAX_MATCH_CANDIDATES
            )
            found.update((company.id, company) for company in by_vat.data)
        companies: list[CompanyResource] = []
        for prefix in mapper.name_prefixes(account.name):
            # One page of one more than the bound says whether the prefix is specific enough.
            page = self.client.list_companies(
                {"name:contains": prefix}, page_number=1, page_size=MAX_MATCH_CANDIDATES + 1
            )
            companies = page.data
            total = page.meta.total_count if page.meta.total_count is not None else len(companies)
            if total <= MAX_MATCH_CANDIDATES:
                break
        # When even the whole name is in more companies than the bound, the first ones are returned:
        # every one contains the whole name, so the matcher still sees that the name is shared.
        for company in companies:
            found.setdefault(company.id, company)
        return [self._record(company) for company in list(found.values())[:MAX_MATCH_CANDIDATES]]

    def create_account(self, account: Account, *, idempotency_key: str) -> TargetRecord:
        """Create the company, or return the one an earlier attempt created.

        Productive offers no idempotency key on POST, so the stamped `company_code` is the device: a
        retried POST is refused because the code is taken (the first attempt did land), and that
        company is found and brought up to date instead of failing. No look-up comes first: the
        account sync has just searched (`match_candidates`, whose results show our stamp), and
        Productive itself refuses the second code. `idempotency_key` is therefore not sent.
        """
        del idempotency_key  # no vendor device to pass it to; see the docstring
        try:
            created = self.client.create_company(mapper.company_attributes(account))
        except PermanentError:
            landed = self.find_account(account)
            if landed is None:
                raise
            return self._converge(landed, account)
        return self._record(created)

    def update_account(
        self,
        record_id: str,
        account: Account,
        *,
        idempotency_key: str,
        last_synced: CrossReference | None = None,
    ) -> TargetRecord:
        """Overwrite the company's synced attributes with `account` (a PATCH is naturally idempotent)."""
        # PATCH of the same attributes gives the same company, and needs no version: nothing to pass on.
        del idempotency_key, last_synced
        return self._record(self.client.update_company(record_id, mapper.company_attributes(account)))

    def deactivate_account(self, record_id: str, *, reason: str) -> TargetRecord:
        """Archive the company (kept with its projects and history); an archived one is left alone.

        https://developer.productive.io/reference/actions/companies-archive-archive
        """
        del reason  # the archive action takes no body: nothing to write it into
        current = self.client.get_company(record_id)
        if current.attributes.archived_at is not None:
            return self._record(current)
        return self._record(self.client.archive_company(record_id))

    def _converge(self, record: TargetRecord, account: Account) -> TargetRecord:
        if record.view.checksum() == mapper.project(account).checksum():
            return record
        return self._record(self.client.update_company(record.ref.id, mapper.company_attributes(account)))

    # --- EngagementTarget (mapping in shared.connectors.productive.mapper) -------------------------

    def _budgets(self, project_id: str) -> list[DealResource]:
        return list(self.client.iter_deals({"project_id": project_id, "type": mapper.BUDGET_FILTER}))

    def _engagement(self, project: ProjectResource) -> EngagementRecord:
        return mapper.engagement_record(project, self._budgets(project.id))

    def _find_project(self, opportunity: SourceRef) -> ProjectResource | None:
        # `query` is free text and may match more than the stamp (a name containing it, say), so the
        # stamp is compared exactly; no status filter, so an archived draft is found too.
        reference = mapper.engagement_reference(opportunity)
        return self._stamped_among({"query": reference}, reference)

    def _stamped_for_client(self, opportunity: SourceRef, customer_id: str) -> ProjectResource | None:
        """The stamped project among the client's own, compared exactly.

        A second look before copying, that does not rest on how the free-text `query` indexes
        `project_number`: the client's projects are listed (`company_id` is an exact filter) and
        the stamp compared here. It costs one listing per new engagement; it is what keeps a
        retried step from copying the template twice whatever the search matches.
        """
        reference = mapper.engagement_reference(opportunity)
        return self._stamped_among({"company_id": customer_id}, reference)

    def _stamped_among(self, filters: Mapping[str, str], reference: str) -> ProjectResource | None:
        for project in self.client.iter_projects(filters):
            number = (project.attributes.project_number or "").strip()
            if number == reference and not project.attributes.template:
                return project
        return None

    def _unstamped_copy(self, engagement: Engagement, customer_id: str) -> ProjectResource | None:
        """A copy an earlier attempt made whose answer was lost, before it could be stamped.

        The copy is sent once (`_write`), so a lost answer leaves at most one such project: open,
        this client's, the engagement's exact name, copied from its template (where Productive
        says), numbered by Productive rather than stamped by the hub, not a template, made within
        `ORPHAN_WINDOW`. A person's own project would rarely fit all of that; should one, the
        stamp then claims it for this deal, which is visible on the project.
        """
        cutoff = self._clock() - ORPHAN_WINDOW
        candidates = [
            project
            # `query` (free text over name and number) keeps a client with many projects to one page.
            for project in self.client.iter_projects(
                {"company_id": customer_id, "status": "1", "query": engagement.name},
                include="template_object",  # the template it was copied from, compared below
            )
            if (project.attributes.name or "").strip() == engagement.name.strip()
            and not mapper.is_engagement_reference(project.attributes.project_number)
            and not project.attributes.template
            and mapper.related_id(project, "template_object") in (None, engagement.template)
            and _created_after(project, cutoff)
        ]
        return max(candidates, key=lambda p: p.attributes.created_at or "", default=None)

    def find_engagement(
        self, opportunity: SourceRef, *, customer_id: str | None = None
    ) -> EngagementRecord | None:
        """The project created earlier for `opportunity`, found by the reference in `project_number`.

        With `customer_id`, the client's projects are compared exactly when the search finds none.
        """
        project = self._find_project(opportunity)
        if project is None and customer_id is not None:
            project = self._stamped_for_client(opportunity, customer_id)
        return self._engagement(project) if project is not None else None

    def create_engagement(
        self, engagement: Engagement, *, customer_id: str, idempotency_key: str, searched: bool = False
    ) -> EngagementRecord:
        """Copy the template into a project for `customer_id`, with its budget, and leave it as a draft.

        A fixed-fee engagement's milestones become milestone tasks on it before it is archived (see
        `_ensure_milestones`); other engagements make no task calls. Productive has no idempotency
        key, so each step first looks for what an earlier attempt made: the project by its stamp,
        the milestone tasks by their codes, the budget by `project_id`. A rerun after a crash at any point
        finishes the same project rather than starting a second one. A project that is already
        active or closed is returned as it is: creating never undoes an approval or a compensation.
        """
        del idempotency_key  # no vendor device to pass it to; the stamp plays its part
        opportunity = mapper.opportunity_of(engagement)
        project = (
            None
            if searched  # `find_engagement` just made both looks for the stamp
            else self._find_project(opportunity) or self._stamped_for_client(opportunity, customer_id)
        )
        fresh = False
        if project is None:
            orphan = self._unstamped_copy(engagement, customer_id)
            copied = orphan or self.client.copy_project(
                mapper.project_copy_attributes(engagement, customer_id=customer_id)
            )
            # A copy made just now has no budget: "The copy operation does not copy deals"
            # (https://developer.productive.io/projects.html), so there is none to list.
            fresh = orphan is None
            # The stamp gets a PATCH of its own, before archiving: "For archived projects, only the name
            # and project_manager_id attributes can be updated" (https://developer.productive.io/projects.html).
            project = self.client.update_project(
                copied.id, {"project_number": mapper.engagement_reference(opportunity)}
            )
        budgets = [] if fresh else self._budgets(project.id)
        if not budgets:
            # The order is copy, stamp, milestones, archive, budget, so a project without a budget is
            # always one whose creation was cut short, never one a person approved: it is safe to
            # (re)archive, and to restore for a moment to finish its milestones.
            if engagement.milestones:
                project = self._ensure_milestones(project, engagement)
            if project.attributes.archived_at is None:
                project = self.client.archive_project(project.id)
            budgets = [
                self.client.create_deal(
                    mapper.budget_attributes(engagement),
                    {"company": ("companies", customer_id), "project": ("projects", project.id)},
                )
            ]
        return mapper.engagement_record(project, budgets)

    def _ensure_milestones(self, project: ProjectResource, engagement: Engagement) -> ProjectResource:
        """The fixed-fee engagement's milestones as milestone tasks on its draft, before it is archived.

        They are written while the copy is open: "For archived projects, only the name and
        project_manager_id attributes can be updated" (https://developer.productive.io/projects.html).
        The tasks go on the task list the copy carried from the template; a template without one is
        refused with a ValidationFailed naming the project and the template (setup then fails at this
        step and compensates). An archived draft without a budget was either cut short after its
        milestones (one listing of its tasks, no writes) or archived by a compensation before them;
        that one is restored for the writes and archived again by the caller, so a retry after the
        template is fixed does not leave a fixed-fee project without its milestones.
        """
        terms = milestone_terms(engagement.milestones)
        if project.attributes.archived_at is not None:
            if not self.billing.missing_milestones(project.id, terms):
                return project
            project = self.client.restore_project(project.id)
        self.billing.ensure_milestones(project.id, terms, template=engagement.template)
        return project

    def apply_rate_card(self, record_id: str, rate_card: RateCard) -> None:
        """One service per role on the project's budget at the role's rate; a re-run updates in place."""
        budgets = [b for b in self._budgets(record_id) if not b.attributes.closed_at]
        if not budgets:
            raise ValidationFailed(f"productive project {record_id} has no open budget to price")
        budget = budgets[0]
        currency = budget.attributes.currency
        if currency and currency.upper() != rate_card.currency:
            raise ValidationFailed(
                f"rate card {rate_card.id} is in {rate_card.currency} but the budget of project "
                f"{record_id} is in {currency}"
            )
        starts = budget.attributes.date
        on = date.fromisoformat(starts) if starts else utcnow().date()
        existing: dict[str, ServiceResource] = {}
        for service in self.client.iter_services({"deal_id": budget.id}):
            name = (service.attributes.name or "").strip()
            if service.attributes.deleted_at is None and name and name not in existing:
                existing[name] = service
        rates = mapper.role_rates(rate_card, on)
        sold = mapper.role_quantities(rate_card)
        missing = [role for role in rates if role not in existing]
        kinds = self._service_types(missing) if missing else {}
        for role, rate in rates.items():
            found = existing.get(role)
            if found is None:
                kind = kinds[role]
                self.client.create_service(
                    mapper.service_attributes(role, rate, sold.get(role)),
                    {"deal": ("deals", budget.id), "service_type": ("service_types", kind)},
                )
            elif not (
                mapper.service_price_equals(found, rate)
                and mapper.service_quantity_equals(found, sold.get(role))
            ):
                wanted = mapper.service_attributes(role, rate, sold.get(role))
                self.client.update_service(
                    found.id, {k: v for k, v in wanted.items() if k in ("price", "quantity")}
                )

    def _service_types(self, roles: Sequence[str]) -> dict[str, str]:
        """The service type id of each role: the organization's own, created once when it has none.

        Services need a service type; the role's own is reused so reports group by role across
        engagements. One listing of them all answers every role (an organization has a few dozen),
        instead of one look-up per role by `name`.
        """
        wanted = set(roles)
        kinds: dict[str, str] = {}
        for kind in self.client.iter_service_types():
            name = (kind.attributes.name or "").strip()
            if name in wanted:
                kinds.setdefault(name, kind.id)
        for role in roles:
            if role not in kinds:
                kinds[role] = self.client.create_service_type(role).id
        return kinds

    def activate_engagement(self, record_id: str) -> EngagementRecord:
        """Restore the archived draft so people can be staffed and track time; a no-op when active."""
        project = self.client.get_project(record_id)
        budgets = self._budgets(record_id)
        status = mapper.engagement_status(project, budgets)
        if status is EngagementStatus.CLOSED:
            raise ValidationFailed(
                f"productive project {record_id} was closed (compensated); it cannot be activated"
            )
        if status is EngagementStatus.DRAFT and project.attributes.archived_at is not None:
            project = self.client.restore_project(record_id)
        return mapper.engagement_record(project, budgets)

    def reopen_engagement(self, record_id: str, engagement: Engagement) -> EngagementRecord:
        """Reopen the closed budgets of a compensated project, which stays archived: a draft again.

        Productive keeps no financial dimensions on a project or budget (they are the accounting
        side's), so `engagement` has nothing to change here; the budget's services are priced again
        by the next `apply_rate_card`. DRAFT and ACTIVE projects are returned as they are.
        """
        del engagement
        project = self.client.get_project(record_id)
        budgets = self._budgets(record_id)
        if mapper.engagement_status(project, budgets) is not EngagementStatus.CLOSED:
            return mapper.engagement_record(project, budgets)
        reopened = [self.client.open_deal(budget.id) for budget in budgets]
        return mapper.engagement_record(project, reopened)

    def close_engagement(self, record_id: str, *, reason: str) -> EngagementRecord:
        """Archive the project and close its budgets; each step is skipped when already done.

        Productive has no field for a closing reason on projects or budgets, so `reason` stays in the
        hub's exception record, which is where a person looks for it.
        """
        del reason
        project = self.client.get_project(record_id)
        if project.attributes.archived_at is None:
            project = self.client.archive_project(record_id)
        budgets = [
            budget if budget.attributes.closed_at else self.client.close_deal(budget.id)
            for budget in self._budgets(record_id)
        ]
        return mapper.engagement_record(project, budgets)

    # --- DeliverySource (mapping in shared.connectors.productive.delivery_mapper) ------------------

    def read_work(self, kind: WorkKind, ids: Sequence[str]) -> WorkRead:
        """The current state of `ids`: the mapped work, and the entries that exist but cannot be mapped.

        Time entries: one `GET /time_entries?filter[id]=...` per MAX_PAGE_SIZE ids
        (https://developer.productive.io/time_entries.html lists `id` among its filters), each answer
        with the services, budgets, projects and people in `included`. Expenses: the expenses page
        documents no `id` filter (https://developer-staging.productive.io/expenses.html), so each is
        read by `GET /expenses/{id}`; a 404 means deleted. An id Productive no longer has is absent
        from both lists.
        """
        wanted = list(dict.fromkeys(str(i) for i in ids))
        works: list[DeliveredWork] = []
        unresolved: list[UnresolvedWork] = []
        if kind is WorkKind.TIME:
            for start in range(0, len(wanted), MAX_PAGE_SIZE):
                chunk = wanted[start : start + MAX_PAGE_SIZE]
                for page in self.client.time_entry_pages(ids=chunk):
                    self._collect(kind, page.data, page.included, works, unresolved)
        else:
            for expense_id in wanted:
                try:
                    document = self.client.expense_document(expense_id)
                except NotFoundError:
                    continue
                self._collect(kind, [document.data], document.included, works, unresolved)
        return WorkRead(works=works, unresolved=unresolved)

    def fetch_work(self, kind: WorkKind, ids: Sequence[str]) -> list[DeliveredWork]:
        """DeliverySource: the mapped work of `read_work`; an unmappable entry is left out, logged,
        and kept in `last_unresolved` (it is not deleted: do not treat its absence as a delete)."""
        read = self.read_work(kind, ids)
        self.last_unresolved = read.unresolved
        return read.works

    def changed_work(self, kind: WorkKind, since: datetime) -> Iterator[DeliveredWork]:
        """DeliverySource: every entry changed at or after `since`, newest change first, pages of 200.

        Time entries are filtered by `filter[updated_at][gt_eq]` (https://developer.productive.io/time_entries.html);
        expenses, which document no such filter, are read newest first and the paging stops at the
        first older one (`ProductiveClient.expense_pages`). An unmappable entry is skipped, logged and
        added to `last_unresolved` (emptied when the sweep starts).
        """
        self.last_unresolved = []
        pages: Iterator[TimeEntryPage] | Iterator[ExpensePage] = (
            self.client.time_entry_pages(updated_since=since)
            if kind is WorkKind.TIME
            else self.client.expense_pages(updated_since=since)
        )
        for page in pages:
            works: list[DeliveredWork] = []
            self._collect(kind, page.data, page.included, works, self.last_unresolved)
            yield from works

    @staticmethod
    def _collect(
        kind: WorkKind,
        resources: Sequence[TimeEntryResource | ExpenseResource],
        included: Sequence[IncludedResource],
        works: list[DeliveredWork],
        unresolved: list[UnresolvedWork],
    ) -> None:
        mapped, refused = delivery_mapper.map_page(kind, resources, included)
        works.extend(mapped)
        for entry in refused:
            _log.warning("productive %s %s left out: %s", kind, entry.id, entry.reason)
        unresolved.extend(refused)

    # --- InvoiceMirror, MilestoneSource (shared.connectors.productive.billing) ----------------------

    def mirror_invoice(self, project: str, invoice: Invoice, standing: InvoiceStanding) -> str:
        """InvoiceMirror: see `ProductiveBilling.mirror_invoice`."""
        return self.billing.mirror_invoice(project, invoice, standing)

    def completed_milestones(self, project: str) -> list[CompletedMilestone]:
        """MilestoneSource: the project's closed milestone tasks."""
        return self.billing.completed_milestones(project)

    def ensure_milestones(
        self, project: str, milestones: Sequence[MilestoneTerm], *, template: str | None = None
    ) -> dict[str, str]:
        """One milestone task per term ("M1: Discovery"), created when missing; code -> task id.

        `create_engagement` calls it for a fixed-fee engagement; `template` is named in a refusal.
        """
        return self.billing.ensure_milestones(project, milestones, template=template)

    # --- WebhookReceiver ----------------------------------------------------------------------

    def receive(self, request: WebhookRequest) -> ReceivedWebhook:
        """Verify a Productive delivery on its raw bytes and parse it into account notices."""
        return self.webhooks.receive(request)


def build(
    connection: Mapping[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = utcnow,
    budgets: RateBudgets | None = None,
) -> ProductiveConnector:
    """A connector from a connection mapping (see ProductiveConnection); `sleep`/`clock` are for tests.

    `budgets` holds the organization's rate budget (shared by every container; default: this process).
    """
    settings = ProductiveConnection.parse(connection)
    return ProductiveConnector(settings, transport=transport, sleep=sleep, clock=clock, budgets=budgets)
