"""QuickBooks Online as a PostingTarget: time and expenses written in batches, read back by Id.

Each `write_postings` call is one batch request (create / full update / delete per item, each item
answered on its own) under the caller's stable request id, so a resend after a crash replays the
first answers and writes nothing twice (see batch.py for Intuit's references).
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch
https://developer.intuit.com/hub/blog/2015/04/06/15346
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shared.connectors.quickbooks import posting_mapper as mapper
from shared.connectors.quickbooks.batch import BatchOperation, BatchResult, batch_write, employees
from shared.connectors.quickbooks.client import (
    BATCH_MAX_ITEMS,
    MAX_RESULTS,
    OBJECT_NOT_FOUND,
    STALE_OBJECT,
    quote_literal,
)
from shared.connectors.quickbooks.schemas import Employee, FaultItem
from shared.domain.postings import (
    HeldPosting,
    PostedRecord,
    Posting,
    PostingWrite,
    WorkKind,
    WriteOperation,
    WriteOutcome,
)

if TYPE_CHECKING:
    from shared.connectors.quickbooks.client import QuickBooksClient
    from shared.connectors.quickbooks.connection import QuickBooksConnection
    from shared.domain.models import SourceRef

# Item Faults a later attempt may not meet: 5010 (someone saved the record since its SyncToken was
# read: read it again), 3001 (throttled) and 10000 (Intuit's system failure); SERVICE and SystemFault
# Faults are Intuit's side. Everything else (validation 2xxx, business rules 6xxx, 610) needs a
# person or a mapping fixed.
# https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
# https://developer.intuit.com/hub/blog/2017/06/08/top-quickbooks-online-api-errors-and-how-to-handle-them
TRANSIENT_CODES = frozenset({STALE_OBJECT, "3001", "10000"})
TRANSIENT_FAULT_TYPES = frozenset({"service", "systemfault"})
# A person the employee list lacks is looked for again after this long: the exception asked a
# bookkeeper to add them, and one container must not read the list on every miss.
STAFF_REREAD_SECONDS = 300.0


def _transient(faults: Sequence[FaultItem]) -> bool:
    return any(
        item.code.lstrip("0") in TRANSIENT_CODES or item.fault_type.lower() in TRANSIENT_FAULT_TYPES
        for item in faults
    )


def _folded(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def operation(write: PostingWrite, bid: str, *, home_currency: str) -> BatchOperation:
    """The batch item for one write: the body, plus Id and SyncToken for an update or delete.

    Updates are full updates (every field the posting owns is sent; Intuit documents full update for
    TimeActivity and Purchase), so the record is exactly the posting, whatever it held before.
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/purchase
    """
    entity = mapper.ENTITY[write.kind]
    record, posting = write.record, write.posting
    # PostingWrite refuses the missing parts; the checks keep the types honest.
    if write.operation is WriteOperation.CREATE:
        if posting is None:
            raise ValueError(f"{write.key}: a create needs the posting")
        return BatchOperation(
            bid, entity, "create", mapper.posting_body(posting, home_currency=home_currency)
        )
    if record is None:
        raise ValueError(f"{write.key}: a {write.operation} needs the record it changes")
    current = {"Id": record.id, "SyncToken": record.version}
    if write.operation is WriteOperation.DELETE:
        return BatchOperation(bid, entity, "delete", current)
    if posting is None:
        raise ValueError(f"{write.key}: an update needs the posting")
    body = mapper.posting_body(posting, home_currency=home_currency)
    return BatchOperation(bid, entity, "update", {**body, **current})


def outcome(write: PostingWrite, result: BatchResult) -> WriteOutcome:
    """One item's answer as the hub reads it: the record written, or the item's Fault."""
    if result.ok and result.record is not None:
        if write.operation is WriteOperation.DELETE:
            return WriteOutcome(key=write.key)
        return WriteOutcome(key=write.key, record=mapper.posted_record(result.entity, result.record))
    codes = [item.code.lstrip("0") for item in result.faults]
    if write.operation is WriteOperation.DELETE and set(codes) == {OBJECT_NOT_FOUND}:
        # Already gone (deleted in QuickBooks by a person): what the delete was for.
        return WriteOutcome(key=write.key)
    return WriteOutcome(
        key=write.key,
        error="; ".join(str(item) for item in result.faults) or "refused without a reason",
        code=codes[0] if codes else None,
        transient=_transient(result.faults),
    )


class QuickBooksPostings:
    """The PostingTarget port: TimeActivity for time, a billable Purchase line for an expense."""

    connection: QuickBooksConnection
    client: QuickBooksClient
    # Items per batch: the limits page allows 30 payloads per batch request, the batch page and
    # Intuit's 2017 blog say 10; the pages conflict, so 10 is the safe size (VENDORS.md).
    # https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
    # https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/batch
    batch_size: int = 10
    _staff: list[Employee] | None = None
    _staff_read_at: float = 0.0

    # --- people -----------------------------------------------------------------------------------

    def find_worker(self, worker: SourceRef, *, name: str | None, email: str | None) -> str | None:
        """The active Employee with this e-mail (case-insensitive), else this DisplayName or given and
        family name; None when there is none, or more than one (a person must choose).

        The employees are read once per connector (select * from Employee, 1,000 a page: the default
        query returns active ones, and an inactive employee cannot be named on time anyway), and
        matched here: an Employee query filters on Id, DisplayName, GivenName, FamilyName, Active and
        the like but not on PrimaryEmailAddr (3p table below), and one read serves every person of a run.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/employee
        https://docs.gravitydata.co/sources/quickbooks-online/tables/employees (filterable columns, 3p)
        """
        del worker  # QBO keeps no PSA id on an employee: e-mail and name are what both systems hold
        found = _match(self._employees(), name=name, email=email)
        if found is None and time.monotonic() - self._staff_read_at >= STAFF_REREAD_SECONDS:
            # Not there when the list was read: a bookkeeper may have added them since (the
            # exception asked for it), so a miss reads the list again, at most every few minutes.
            self._staff = None
            found = _match(self._employees(), name=name, email=email)
        return found

    def _employees(self) -> list[Employee]:
        if self._staff is None:
            self._staff = [employee for employee in employees(self.client) if employee.Id]
            self._staff_read_at = time.monotonic()
        return self._staff

    # --- reads ------------------------------------------------------------------------------------

    def posted_records(self, kind: WorkKind, ids: Sequence[str]) -> dict[str, PostedRecord]:
        """The records `ids` as QBO holds them now (SyncToken, billed); a deleted one is absent.

        One query per up to 1,000 ids: select * from TimeActivity (or Purchase) where Id IN ('1', '2').
        The query language takes IN on Id and returns whole objects (BillableStatus included).
        https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
        """
        entity = mapper.ENTITY[kind]
        records = (mapper.posted_record(entity, row) for row in self._rows(kind, ids))
        return {record.id: record for record in records}

    def held_postings(self, kind: WorkKind, ids: Sequence[str]) -> dict[str, HeldPosting]:
        """The records `ids` with their content as QBO holds it now, in the same one query per up
        to 1,000 ids as `posted_records` (the rows are whole objects); a deleted one is absent."""
        entity = mapper.ENTITY[kind]
        home = self.connection.home_currency
        held: dict[str, HeldPosting] = {}
        for row in self._rows(kind, ids):
            record = mapper.posted_record(entity, row)
            held[record.id] = HeldPosting(
                record=record, fields=mapper.held_fields(entity, row, home_currency=home)
            )
        return held

    def held_fields(self, posting: Posting) -> dict[str, Any]:
        """What `held_postings` reads back once `posting` is written: its body read as a row (the
        connector sends full updates, so the record then holds exactly that)."""
        home = self.connection.home_currency
        body = mapper.posting_body(posting, home_currency=home)
        return mapper.held_fields(mapper.ENTITY[posting.kind], body, home_currency=home)

    def _rows(self, kind: WorkKind, ids: Sequence[str]) -> list[dict[str, Any]]:
        """select * from TimeActivity (or Purchase) where Id IN (...), 1,000 ids a query.
        https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
        """
        entity = mapper.ENTITY[kind]
        wanted = list(dict.fromkeys(record_id for record_id in ids if record_id))
        rows: list[dict[str, Any]] = []
        for start in range(0, len(wanted), MAX_RESULTS):
            chunk = wanted[start : start + MAX_RESULTS]
            where = "Id IN (" + ", ".join(quote_literal(record_id) for record_id in chunk) + ")"
            rows.extend(self.client._query(entity, where, page_size=MAX_RESULTS, limit=None))
        return rows

    # --- writes -----------------------------------------------------------------------------------

    def write_postings(self, request_id: str, writes: Sequence[PostingWrite]) -> list[WriteOutcome]:
        """One batch request for `writes` (at most 30; `batch_size` is the safe 10), answers in order.

        An update or delete of a record the caller already knows is billed is not sent (billed=True).
        A refused update or delete is followed by one query of those records: when QBO now holds the
        record as billed, the outcome says billed=True (not transient) whatever the Fault was, since
        Intuit does not document how it refuses a billed record, and an update over the SyncToken read
        before the billing is refused 5010 first. The outcome of a refused update or delete carries the
        record as QBO holds it now (when it still exists). A delete of a record already gone succeeds.
        Whole-request failures raise (RateLimitedError after a 429, auth, 5xx), as every call does.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch
        """
        writes = list(writes)
        if len(writes) > BATCH_MAX_ITEMS:
            raise ValueError(
                f"a QuickBooks batch carries at most {BATCH_MAX_ITEMS} writes, not {len(writes)}"
            )
        outcomes: dict[int, WriteOutcome] = {}
        sent: list[tuple[int, BatchOperation]] = []
        for n, write in enumerate(writes):
            if (
                write.operation is not WriteOperation.CREATE
                and write.record is not None
                and write.record.billed
            ):
                outcomes[n] = self._billed(write, write.record)
                continue
            # bIds are positions: the same pending batch resent builds the same items (replay).
            sent.append((n, operation(write, str(n), home_currency=self.connection.home_currency)))
        if sent:
            results = batch_write(self.client, [op for _, op in sent], request_id=request_id)
            for n, op in sent:
                outcomes[n] = outcome(writes[n], results[op.bid])
            self._look_again(writes, outcomes)
        return [outcomes[n] for n in range(len(writes))]

    def _look_again(self, writes: Sequence[PostingWrite], outcomes: dict[int, WriteOutcome]) -> None:
        """Read the records whose update or delete was refused: billed ones are told apart."""
        refused: dict[WorkKind, list[int]] = {}
        for n, found in outcomes.items():
            write = writes[n]
            if not found.ok and not found.billed and write.record is not None:
                refused.setdefault(write.kind, []).append(n)
        for kind, positions in refused.items():
            ids = [record.id for n in positions if (record := writes[n].record) is not None]
            current = self.posted_records(kind, ids)
            for n in positions:
                record = writes[n].record
                now = current.get(record.id) if record is not None else None
                if now is None:
                    continue
                if now.billed:
                    outcomes[n] = self._billed(writes[n], now)
                else:
                    outcomes[n] = outcomes[n].model_copy(update={"record": now})

    @staticmethod
    def _billed(write: PostingWrite, record: PostedRecord) -> WriteOutcome:
        on = f" on invoice {record.invoice}" if record.invoice else ""
        return WriteOutcome(
            key=write.key,
            record=record,
            error=f"quickbooks: {mapper.ENTITY[write.kind]} {record.id} has been billed{on}: "
            f"not {write.operation}d (a credit or an adjustment on the invoice is a person's call)",
            code="billed",
            billed=True,
        )


def _match(staff: list[Employee], *, name: str | None, email: str | None) -> str | None:
    """The one employee with this e-mail, else this display name or given + family name."""
    if email and email.strip():
        wanted = email.strip().casefold()
        hits = [e for e in staff if e.PrimaryEmailAddr and _folded(e.PrimaryEmailAddr.Address) == wanted]
        if hits:
            return hits[0].Id if len(hits) == 1 else None
    if name and name.strip():
        wanted = _folded(name)
        hits = [e for e in staff if _folded(e.DisplayName) == wanted] or [
            e for e in staff if _folded(f"{e.GivenName or ''} {e.FamilyName or ''}") == wanted
        ]
        if len(hits) == 1:
            return hits[0].Id
    return None
