"""Approved work + its booked engagement + the landscape's mappings -> the posting accounting gets (pure).

Every code on a posting comes from somewhere a person can point at: the customer from the
engagement the hub set up (its sub-customer), class and location from the engagement's posting
dimensions (assigned at setup), the rate from the engagement's rate card by role (the service is
named after the role), and the item, tax code and accounts from the mapping tables. A value a
table does not translate is a `MappingMissing` naming the table and the value, never a guess.
"""

from __future__ import annotations

from typing import Any

from shared.domain.delivery_ports import BookedEngagement
from shared.domain.errors import ValidationFailed
from shared.domain.models import SystemName
from shared.domain.postings import DeliveredWork, Posting, WorkKind, amount_for, reference_to
from shared.governance.mappings import Mappings

DESCRIPTION_MAX = 4000


class RateMissing(ValidationFailed):
    """The engagement's rate card has no rate for the role a person booked time as."""


def describe(work: DeliveredWork, reference: str) -> str:
    """What the accounting record says about the work: role, who, note, and the way back to the PSA."""
    who = work.worker_name or f"person {work.worker.id}"
    note = f": {work.note.strip()}" if work.note and work.note.strip() else ""
    text = f"{work.service_name}, {who}{note}"
    suffix = f" [{reference}]"
    return text[: DESCRIPTION_MAX - len(suffix)] + suffix


def build_posting(
    work: DeliveredWork,
    engagement: BookedEngagement,
    *,
    target: SystemName,
    worker_id: str,
    mappings: Mappings,
) -> Posting:
    """The posting of `work` in `target`; MappingMissing or RateMissing naming what is not there."""
    psa = work.source.system
    entity = engagement.legal_entity
    customer = engagement.accounting[target]

    def mapped(table: str, value: str) -> str:
        return mappings.map(table, value, source=psa, target=target, legal_entity=entity)

    dimensions = engagement.dimensions_in(target)
    common: dict[str, Any] = {
        "work": work.source,
        "kind": work.kind,
        "target": target,
        "legal_entity": entity,
        "customer": customer,
        "worker": worker_id,
        "worked_on": work.worked_on,
        "accounting_class": dimensions.get("accounting_class"),
        "department": dimensions.get("department"),
        "location": dimensions.get("location"),
        "tax_code": mapped("service_tax_codes", work.service_name),
        "service": work.service_name,
    }
    description = describe(work, reference_to(work.source))
    if work.kind is WorkKind.TIME:
        rate = engagement.rate(work.service_name)
        if rate is None:
            roles = ", ".join(sorted(engagement.rates)) or "none"
            raise RateMissing(
                f"engagement {engagement.psa.id} ({engagement.name}): its rate card has no rate for role "
                f"{work.service_name!r} (time entry {work.source.id}); rates exist for: {roles}"
            )
        return Posting(
            **common,
            minutes=work.minutes,
            rate=rate,
            amount=amount_for(rate, work.minutes),
            item=mapped("service_items", work.service_name),
            description=description,
        )
    assert work.amount is not None  # DeliveredWork requires it for expenses
    return Posting(
        **common,
        amount=work.amount,
        expense_account=mapped("expense_accounts", work.service_name),
        payment_account=mapped("payment_accounts", entity),
        description=description,
    )
