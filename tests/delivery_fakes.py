"""In-memory fakes of the time and expense ports: a PSA, an accounting system, the posting store."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

from shared.domain.delivery_ports import BookedEngagement, PendingBatch, WorkRecord
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.errors import RateLimitedError, TransientError
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import (
    Approval,
    DeliveredWork,
    HeldPosting,
    PostedRecord,
    Posting,
    PostingState,
    PostingWrite,
    UnresolvedWork,
    WorkKind,
    WorkRead,
    WriteOperation,
    WriteOutcome,
)


class FakePsa:
    """A PSA holding time entries and expenses; counts its list calls."""

    system = SystemName.PRODUCTIVE

    def __init__(self, clock: object) -> None:
        self._clock = clock
        self.works: dict[tuple[WorkKind, str], DeliveredWork] = {}
        self.calls = 0
        self.broken: dict[str, str] = {}  # id -> why the PSA's answer cannot be read as work
        self.last_unresolved: list[UnresolvedWork] = []
        self._ids = itertools.count(1)

    def _now(self) -> datetime:
        now: datetime = self._clock()  # type: ignore[operator]
        return now

    def log(
        self,
        project: str,
        service: str,
        minutes: int,
        *,
        worked_on: date = date(2026, 11, 3),
        worker: str = "501",
        billable: bool = True,
        note: str | None = None,
    ) -> str:
        entry_id = str(next(self._ids) + 1000)
        now = self._now()
        self.works[WorkKind.TIME, entry_id] = DeliveredWork(
            source=SourceRef(system=self.system, type="time_entries", id=entry_id, version=now.isoformat()),
            kind=WorkKind.TIME,
            project=project,
            service=f"svc-{service}",
            service_name=service,
            worker=SourceRef(system=self.system, type="people", id=worker),
            worker_name="Ada Lovelace",
            worker_email="ada@northwind.example",
            worked_on=worked_on,
            minutes=minutes,
            billable=billable,
            approval=Approval.PENDING,
            note=note,
            changed_at=now,
        )
        return entry_id

    def spend(self, project: str, amount: str, *, currency: str = "USD") -> str:
        expense_id = str(next(self._ids) + 5000)
        now = self._now()
        self.works[WorkKind.EXPENSE, expense_id] = DeliveredWork(
            source=SourceRef(system=self.system, type="expenses", id=expense_id, version=now.isoformat()),
            kind=WorkKind.EXPENSE,
            project=project,
            service="svc-exp",
            service_name="Expenses",
            worker=SourceRef(system=self.system, type="people", id="501"),
            worker_name="Ada Lovelace",
            worker_email="ada@northwind.example",
            worked_on=date(2026, 11, 4),
            amount=Money(amount=Decimal(amount), currency=currency),
            billable=True,
            approval=Approval.PENDING,
            changed_at=now,
        )
        return expense_id

    def change(self, kind: WorkKind, entry_id: str, **fields: object) -> None:
        now = self._now()
        work = self.works[kind, entry_id]
        self.works[kind, entry_id] = work.model_copy(
            update={
                **fields,
                "changed_at": now,
                "source": work.source.model_copy(update={"version": now.isoformat()}),
            }
        )

    def approve(self, entry_id: str, kind: WorkKind = WorkKind.TIME) -> None:
        self.change(kind, entry_id, approval=Approval.APPROVED, approved_at=self._now())

    def delete(self, entry_id: str, kind: WorkKind = WorkKind.TIME) -> None:
        del self.works[kind, entry_id]

    def read_work(self, kind: WorkKind, ids: Sequence[str]) -> WorkRead:
        self.calls += 1
        unresolved = [UnresolvedWork(kind=kind, id=i, reason=self.broken[i]) for i in ids if i in self.broken]
        works = [self.works[kind, i] for i in ids if (kind, i) in self.works and i not in self.broken]
        return WorkRead(works=works, unresolved=unresolved)

    def changed_work(self, kind: WorkKind, since: datetime) -> Iterator[DeliveredWork]:
        self.calls += 1
        found = [w for (k, _), w in self.works.items() if k is kind and w.changed_at >= since]
        yield from sorted(found, key=lambda w: w.changed_at, reverse=True)


class FakeAccounting:
    """An accounting system with QuickBooks' batch semantics: a request id replays its first answers."""

    batch_size = 10

    def __init__(self, system: SystemName = SystemName.QUICKBOOKS) -> None:
        self.system = system
        self.records: dict[str, dict[str, object]] = {}
        self.replies: dict[str, list[WriteOutcome]] = {}
        self.calls = 0
        self.batch_calls = 0
        self.employees = {"ada@northwind.example": "55"}
        self.throttle_next = 0
        self.lose_reply_next = 0  # write, then fail as a timeout would (the reply lost)
        self.refuse_item: dict[str, str] = {}  # item id -> error
        self._ids = itertools.count(1)

    def find_worker(self, worker: SourceRef, *, name: str | None, email: str | None) -> str | None:
        self.calls += 1
        return self.employees.get((email or "").lower())

    def posted_records(self, kind: WorkKind, ids: Sequence[str]) -> dict[str, PostedRecord]:
        self.calls += 1
        return {i: self._record(i) for i in ids if i in self.records}

    def _record(self, record_id: str) -> PostedRecord:
        stored = self.records[record_id]
        return PostedRecord(
            id=record_id,
            version=str(stored["version"]),
            billed=bool(stored.get("invoice")),
            invoice=stored.get("invoice"),  # type: ignore[arg-type]
        )

    # The posting fields this fake keeps (it stores the whole posting, so all of them).
    HELD = (
        "customer",
        "worker",
        "worked_on",
        "minutes",
        "rate",
        "amount",
        "item",
        "tax_code",
        "accounting_class",
        "department",
        "expense_account",
        "payment_account",
        "description",
    )

    def held_postings(self, kind: WorkKind, ids: Sequence[str]) -> dict[str, HeldPosting]:
        self.calls += 1
        return {
            i: HeldPosting(record=self._record(i), fields=self.held_fields(self.records[i]["posting"]))  # type: ignore[arg-type]
            for i in ids
            if i in self.records
        }

    def held_fields(self, posting: Posting) -> dict[str, object]:
        return {name: getattr(posting, name) for name in self.HELD}

    def bill(self, record_id: str, invoice: str) -> None:
        self.records[record_id]["invoice"] = invoice

    def edit_by_hand(self, record_id: str) -> None:
        self.records[record_id]["version"] = int(self.records[record_id]["version"]) + 1  # type: ignore[call-overload]

    def write_postings(self, request_id: str, writes: Sequence[PostingWrite]) -> list[WriteOutcome]:
        self.calls += 1
        if self.throttle_next:
            self.throttle_next -= 1
            raise RateLimitedError("429 Too Many Requests", retry_after=60)
        if request_id in self.replies:
            return self.replies[request_id]
        self.batch_calls += 1
        assert len(writes) <= self.batch_size
        outcomes = [self._apply(write) for write in writes]
        self.replies[request_id] = outcomes
        if self.lose_reply_next:
            self.lose_reply_next -= 1
            raise TransientError("read timeout")
        return outcomes

    def _apply(self, write: PostingWrite) -> WriteOutcome:
        if write.posting is not None and (write.posting.item or "") in self.refuse_item:
            return WriteOutcome(key=write.key, error=self.refuse_item[write.posting.item or ""], code="2500")
        if write.operation is WriteOperation.CREATE:
            record_id = str(next(self._ids))
            self.records[record_id] = {"posting": write.posting, "version": 0}
            return WriteOutcome(key=write.key, record=self._record(record_id))
        assert write.record is not None
        stored = self.records.get(write.record.id)
        if stored is None:
            return WriteOutcome(key=write.key, error="Object Not Found", code="610")
        if stored.get("invoice"):
            return WriteOutcome(key=write.key, error="billed", billed=True, code="6540")
        if str(stored["version"]) != write.record.version:
            return WriteOutcome(key=write.key, error="Stale Object Error", code="5010", transient=True)
        if write.operation is WriteOperation.DELETE:
            del self.records[write.record.id]
            return WriteOutcome(key=write.key, record=write.record)
        stored.update(posting=write.posting, version=int(stored["version"]) + 1)  # type: ignore[call-overload]
        return WriteOutcome(key=write.key, record=self._record(write.record.id))

    def postings(self) -> list[object]:
        return [r["posting"] for r in self.records.values()]


class InMemoryPostings:
    """The PostingStore port in memory, with the claim rules of the DynamoDB one."""

    def __init__(self) -> None:
        self.records: dict[str, WorkRecord] = {}
        self.batches: dict[str, PendingBatch] = {}
        self.done: set[str] = set()
        self.booked: dict[tuple[SystemName, str], BookedEngagement] = {}
        self.revisions = 0

    def works(self, keys: Sequence[str]) -> dict[str, WorkRecord]:
        return {k: self.records[k] for k in keys if k in self.records}

    def _as_read(self, record: WorkRecord, stale_before: datetime, batch_id: str | None = None) -> bool:
        held = self.records.get(record.key)
        if held is None:
            return record.revision is None
        live = (
            held.batch is not None
            and held.batch != batch_id
            and (held.batch_at or stale_before) >= stale_before
        )
        return held.revision == record.revision and not live

    def _put(self, record: WorkRecord) -> None:
        self.revisions += 1
        self.records[record.key] = record.model_copy(update={"revision": str(self.revisions)})

    def save_works(self, records: Sequence[WorkRecord], *, stale_before: datetime) -> set[str]:
        refused = {r.key for r in records if not self._as_read(r, stale_before)}
        for record in records:
            if record.key not in refused:
                self._put(record.model_copy(update={"batch": None, "batch_at": None}))
        return refused

    def claim(
        self, batch: PendingBatch, records: Mapping[str, WorkRecord], *, stale_before: datetime
    ) -> set[str]:
        refused = {key for key in batch.keys if not self._as_read(records[key], stale_before, batch.id)}
        kept = tuple(w for w in batch.writes if w.key not in refused)
        if kept:
            self.batches[batch.id] = batch.model_copy(update={"writes": kept})
            for write in kept:
                self._put(records[write.key])
        return refused

    def pending(self, batch_id: str) -> PendingBatch | None:
        return None if batch_id in self.done else self.batches.get(batch_id)

    def pending_batches(self, *, created_before: datetime) -> list[PendingBatch]:
        return [b for i, b in self.batches.items() if i not in self.done and b.created_at < created_before]

    def finish(self, batch: PendingBatch, records: Sequence[WorkRecord]) -> set[str]:
        lost = {r.key for r in records if self.records.get(r.key, r).batch != batch.id}
        for record in records:
            if record.key not in lost:
                self._put(record.model_copy(update={"batch": None, "batch_at": None}))
        self.done.add(batch.id)
        return lost

    def parked(self, project: str | None = None) -> list[WorkRecord]:
        return [
            r
            for r in self.records.values()
            if r.state in (PostingState.PARKED, PostingState.EXCEPTION) and project in (None, r.project)
        ]

    def engagement_works(
        self, system: SystemName, project: str, *, since: date | None = None
    ) -> list[WorkRecord]:
        found = [
            r
            for r in self.records.values()
            if r.project == project and (since is None or r.worked_on >= since)
        ]
        return sorted(found, key=lambda r: (r.worked_on, r.kind.value, r.source.id))

    def engagement(self, system: SystemName, project: str) -> BookedEngagement | None:
        return self.booked.get((system, project))

    def save_engagement(self, engagement: BookedEngagement) -> None:
        self.booked[engagement.psa.system, engagement.psa.id] = engagement

    def engagements(self, status: EngagementStatus) -> list[BookedEngagement]:
        return [e for e in self.booked.values() if e.status is status]
