"""NetSuite as the ledger of approved billable time and expenses, against the in-process sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from infra.local.clock import Clock
from infra.local.sandboxes.netsuite import NetSuiteSandbox
from shared.connectors.netsuite import NetSuiteConnector, posting_mapper
from shared.domain.delivery_ports import PostingTarget
from shared.domain.errors import RateLimitedError, TransientError
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import (
    PostedRecord,
    Posting,
    PostingWrite,
    WorkKind,
    WriteOperation,
    amount_for,
    work_key,
)
from shared.domain.reconciliation_ports import WorkCensus
from tests.connectors.netsuite.conftest import Waits, connect


@pytest.fixture(name="clock")
def _clock() -> Clock:
    return Clock(fast_forward=True)


@pytest.fixture(name="sandbox")
def _sandbox(clock: Clock) -> NetSuiteSandbox:
    return NetSuiteSandbox("TSTDRV1234567", clock=clock.now)


@pytest.fixture(name="waits")
def _waits(clock: Clock) -> Waits:
    return Waits(clock)


@pytest.fixture(name="connector")
def _connector(sandbox: NetSuiteSandbox, clock: Clock, waits: Waits) -> NetSuiteConnector:
    # the customer-master tests' factory: the same account, the same fast-forwarding clock
    return connect(sandbox, clock, waits)


DAY = date(2026, 12, 1)


@dataclass(frozen=True)
class Books:
    """What a bookkeeper set up before the hub posts: a person, a project, a service item, a category."""

    employee: str
    project: str
    item: str
    category: str
    department: str


@pytest.fixture
def books(sandbox: NetSuiteSandbox) -> Books:
    employee = sandbox.add_employee("Ada", "Lovelace", email="ada@firm.example")
    customer = sandbox.enter("customer", {"companyName": "Acme Consulting Ltd"})
    project = sandbox.enter("job", {"companyName": "Acme rollout", "parent": {"id": customer}})
    return Books(
        employee=employee,
        project=project,
        item=sandbox.add_item("Consulting"),
        category=sandbox.add_expense_category("Travel"),
        department=sandbox.add_segment("department", "Delivery"),
    )


def time_posting(
    books: Books, entry: str, *, minutes: int = 55, rate: str = "180.00", **changes: object
) -> Posting:
    price = Money.of(rate, "USD")
    fields: dict[str, object] = {
        "work": SourceRef(system=SystemName.PRODUCTIVE, type="time_entry", id=entry, version="1"),
        "kind": WorkKind.TIME,
        "target": SystemName.NETSUITE,
        "legal_entity": "US01",
        "customer": books.project,
        "worker": books.employee,
        "worked_on": DAY,
        "minutes": minutes,
        "rate": price,
        "amount": amount_for(price, minutes),
        "item": books.item,
        "department": books.department,
        "description": f"Workshop close2cash productive/time_entry/{entry}",
    }
    fields.update(changes)
    return Posting.model_validate(fields)


def expense_posting(books: Books, entry: str, amount: str = "86.40") -> Posting:
    return Posting(
        work=SourceRef(system=SystemName.PRODUCTIVE, type="expense", id=entry, version="1"),
        kind=WorkKind.EXPENSE,
        target=SystemName.NETSUITE,
        legal_entity="US01",
        customer=books.project,
        worker=books.employee,
        worked_on=DAY,
        amount=Money.of(amount, "USD"),
        expense_account=books.category,
        payment_account="n/a",
        description="Train to the client",
    )


def create(posting: Posting) -> PostingWrite:
    key = work_key(posting.work.system, posting.kind, posting.work.id)
    return PostingWrite(key=key, operation=WriteOperation.CREATE, kind=posting.kind, posting=posting)


def change(posting: Posting, record: PostedRecord) -> PostingWrite:
    key = work_key(posting.work.system, posting.kind, posting.work.id)
    return PostingWrite(
        key=key, operation=WriteOperation.UPDATE, kind=posting.kind, posting=posting, record=record
    )


def remove(posting: Posting, record: PostedRecord) -> PostingWrite:
    key = work_key(posting.work.system, posting.kind, posting.work.id)
    return PostingWrite(key=key, operation=WriteOperation.DELETE, kind=posting.kind, record=record)


def test_netsuite_declares_the_posting_ports_with_a_small_batch(connector: NetSuiteConnector) -> None:
    # NetSuite has no bulk REST write and a concurrency limit shared by the whole account
    assert {PostingTarget, WorkCensus} <= set(NetSuiteConnector.implements)
    assert isinstance(connector, PostingTarget) and isinstance(connector, WorkCensus)
    assert 1 <= connector.batch_size <= 5


def test_a_batch_posts_each_entry_once_and_a_resend_after_a_lost_answer_writes_nothing(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: Books
) -> None:
    # given a batch of four time entries and one expense, approved and billable
    postings = [time_posting(books, f"88{n}") for n in range(4)] + [expense_posting(books, "E1")]
    writes = [create(p) for p in postings]
    # when the hub writes it, but the answer of the last write is lost after NetSuite acted on it
    sandbox.fail_next(4, status=503, after=True, path="/services/rest/record/v1/expenseReport/eid:")
    with pytest.raises(TransientError):
        connector.write_postings("batch-1", writes)
    before = sandbox.writes
    # and the hub sends the same batch again with the same request id
    outcomes = connector.write_postings("batch-1", writes)
    # then NetSuite holds four time bills and one expense report, each once, and the resend wrote nothing
    assert [o.ok for o in outcomes] == [True] * 5
    assert sandbox.writes == before
    assert len(sandbox.records("timeBill")) == 4 and len(sandbox.records("expenseReport")) == 1
    bill = sandbox.by_external_id("timeBill", posting_mapper.work_external_id(postings[0]))
    assert bill is not None and outcomes[0].record is not None and bill["id"] == outcomes[0].record.id
    assert bill["hours"] * 60 == 55 and bill["isBillable"] is True and bill["customer"] == books.project
    assert "close2cash productive/time_entry/880" in bill["memo"]
    report = sandbox.record("expenseReport", outcomes[4].record.id if outcomes[4].record else "")
    line = report["expense"][0]
    assert (
        line["amount"] == Decimal("86.40")
        and line["isBillable"] is True
        and line["customer"] == books.project
    )


def test_held_fields_of_a_written_posting_are_what_netsuite_reads_back(
    connector: NetSuiteConnector, books: Books
) -> None:
    # given a time entry and an expense written to NetSuite
    time, expense = time_posting(books, "8812"), expense_posting(books, "E2")
    first, second = connector.write_postings("batch-2", [create(time), create(expense)])
    assert first.record is not None and second.record is not None
    # when a replay reads them back
    held_time = connector.held_postings(WorkKind.TIME, [first.record.id])[first.record.id]
    held_expense = connector.held_postings(WorkKind.EXPENSE, [second.record.id])[second.record.id]
    # then each record holds, field for field, what the hub says it would hold
    assert held_time.fields == connector.held_fields(time)
    assert held_time.fields["minutes"] == 55 and held_time.fields["rate"] == Decimal("180.00")
    assert held_expense.fields == connector.held_fields(expense)
    assert held_expense.fields["amount"] == Decimal("86.40") and held_expense.fields["currency"] == "USD"


def test_an_unbilled_entry_is_updated_then_deleted(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: Books
) -> None:
    # given a posted time entry, then corrected in the PSA to two hours
    posting = time_posting(books, "8813")
    (written,) = connector.write_postings("batch-3", [create(posting)])
    assert written.record is not None
    corrected = time_posting(books, "8813", minutes=120)
    # when the hub updates it, then removes it after the PSA withdrew the approval
    (updated,) = connector.write_postings("batch-4", [change(corrected, written.record)])
    assert updated.ok
    assert sandbox.record("timeBill", written.record.id)["hours"] == 2
    held = connector.held_postings(WorkKind.TIME, [written.record.id])[written.record.id]
    assert held.fields == connector.held_fields(corrected)
    (removed,) = connector.write_postings("batch-5", [remove(corrected, written.record)])
    # then the time bill is gone, and removing it again is no error
    assert removed.ok and sandbox.records("timeBill") == []
    (again,) = connector.write_postings("batch-5", [remove(corrected, written.record)])
    assert again.ok


def test_a_billed_time_bill_is_answered_billed_and_left_as_it_is(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: Books
) -> None:
    # given a posted time entry that an invoice has since carried
    posting = time_posting(books, "8814")
    (written,) = connector.write_postings("batch-6", [create(posting)])
    assert written.record is not None
    sandbox.bill_time(written.record.id)
    assert connector.posted_records(WorkKind.TIME, [written.record.id])[written.record.id].billed
    # when the PSA changes it and the hub (still thinking it unbilled) updates, or deletes it
    corrected = time_posting(books, "8814", minutes=30)
    (updated,) = connector.write_postings("batch-7", [change(corrected, written.record)])
    (deleted,) = connector.write_postings("batch-8", [remove(corrected, written.record)])
    # then both are answered billed, not transient, and NetSuite still holds the billed 55 minutes
    for outcome in (updated, deleted):
        assert outcome.billed and not outcome.transient and outcome.code == "billed"
    held = sandbox.record("timeBill", written.record.id)
    assert held["hours"] * 60 == 55


def test_an_unknown_service_item_is_refused_with_netsuites_code_alone(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: Books
) -> None:
    # given a batch where one entry names a service item NetSuite does not have
    good, bad = time_posting(books, "8815"), time_posting(books, "8816", item="99999")
    # when the hub writes the batch
    first, second = connector.write_postings("batch-9", [create(good), create(bad)])
    # then the good one is posted, and the bad one is refused with NetSuite's code, naming the field
    assert first.ok
    assert not second.ok and second.code == "INVALID_CONTENT" and not second.transient
    assert second.error is not None and "item" in second.error
    assert len(sandbox.records("timeBill")) == 1


def test_a_full_account_is_raised_as_rate_limited_for_the_batch_to_come_back(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: Books
) -> None:
    # given another application holding every concurrency slot of the account
    sandbox.hold_slots(15)
    # when the hub writes a batch
    with pytest.raises(RateLimitedError):
        connector.write_postings("batch-10", [create(time_posting(books, "8817"))])
    # then nothing was written; once the slots are free the same batch posts the entry once
    assert sandbox.records("timeBill") == []
    sandbox.release_slots()
    (outcome,) = connector.write_postings("batch-10", [create(time_posting(books, "8817"))])
    assert outcome.ok and len(sandbox.records("timeBill")) == 1


def test_a_person_is_found_by_email_else_by_name(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: Books
) -> None:
    someone = SourceRef(system=SystemName.PRODUCTIVE, type="person", id="77")
    assert connector.find_worker(someone, name=None, email="ADA@firm.example") == books.employee
    assert connector.find_worker(someone, name="ada  lovelace", email="other@firm.example") == books.employee
    assert connector.find_worker(someone, name="Grace Hopper", email=None) is None


def test_the_work_census_reads_what_was_posted_from_a_date(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: Books
) -> None:
    # given a time entry and an expense posted on 1 December, and older time entered by hand
    sandbox.enter(
        "timeBill",
        {
            "employee": {"id": books.employee},
            "customer": {"id": books.project},
            "item": {"id": books.item},
            "hours": 1,
            "tranDate": "2026-11-02",
        },
    )
    connector.write_postings(
        "batch-11", [create(time_posting(books, "8818")), create(expense_posting(books, "E3"))]
    )
    # when reconciliation takes the census from 1 December
    held = list(connector.census_work(DAY))
    # then it has both postings, priced as posted, each naming the PSA entry it was posted for
    assert sorted((work.kind.value, work.engagement, str(work.amount)) for work in held) == [
        ("expense", books.project, str(Money.of("86.40", "USD"))),
        ("time", books.project, str(Money.of("165.00", "USD"))),
    ]
    time = next(work for work in held if work.kind is WorkKind.TIME)
    assert time.minutes == 55 and time.origin is not None and time.origin.id == "8818"
    assert time.service == "Consulting" and not time.billed


def test_the_resend_after_a_throttled_write_finds_what_was_written_before(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: Books, waits: Waits
) -> None:
    # given a batch whose second write met a full account after the first was written
    writes = [create(time_posting(books, "8819")), create(time_posting(books, "8820"))]
    sandbox.fail_next(4, status=429, path="/services/rest/record/v1/timeBill/eid:c2c-productive-time-8820")
    with pytest.raises(RateLimitedError):
        connector.write_postings("batch-12", writes)
    assert len(sandbox.records("timeBill")) == 1
    # when the hub sends the batch again after the wait
    outcomes = connector.write_postings("batch-13", writes)
    # then each entry is posted once
    assert all(o.ok for o in outcomes) and len(sandbox.records("timeBill")) == 2
    assert waits.slept  # the 429s were waited on before the batch went back


def test_a_corrected_expense_keeps_one_line_and_a_vanished_record_is_named(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: Books
) -> None:
    # given a posted expense, corrected in the PSA to 92.10
    (written,) = connector.write_postings("batch-14", [create(expense_posting(books, "E4"))])
    assert written.record is not None
    corrected = expense_posting(books, "E4", amount="92.10")
    # when the hub updates it
    (updated,) = connector.write_postings("batch-15", [change(corrected, written.record)])
    # then the report still has one line, now of 92.10 (its lines are replaced, not added to)
    assert updated.ok
    lines = sandbox.record("expenseReport", written.record.id)["expense"]
    assert [line["amount"] for line in lines] == [Decimal("92.10")]
    # and an update of a time bill a person deleted in NetSuite is refused, naming NetSuite's code
    gone = PostedRecord(id="99999")
    (refused,) = connector.write_postings("batch-16", [change(time_posting(books, "8821"), gone)])
    assert not refused.ok and refused.code == "NONEXISTENT_ID" and not refused.billed


def test_async_creates_resent_with_their_key_are_carried_out_once(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: Books, waits: Waits
) -> None:
    # given creates sent asynchronously, and NetSuite's queue slow: the jobs are not done in time
    connector.async_creates = True
    writes = [create(time_posting(books, "8830")), create(expense_posting(books, "E5"))]
    sandbox.hold_async_jobs(True)
    with pytest.raises(TransientError):
        connector.write_postings("batch-20", writes)
    assert sandbox.records("timeBill") == []  # nothing the lookup by external id could see yet
    # when the hub resends the batch with the same request id, and the queue then runs
    waits.until.append(lambda: sandbox.run_async_jobs() < 0)  # runs the queue at every wait, stays
    outcomes = connector.write_postings("batch-20", writes)
    # then the resend was refused as a repeat and followed the first jobs: each record exists once
    assert all(o.ok for o in outcomes)
    assert len(sandbox.records("timeBill")) == 1 and len(sandbox.records("expenseReport")) == 1
    assert outcomes[0].record is not None
    assert sandbox.record("timeBill", outcomes[0].record.id)["externalId"] == "c2c-productive-time-8830"
    # two jobs in all (the time bill's, sent twice under one key; then the expense report's), each run once
    assert [job.runs for job in sandbox.jobs.jobs.values()] == [1, 1]
