"""NetSuite as a PostingTarget and WorkCensus: time bills and expense reports, one request per write.

NetSuite's REST record service has no batch write: each write of a hub batch is its own request,
and `request_id` makes a resend harmless through the external id, not through a replayed answer:
- create: the record's external id is the work key (posting_mapper.work_external_id). The batch's
  creates are first looked up by external id (one SuiteQL statement per kind); one found that holds
  the posting already is answered as written (a resend after a lost answer writes nothing), one that
  differs is PATCHed, and the others are upserted with `PUT .../eid:{externalId}` (which would
  update, never duplicate, should two senders race).
  https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html
- update: PATCH of every field the posting owns (an expense report's lines replaced).
  https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_1545142407.html
- delete: DELETE; a record already gone is what the delete was for.
  https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545142287.html
The asynchronous form (`Prefer: respond-async` + X-NetSuite-Idempotency-Key, jobs.py) is off by
default (`async_creates`): the task result of an upsert names no record (204, no body), so each create
costs five calls (submit, job, task list, task, result) and a read, where the external id already
makes the synchronous write safe to resend. Turned on, each create carries a key derived from the
request id and the work key, so a resend of the same batch is refused IDEMPOTENCY_ERROR and follows
the first job: NetSuite carries the create out once, even where the lookup could not see it yet.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_164494900632.html

A 429 (the account's concurrency is full) or SSS_REQUEST_LIMIT_EXCEEDED is raised as the hub's
RateLimitedError once VendorHttp's retries are spent: the hub releases the batch and sends it again
after the wait, and the writes already made are then found by external id, not made twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared.connectors.netsuite import posting_mapper as mapper
from shared.connectors.netsuite import posting_queries as queries
from shared.connectors.netsuite.client import record_path
from shared.connectors.netsuite.errors import NetSuiteRecordError
from shared.domain.errors import NotFoundError
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import (
    HeldPosting,
    PostedRecord,
    Posting,
    PostingWrite,
    WorkKind,
    WriteOperation,
    WriteOutcome,
    amount_for,
    reference_origin,
)
from shared.domain.reconciliation_ports import HeldWork

if TYPE_CHECKING:
    from shared.connectors.netsuite.client import NetSuiteClient
    from shared.connectors.netsuite.connection import NetSuiteConnection

NONEXISTENT_ID = "NONEXISTENT_ID"
# The hub's reference types for the records a census returns.
TIME_TYPE = "time_bill"
EXPENSE_TYPE = "expense_report"
# The records in NetSuite's own UI (UNCONFIRMED paths: the app host is the account id in lower
# case, `_` as `-`, as the REST host is).
APP_LINK = "https://{host}.app.netsuite.com/app/accounting/transactions/{page}.nl?id={id}"


class NetSuitePostings:
    """The PostingTarget and WorkCensus ports: time bills for time, expense reports for expenses."""

    system = SystemName.NETSUITE
    connection: NetSuiteConnection
    client: NetSuiteClient
    # Writes per hub batch. Every write is one request (no bulk REST write), and the account's
    # concurrency limit is shared by every integration and user script of the account (5 on the
    # shared tier), so a batch is written one request after another within one worker; 5 keeps a
    # batch's writes and its reads inside a few seconds, and a throttled batch (sent again whole)
    # small. https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_0827103226.html
    batch_size: int = 5
    # Creates sent asynchronously with an idempotency key (see the module docstring).
    async_creates: bool = False

    # --- people -----------------------------------------------------------------------------------

    def find_worker(self, worker: SourceRef, *, name: str | None, email: str | None) -> str | None:
        """The one active employee with this e-mail (case-insensitive), else with this name (the
        entity id NetSuite builds from first and last name); None for none or several.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
        """
        del worker  # NetSuite keeps no PSA id on an employee
        for statement in queries.employees(email=email, name=name):
            rows, _ = self.client.suiteql_rows(statement, max_rows=2)
            if rows:
                return str(rows[0]["id"]) if len(rows) == 1 else None
        return None

    # --- reads ------------------------------------------------------------------------------------

    def posted_records(self, kind: WorkKind, ids: Sequence[str]) -> dict[str, PostedRecord]:
        """The records `ids` as NetSuite holds them now (billed from a time bill's status)."""
        return {record_id: held.record for record_id, held in self.held_postings(kind, ids).items()}

    def held_postings(self, kind: WorkKind, ids: Sequence[str]) -> dict[str, HeldPosting]:
        """Time bills: one SuiteQL statement per 1,000 ids. Expense reports: one GET each with the
        lines expanded (the lines are a sublist, not columns of the transaction table)."""
        wanted = list(dict.fromkeys(record_id for record_id in ids if record_id))
        if kind is WorkKind.TIME:
            return {
                str(row["id"]): HeldPosting(record=mapper.posted_time(row), fields=mapper.time_fields(row))
                for row in self._posting_rows(queries.time_bills_by_id, wanted)
            }
        held: dict[str, HeldPosting] = {}
        for record_id in wanted:
            record = self._read_expense_report(record_id)
            if record is not None:
                held[record_id] = self._held_expense_report(record)
        return held

    def held_fields(self, posting: Posting) -> dict[str, Any]:
        """What `held_postings` reads back once `posting` is written: its body read as a record
        (every field the posting owns is sent, so the record then holds exactly that)."""
        body = mapper.posting_body(posting, self.connection)
        if posting.kind is WorkKind.TIME:
            return mapper.time_fields(body)
        return mapper.expense_fields(body, self.connection)

    def _posting_rows(
        self, statement: Callable[[Sequence[str]], str], values: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The rows of `statement` for `values`, one statement per 1,000 (Oracle's IN list limit)."""
        rows: list[dict[str, Any]] = []
        for start in range(0, len(values), queries.MAX_IN_LIST):
            found, _ = self.client.suiteql_rows(statement(values[start : start + queries.MAX_IN_LIST]))
            rows.extend(found)
        return rows

    def _read_expense_report(self, record_id: str) -> dict[str, Any] | None:
        try:
            return self.client.get_record(mapper.EXPENSE_REPORT, record_id, expand=True)
        except NotFoundError:
            return None

    def _held_expense_report(self, record: Mapping[str, Any]) -> HeldPosting:
        return HeldPosting(
            record=mapper.posted_expense(record), fields=mapper.expense_fields(record, self.connection)
        )

    # --- writes -----------------------------------------------------------------------------------

    def write_postings(self, request_id: str, writes: Sequence[PostingWrite]) -> list[WriteOutcome]:
        """Each write as its own request, answered in order; a refusal fails its own write only.

        An update or delete of a record already known to be billed is not sent (billed=True); a
        refused update or delete is followed by a read of that record, and a billed one is answered
        billed=True whatever NetSuite's refusal said. RateLimitedError and TransientError (a lost
        answer) are raised for the whole batch: it is sent again with the same `request_id`, and
        what was written already is found by external id.
        """
        writes = list(writes)
        if len(writes) > self.batch_size:
            raise ValueError(f"a NetSuite batch carries at most {self.batch_size} writes, not {len(writes)}")
        existing = self._existing_postings(
            [w.posting for w in writes if w.operation is WriteOperation.CREATE]
        )
        outcomes: list[WriteOutcome] = []
        for write in writes:
            if (
                write.operation is not WriteOperation.CREATE
                and write.record is not None
                and write.record.billed
            ):
                outcomes.append(_billed(write, write.record))
                continue
            try:
                outcomes.append(self._write_posting(request_id, write, existing))
            except NetSuiteRecordError as refused:
                outcomes.append(self._refused_posting(write, refused))
        return outcomes

    def _existing_postings(self, postings: Sequence[Posting | None]) -> dict[str, HeldPosting]:
        """The records the creates' external ids already name (a resend, or a lost answer), by id."""
        times = [mapper.work_external_id(p) for p in postings if p is not None and p.kind is WorkKind.TIME]
        expenses = [
            mapper.work_external_id(p) for p in postings if p is not None and p.kind is WorkKind.EXPENSE
        ]
        found: dict[str, HeldPosting] = {}
        for row in self._posting_rows(queries.time_bills_by_external_id, times) if times else []:
            found[str(row["externalid"]).lower()] = HeldPosting(
                record=mapper.posted_time(row), fields=mapper.time_fields(row)
            )
        for row in self._posting_rows(queries.expense_reports_by_external_id, expenses) if expenses else []:
            record = self._read_expense_report(str(row["id"]))
            if record is not None:
                found[str(row["externalid"]).lower()] = self._held_expense_report(record)
        return found

    def _write_posting(
        self, request_id: str, write: PostingWrite, existing: Mapping[str, HeldPosting]
    ) -> WriteOutcome:
        record_type = mapper.RECORD_TYPE[write.kind]
        posting = write.posting
        if write.operation is WriteOperation.DELETE:
            if write.record is None:
                raise ValueError(f"{write.key}: a delete needs the record it removes")
            # Already gone (a person deleted it, or the first send did): what the delete was for.
            with suppress(NotFoundError):
                self.client.delete_record(record_type, write.record.id)
            return WriteOutcome(key=write.key)
        if posting is None:
            raise ValueError(f"{write.key}: a {write.operation} needs the posting")
        body = mapper.posting_body(posting, self.connection)
        if write.operation is WriteOperation.CREATE:
            external = mapper.work_external_id(posting)
            held = existing.get(external)
            if held is None:
                return self._create_posting(request_id, write, external, body)
            if held.record.billed:
                return _billed(write, held.record)
            if held.fields == self.held_fields(posting):
                return WriteOutcome(key=write.key, record=held.record)
            return self._patch_posting(write, held.record, body)
        if write.record is None:
            raise ValueError(f"{write.key}: an update needs the record it changes")
        return self._patch_posting(write, write.record, body)

    def _create_posting(
        self, request_id: str, write: PostingWrite, external: str, body: Mapping[str, Any]
    ) -> WriteOutcome:
        """PUT .../eid:{external}: synchronously, or as an asynchronous job with its idempotency key."""
        record_type, lines = mapper.RECORD_TYPE[write.kind], _lines(write.kind)
        if self.async_creates:
            path = record_path(record_type, f"eid:{external}")
            if lines:
                path += "?replace=" + ",".join(lines)
            self.client.run_async("PUT", path, body, idempotency_key=f"{request_id}/{write.key}")
            return WriteOutcome(key=write.key, record=PostedRecord(id=self._posted_id(write)))
        record_id = self.client.upsert_record(record_type, external, body, replace=lines)
        return WriteOutcome(key=write.key, record=PostedRecord(id=record_id or self._posted_id(write)))

    def _patch_posting(
        self, write: PostingWrite, record: PostedRecord, body: Mapping[str, Any]
    ) -> WriteOutcome:
        record_type = mapper.RECORD_TYPE[write.kind]
        try:
            self.client.update_record(record_type, record.id, body, replace=_lines(write.kind))
        except NotFoundError as gone:
            return WriteOutcome(key=write.key, error=str(gone), code=NONEXISTENT_ID)
        return WriteOutcome(key=write.key, record=PostedRecord(id=record.id))

    def _posted_id(self, write: PostingWrite) -> str:
        """The internal id of the record just upserted, when the answer's Location named only eid:."""
        if write.posting is None:
            raise ValueError(f"{write.key}: no posting")
        external = mapper.work_external_id(write.posting)
        payload = self.client.get_record(mapper.RECORD_TYPE[write.kind], f"eid:{external}")
        return str(payload["id"])

    def _refused_posting(self, write: PostingWrite, refused: NetSuiteRecordError) -> WriteOutcome:
        """NetSuite's refusal of one write; for an update or delete, billed records told apart."""
        codes = sorted(refused.codes)
        outcome = WriteOutcome(key=write.key, error=str(refused), code=codes[0] if codes else None)
        if write.operation is WriteOperation.CREATE or write.record is None:
            return outcome
        now = self.posted_records(write.kind, [write.record.id]).get(write.record.id)
        if now is not None and now.billed:
            return _billed(write, now)
        return outcome if now is None else outcome.model_copy(update={"record": now})

    # --- WorkCensus -------------------------------------------------------------------------------

    def census_work(self, since: date) -> Iterator[HeldWork]:
        """Every time bill and expense report line on a customer or project dated `since` or later.

        Time bills: one SuiteQL statement, 1,000 rows a page, plus one per 1,000 projects for their
        currency (a time bill has none of its own). Expense reports: their ids by SuiteQL on the
        transaction table (type ExpRept), then one GET each for its lines.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
        """
        rows, _ = self.client.suiteql_rows(queries.time_bills_since(since))
        customers = list(dict.fromkeys(str(row["customer"]) for row in rows if row.get("customer")))
        currencies = self._posting_currencies(customers)
        for row in rows:
            held = self._held_time_bill(row, currencies)
            if held is not None:
                yield held
        reports, _ = self.client.suiteql_rows(queries.expense_reports_since(since))
        for row in reports:
            record = self._read_expense_report(str(row["id"]))
            if record is not None:
                yield from self._held_expense_lines(record)

    def _posting_currencies(self, customers: Sequence[str]) -> dict[str, str]:
        codes = {internal: code for code, internal in self.connection.currencies.items()}
        found: dict[str, str] = {}
        for row in self._posting_rows(queries.project_currencies, customers) if customers else []:
            code = codes.get(str(row.get("currency") or ""))
            if code is not None:
                found[str(row["id"])] = code
        return found

    def _posting_link(self, page: str, record_id: str) -> str:
        host = self.connection.account_id.lower().replace("_", "-")
        return APP_LINK.format(host=host, page=page, id=record_id)

    def _held_time_bill(self, row: Mapping[str, Any], currencies: Mapping[str, str]) -> HeldWork | None:
        fields = mapper.time_fields(row)
        customer = fields["customer"]
        if customer is None or fields["worked_on"] is None:
            return None
        currency = currencies.get(customer, self.connection.home_currency)
        rate: Decimal | None = fields["rate"]
        minutes: int = fields["minutes"]
        return HeldWork(
            system=SystemName.NETSUITE,
            ref=SourceRef(system=SystemName.NETSUITE, type=TIME_TYPE, id=str(row["id"])),
            kind=WorkKind.TIME,
            engagement=customer,
            worked_on=date.fromisoformat(fields["worked_on"]),
            minutes=minutes,
            amount=None if rate is None else amount_for(Money.of(rate, currency), minutes),
            service=row.get("itemname"),
            billable=fields["billable"],
            billed=mapper.posted_time(row).billed,
            origin=reference_origin(fields["description"]),
            link=self._posting_link("timebill", str(row["id"])),
        )

    def _held_expense_lines(self, record: Mapping[str, Any]) -> Iterator[HeldWork]:
        """The report's lines that name a customer or project, each as the work it charges (the
        report's id for a one-line report, `<id>-<line>` when a person split it)."""
        sublist = record.get(mapper.EXPENSE_LINES)
        items = sublist.get("items", []) if isinstance(sublist, Mapping) else []
        lines = [
            line for line in items if isinstance(line, Mapping) and isinstance(line.get("customer"), Mapping)
        ]
        for line in lines:
            fields = mapper.expense_fields(
                {**record, mapper.EXPENSE_LINES: {"items": [line]}}, self.connection
            )
            if fields["amount"] is None or fields["worked_on"] is None:
                continue
            record_id = str(record["id"]) if len(lines) == 1 else f"{record['id']}-{line.get('line')}"
            yield HeldWork(
                system=SystemName.NETSUITE,
                ref=SourceRef(system=SystemName.NETSUITE, type=EXPENSE_TYPE, id=record_id),
                kind=WorkKind.EXPENSE,
                engagement=str(fields["customer"]),
                worked_on=date.fromisoformat(fields["worked_on"]),
                amount=Money.of(fields["amount"], fields["currency"]),
                billable=fields["billable"],
                origin=reference_origin(fields["reference"]) or reference_origin(fields["description"]),
                link=self._posting_link("exprept", str(record["id"])),
            )


def _lines(kind: WorkKind) -> tuple[str, ...]:
    """The sublists a write sends whole: an expense report's lines are the posting's one line."""
    return (mapper.EXPENSE_LINES,) if kind is WorkKind.EXPENSE else ()


def _billed(write: PostingWrite, record: PostedRecord) -> WriteOutcome:
    return WriteOutcome(
        key=write.key,
        record=record,
        error=f"netsuite: {mapper.RECORD_TYPE[write.kind]} {record.id} has been billed: not "
        f"{write.operation}d (a credit memo or an adjustment on the invoice is a person's call)",
        code="billed",
        billed=True,
    )
