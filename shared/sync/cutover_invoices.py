"""A cutover's shadow invoices: each invoice of the shadow period, composed again for the new ledger.

A billing run of the shadow period posted its invoice to the old ledger. The shadow composes the
invoice the same run would have posted to the new one: the same works (those the invoice billed,
and for a retainer every hour of its period), each as the new ledger would hold it (the delivery
flow's shadow posting: the new ledger's item and tax code), the same milestones, the same carried
hours, the same issue date, with the new ledger's fixed item and dimensions. It is compared with what
the old ledger holds for that invoice now (its total with the tax that ledger computed), so a tax
code that rounds differently, a rate that is not the same or an entry the new ledger cannot take
shows as a line of the diff before any invoice is issued there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from shared.domain.billing_ports import BillingStore, InvoiceTarget
from shared.domain.billing_runs import BillableWork, BillingRun, CompletedMilestone, RunState, compose
from shared.domain.cutover import CutoverLine, InvoiceFigures, compare
from shared.domain.delivery_ports import BookedEngagement, WorkRecord
from shared.domain.engagements import BillingModel
from shared.domain.errors import ValidationFailed
from shared.domain.models import SystemName
from shared.domain.postings import Posting, WorkKind
from shared.governance.landscape import Landscape
from shared.governance.routing import Cutover
from shared.sync.billing.inputs import billable_work, billed_milestones, invoice_context

# The customer a shadow invoice names when the engagement has no record in the new ledger yet (the
# confirmation sets it up): the figures compared do not depend on it.
NOT_SET_UP = "(set up at the cutover)"
# The lines a billing run posts with the landscape's fixed item (not an entry's own item).
_FIXED_LINES = ("milestone:", "retainer:")


class ShadowInvoices:
    """The invoice documents of one engagement's shadow period, with their lines."""

    def __init__(
        self,
        *,
        landscape: Landscape,
        store: BillingStore,
        target: Callable[[SystemName], InvoiceTarget],
    ) -> None:
        self._landscape = landscape
        self._store = store
        self._target = target

    def compared(
        self,
        cutover: Cutover,
        booked: BookedEngagement,
        records: Sequence[WorkRecord],
        shadow: Mapping[str, Posting | str],
    ) -> tuple[list[CutoverLine], int]:
        """(lines, invoices compared): `records` are the engagement's works from the first day of the
        shadow period's first month, `shadow` what the new ledger would hold for each (by key)."""
        if cutover.shadow_from is None:
            return [], 0
        runs = self._store.runs(booked.psa)
        posted = sorted(
            (r for r in runs if r.state is RunState.POSTED and r.invoice is not None and r.invoice_id),
            key=lambda r: r.period.month,
        )
        lines: list[CutoverLine] = []
        compared = 0
        for run in posted:
            last = run.period.last_day
            if run.target is not cutover.old or not cutover.shadow_from <= last < cutover.on:
                continue
            earlier = [r for r in posted if r.period.month < run.period.month]
            new = self._compose(cutover.new, booked, run, earlier, records, shadow)
            standing = self._target(cutover.old).invoice_standing(run.invoice_id or "")
            old = None if standing is None or standing.voided else InvoiceFigures.of_standing(standing)
            number = run.invoice.number if run.invoice is not None else run.id
            document = f"invoice {number} of {run.period} ({cutover.old} {run.invoice_id}), {booked.name}"
            lines += compare(f"{cutover.legal_entity}:invoice:{run.id}", document, old, new)
            compared += 1
        return lines, compared

    def _compose(
        self,
        new: SystemName,
        booked: BookedEngagement,
        run: BillingRun,
        earlier: Sequence[BillingRun],
        records: Sequence[WorkRecord],
        shadow: Mapping[str, Posting | str],
    ) -> InvoiceFigures | str | None:
        """The invoice the run would have posted to `new` (a str: why it could not; None: nothing)."""
        assert run.invoice is not None
        retainer = booked.billing.model is BillingModel.RETAINER
        billed_here = [r for r in records if _billed_by(r, run, retainer=retainer)]
        works: list[BillableWork] = []
        refused: list[str] = []
        for record in billed_here:
            posting = shadow.get(record.key)
            if isinstance(posting, str):
                refused.append(record.source.id)
            elif posting is not None:
                held_as = record.record.id if record.record is not None else record.key
                works.append(billable_work(self._landscape, booked, record, posting, held_as=held_as))
        if refused:
            return f"it bills {', '.join(refused)}, which {new} could not take (their own lines say why)"
        milestones = [
            CompletedMilestone(code=line.origin.removeprefix("milestone:"), completed_on=line.service_date)
            for line in run.invoice.lines
            if line.origin and line.origin.startswith("milestone:") and line.service_date is not None
        ]
        previous = next((r for r in earlier if r.period == run.period.previous), None)
        customer = booked.accounting.get(new, NOT_SET_UP)
        try:
            composition = compose(
                invoice_context(self._landscape, booked, new, customer),
                run.period,
                works=works,
                completed=milestones,
                billed_milestones=billed_milestones(earlier),
                carried_minutes=previous.unused_minutes if previous is not None else 0,
                issued_on=run.invoice.issue_date,
                run_id=run.id,
            )
        except ValidationFailed as why:
            return str(why)
        invoice = composition.invoice
        if invoice is None:
            return None
        fixed = [
            o.split(":")[0] for line in invoice.lines if (o := line.origin) and o.startswith(_FIXED_LINES)
        ]
        if fixed and new not in self._landscape.billing.fixed_item:
            return (
                f"its {fixed[0]} line needs the service item {new} posts it with: "
                f'add {new.value} = "<item id>" to fixed_item in [billing]'
            )
        return InvoiceFigures.of_invoice(invoice)


def _billed_by(record: WorkRecord, run: BillingRun, *, retainer: bool) -> bool:
    """The work was part of `run`'s invoice: billed on it, or (a retainer) an hour of its period that
    counted against the allowance."""
    if not run.period.covers(record.worked_on) or not record.billable:
        return False
    if record.record is not None and record.record.invoice == run.invoice_id:
        return True
    return (
        retainer
        and record.kind is WorkKind.TIME
        and record.posted is not None
        and record.posted.target == run.target
        and (record.record is None or not record.record.billed)
    )
