"""What one piece of work needs, given what the PSA holds now and what the ledger says was posted (pure).

The rules, in order:
- Only approved, billable work with something to bill is ever in accounting (`DeliveredWork.postable`).
- Work whose engagement is not active in accounting yet is parked, not failed; nothing was posted
  for it, so nothing is written until the engagement is active.
- The target is the accounting system the routing names for the engagement's legal entity on the
  day the work was done (`shared.governance.routing`), decided per posting. Work routed to a
  cutover's new system is parked until a person confirmed the cutover (`shared.sync.cutover`).
- What accounting holds is compared by content (the posting's checksum): an edit in the PSA that
  changes nothing accounting sees (a note on unapproved work, a re-approval) writes nothing.
- Posted work that changed, or that is no longer postable (un-approved, rejected, deleted, made
  non-billable), is updated or removed while it is unbilled; once billed it is never touched, and
  an exception names the entry, the invoice and what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from shared.domain.delivery_ports import BookedEngagement, WorkRecord
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.errors import ValidationFailed
from shared.domain.models import SystemName
from shared.domain.postings import (
    Approval,
    DeliveredWork,
    Posting,
    PostingState,
    PostingWrite,
    WorkKind,
    WriteOperation,
)
from shared.governance.mappings import MappingMissing
from shared.governance.routing import Routing

# A shadow posting's engagement record in the new system, before the cutover sets it up there.
AT_CUTOVER = "(set up at cutover)"


@dataclass(frozen=True)
class Plan:
    """What to do for one piece of work: save `record`, and send `write` when there is one.

    `exception`: (kind, reason) when a person must act; `record` then says so too.
    """

    key: str
    record: WorkRecord | None
    write: PostingWrite | None = None
    exception: tuple[str, str] | None = None
    exception_id: str | None = None


def exception_id_for(key: str) -> str:
    """The one exception a piece of work opens (a later success resolves it)."""
    return f"delivery:{key}"


def changes(before: Posting, after: Posting) -> str:
    """What differs between two postings of the same work, as a person reads it."""
    fields = ("worked_on", "minutes", "rate", "amount", "item", "tax_code", "customer", "worker")
    described = [
        f"{name} {getattr(before, name)} -> {getattr(after, name)}"
        for name in fields
        if getattr(before, name) != getattr(after, name)
    ]
    return "; ".join(described) or "description"


class Planner:
    """Decides per piece of work; its lookups (engagement, worker, posting) are passed in."""

    def __init__(
        self,
        *,
        engagement: Callable[[SystemName, str], BookedEngagement | None],
        connected: Callable[[SystemName], bool],
        worker: Callable[[SystemName, DeliveredWork], str | None],
        posting: Callable[[DeliveredWork, BookedEngagement, SystemName, str], Posting],
        routing: Routing,
        awaiting_cutover: Callable[[str, SystemName, date], str | None] = lambda *_: None,
    ) -> None:
        self._engagement = engagement
        self._connected = connected
        self._worker = worker
        self._posting = posting
        self._routing = routing
        # Why work of (legal entity, system, day) waits for a cutover's go-ahead (None: it does not).
        self._awaiting_cutover = awaiting_cutover

    def engagement(self, system: SystemName, project: str) -> BookedEngagement | None:
        """The engagement the hub booked for `project` of PSA `system` (read once per planner)."""
        return self._engagement(system, project)

    def plan(self, key: str, work: DeliveredWork | None, record: WorkRecord | None) -> Plan:
        """The plan for `key`: `work` as the PSA holds it now (None: deleted), `record` the ledger's."""
        posted = record.posted if record is not None else None
        if work is None or not work.postable:
            if posted is None:
                return self._not_posted(key, work, record)
            return self._remove(key, work, record)
        assert record is None or record.key == key
        try:
            desired = self._desired(work, record)
        except _Park as parked:
            if posted is not None:
                return self._exception(key, work, record, "engagement_not_active", str(parked))
            return Plan(key, self._record(work, record, PostingState.PARKED, reason=str(parked)))
        except (MappingMissing, ValidationFailed) as refused:
            kind = "mapping_missing" if isinstance(refused, MappingMissing) else "posting_not_possible"
            return self._exception(key, work, record, kind, str(refused))
        if posted is None:
            write = PostingWrite(
                key=key, operation=WriteOperation.CREATE, kind=work.kind, posting=desired, source=work.source
            )
            return Plan(key, record, write)
        assert record is not None
        if desired.target != posted.target:
            return self._exception(
                key,
                work,
                record,
                "routing_changed",
                f"{_what(work)} was posted to {posted.target}, the routing now names {desired.target}; "
                "move it by hand or correct the routing",
            )
        if desired.checksum() == posted.checksum():
            # Accounting already holds exactly this: only the version moves on (and an exception
            # about a change that was since undone in the PSA is over).
            state = record.state if record.state in _WRITTEN else PostingState.POSTED
            return Plan(key, self._record(work, record, state, keep_posted=True))
        if record.record is not None and record.record.billed:
            return self._billed(key, work, record, f"changed: {changes(posted, desired)}")
        write = PostingWrite(
            key=key,
            operation=WriteOperation.UPDATE,
            kind=work.kind,
            posting=desired,
            record=record.record,
            source=work.source,
        )
        return Plan(key, record, write)

    def expected(
        self, work: DeliveredWork, record: WorkRecord | None, *, shadow_of: SystemName | None = None
    ) -> Posting | str:
        """The posting the hub would write for `work` now, or why it would write none (a replay
        compares it with what accounting holds).

        `shadow_of`: the posting `work` would get in that accounting system instead of the routed
        one (a cutover's shadow). The engagement's record there is set up at the cutover, so a shadow
        posting names it `AT_CUTOVER` rather than being refused for its absence.
        """
        if not work.postable:
            return f"{_what(work)} is not postable: {_why_not(work)}"
        try:
            return self._desired(work, record, shadow_of=shadow_of)
        except (_Park, MappingMissing, ValidationFailed) as refused:
            return str(refused)

    # --- the cases ------------------------------------------------------------------------------

    def _desired(
        self, work: DeliveredWork, record: WorkRecord | None, *, shadow_of: SystemName | None = None
    ) -> Posting:
        psa = work.source.system
        engagement = self._engagement(psa, work.project)
        if engagement is None:
            raise _Park(f"project {work.project} has no engagement set up by the hub (yet)")
        if engagement.status is not EngagementStatus.ACTIVE:
            raise _Park(
                f"engagement {engagement.name} (project {work.project}) is {engagement.status.value}: "
                "it posts once approved and active in accounting"
            )
        if (
            work.kind is WorkKind.EXPENSE
            and work.amount is not None
            and work.amount.currency != engagement.currency
        ):
            raise ValidationFailed(
                f"expense {work.source.id} is in {work.amount.currency}, engagement {engagement.name} in "
                f"{engagement.currency}: convert it in the PSA"
            )
        # NoRoute (a ValidationFailed) names the legal entity and the date without a route.
        target = shadow_of or self._routing.system_for(engagement.legal_entity, work.worked_on)
        if not self._connected(target):
            raise ValidationFailed(
                f"{_what(work)} of {work.worked_on.isoformat()} is routed to {target} (legal entity "
                f"{engagement.legal_entity}), which has no connection"
            )
        waits = None if shadow_of else self._awaiting_cutover(engagement.legal_entity, target, work.worked_on)
        if waits is not None:
            raise _Park(waits)
        if target not in engagement.accounting:
            if shadow_of is None:
                cutover = self._routing.cutover_into(engagement.legal_entity, target, work.worked_on)
                how = (
                    f": `close2cash cutover confirm --legal-entity {cutover.legal_entity}` sets it up"
                    if cutover is not None
                    else ""
                )
                raise _Park(f"engagement {engagement.name} has no record in {target} yet{how}")
            accounting = {**engagement.accounting, target: AT_CUTOVER}
            engagement = engagement.model_copy(update={"accounting": accounting})
        worker = self._worker(target, work)
        if worker is None:
            who = work.worker_name or work.worker.id
            email = f" <{work.worker_email}>" if work.worker_email else ""
            raise ValidationFailed(
                f"no employee in {target} for {who}{email} (PSA person {work.worker.id}): "
                f"add them as an employee in {target} with the same e-mail"
            )
        return self._posting(work, engagement, target, worker)

    def _not_posted(self, key: str, work: DeliveredWork | None, record: WorkRecord | None) -> Plan:
        if record is None and (work is None or work.approval is not Approval.APPROVED):
            # Nothing was ever posted or parked: nothing to remember (most unapproved entries).
            return Plan(key, None)
        if record is None:
            # Approved but not billable: remembered, so that its approval withdrawn later (deleted,
            # un-approved) is known to have stood (shared.sync.delivery.facts).
            assert work is not None
            return Plan(key, self._record(work, None, PostingState.NOT_POSTED))
        if work is None:
            return Plan(
                key, record.model_copy(update={"state": PostingState.REMOVED, "reason": "deleted in the PSA"})
            )
        return Plan(key, self._record(work, record, PostingState.NOT_POSTED))

    def _remove(self, key: str, work: DeliveredWork | None, record: WorkRecord | None) -> Plan:
        assert record is not None and record.posted is not None
        why = "deleted in the PSA" if work is None else _why_not(work)
        if record.record is not None and record.record.billed:
            return self._billed(key, work, record, why)
        source = work.source if work is not None else record.source
        write = PostingWrite(
            key=key, operation=WriteOperation.DELETE, kind=record.kind, record=record.record, source=source
        )
        return Plan(key, record, write)

    def billed(self, key: str, record: WorkRecord, what: str) -> Plan:
        """An exception instead of a write: the record is billed in accounting and stays as it is."""
        return self._billed(key, None, record, what)

    def _billed(self, key: str, work: DeliveredWork | None, record: WorkRecord, what: str) -> Plan:
        assert record.record is not None and record.posted is not None
        invoice = record.record.invoice or "an invoice"
        reason = (
            f"{record.kind.value} entry {record.source.id} ({record.posted.target} {record.record.id}) "
            f"is billed on invoice {invoice} and was not changed there; in the PSA it was {what}: "
            "correct the invoice (credit memo) or the entry"
        )
        return self._exception(key, work, record, "changed_after_billing", reason, keep_posted=True)

    def _exception(
        self,
        key: str,
        work: DeliveredWork | None,
        record: WorkRecord | None,
        kind: str,
        reason: str,
        *,
        keep_posted: bool = True,
    ) -> Plan:
        if work is not None:
            stands = self._record(
                work, record, PostingState.EXCEPTION, reason=reason, keep_posted=keep_posted
            ).model_copy(update={"exception": kind})
        else:
            assert record is not None
            stands = record.model_copy(
                update={"state": PostingState.EXCEPTION, "reason": reason, "exception": kind}
            )
        return Plan(key, stands, exception=(kind, reason), exception_id=exception_id_for(key))

    @staticmethod
    def _record(
        work: DeliveredWork,
        record: WorkRecord | None,
        state: PostingState,
        *,
        reason: str | None = None,
        keep_posted: bool = True,
    ) -> WorkRecord:
        """The record after this version of the work was handled without a write."""
        shown = work.amount if work.kind is WorkKind.EXPENSE else None
        base = {
            "key": work.key,
            "kind": work.kind,
            "source": work.source,
            "project": work.project,
            "worked_on": work.worked_on,
            "state": state,
            "minutes": work.minutes,
            "billable": work.billable,
            # An entry no longer approved has no approval instant (the PSA may still report the old one).
            "approved_at": work.approved_at if work.approval is Approval.APPROVED else None,
            "reason": reason,
            "exception": None,
        }
        if record is None:
            return WorkRecord(**base, amount=shown)
        kept = {} if keep_posted else {"posted": None, "record": None}
        amount = record.posted.amount if record.posted is not None else shown
        return record.model_copy(update={**base, "amount": amount, **kept})


_WRITTEN = frozenset({PostingState.POSTED, PostingState.CORRECTED})
# Exceptions a person fixes elsewhere (a mapping row, an employee, the PSA entry's project): the work
# is looked at again by every sweep and posts once fixed. The others (billed, moved by the routing,
# deleted in accounting) are settled by a person on the accounting side; the entry's next change in
# the PSA brings it back, a sweep does not (it would reopen an exception a person closed).
RETRIED_EXCEPTIONS = frozenset(
    {
        "mapping_missing",
        "posting_not_possible",
        "unreadable_in_psa",
        "posting_refused",
        "engagement_not_active",
    }
)


class _Park(Exception):
    """Not yet: the work waits for its engagement (a reason a person can read)."""


def _what(work: DeliveredWork) -> str:
    return f"{work.kind.value} entry {work.source.id}"


def _why_not(work: DeliveredWork) -> str:
    if work.approval.value != "approved":
        return f"{work.approval.value} (no longer approved)"
    if not work.billable:
        return "made non-billable"
    return "set to nothing billable"
