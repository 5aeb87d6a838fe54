"""The time and expense flow: approved billable work in the PSA becomes billable work in accounting.

Where work comes from. Productive sends no "approved" event: approval is an ordinary update. So
every change notice about a time entry or expense is a hint ("look at these"); the worker reads the
entries' current state from the PSA in bulk (one list call per 200) and `Planner` decides what each
needs. A scheduled sweep reads everything changed since its cursor (kept in the ledger) and does
the same, so a lost or late webhook costs latency, never an entry. A notice whose entry the
ledger has already handled at that version (or later) is not even fetched: redelivery is free.

How work is written, exactly once. Writes go in batches of the target's safe size. Before a batch
is sent it is recorded in the ledger with its exact writes, and each of its works is claimed by it
(one DynamoDB transaction): a second worker (the sweep beside a webhook, a redelivery) cannot
write the same work meanwhile. The batch's id is the vendor's request id (QuickBooks `requestid`):
if the worker dies after QuickBooks wrote and before the ledger heard, whoever finds the claim
stale resends the recorded batch with the same id and QuickBooks answers what it did the first
time, writing nothing again. A throttled batch (429, or the shared rate budget full) wrote nothing:
its claims are released and the messages come back after the wait (never a sleep in a Lambda).

Corrections. Before an update or a removal the hub reads the records' current state from
accounting (one query per batch): a record billed meanwhile is never touched, an exception names
the entry, the invoice and what changed.

Facts. Each entry read is stated on the bus before it is recorded as handled: approved (time or
expense, billable or not) or its approval withdrawn (shared.sync.delivery.facts), in one publish
call per batch.

Background. Every vendor call of this flow is made at background priority: it never takes the
share of a rate budget that interactive flows (customer sync, engagement setup) keep.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta

from shared.domain.delivery_ports import (
    DeliverySource,
    PostingStore,
    PostingTarget,
    WorkRecord,
)
from shared.domain.errors import PermanentError
from shared.domain.metrics import BusinessMetric
from shared.domain.models import EntityType, SourceRef, SystemName, utcnow
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import ExceptionRecord, Ledger, Metrics
from shared.domain.postings import (
    DeliveredWork,
    PostedRecord,
    Posting,
    PostingState,
    PostingWrite,
    UnresolvedWork,
    WorkKind,
    WriteOperation,
    work_key,
)
from shared.governance.mappings import Mappings
from shared.governance.routing import Routing
from shared.sync.delivery.batches import (
    HELD_RETRY_SECONDS,
    STALE_CLAIM,
    BatchWriter,
    Pending,
    by_target,
    removed,
)
from shared.sync.delivery.facts import work_facts
from shared.sync.delivery.plan import RETRIED_EXCEPTIONS, Plan, changes, exception_id_for
from shared.sync.delivery.planning import Planners
from shared.sync.delivery.report import DeliveryReport, WorkHeld
from shared.sync.exceptions import open_exception, resolve_exception
from shared.sync.facts import Publisher, publish_facts

# The detail-type of engagement setup's "engagement activated" event (shared.domain.events).
ACTIVATED = "close2cash.engagement.activated"
# A PSA list call takes this many ids (Productive's largest page).
FETCH_CHUNK = 200
ENTITY_KINDS: Mapping[EntityType, WorkKind] = {
    EntityType.TIME_ENTRY: WorkKind.TIME,
    EntityType.EXPENSE_ENTRY: WorkKind.EXPENSE,
}
KIND_ENTITIES: Mapping[WorkKind, EntityType] = {kind: entity for entity, kind in ENTITY_KINDS.items()}
# States in which the version last handled is the whole truth (nothing waits for anything).
_SETTLED = frozenset(
    {PostingState.POSTED, PostingState.CORRECTED, PostingState.REMOVED, PostingState.NOT_POSTED}
)


def notice_key(notice: ChangeNotice) -> str | None:
    """The work key a notice is about, or None when it is not about delivered work."""
    kind = ENTITY_KINDS.get(notice.entity)
    return None if kind is None else work_key(notice.provider, kind, notice.record_id)


class DeliverySync:
    """The use case behind the time_sync worker and the delivery sweep."""

    def __init__(
        self,
        *,
        source: Callable[[], DeliverySource],
        target: Callable[[SystemName], PostingTarget],
        connected: Callable[[SystemName], bool],
        store: PostingStore,
        ledger: Ledger,
        metrics: Metrics,
        mappings: Mappings,
        routing: Routing,
        priority: Callable[[], AbstractContextManager[object]] = nullcontext,
        clock: Callable[[], datetime] = utcnow,
        new_batch_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        cutover_confirmed: Callable[[str, SystemName], bool] = lambda *_: True,
        events: Publisher = None,
    ) -> None:
        self._source = source
        self._events = events
        self._target = target
        self._store = store
        self._ledger = ledger
        self._metrics = metrics
        self._routing = routing
        self._priority = priority
        self._clock = clock
        self._planners = Planners(
            store=store,
            target=target,
            connected=connected,
            ledger=ledger,
            mappings=mappings,
            routing=routing,
            cutover_confirmed=cutover_confirmed,
            clock=clock,
        )
        self._batches = BatchWriter(
            target=target,
            store=store,
            metrics=metrics,
            clock=clock,
            new_batch_id=new_batch_id,
            opened=self._open,
            resolved=self._resolve,
        )

    # --- entry points ------------------------------------------------------------------------------

    def on_notices(self, notices: Sequence[ChangeNotice]) -> DeliveryReport:
        """Handle a batch of notices: fetch what changed in bulk, then post, park or correct it."""
        report = DeliveryReport()
        wanted: dict[WorkKind, dict[str, ChangeNotice]] = {}
        for notice in notices:
            kind = ENTITY_KINDS.get(notice.entity)
            if kind is not None:
                wanted.setdefault(kind, {})[notice.record_id] = notice
        with self._priority():
            for kind, by_id in wanted.items():
                keys = {record_id: work_key(self._source().system, kind, record_id) for record_id in by_id}
                records = self._store.works(list(keys.values()))
                fresh = [
                    record_id
                    for record_id, notice in by_id.items()
                    if not _already_handled(notice, records.get(keys[record_id]))
                ]
                report.skipped += len(by_id) - len(fresh)
                if len(by_id) > len(fresh):
                    self._metrics.count(
                        BusinessMetric.DUPLICATES_PREVENTED,
                        len(by_id) - len(fresh),
                        dimensions={"flow": kind.value},
                    )
                if fresh:
                    report.merge(self._fetch_and_settle(kind, fresh, records))
        return report

    def on_messages(self, notices: Sequence[ChangeNotice], *, engagements_activated: bool) -> DeliveryReport:
        """One queue batch: its notices settled in bulk, and parked work looked at again when an
        engagement was activated meanwhile (its parked work may post now)."""
        report = self.on_notices(notices)
        if engagements_activated:
            report.merge(self.release())
        return report

    def sweep(self, kind: WorkKind, *, look_back: timedelta, overlap: timedelta) -> DeliveryReport:
        """Read every change since the cursor and settle it; the cursor moves only after a full sweep.

        The cursor is kept with `overlap` (a change committed while the previous sweep read is seen
        again, and skipped by its version), and never past the oldest change that was held by a batch
        in flight: the next sweep looks at that one again.
        """
        report = DeliveryReport()
        started = self._clock()
        name = f"delivery:{self._source().system}:{kind.value}"
        saved = self._ledger.cursor(name)
        since = datetime.fromisoformat(saved) - overlap if saved else started - look_back
        oldest_held: datetime | None = None
        with self._priority():
            self.recover()
            chunk: list[DeliveredWork] = []
            for work in self._source().changed_work(kind, since):
                chunk.append(work)
                if len(chunk) == FETCH_CHUNK:
                    oldest_held = _older(oldest_held, self._settle_listed(kind, chunk, report))
                    chunk = []
            if chunk:
                oldest_held = _older(oldest_held, self._settle_listed(kind, chunk, report))
            listed_unresolved = self._source().last_unresolved
            if listed_unresolved:
                keys = [work_key(self._source().system, u.kind, u.id) for u in listed_unresolved]
                self._unresolved(self._source().system, listed_unresolved, self._store.works(keys), report)
            report.merge(self.release(kind))
        cursor = started if oldest_held is None else min(started, oldest_held)
        self._ledger.set_cursor(name, cursor.isoformat())
        return report

    def release(self, kind: WorkKind | None = None) -> DeliveryReport:
        """Look again at parked work (and work in exception): what can post now posts.

        Called when an engagement becomes active, and by every sweep (so a lost activation event
        delays parked work by one sweep at most).
        """
        report = DeliveryReport()
        with self._priority():
            waiting = [
                r
                for r in self._store.parked()
                if (kind is None or r.kind is kind)
                and (r.state is PostingState.PARKED or r.exception in RETRIED_EXCEPTIONS)
            ]
            for which in WorkKind:
                records = {r.key: r for r in waiting if r.kind is which}
                if records:
                    ids = [r.source.id for r in records.values()]
                    report.merge(self._fetch_and_settle(which, ids, records))
        return report

    def recover(self) -> int:
        """Resend every batch whose sender died before recording its outcome; how many were resent."""
        stale = self._store.pending_batches(created_before=self._clock() - STALE_CLAIM)
        for batch in stale:
            self._batches.resend(batch)
        return len(stale)

    # --- replay ------------------------------------------------------------------------------------

    def expected(
        self,
        works: Sequence[DeliveredWork],
        records: Mapping[str, WorkRecord],
        *,
        shadow_of: SystemName | None = None,
    ) -> dict[str, Posting | str]:
        """The posting the hub would write now for each of `works` (by key), or why it would write
        none: what a replay compares with what accounting holds. `shadow_of`: what that accounting
        system would receive instead (a cutover's shadow; nothing is written there)."""
        planner = self._planners.planner()
        return {
            work.key: planner.expected(work, records.get(work.key), shadow_of=shadow_of) for work in works
        }

    def rewrite(
        self,
        work: DeliveredWork,
        record: WorkRecord,
        posting: Posting,
        held: PostedRecord,
        *,
        request_id: str,
    ) -> WorkRecord:
        """Write `posting` over `held` (the accounting record as just read, its version with it),
        whatever the ledger remembers; the work's record after.

        A replay found the record differs from what the hub would write now (a mapping table
        corrected since): the checksum shortcut of `_settle` compares with the ledger, which may
        agree with the new posting or not, so here the update is made. It goes the flow's own way:
        claimed, recorded as a batch, sent under `request_id` (derived by the caller from what is
        written, so a resend replays), its outcome recorded. Raises PermanentError when it was not
        written (held by another batch, changed meanwhile, refused: the reason says which).
        """
        if record.batch is not None:
            raise PermanentError(
                f"{record.key} is being written by batch {record.batch}: replay it again later"
            )
        if held.billed:
            raise PermanentError(f"{record.key}: its record {held.id} is billed; it is not changed")
        write = PostingWrite(
            key=record.key,
            operation=WriteOperation.UPDATE,
            kind=record.kind,
            posting=posting,
            record=held,
            source=work.source,
        )
        report = DeliveryReport()
        with self._priority():
            self._batches.write(
                posting.target,
                [Pending(write, record, work.project, work.approved_at)],
                report,
                given_id=request_id,
            )
        after = self._store.works([record.key]).get(record.key)
        if record.key in report.retry:
            raise PermanentError(f"{record.key} was not written now: {report.retry[record.key]}")
        if after is None or after.state is not PostingState.CORRECTED:
            why = after.reason if after is not None and after.reason else "no outcome recorded"
            raise PermanentError(f"{record.key} was not written: {why}")
        return after

    # --- settling ----------------------------------------------------------------------------------

    def _fetch_and_settle(
        self, kind: WorkKind, ids: Sequence[str], records: Mapping[str, WorkRecord]
    ) -> DeliveryReport:
        report = DeliveryReport()
        source = self._source()
        found: dict[str, DeliveredWork] = {}
        unresolved: list[UnresolvedWork] = []
        for start in range(0, len(ids), FETCH_CHUNK):
            read = source.read_work(kind, ids[start : start + FETCH_CHUNK])
            found.update((work.source.id, work) for work in read.works)
            unresolved.extend(read.unresolved)
        report.fetched += len(found)
        # Absent from the answer: deleted in the PSA. Unresolved: it exists, but cannot be read as
        # work (a person must look): never mistaken for a delete.
        self._unresolved(source.system, unresolved, records, report)
        held_back = {u.id for u in unresolved}
        items = {
            work_key(source.system, kind, record_id): found.get(record_id)
            for record_id in ids
            if record_id not in held_back
        }
        self._settle(kind, items, dict(records), report)
        return report

    def _unresolved(
        self,
        system: SystemName,
        unresolved: Sequence[UnresolvedWork],
        records: Mapping[str, WorkRecord],
        report: DeliveryReport,
    ) -> None:
        """Entries the PSA has but that cannot be read as work: an exception each, their records kept."""
        saves: list[WorkRecord] = []
        for entry in unresolved:
            key = work_key(system, entry.kind, entry.id)
            reason = f"{entry.kind.value} entry {entry.id} cannot be read from {system}: {entry.reason}"
            record = records.get(key)
            subject = SourceRef(system=system, type=entry.kind.value, id=entry.id)
            if record is not None and record.batch is None:
                stands = record.model_copy(
                    update={
                        "state": PostingState.EXCEPTION,
                        "reason": reason[:2000],
                        "exception": "unreadable_in_psa",
                    }
                )
                saves.append(stands)
                subject = stands.source
            report.exceptions += 1
            open_exception(
                self._ledger,
                self._metrics,
                ExceptionRecord(
                    id=exception_id_for(key),
                    kind="unreadable_in_psa",
                    entity=KIND_ENTITIES[entry.kind],
                    subject=subject.model_copy(update={"version": None}),
                    reason=reason[:2000],
                    step="time_sync",
                    opened_at=self._clock(),
                ),
            )
        if saves:
            for key in self._store.save_works(saves, stale_before=self._clock() - STALE_CLAIM):
                report.retry[key] = WorkHeld(
                    f"{key} changed while it was settled", retry_after=HELD_RETRY_SECONDS
                )

    def _settle_listed(
        self, kind: WorkKind, works: Sequence[DeliveredWork], report: DeliveryReport
    ) -> datetime | None:
        """Settle works a sweep listed; the oldest change among those held by another batch."""
        records = self._store.works([w.key for w in works])
        listed = {w.key: w for w in works if not _same_version(w, records.get(w.key))}
        report.skipped += len(works) - len(listed)
        before = set(report.retry)
        self._settle(kind, dict(listed), records, report)
        held = [listed[key].changed_at for key in set(report.retry) - before if key in listed]
        return min(held) if held else None

    def _settle(
        self,
        kind: WorkKind,
        items: Mapping[str, DeliveredWork | None],
        records: dict[str, WorkRecord],
        report: DeliveryReport,
    ) -> None:
        now = self._clock()
        stale_before = now - STALE_CLAIM
        for key in list(items):
            record = records.get(key)
            if record is None or record.batch is None:
                continue
            if record.batch_at is not None and record.batch_at >= stale_before:
                report.retry[key] = WorkHeld(
                    f"{key} is being written by batch {record.batch}", retry_after=HELD_RETRY_SECONDS
                )
                continue
            batch = self._store.pending(record.batch)
            if batch is not None:
                self._batches.resend(batch)
            records.update(self._store.works([key]))
        planner = self._planners.planner()
        planned = {key: work for key, work in items.items() if key not in report.retry}
        plans = [planner.plan(key, work, records.get(key)) for key, work in planned.items()]
        plans = self._check_corrections(kind, plans)
        # Stated before anything is recorded as handled (shared/sync/facts.py): a bus that fails
        # leaves every entry of the batch to be read again, and stated again under the same ids.
        publish_facts(self._events, work_facts(planned, records, planner.engagement, now=now))
        saves: list[WorkRecord] = []
        writes: list[Pending] = []
        for plan in plans:
            before = records.get(plan.key)
            if plan.write is not None:
                work = items.get(plan.key)
                project = work.project if work is not None else before.project if before else ""
                approved = work.approved_at if work is not None else None
                writes.append(Pending(plan.write, before, project, approved))
                continue
            if plan.record is not None and plan.record != before:
                saves.append(plan.record)
            self._account(plan, before, report)
        if saves:
            for key in self._store.save_works(saves, stale_before=stale_before):
                # Written meanwhile by another worker: this notice is looked at again shortly.
                report.retry[key] = WorkHeld(
                    f"{key} changed while it was settled", retry_after=HELD_RETRY_SECONDS
                )
        for target, group in by_target(writes).items():
            self._batches.write(target, group, report)

    def _account(self, plan: Plan, before: WorkRecord | None, report: DeliveryReport) -> None:
        """Metrics and exceptions for a plan that writes nothing."""
        if plan.exception is not None and plan.record is not None:
            report.exceptions += 1
            kind, reason = plan.exception
            self._open(plan.key, plan.record, kind, reason)
            return
        if plan.record is not None and plan.record.state is PostingState.PARKED:
            report.parked += 1
        if before is not None and before.state is PostingState.EXCEPTION and plan.record is not None:
            self._resolve(plan.key, f"now {plan.record.state.value}")

    def _check_corrections(self, kind: WorkKind, plans: list[Plan]) -> list[Plan]:
        """Updates and removals go only to records still unbilled, with their current version."""
        by_target: dict[SystemName, list[Plan]] = {}
        for plan in plans:
            write = plan.write
            if write is not None and write.operation is not WriteOperation.CREATE and plan.record is not None:
                target = plan.record.target
                if target is not None:
                    by_target.setdefault(target, []).append(plan)
        if not by_target:
            return plans
        replaced: dict[str, Plan] = {}
        planner = self._planners.planner()
        for target, group in by_target.items():
            ids = [p.record.record.id for p in group if p.record is not None and p.record.record is not None]
            current = self._target(target).posted_records(kind, ids)
            for plan in group:
                assert plan.record is not None and plan.record.record is not None and plan.write is not None
                now_held = current.get(plan.record.record.id)
                if now_held is None:
                    if plan.write.operation is WriteOperation.DELETE:
                        # A person deleted it in accounting already: what the PSA asks for is done.
                        gone = removed(plan.record, plan.write.source or plan.record.source)
                        replaced[plan.key] = Plan(plan.key, gone)
                        continue
                    # Deleted in accounting by a person: an update has nothing to write over.
                    replaced[plan.key] = self._gone(plan)
                    continue
                record = plan.record.model_copy(update={"record": now_held})
                if now_held.billed:
                    what = (
                        "removed from the PSA's approved work"
                        if plan.write.operation is WriteOperation.DELETE
                        else f"changed: {changes(record.posted, plan.write.posting)}"
                        if record.posted is not None and plan.write.posting is not None
                        else "changed"
                    )
                    # The PSA's version was seen (and refused): a sweep need not look at it again.
                    seen = record.model_copy(update={"source": plan.write.source or record.source})
                    replaced[plan.key] = planner.billed(plan.key, seen, what)
                    continue
                replaced[plan.key] = Plan(
                    plan.key, record, plan.write.model_copy(update={"record": now_held})
                )
        return [replaced.get(plan.key, plan) for plan in plans]

    def _gone(self, plan: Plan) -> Plan:
        assert plan.record is not None and plan.write is not None
        reason = (
            f"{plan.record.kind.value} entry {plan.record.source.id}: its {plan.record.target} record "
            f"{plan.record.record.id if plan.record.record else ''} was deleted there by hand; "
            "the hub does not post it again on its own"
        )
        stands = plan.record.model_copy(
            update={"state": PostingState.EXCEPTION, "reason": reason, "exception": "deleted_in_accounting"}
        )
        return Plan(
            plan.key,
            stands,
            exception=("deleted_in_accounting", reason),
            exception_id=exception_id_for(plan.key),
        )

    # --- helpers -----------------------------------------------------------------------------------

    def _open(self, key: str, record: WorkRecord, kind: str, reason: str) -> None:
        open_exception(
            self._ledger,
            self._metrics,
            ExceptionRecord(
                id=exception_id_for(key),
                kind=kind,
                entity=KIND_ENTITIES[record.kind],
                subject=record.source.model_copy(update={"version": None}),
                reason=reason[:2000],
                step="time_sync",
                opened_at=self._clock(),
            ),
        )
        self._metrics.count(BusinessMetric.FAILED_TRANSACTIONS, dimensions={"flow": record.kind.value})

    def _resolve(self, key: str, resolution: str) -> None:
        resolve_exception(
            self._ledger, self._metrics, exception_id_for(key), resolution=resolution, at=self._clock()
        )


# --- pure helpers ----------------------------------------------------------------------------------


def _settled(record: WorkRecord) -> bool:
    """Nothing waits for this record: its version was handled (an exception a person settles on the
    accounting side, such as a change after billing, counts as handled)."""
    if record.batch is not None:
        return False
    return record.state in _SETTLED or (
        record.state is PostingState.EXCEPTION and record.exception not in RETRIED_EXCEPTIONS
    )


def _already_handled(notice: ChangeNotice, record: WorkRecord | None) -> bool:
    """The ledger handled this notice's version (or a later one) and nothing waits: no fetch needed."""
    if record is None or not _settled(record):
        return False
    if notice.operation is Operation.DELETED:
        return record.state is PostingState.REMOVED
    if notice.occurred_at is None or not record.source.version:
        return False
    try:
        handled = datetime.fromisoformat(record.source.version)
    except ValueError:
        return False
    return handled >= notice.occurred_at


def _same_version(work: DeliveredWork, record: WorkRecord | None) -> bool:
    return record is not None and _settled(record) and record.source.version == work.source.version


def _older(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
