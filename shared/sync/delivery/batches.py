"""Batches to accounting: recorded and claimed before they are sent, resent by request id after a crash.

A batch's writes are claimed (each work marked as being written by it, conditional on the revision
the planner read), then the batch is recorded with exactly those writes, then sent with the batch's
id as the vendor's request id (QuickBooks `requestid`), then its outcome is recorded work by work
and the batch marked done. Whoever finds a claim stale (its sender died between any two of these)
resends the recorded batch with the same id: the vendor answers what it did the first time and
writes nothing again. A throttled batch wrote nothing: its claims are released at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.domain.delivery_ports import PendingBatch, PostingStore, PostingTarget, WorkRecord
from shared.domain.errors import PermanentError, RateLimitedError, TransientError
from shared.domain.metrics import BusinessMetric
from shared.domain.models import SourceRef, SystemName
from shared.domain.ports import Metrics
from shared.domain.postings import PostedRecord, PostingState, PostingWrite, WriteOperation, WriteOutcome
from shared.sync.delivery.report import DeliveryReport, WorkHeld

# A claim older than this belongs to a worker that died: longer than the worker's timeout (60 s,
# infra/wiring.py) with room for clock skew between containers.
STALE_CLAIM = timedelta(minutes=3)
# A notice whose work another batch is writing comes back after this (SQS visibility).
HELD_RETRY_SECONDS = 30.0
_DONE_STATE = {
    WriteOperation.CREATE: PostingState.POSTED,
    WriteOperation.UPDATE: PostingState.CORRECTED,
    WriteOperation.DELETE: PostingState.REMOVED,
}


class BatchWriter:
    """Writes postings to their target in recorded batches, and records what each item became."""

    def __init__(
        self,
        *,
        target: Callable[[SystemName], PostingTarget],
        store: PostingStore,
        metrics: Metrics,
        clock: Callable[[], datetime],
        new_batch_id: Callable[[], str],
        opened: Callable[[str, WorkRecord, str, str], None],
        resolved: Callable[[str, str], None],
    ) -> None:
        self._target = target
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._new_batch_id = new_batch_id
        self._opened = opened
        self._resolved = resolved

    def write(
        self,
        target_system: SystemName,
        group: list[Pending],
        report: DeliveryReport,
        *,
        given_id: str | None = None,
    ) -> None:
        """Send `group` in batches of the target's size: each recorded and claimed before it is sent.

        `given_id`: the id (and vendor request id) of the one batch `group` fits in, when the caller
        derives it from what is written (a replay's diff: sent again, it replays); else a new one each.
        """
        target = self._target(target_system)
        if given_id is not None and len(group) > target.batch_size:
            raise ValueError(f"batch {given_id}: {len(group)} writes do not fit one batch of {target_system}")
        for start in range(0, len(group), target.batch_size):
            chunk = group[start : start + target.batch_size]
            now = self._clock()
            batch_id = given_id or self._new_batch_id()
            during = {p.write.key: claimed(p, batch_id, now) for p in chunk}
            writes = tuple(p.write for p in chunk)
            batch = PendingBatch(id=batch_id, target=target_system, writes=writes, created_at=now)
            refused = self._store.claim(batch, during, stale_before=now - STALE_CLAIM)
            for key in refused:
                report.retry[key] = WorkHeld(
                    f"{key} is being written by another batch", retry_after=HELD_RETRY_SECONDS
                )
            kept = tuple(w for w in writes if w.key not in refused)
            if not kept:
                continue
            batch = batch.model_copy(update={"writes": kept})
            try:
                outcomes = target.write_postings(batch.id, kept)
            except RateLimitedError as throttled:
                # Nothing was written (the budget refused before sending, or the vendor's 429):
                # release the claims, the messages come back after the wait.
                self._store.finish(batch, [_released(during[w.key]) for w in kept])
                for write in kept:
                    report.retry[write.key] = throttled
                continue
            except TransientError as unknown:
                # The outcome is unknown (a timeout after sending): the batch stays recorded and
                # claimed; whoever finds it stale resends it with the same request id.
                for write in kept:
                    report.retry[write.key] = unknown
                continue
            self._record_outcomes(batch, during, outcomes, report)

    def resend(self, batch: PendingBatch) -> None:
        """Send a recorded batch again with its request id: the vendor replays what it did."""
        target = self._target(batch.target)
        records = self._store.works(batch.keys)
        during = {
            key: records[key] for key in batch.keys if key in records and records[key].batch == batch.id
        }
        if not during:
            self._store.finish(batch, [])
            return
        outcomes = target.write_postings(batch.id, batch.writes)
        self._record_outcomes(batch, during, outcomes, DeliveryReport())

    def _record_outcomes(
        self,
        batch: PendingBatch,
        during: Mapping[str, WorkRecord],
        outcomes: Sequence[WriteOutcome],
        report: DeliveryReport,
    ) -> None:
        now = self._clock()
        after: list[WorkRecord] = []
        opened: list[tuple[str, WorkRecord, str, str]] = []
        for write, outcome in zip(batch.writes, outcomes, strict=True):
            claimed = during.get(write.key)
            if claimed is None:
                continue
            if outcome.ok:
                record = _written(claimed, write, outcome, now)
                after.append(record)
                operation = write.operation.value
                report.written[operation] = report.written.get(operation, 0) + 1
                self._metrics.count(
                    BusinessMetric.POSTINGS_WRITTEN,
                    dimensions={"flow": write.kind.value, "operation": operation},
                )
                if write.operation is WriteOperation.CREATE and record.approved_at is not None:
                    latency = max((now - record.approved_at).total_seconds(), 0.0)
                    self._metrics.count(
                        BusinessMetric.SYNC_LATENCY, latency, dimensions={"flow": write.kind.value}
                    )
                if claimed.state is PostingState.EXCEPTION or claimed.state is PostingState.PARKED:
                    self._resolved(
                        write.key, f"{record.state.value} as {record.record.id if record.record else ''}"
                    )
                continue
            if outcome.transient:
                after.append(_released(claimed))
                report.retry[write.key] = TransientError(
                    f"{batch.target} refused {write.key} for now: {outcome.error}"
                )
                continue
            kind = "changed_after_billing" if outcome.billed else "posting_refused"
            reason = (
                f"{batch.target} refused to {write.operation.value} {write.kind.value} entry "
                f"{(write.source or claimed.source).id}: {outcome.error}"
                + (f" (code {outcome.code})" if outcome.code else "")
            )
            # A refusal is the answer to this version: it is handled (the exception says what to do).
            stands = _released(claimed).model_copy(
                update={
                    "state": PostingState.EXCEPTION,
                    "reason": reason[:2000],
                    "exception": kind,
                    "source": write.source or claimed.source,
                }
            )
            if outcome.billed and stands.record is not None:
                stands = stands.model_copy(
                    update={"record": stands.record.model_copy(update={"billed": True})}
                )
            after.append(stands)
            opened.append((write.key, stands, kind, reason))
        self._store.finish(batch, after)
        for key, stands, kind, reason in opened:
            report.exceptions += 1
            self._opened(key, stands, kind, reason)


@dataclass(frozen=True)
class Pending:
    """A write waiting for its batch, with the record it changes and the work's project."""

    write: PostingWrite
    before: WorkRecord | None
    project: str
    approved_at: datetime | None = None


def by_target(writes: Iterable[Pending]) -> dict[SystemName, list[Pending]]:
    grouped: dict[SystemName, list[Pending]] = {}
    for pending in writes:
        posting, before = pending.write.posting, pending.before
        target = posting.target if posting is not None else before.target if before else None
        if target is None:
            raise PermanentError(f"{pending.write.key}: a write with no target system")
        grouped.setdefault(target, []).append(pending)
    return grouped


def claimed(pending: Pending, batch_id: str, now: datetime) -> WorkRecord:
    """The record as it stands while the batch is out: unchanged, but claimed (a new work: version None,
    so a redelivered notice is not mistaken for a handled one)."""
    write, before = pending.write, pending.before
    if before is not None:
        approved = pending.approved_at or before.approved_at
        return before.model_copy(update={"batch": batch_id, "batch_at": now, "approved_at": approved})
    assert write.posting is not None and write.source is not None
    posting = write.posting
    return WorkRecord(
        key=write.key,
        kind=write.kind,
        source=write.source.model_copy(update={"version": None}),
        project=pending.project,
        approved_at=pending.approved_at,
        worked_on=posting.worked_on,
        state=PostingState.NOT_POSTED,
        minutes=posting.minutes,
        amount=posting.amount,
        target=posting.target,
        batch=batch_id,
        batch_at=now,
    )


def _released(record: WorkRecord) -> WorkRecord:
    return record.model_copy(update={"batch": None, "batch_at": None})


def removed(record: WorkRecord, source: SourceRef, *, at: datetime | None = None) -> WorkRecord:
    """The record of work no longer in accounting (removed by the hub at `at`, or found gone)."""
    changes: dict[str, object] = {
        "state": PostingState.REMOVED,
        "source": source,
        "posted": None,
        "record": None,
        "reason": None,
        "exception": None,
    }
    if at is not None:
        changes["posted_at"] = at
    return _released(record).model_copy(update=changes)


def _written(claimed: WorkRecord, write: PostingWrite, outcome: WriteOutcome, now: datetime) -> WorkRecord:
    """The record once the vendor confirmed the write."""
    source = write.source or claimed.source
    if write.operation is WriteOperation.DELETE:
        return removed(claimed, source, at=now)
    assert write.posting is not None
    record = outcome.record or PostedRecord(id="")
    return _released(claimed).model_copy(
        update={
            "state": _DONE_STATE[write.operation],
            "source": source,
            "worked_on": write.posting.worked_on,
            "minutes": write.posting.minutes,
            "amount": write.posting.amount,
            "target": write.posting.target,
            "posted": write.posting,
            "record": record,
            "reason": None,
            "exception": None,
            "posted_at": now,
        }
    )
