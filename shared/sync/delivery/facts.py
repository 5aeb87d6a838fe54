"""What the delivery flow learned, as domain events: each approved entry, and each approval withdrawn (pure).

Every entry read from the PSA that stands approved is stated as `TimeApproved` / `ExpenseApproved`,
billable or not (utilization needs the non-billable hours too), with the rate the engagement's rate
card gives its role. Its id is derived from the fact (`DomainEvent.fact`): the same version read
again (a redelivery, a sweep, parked work looked at again) is the same event; a new version or new
figures are a new event, which supersedes the earlier one (a later `occurred_at`, the PSA's change
instant). An entry the hub had seen approved that is deleted, un-approved or rejected is stated as
`RecordWithdrawn` (withdrawing its approval event). Made non-billable is not a withdrawal: the hours
were delivered; the new version's event says `billable: false`.

What cannot be stated is skipped, never failing the flow: work on a project whose engagement the
hub has not booked (its currency and rate card are unknown; parked work is read again, and stated,
once the engagement is booked), time whose role has no rate while it is billable (it is in
exception until the rate card has one), and an entry the domain model refuses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from pydantic import ValidationError

from shared.domain.decimals import CONTEXT
from shared.domain.delivery import ExpenseEntry, TimeEntry
from shared.domain.delivery_ports import BookedEngagement, WorkRecord
from shared.domain.events import DomainEvent, ExpenseApproved, RecordWithdrawal, RecordWithdrawn, TimeApproved
from shared.domain.models import SystemName
from shared.domain.money import Money
from shared.domain.postings import Approval, DeliveredWork, PostingState, WorkKind

logger = logging.getLogger(__name__)

# Hours are kept to 10 places, as the analytical layer lands decimals (DECIMAL(38, 10)). Minutes
# that do not divide into hours exactly (55 min = 0.91666...) are rounded up at the 10th place: for
# whole-cent rates below 16,700 per hour, hours x rate then rounds half-up to the same amount as
# rate x minutes / 60 (the posting's figure), because the exact amount is never closer than 1/60 of
# a cent to a half cent without being on it.
HOUR_PLACES = Decimal("1e-10")
APPROVED_EVENTS: Mapping[WorkKind, type[DomainEvent[Any]]] = {
    WorkKind.TIME: TimeApproved,
    WorkKind.EXPENSE: ExpenseApproved,
}
# States in which the ledger's record says the entry stood approved when last handled.
_APPROVED_STATES = frozenset({PostingState.POSTED, PostingState.CORRECTED, PostingState.PARKED})

Engagements = Callable[[SystemName, str], BookedEngagement | None]


def hours_of(minutes: int) -> Decimal:
    """`minutes` as hours, exact when they divide, else rounded up at the 10th place (see above)."""
    exact = CONTEXT.divide(Decimal(minutes), Decimal(60))
    return exact.quantize(HOUR_PLACES, ROUND_CEILING, CONTEXT).normalize(CONTEXT)


def work_facts(
    items: Mapping[str, DeliveredWork | None],
    records: Mapping[str, WorkRecord],
    engagement: Engagements,
    *,
    now: datetime,
) -> list[DomainEvent[Any]]:
    """The events stating what `items` (key -> the entry as the PSA holds it now, None: deleted) say,
    given `records` (the ledger's, before this read). Each event's correlation id is the work key:
    it ties together every event about one entry."""
    facts: list[DomainEvent[Any]] = []
    for key, work in items.items():
        before = records.get(key)
        if work is not None and work.approval is Approval.APPROVED:
            fact = _approved(work, engagement, correlation_id=key)
            if fact is not None:
                facts.append(fact)
        elif _stood_approved(before):
            assert before is not None
            facts.append(_withdrawn(work, before, now=now, correlation_id=key))
    return facts


def _stood_approved(record: WorkRecord | None) -> bool:
    """The ledger saw the entry approved when it last handled it (and has not seen it withdrawn)."""
    if record is None or record.state is PostingState.REMOVED:
        return False
    return record.approved_at is not None or record.state in _APPROVED_STATES


def _approved(
    work: DeliveredWork, engagement: Engagements, *, correlation_id: str
) -> DomainEvent[Any] | None:
    booked = engagement(work.source.system, work.project)
    if booked is None:
        return None
    try:
        entry = _time_entry(work, booked) if work.kind is WorkKind.TIME else _expense_entry(work, booked)
        if entry is None:
            return None
        event = APPROVED_EVENTS[work.kind].fact(
            entry, correlation_id=correlation_id, occurred_at=work.changed_at
        )
    except ValidationError as refused:
        logger.warning("%s entry %s is not stated as approved: %s", work.kind.value, work.source, refused)
        return None
    return event


def _time_entry(work: DeliveredWork, booked: BookedEngagement) -> TimeEntry | None:
    if work.minutes <= 0:
        return None
    rate = booked.rate(work.service_name)
    if rate is None:
        if work.billable:
            return None
        # Non-billable time on a role the card does not price: its hours count, its value is nil.
        rate = Money.zero(booked.currency)
    return TimeEntry(
        source=work.source,
        project=booked.psa,
        worker=work.worker,
        worked_on=work.worked_on,
        hours=hours_of(work.minutes),
        rate=rate,
        billable=work.billable,
        approved_at=work.approved_at,
        role=work.service_name,
        description=work.note,
    )


def _expense_entry(work: DeliveredWork, booked: BookedEngagement) -> ExpenseEntry | None:
    if work.amount is None:
        return None
    return ExpenseEntry(
        source=work.source,
        project=booked.psa,
        worker=work.worker,
        receipt_date=work.worked_on,
        category=work.service_name,
        amount=work.amount,
        billable=work.billable,
        approved_at=work.approved_at,
        description=work.note,
    )


def _withdrawn(
    work: DeliveredWork | None, before: WorkRecord, *, now: datetime, correlation_id: str
) -> RecordWithdrawn:
    if work is None:
        record, reason, when = before.source, "deleted in the PSA", now
    else:
        what = "rejected" if work.approval is Approval.REJECTED else "no longer approved"
        record, reason, when = work.source, f"{what} in the PSA", work.changed_at
    withdrawal = RecordWithdrawal(
        record=record, withdraws=APPROVED_EVENTS[before.kind].event_type(), reason=reason
    )
    return RecordWithdrawn.fact(withdrawal, correlation_id=correlation_id, occurred_at=when)
