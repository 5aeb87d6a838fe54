"""Pure functions: a Productive time entry or expense (with its JSON:API `included`) -> DeliveredWork.

How the fields are found:

- **project**: a time entry's relationships are person, service, task and approver; an expense's
  person, service and approver. The project is two steps away: service -> deal (the budget) ->
  project ("An expense always belongs to a service which in turn always belongs to a budget or
  deal", https://developer.productive.io/reference/resources/expenses; services "are line items for
  budgets", https://developer.productive.io/services.html). The listing asks for
  `include=...,service.deal,service.deal.project` so every step is in `included`, with its linkage.
- **service / service_name**: the service's id and `name`; engagement setup names each service
  after the rate card's role (`ProductiveConnector.apply_rate_card`), so the name is the role.
- **billable**: the service's `billing_type_id` 3 is "None/ Not Billable" (1 fixed, 2 time and
  materials, https://developer.productive.io/services.html); time also needs
  `billable_time` > 0, an expense `billable_amount` > 0.
- **minutes**: `billable_time`, whole minutes as Productive reports them
  (https://developer.productive.io/reference/resources/time-entries).
- **amount**: an expense's `billable_amount` in its `currency`, minor units (see `amounts`).
- **approval**: a time entry's `approved` / `rejected`; an expense's `approval_status` 1 approved
  or 4 auto-approved, 3 rejected, 2 not approved
  (https://developer-staging.productive.io/expenses.html).
- **changed_at / version**: `updated_at`, so the version changes with every change Productive makes.

A resource whose service, budget or project cannot be found (not included, or a link missing) is
refused with ValidationFailed naming the entry: it is never guessed onto another engagement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.connectors.productive.amounts import from_minor_units
from shared.connectors.productive.delivery import (
    ExpenseApprovalStatus,
    ExpenseResource,
    IncludedResource,
    TimeEntryResource,
)
from shared.connectors.productive.mapper import EXPENSE_TYPE, TIME_ENTRY_TYPE
from shared.domain.errors import ValidationFailed
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import Approval, DeliveredWork, UnresolvedWork, WorkKind

PERSON_TYPE = "people"
# https://developer.productive.io/time_entries.html "billing_type_id (1: fixed, 2: actuals, 3: non_billable)"
NON_BILLABLE = 3
VENDOR_TYPES: Mapping[WorkKind, str] = {WorkKind.TIME: TIME_ENTRY_TYPE, WorkKind.EXPENSE: EXPENSE_TYPE}
_APPROVED_EXPENSE = frozenset({ExpenseApprovalStatus.APPROVED, ExpenseApprovalStatus.AUTO_APPROVED})

Included = Mapping[tuple[str, str], IncludedResource]


def index(included: Iterable[IncludedResource]) -> dict[tuple[str, str], IncludedResource]:
    """`included` by (type, id), as JSON:API identifies a resource."""
    return {(resource.type, resource.id): resource for resource in included}


@dataclass(frozen=True)
class _Booking:
    """What a time entry and an expense share: where it is booked and by whom."""

    project: str
    service: str
    service_name: str
    billable_service: bool
    worker: SourceRef
    worker_name: str | None
    worker_email: str | None


def _label(kind: WorkKind, record_id: str) -> str:
    return f"productive {VENDOR_TYPES[kind]} {record_id}"


def _booking(kind: WorkKind, record_id: str, person_id: str, service_id: str, included: Included) -> _Booking:
    label = _label(kind, record_id)
    service = included.get(("services", service_id))
    if service is None:
        raise ValidationFailed(f"{label}: its service {service_id} is not in the answer's `included`")
    deal_id = service.related_id("deal")
    if deal_id is None:
        raise ValidationFailed(f"{label}: service {service_id} names no budget (deal)")
    deal = included.get(("deals", deal_id))
    if deal is None:
        raise ValidationFailed(f"{label}: budget {deal_id} of service {service_id} is not in `included`")
    project_id = deal.related_id("project")
    if project_id is None:
        raise ValidationFailed(f"{label}: budget {deal_id} of service {service_id} names no project")
    name = str(service.attributes.get("name") or "").strip()
    if not name:
        raise ValidationFailed(f"{label}: service {service_id} has no name (the role it bills)")
    person = included.get((PERSON_TYPE, person_id))
    attributes: Mapping[str, Any] = person.attributes if person is not None else {}
    full_name = " ".join(
        str(part).strip() for part in (attributes.get("first_name"), attributes.get("last_name")) if part
    ).strip()
    email = attributes.get("email")
    return _Booking(
        project=project_id,
        service=service_id,
        service_name=name,
        billable_service=service.attributes.get("billing_type_id") != NON_BILLABLE,
        worker=SourceRef(system=SystemName.PRODUCTIVE, type=PERSON_TYPE, id=person_id),
        worker_name=full_name or None,
        worker_email=(str(email).strip() or None) if email else None,
    )


def _source(vendor_type: str, record_id: str, version: str) -> SourceRef:
    return SourceRef(system=SystemName.PRODUCTIVE, type=vendor_type, id=record_id, version=version)


def time_entry_work(entry: TimeEntryResource, included: Included) -> DeliveredWork:
    """The time entry as DeliveredWork; ValidationFailed naming the entry when it cannot be mapped."""
    booking = _booking(WorkKind.TIME, entry.id, entry.person_id, entry.service_id, included)
    attributes = entry.attributes
    approval = (
        Approval.APPROVED
        if attributes.approved
        else Approval.REJECTED
        if attributes.rejected
        else Approval.PENDING
    )
    return _work(
        WorkKind.TIME,
        entry.id,
        booking,
        worked_on=attributes.date,
        minutes=attributes.billable_time,
        billable=booking.billable_service and attributes.billable_time > 0,
        approval=approval,
        approved_at=attributes.approved_at,
        invoiced=attributes.invoiced,
        note=attributes.note,
        changed_at=attributes.updated_at,
    )


def expense_work(expense: ExpenseResource, included: Included) -> DeliveredWork:
    """The expense as DeliveredWork; ValidationFailed naming the expense when it cannot be mapped."""
    booking = _booking(WorkKind.EXPENSE, expense.id, expense.person_id, expense.service_id, included)
    attributes = expense.attributes
    # No billable amount at all is read as nothing to bill (0), not as the full cost.
    billable_minor = attributes.billable_amount or 0
    try:
        amount: Money = from_minor_units(billable_minor, attributes.currency)
    except ValueError as exc:
        raise ValidationFailed(f"{_label(WorkKind.EXPENSE, expense.id)}: {exc}") from exc
    status = attributes.approval_status
    approval = (
        Approval.APPROVED
        if status in _APPROVED_EXPENSE
        else Approval.REJECTED
        if status is ExpenseApprovalStatus.REJECTED
        else Approval.PENDING
    )
    return _work(
        WorkKind.EXPENSE,
        expense.id,
        booking,
        worked_on=attributes.date,
        amount=amount,
        billable=booking.billable_service and billable_minor > 0,
        approval=approval,
        approved_at=attributes.approved_at,
        invoiced=bool(attributes.invoiced),
        note=attributes.name,
        changed_at=attributes.updated_at,
    )


def _work(kind: WorkKind, record_id: str, booking: _Booking, **fields: Any) -> DeliveredWork:
    changed_at = fields["changed_at"]
    try:
        return DeliveredWork(
            source=_source(VENDOR_TYPES[kind], record_id, changed_at.isoformat()),
            kind=kind,
            project=booking.project,
            service=booking.service,
            service_name=booking.service_name,
            worker=booking.worker,
            worker_name=booking.worker_name,
            worker_email=booking.worker_email,
            **fields,
        )
    except ValidationError as exc:
        raise ValidationFailed(f"{_label(kind, record_id)}: {exc}") from exc


def map_page(
    kind: WorkKind,
    resources: Iterable[TimeEntryResource | ExpenseResource],
    included: Iterable[IncludedResource],
) -> tuple[list[DeliveredWork], list[UnresolvedWork]]:
    """Every resource of one answer mapped; one that cannot be is set aside with its reason, not raised."""
    found = index(included)
    works: list[DeliveredWork] = []
    unresolved: list[UnresolvedWork] = []
    for resource in resources:
        try:
            if isinstance(resource, TimeEntryResource):
                works.append(time_entry_work(resource, found))
            else:
                works.append(expense_work(resource, found))
        except ValidationFailed as exc:
            unresolved.append(UnresolvedWork(kind=kind, id=resource.id, reason=str(exc)))
    return works, unresolved
