"""The time and expense flow's replay: each entry a window's notices name, posted as the hub would now.

As for the customer master (`customers.py`), a notice only names the work; what the hub writes is
the entry as the PSA holds it now, translated by the landscape. So the entries the window's notices
name (once each) are read from the PSA in bulk, as the delivery flow reads them, and each posted
one is given the posting the delivery flow's planner builds under the landscape being replayed (its
mapping tables: service items, tax codes, accounts; its routing). That is compared, field by field,
with what accounting holds now for the posted record, read from accounting in bulk (not the
ledger's memory of what was posted), each field in the target's own terms (`held_fields`: QuickBooks
time keeps "taxable", not a tax code).

What is left aside, with a note: billed work (it is on an invoice and is never changed: the note
names the entry, the record and the invoice), work whose record a person deleted in accounting,
work the routing now sends elsewhere, work a batch is writing now, and work the hub has not posted
and would not post now. Work not posted yet is not a replay's: the delivery flow posts it (its sweep
retries mapping exceptions, and parked work posts once its engagement is active); when the
landscape replayed would post it, the note says so. Work no longer postable is also the delivery
flow's (it removes it on the entry's next change).

Applying writes exactly the posting compared, as an update of the record at the version read,
through the delivery flow's own batch path (claimed, recorded, sent under a request id derived
from the diff, so a resend replays, its outcome recorded in the postings store as any write's):
the ledger then holds what accounting holds, and the next sweep and a second replay find nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.domain.delivery_ports import DeliverySource, PostingStore, PostingTarget, WorkRecord
from shared.domain.errors import PermanentError
from shared.domain.models import SourceRef, SystemName
from shared.domain.notices import ChangeNotice
from shared.domain.postings import DeliveredWork, HeldPosting, Posting, WorkKind, work_key
from shared.sync.delivery.sync import ENTITY_KINDS, FETCH_CHUNK, DeliverySync
from shared.sync.replay.diff import Change, FieldChange, RecordDiff

FLOW = "time"
# A PendingBatch id (and QuickBooks requestid) is at most 36 characters.
_REQUEST_PREFIX = "replay-"
_REQUEST_LENGTH = 36


@dataclass(frozen=True)
class _Compared:
    """One posted entry, re-derived: the work, its record, the posting wanted, the record held."""

    work: DeliveredWork
    record: WorkRecord
    posting: Posting
    held: HeldPosting
    target: SystemName
    fields: tuple[FieldChange, ...]


def request_id(diff: RecordDiff) -> str:
    """The batch id and vendor request id of `diff`'s write: the same diff sent again replays.

    The diff names the record's version (QBO SyncToken), which moves with every write, so a later
    diff of the same record never reuses an id."""
    digest = hashlib.sha256(diff.model_dump_json().encode()).hexdigest()
    return _REQUEST_PREFIX + digest[: _REQUEST_LENGTH - len(_REQUEST_PREFIX)]


class TimeReplay:
    """`FlowReplay` for approved billable time and expenses (PSA entry -> accounting posting)."""

    name = FLOW

    def __init__(
        self,
        *,
        sync: DeliverySync,
        source: Callable[[], DeliverySource],
        target: Callable[[SystemName], PostingTarget],
        store: PostingStore,
    ) -> None:
        # `sync`: the delivery flow built under the landscape being replayed.
        self._sync = sync
        self._source = source
        self._target = target
        self._store = store
        # What `diff` read, by the request id of each diff it answered: applying one of them right
        # after (as a replay does) writes it without reading the PSA and accounting again. A record
        # changed in accounting meanwhile is refused by its version (QBO 5010), never written over.
        self._compared: dict[str, _Compared] = {}

    def diff(self, notices: Sequence[ChangeNotice]) -> tuple[list[RecordDiff], list[str]]:
        source = self._source()
        diffs: list[RecordDiff] = []
        aside: list[str] = []
        for kind, ids in self._entries(source.system, notices).items():
            for compared in self._compare(source, kind, ids, aside):
                if compared.fields:
                    found = _diff(compared)
                    self._compared[request_id(found)] = compared
                    diffs.append(found)
        return diffs, aside

    def apply(self, diff: RecordDiff) -> RecordDiff:
        compared = self._compared.pop(request_id(diff), None) or self._again(diff)
        if compared is None:
            return diff  # the target holds it already (applied before, the reply then lost): done
        after = self._sync.rewrite(
            compared.work,
            compared.record,
            compared.posting,
            compared.held.record,
            request_id=request_id(diff),
        )
        written = after.record
        record = diff.record
        if written is not None and record is not None:
            record = record.model_copy(update={"id": written.id or record.id, "version": written.version})
        return diff.model_copy(update={"record": record})

    # --- steps -------------------------------------------------------------------------------------

    def _again(self, diff: RecordDiff) -> _Compared | None:
        """`diff`'s entry read and compared again (a diff this replay did not find itself): None when
        the target holds the posting already; PermanentError when it is not the same diff any more."""
        if diff.record is None:
            raise PermanentError(f"{diff.source.id}: a time replay only updates posted records")
        kind = WorkKind(diff.record.type)
        aside: list[str] = []
        found = self._compare(self._source(), kind, [diff.source.id], aside)
        if not found:
            raise PermanentError("; ".join(aside) or f"{diff.source.id}: nothing to write any more")
        compared = found[0]
        if not compared.fields:
            return None
        now = _diff(compared)
        if now.record != diff.record or now.fields != diff.fields:
            raise PermanentError(
                f"{kind.value} entry {diff.source.id} changed since it was compared (now: {now.summary}): "
                "replay the window again"
            )
        return compared

    @staticmethod
    def _entries(psa: SystemName, notices: Sequence[ChangeNotice]) -> dict[WorkKind, list[str]]:
        """The PSA entries the notices name, once each, in the order first named, by kind.

        Only the PSA's own notices name work (accounting sends none about the hub's postings); a
        deleted entry is read like any other (absent: the delivery flow removes its posting)."""
        ids: dict[WorkKind, dict[str, None]] = {}
        for notice in notices:
            kind = ENTITY_KINDS.get(notice.entity)
            if kind is not None and notice.provider == psa:
                ids.setdefault(kind, {}).setdefault(notice.record_id, None)
        return {kind: list(named) for kind, named in ids.items()}

    def _compare(
        self, source: DeliverySource, kind: WorkKind, ids: Sequence[str], aside: list[str]
    ) -> list[_Compared]:
        """The posted entries among `ids`, re-derived and compared with what accounting holds (read
        in bulk: one PSA list call per 200 ids, one accounting query per target); the rest noted."""
        works: dict[str, DeliveredWork] = {}
        for start in range(0, len(ids), FETCH_CHUNK):
            read = source.read_work(kind, ids[start : start + FETCH_CHUNK])
            works.update((work.source.id, work) for work in read.works)
            aside.extend(
                f"{kind.value} entry {u.id}: cannot be read from {source.system} ({u.reason})"
                for u in read.unresolved
            )
        keys = {record_id: work_key(source.system, kind, record_id) for record_id in ids}
        records = self._store.works(list(keys.values()))
        present = [works[record_id] for record_id in ids if record_id in works]
        expected = self._sync.expected(present, records)
        posted: dict[SystemName, list[tuple[DeliveredWork, WorkRecord, Posting]]] = {}
        for work in present:
            record, wanted = records.get(work.key), expected[work.key]
            note = _not_compared(work, record, wanted)
            if note is not None:
                aside.extend([note] if note else [])
                continue
            assert record is not None and record.posted is not None and isinstance(wanted, Posting)
            posted.setdefault(record.posted.target, []).append((work, record, wanted))
        compared: list[_Compared] = []
        for system, group in posted.items():
            target = self._target(system)
            held = target.held_postings(kind, [r.record.id for _, r, _ in group if r.record is not None])
            for work, record, wanted in group:
                found = _held(work, record, wanted, held, aside)
                if found is None:
                    continue
                changes = _changes(target.held_fields(wanted), found.fields)
                if found.record.billed:
                    # Billing itself turns the billable status to billed (QBO HasBeenBilled): not a
                    # difference the landscape made.
                    changes = tuple(c for c in changes if c.field != "billable_status")
                    if changes:
                        aside.append(_billed(work, system, found, changes))
                    continue
                compared.append(_Compared(work, record, wanted, found, system, changes))
        return compared


# --- pure helpers ------------------------------------------------------------------------------------


def _what(work: DeliveredWork) -> str:
    return f"{work.kind.value} entry {work.source.id}"


def _not_compared(work: DeliveredWork, record: WorkRecord | None, wanted: Posting | str) -> str | None:
    """Why this entry is not compared ("" when there is nothing to say), None when it is."""
    if record is not None and record.batch is not None:
        return f"{_what(work)}: being written by batch {record.batch} now: replay the window again later"
    if record is None or record.posted is None or record.record is None:
        if isinstance(wanted, Posting):
            state = record.state.value if record is not None else "not seen by the hub"
            return (
                f"{_what(work)}: not posted ({state}); under this landscape it would go to "
                f"{wanted.target}: the delivery flow posts it (its sweeps retry under the deployed landscape)"
            )
        return ""  # not posted, and would not post: nothing to replay
    if isinstance(wanted, str):
        return (
            f"{_what(work)}: posted to {record.posted.target} {record.record.id}, but under this landscape "
            f"the hub would post nothing: {wanted}"
        )
    if wanted.target != record.posted.target:
        return (
            f"{_what(work)}: posted to {record.posted.target} {record.record.id}, this landscape routes it "
            f"to {wanted.target}: move it by hand or correct the routing"
        )
    return None


def _held(
    work: DeliveredWork,
    record: WorkRecord,
    wanted: Posting,
    held: Mapping[str, HeldPosting],
    aside: list[str],
) -> HeldPosting | None:
    assert record.record is not None
    found = held.get(record.record.id)
    if found is None:
        aside.append(
            f"{_what(work)}: its {wanted.target} record {record.record.id} was deleted there by hand; "
            "the hub does not post it again on its own"
        )
    return found


def _changes(wanted: Mapping[str, Any], held: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(field=name, now=held.get(name), then=value)
        for name, value in sorted(wanted.items())
        if held.get(name) != value
    )


def _billed(
    work: DeliveredWork, system: SystemName, held: HeldPosting, changes: Sequence[FieldChange]
) -> str:
    invoice = held.record.invoice or "an invoice"
    fields = ", ".join(c.field for c in changes)
    return (
        f"{_what(work)} ({system} {held.record.id}) is billed on invoice {invoice}: left as it is "
        f"(it differs in {fields}); correct the invoice (credit memo) or the entry"
    )


def _diff(compared: _Compared) -> RecordDiff:
    held = compared.held.record
    return RecordDiff(
        flow=FLOW,
        source=compared.work.source.model_copy(update={"version": None}),
        system=compared.target,
        # The record's type is the work's kind (apply reads it back); its version what an update names.
        record=SourceRef(
            system=compared.target, type=compared.work.kind.value, id=held.id, version=held.version
        ),
        change=Change.UPDATE,
        fields=compared.fields,
    )
