"""Productive as the hub's InvoiceMirror (its copy of each invoice, so budgets show invoiced and paid)
and MilestoneSource (milestone tasks closed on the project).

The mirror, per invoice (found by `number` on the project's company, `invoice_type` 1):
1. a draft with the ledger's number, currency, dates and the company
   (https://developer.productive.io/invoices.html), attributed to the project's budget
   (https://developer.productive.io/reference/resources/invoice-attributions: "a link between a budget
   and an invoice", `amount`, `date_from`, `date_to`);
2. line items equal to the canonical lines: description, quantity, `unit_price` in minor units, the
   tax as the line's `tax_rate` (since 2024-09-03 tax sits on line items,
   https://developer.productive.io/invoices.html "Tax changes"; the rate is the organization's active
   tax rate named as the line's tax code with the same value,
   https://developer-staging.productive.io/taxrates.html);
3. finalized (https://developer.productive.io/reference/actions/invoices-finalize-finalize).

How the billed work reads invoiced. Productive's documented call that marks work invoiced is
`POST /line_items/generate` with `invoicing_method: uninvoiced_time_and_expenses` (rendered from the
docs at withone.ai, third-party), but it writes its own lines, one per service or budget, which would
not equal the ledger's. So the lines are written as the ledger has them and each says what it bills:
a line for time names the entry's `service`, a line for an expense its `expense` (line items filter by
`service_id` and `expense_id`, https://developer-staging.productive.io/line_items.html); the budget
attribution's `date_from`..`date_to` spans the billed entries' dates. Time entries carry `invoice_id`,
`invoice_attribution_id`, `invoiced` and `invoicing_status` (https://developer.productive.io/time_entries.html):
that finalizing marks the service's approved entries in the attributed period invoiced is UNCONFIRMED
(it is how the twin behaves); after finalizing, entries still not invoiced are logged.

Payments (https://developer.productive.io/reference/resources/payments): one per cash payment the
ledger applied, keyed by `external_id` = the ledger's payment id; a payment the ledger no longer has is
deleted; payments without an external id (recorded by a person in Productive) are left alone.

Credits: Productive records credit as a credit note, an invoice with `invoice_type` 2 and a
`parent_invoice` (invoice filters `invoice_type`, `parent_invoice_id`; the parent shows
`amount_credited`), so each credit memo applied becomes one credit note `<number>/CR-<memo id>` with one
line of the amount applied (negative: the sign is UNCONFIRMED). `amount_written_off` is for a write-off
(a payment with `written_off_on`), not a credit. A voided invoice: Productive documents no void or
cancel action for a finalized invoice, and deleting it would lose what was paid; it gets a credit note
`<number>/VOID` for what is left unpaid, so it reads settled and budgets stop counting it as open.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.connectors.productive import mapper
from shared.connectors.productive.amounts import to_minor_units
from shared.connectors.productive.billing_client import BillingClient, Relations
from shared.connectors.productive.billing_schemas import InvoiceResource, LineItemResource, TaskResource
from shared.connectors.productive.client import MAX_PAGE_SIZE, ProductiveClient
from shared.connectors.productive.schemas import DealResource
from shared.domain.billing import Invoice, InvoiceLine
from shared.domain.billing_runs import CompletedMilestone, MilestoneTerm
from shared.domain.cash import Applied, InvoiceStanding
from shared.domain.errors import NotFoundError, PermanentError, ValidationFailed
from shared.domain.models import SystemName
from shared.domain.postings import WorkKind, work_key

_log = logging.getLogger(__name__)

INVOICE, CREDIT_NOTE = 1, 2
# Line units as a third-party client names them (1 hour, 2 piece); UNCONFIRMED in Productive's pages.
UNIT_HOUR, UNIT_PIECE = 1, 2
# https://developer.productive.io/tasks.html "Task can be one of two types: milestone, task"; the
# attribute and its values are UNCONFIRMED (the twin: `type_id` 1 task, 2 milestone).
TASK_MILESTONE = 2
CLOSED = "2"  # tasks `status` filter: 1 open, 2 closed

LineKey = tuple[str, Decimal, int, str | None, str | None, str | None]


def milestone_title(term: MilestoneTerm) -> str:
    """How a milestone task is titled: its code, a colon, its name ("M1: Discovery")."""
    return f"{term.code}: {term.name}"


def milestone_code(title: str | None) -> str | None:
    """The code a milestone task's title starts with ("M1: Discovery" -> "M1"), None without one."""
    code, colon, _ = (title or "").partition(":")
    return code.strip() or None if colon else None


def _origin_id(line: InvoiceLine, kind: WorkKind) -> str | None:
    prefix = work_key(SystemName.PRODUCTIVE, kind, "")
    return line.origin[len(prefix) :] if line.origin and line.origin.startswith(prefix) else None


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal("NaN")


class ProductiveBilling:
    """InvoiceMirror and MilestoneSource on one Productive organization."""

    system = SystemName.PRODUCTIVE

    def __init__(self, client: ProductiveClient, *, document_type_id: str | None = None) -> None:
        self.client = client
        self.api = BillingClient(client)
        self.document_type_id = document_type_id

    # --- InvoiceMirror ------------------------------------------------------------------------

    def mirror_invoice(self, project: str, invoice: Invoice, standing: InvoiceStanding) -> str:
        """Create or bring up to date the Productive invoice for `invoice`; returns its id (see module)."""
        company, budget = self._company_and_budget(project)
        found = self._find(invoice.number, company, INVOICE) or self._create_invoice(invoice, company)
        if not found.finalized:
            entries = self._write_contents(found, invoice, budget)
            found = self.api.finalize_invoice(found.id)
            self._check_invoiced(entries)
        self._sync_payments(found.id, standing.applied)
        self._sync_credits(found, invoice, company, standing.applied)
        if standing.voided:
            self._void(found, invoice, company)
        return found.id

    def _company_and_budget(self, project: str) -> tuple[str, DealResource | None]:
        # https://developer.productive.io/projects.html (filter id; the company is a relationship, sent
        # when included)
        projects = list(self.client.iter_projects({"id": project}, include="company"))
        if not projects:
            raise NotFoundError(f"productive project {project} not found")
        company = mapper.related_id(projects[0], "company")
        if company is None:
            raise ValidationFailed(f"productive project {project} has no client company to invoice")
        budgets = list(self.client.iter_deals({"project_id": project, "type": mapper.BUDGET_FILTER}))
        open_budgets = [b for b in budgets if not b.attributes.closed_at]
        chosen = open_budgets or budgets
        return company, chosen[0] if chosen else None

    def _find(
        self, number: str, company: str, kind: int, parent: str | None = None
    ) -> InvoiceResource | None:
        filters = {"number": number, "company_id": company, "invoice_type": str(kind)}
        if parent is not None:
            filters["parent_invoice_id"] = parent
        # The number is compared again here, so a looser server-side match never picks another invoice.
        return next((i for i in self.api.invoices(filters) if (i.attributes.number or "") == number), None)

    def _new_invoice(
        self, attributes: dict[str, Any], company: str, number: str, parent: str | None = None
    ) -> InvoiceResource:
        relationships: dict[str, tuple[str, str]] = {"company": ("companies", company)}
        if parent is not None:
            relationships["parent_invoice"] = ("invoices", parent)
        if self.document_type_id:
            relationships["document_type"] = ("document_types", self.document_type_id)
        kind = int(attributes["invoice_type_id"])
        try:
            return self.api.create_invoice({**attributes, "number": number}, relationships)
        except PermanentError:
            # A retried create whose first attempt landed: the number is taken by that one.
            landed = self._find(number, company, kind, parent)
            if landed is None:
                raise
            return landed

    def _create_invoice(self, invoice: Invoice, company: str) -> InvoiceResource:
        attributes = {
            "currency": invoice.currency,
            "invoiced_on": invoice.issue_date.isoformat(),
            "pay_on": invoice.due_date.isoformat(),
            "invoice_type_id": INVOICE,
            **({"purchase_order_number": invoice.purchase_order} if invoice.purchase_order else {}),
            **({"subject": invoice.memo[:255]} if invoice.memo else {}),
        }
        return self._new_invoice(attributes, company, invoice.number)

    # --- a draft's contents -------------------------------------------------------------------

    def _write_contents(
        self, found: InvoiceResource, invoice: Invoice, budget: DealResource | None
    ) -> list[str]:
        """Attribution and line items of the draft, as the canonical invoice has them; the time entry
        ids it bills."""
        entry_ids = [i for i in (_origin_id(line, WorkKind.TIME) for line in invoice.lines) if i]
        entries = self._entries(entry_ids)
        if budget is not None and not self.api.attributions(found.id):
            days = sorted(d for _, d in entries.values()) or sorted(
                line.service_date or invoice.issue_date for line in invoice.lines
            )
            self.api.create_attribution(
                {
                    "amount": to_minor_units(invoice.subtotal),
                    "date_from": days[0].isoformat(),
                    "date_to": days[-1].isoformat(),
                },
                {"invoice": ("invoices", found.id), "budget": ("deals", budget.id)},
            )
        rates: dict[tuple[str, Decimal], str | None] = {}
        wanted = [self._line(line, entries, rates) for line in invoice.lines]
        existing = self.api.line_items(found.id)
        if Counter(_line_key(li) for li in existing) == Counter(key for key, _, _ in wanted):
            return entry_ids
        for line in existing:  # a draft's lines that differ (an earlier attempt cut short): rewritten
            self.api.delete_line_item(line.id)
        for _, attributes, relationships in wanted:
            self.api.create_line_item(attributes, {"invoice": ("invoices", found.id), **relationships})
        return entry_ids

    def _entries(self, ids: Sequence[str]) -> dict[str, tuple[str | None, date]]:
        """Each billed time entry's service and date (one listing per MAX_PAGE_SIZE ids)."""
        found: dict[str, tuple[str | None, date]] = {}
        for start in range(0, len(ids), MAX_PAGE_SIZE):
            for page in self.client.time_entry_pages(ids=ids[start : start + MAX_PAGE_SIZE]):
                for entry in page.data:
                    found[entry.id] = (entry.service_id, entry.attributes.date)
        return found

    def _line(
        self,
        line: InvoiceLine,
        entries: dict[str, tuple[str | None, date]],
        rates: dict[tuple[str, Decimal], str | None],
    ) -> tuple[LineKey, dict[str, Any], Relations]:
        entry = _origin_id(line, WorkKind.TIME)
        expense = _origin_id(line, WorkKind.EXPENSE)
        service = entries.get(entry, (None, None))[0] if entry else None
        tax_rate = self._tax_rate(line, rates)
        relationships: dict[str, tuple[str, str]] = {}
        if tax_rate:
            relationships["tax_rate"] = ("tax_rates", tax_rate)
        if service:
            relationships["service"] = ("services", service)
        if expense:
            relationships["expense"] = ("expenses", expense)
        price = to_minor_units(line.unit_price)
        attributes = {
            "description": line.description,
            "quantity": str(line.quantity),
            "unit_price": price,
            "unit_id": UNIT_HOUR if entry else UNIT_PIECE,
        }
        return (line.description, line.quantity, price, tax_rate, service, expense), attributes, relationships

    def _tax_rate(self, line: InvoiceLine, rates: dict[tuple[str, Decimal], str | None]) -> str | None:
        """The organization's active tax rate named as the line's tax code, at the line's rate."""
        key = (line.tax_code, line.tax_rate)
        if key not in rates:
            matching = [
                rate.id
                for rate in self.api.tax_rates(line.tax_code)
                if (rate.attributes.name or "") == line.tax_code
                and _decimal(rate.attributes.primary_component_value) == line.tax_rate
                and not _decimal(rate.attributes.secondary_component_value or 0)
            ]
            if not matching and line.tax_rate != 0:
                raise ValidationFailed(
                    f"productive has no active tax rate named {line.tax_code!r} at {line.tax_rate}%: "
                    "add it in Settings > Tax rates"
                )
            rates[key] = matching[0] if matching else None
        return rates[key]

    def _check_invoiced(self, entry_ids: Sequence[str]) -> None:
        for start in range(0, len(entry_ids), MAX_PAGE_SIZE):
            for page in self.client.time_entry_pages(ids=entry_ids[start : start + MAX_PAGE_SIZE]):
                missed = [e.id for e in page.data if not e.attributes.invoiced]
                if missed:
                    _log.warning(
                        "productive time entries %s billed but not marked invoiced", ", ".join(missed)
                    )

    # --- payments, credits and a void -----------------------------------------------------------

    def _sync_payments(self, invoice_id: str, applied: Iterable[Applied]) -> None:
        wanted = {a.id: a for a in applied if not a.credit}
        kept: dict[str, str] = {}
        for payment in self.api.payments(invoice_id):
            external = payment.attributes.external_id
            if not external:
                continue  # recorded by a person in Productive: not the ledger's to remove
            if external in wanted and external not in kept:
                kept[external] = payment.id
                target = wanted[external]
                amount, on = to_minor_units(target.amount), target.on.isoformat()
                if payment.attributes.amount != amount or payment.attributes.paid_on != on:
                    self.api.update_payment(payment.id, {"amount": amount, "paid_on": on})
            else:
                self.api.delete_payment(payment.id)  # voided or deleted in the ledger, or a duplicate
        for ledger_id, target in wanted.items():
            if ledger_id not in kept:
                self.api.create_payment(
                    {
                        "amount": to_minor_units(target.amount),
                        "paid_on": target.on.isoformat(),
                        "external_id": ledger_id,
                    },
                    invoice_id,
                )

    def _sync_credits(
        self, found: InvoiceResource, invoice: Invoice, company: str, applied: Iterable[Applied]
    ) -> None:
        prefix = f"{invoice.number}/CR-"
        wanted = {f"{prefix}{a.id}": a for a in applied if a.credit}
        notes = self.api.invoices({"parent_invoice_id": found.id, "invoice_type": str(CREDIT_NOTE)})
        have = {n.attributes.number or "": n for n in notes}
        for number, note in have.items():
            if number.startswith(prefix) and number not in wanted:
                self.api.delete_invoice(note.id)  # the credit memo was voided or unapplied in the ledger
        for number, credit in wanted.items():
            description = f"Credit {credit.id} applied to invoice {invoice.number}"
            cents = to_minor_units(credit.amount)
            self._credit_note(have.get(number), number, found, company, cents, credit.on, description)

    def _void(self, found: InvoiceResource, invoice: Invoice, company: str) -> None:
        number = f"{invoice.number}/VOID"
        existing = self._find(number, company, CREDIT_NOTE, found.id)
        if existing is not None and existing.finalized:
            return
        unpaid = self.api.invoice(found.id).attributes.amount_unpaid or 0
        if existing is None and unpaid <= 0:
            return
        description = f"Invoice {invoice.number} voided in the ledger"
        self._credit_note(existing, number, found, company, unpaid, invoice.issue_date, description)

    def _credit_note(
        self,
        note: InvoiceResource | None,
        number: str,
        parent: InvoiceResource,
        company: str,
        cents: int,
        on: date,
        description: str,
    ) -> None:
        """A finalized credit note `number` of `cents` on `parent`; an unfinished one is finished."""
        if note is not None and note.finalized:
            return
        if note is None:
            attributes = {
                "currency": parent.attributes.currency,
                "invoiced_on": on.isoformat(),
                "pay_on": on.isoformat(),
                "invoice_type_id": CREDIT_NOTE,
            }
            note = self._new_invoice(attributes, company, number, parent.id)
        if not self.api.line_items(note.id):
            self.api.create_line_item(
                {"description": description, "quantity": "1", "unit_price": -cents, "unit_id": UNIT_PIECE},
                {"invoice": ("invoices", note.id)},
            )
        self.api.finalize_invoice(note.id)

    # --- MilestoneSource ----------------------------------------------------------------------

    def completed_milestones(self, project: str) -> list[CompletedMilestone]:
        """The project's closed milestone tasks, each as its code and the day it was closed."""
        done: dict[str, date] = {}
        for task in self.api.tasks({"project_id": project, "status": CLOSED}):
            code = milestone_code(task.attributes.title)
            closed = mapper.parse_timestamp(task.attributes.closed_at or "")
            if task.attributes.type_id != TASK_MILESTONE or code is None or closed is None:
                continue
            done[code] = min(done.get(code, closed.date()), closed.date())
        return [CompletedMilestone(code=code, completed_on=on) for code, on in sorted(done.items())]

    def _milestone_tasks(self, project: str) -> dict[str, TaskResource]:
        """The project's milestone tasks by the code their title starts with (the first of each code)."""
        tasks: dict[str, TaskResource] = {}
        for task in self.api.tasks({"project_id": project}):
            code = milestone_code(task.attributes.title)
            if task.attributes.type_id == TASK_MILESTONE and code is not None:
                tasks.setdefault(code, task)
        return tasks

    def missing_milestones(self, project: str, milestones: Sequence[MilestoneTerm]) -> list[MilestoneTerm]:
        """The terms that have no milestone task on the project yet (one listing of its tasks)."""
        tasks = self._milestone_tasks(project)
        return [term for term in milestones if term.code not in tasks]

    def ensure_milestones(
        self, project: str, milestones: Sequence[MilestoneTerm], *, template: str | None = None
    ) -> dict[str, str]:
        """One milestone task per term, titled "<code>: <name>" (found by code, created when missing),
        on the project's first open task list; returns code -> task id. Safe to call again.

        `template` (the project's template, when the caller knows it) is named in the refusal of a
        project without a task list: the copy carries the template's task lists, so that is the fix.
        """
        tasks = self._milestone_tasks(project)
        missing = [term for term in milestones if term.code not in tasks]
        if missing:
            lists = [t for t in self.api.task_lists(project) if not t.attributes.archived_at]
            if not lists:
                source = f"template {template}" if template else "project template"
                raise ValidationFailed(
                    f"productive project {project} has no open task list for its milestones "
                    f"({', '.join(term.code for term in missing)}): the {source} needs a task list; "
                    "add one to it, and to this project before a retry"
                )
            for term in missing:
                tasks[term.code] = self.api.create_task(
                    {"title": milestone_title(term), "type_id": TASK_MILESTONE},
                    {"project": ("projects", project), "task_list": ("task_lists", lists[0].id)},
                )
        return {term.code: tasks[term.code].id for term in milestones}


def _line_key(line: LineItemResource) -> LineKey:
    price = _decimal(line.attributes.unit_price)
    return (
        line.attributes.description or "",
        _decimal(line.attributes.quantity),
        int(price) if price.is_finite() else 0,
        line.related("tax_rate"),
        line.related("service"),
        line.related("expense"),
    )
