"""What a billing run composes from: the engagement's invoice context in one ledger, and its billable work.

Shared by the billing run (the invoice it posts) and a cutover's shadow diff (the invoice the new
ledger would have received for the same work): both build their inputs here, so the shadow is
composed exactly as the run would compose it, only with the new ledger's codes.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.domain.billing_runs import BillableWork, BillingRun, InvoiceContext, LineKind, RunState
from shared.domain.delivery_ports import BookedEngagement, WorkRecord
from shared.domain.dimensions import FinancialDimensions
from shared.domain.errors import ValidationFailed
from shared.domain.models import SourceRef, SystemName
from shared.domain.postings import Posting, WorkKind
from shared.governance.landscape import Landscape


def invoice_context(
    landscape: Landscape, booked: BookedEngagement, system: SystemName, customer: str
) -> InvoiceContext:
    """Who `booked`'s invoices bill in `system` (`customer`: its record there), with that ledger's codes."""
    held = booked.dimensions_in(system)
    return InvoiceContext(
        engagement=booked.psa,
        name=booked.name,
        customer=SourceRef(system=system, type="customer", id=customer),
        legal_entity=booked.legal_entity,
        currency=booked.currency,
        terms=booked.billing.model_copy(
            update={"contract": booked.billing.contract or booked.opportunity.id}
        ),
        item=landscape.billing.fixed_item.get(system),
        tax_code=landscape.billing.fixed_tax_code.get(booked.legal_entity, ""),
        tax_rates=landscape.billing.rates_for(booked.legal_entity),
        dimensions=FinancialDimensions(
            legal_entity=booked.legal_entity,
            department=held.get("department"),
            accounting_class=held.get("accounting_class"),
            location=held.get("location"),
            cost_center=held.get("cost_center"),
        ),
    )


def billable_work(
    landscape: Landscape, booked: BookedEngagement, record: WorkRecord, posting: Posting, *, held_as: str
) -> BillableWork:
    """`record`'s work as an invoice line bills it: `posting` as the ledger holds it (record `held_as`)."""
    tax_code = posting.tax_code or landscape.billing.fixed_tax_code.get(booked.legal_entity)
    if tax_code is None:
        raise ValidationFailed(f"{record.key}: no tax code to invoice it with")
    return BillableWork(
        key=record.key,
        kind=LineKind.TIME if record.kind is WorkKind.TIME else LineKind.EXPENSE,
        work=record.source,
        role=posting.service or posting.item or record.kind.value,
        worked_on=record.worked_on,
        minutes=posting.minutes,
        amount=posting.amount,
        rate=posting.rate,
        item=posting.item,
        tax_code=tax_code,
        record=held_as,
        description=posting.description,
    )


def billed_milestones(runs: Iterable[BillingRun]) -> set[str]:
    """The milestone codes the posted runs among `runs` billed."""
    return {
        line.origin.removeprefix("milestone:")
        for run in runs
        if run.state is RunState.POSTED and run.invoice is not None
        for line in run.invoice.lines
        if line.origin and line.origin.startswith("milestone:")
    }
