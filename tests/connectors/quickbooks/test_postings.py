"""Approved time and expenses posted to QuickBooks Online (PostingTarget) against the sandbox.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/purchase
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from shared.connectors.quickbooks import QuickBooksConnector
from shared.connectors.quickbooks.batch import BatchOperation, batch_write
from shared.domain.delivery_ports import PostingTarget
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import (
    PostedRecord,
    Posting,
    PostingWrite,
    WorkKind,
    WriteOperation,
    WriteOutcome,
    amount_for,
    work_key,
)


@pytest.fixture
def books(sandbox: QuickBooksSandbox, connector: QuickBooksConnector) -> dict[str, str]:
    """What the bookkeeper and the engagement flow set up: a person, a project, a service, codes."""
    person = {
        "GivenName": "Emily",
        "FamilyName": "Platt",
        "PrimaryEmailAddr": {"Address": "Emily@Firm.example"},
    }
    service = {"Name": "Consulting", "Type": "Service", "IncomeAccountRef": {"value": "79"}}
    # The person (an employee with an e-mail) and the service item, in one setup batch.
    made = batch_write(
        connector.client,
        [BatchOperation("e", "Employee", "create", person), BatchOperation("i", "Item", "create", service)],
        request_id="setup-books",
    )
    ids = {bid: str((result.record or {})["Id"]) for bid, result in made.items()}
    ids["c"] = sandbox.put_customer({"DisplayName": "Acme Corp"})
    project = sandbox.put_customer(
        {"DisplayName": "Acme Corp - Rollout", "Job": True, "ParentRef": {"value": ids["c"]}}
    )
    return {
        "customer": project,
        "item": ids["i"],
        "employee": ids["e"],
        "class": sandbox.add_class("Consulting"),
        "department": sandbox.add_department("Austin"),
        "bank": sandbox.account_id("Checking"),
        "travel": sandbox.account_id("Travel"),
    }


def time_posting(books: dict[str, str], n: int, *, minutes: int = 55, **changes: Any) -> Posting:
    rate = Money.of("152.35", "USD")
    fields: dict[str, Any] = {
        "work": SourceRef(system=SystemName.PRODUCTIVE, type="time_entry", id=f"te-{n}", version="1"),
        "kind": WorkKind.TIME,
        "target": SystemName.QUICKBOOKS,
        "legal_entity": "us",
        "customer": books["customer"],
        "worker": books["employee"],
        "worked_on": date(2026, 11, 18),
        "minutes": minutes,
        "rate": rate,
        "amount": amount_for(rate, minutes),
        "item": books["item"],
        "accounting_class": books["class"],
        "department": books["department"],
        "tax_code": "NON",
        "description": f"Workshop prep (close2cash productive/time_entry/te-{n})",
    }
    fields.update(changes)
    return Posting(**fields)


def expense_posting(books: dict[str, str], **changes: Any) -> Posting:
    fields: dict[str, Any] = {
        "work": SourceRef(system=SystemName.PRODUCTIVE, type="expense", id="ex-1", version="1"),
        "kind": WorkKind.EXPENSE,
        "target": SystemName.QUICKBOOKS,
        "legal_entity": "us",
        "customer": books["customer"],
        "worker": books["employee"],
        "worked_on": date(2026, 11, 19),
        "amount": Money.of("86.40", "USD"),
        "expense_account": books["travel"],
        "payment_account": books["bank"],
        "accounting_class": books["class"],
        "tax_code": "NON",
        "description": "Train to client (close2cash productive/expense/ex-1)",
    }
    fields.update(changes)
    return Posting(**fields)


def create(posting: Posting) -> PostingWrite:
    return PostingWrite(
        key=work_key(posting.work.system, posting.kind, posting.work.id),
        operation=WriteOperation.CREATE,
        kind=posting.kind,
        posting=posting,
    )


def change(posting: Posting | None, record: PostedRecord, operation: WriteOperation) -> PostingWrite:
    kind = posting.kind if posting else WorkKind.TIME
    return PostingWrite(
        key=f"productive:{kind}:x-{record.id}", operation=operation, kind=kind, posting=posting, record=record
    )


def posted(connector: QuickBooksConnector, posting: Posting, request_id: str) -> PostedRecord:
    [answer] = connector.write_postings(request_id, [create(posting)])
    assert answer.ok and answer.record is not None, answer
    return answer.record


def test_the_connector_is_a_posting_target_with_the_safe_batch_size(connector: QuickBooksConnector) -> None:
    target: PostingTarget = connector
    assert (target.system, target.batch_size) == (SystemName.QUICKBOOKS, 10)


def test_ten_time_postings_are_one_call_and_a_resend_writes_nothing(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, books: dict[str, str]
) -> None:
    # given ten approved time entries of different lengths
    postings = [time_posting(books, n, minutes=55 + 7 * n) for n in range(10)]
    calls = connector.http_calls
    # when they are written as one batch
    answers = connector.write_postings("batch-0001", [create(p) for p in postings])
    # then one call created ten TimeActivities, in order, each with the exact time and rate
    assert connector.http_calls - calls == 1
    assert [a.key for a in answers] == [f"productive:time:te-{n}" for n in range(10)]
    assert all(a.ok and a.record and a.record.version == "0" and not a.record.billed for a in answers)
    for n, answer in enumerate(answers):
        assert answer.record is not None
        stored = sandbox.time_activity(answer.record.id)
        assert (stored["Hours"], stored["Minutes"]) == divmod(55 + 7 * n, 60)
        assert Decimal(str(stored["HourlyRate"])) == Decimal("152.35")
        assert (stored["BillableStatus"], stored["Taxable"], stored["NameOf"]) == (
            "Billable",
            False,
            "Employee",
        )
        assert stored["CustomerRef"]["value"] == books["customer"]
        assert (stored["ClassRef"]["value"], stored["DepartmentRef"]["value"]) == (
            books["class"],
            books["department"],
        )
        assert stored["Description"].endswith(f"(close2cash productive/time_entry/te-{n})")
    # when the same batch is sent again after a crash, then QBO replays it and nothing is written twice
    again = connector.write_postings("batch-0001", [create(p) for p in postings])
    assert again == answers
    assert len(sandbox.company.rows("TimeActivity")) == 10


def test_an_unknown_service_item_fails_its_own_posting_only(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, books: dict[str, str]
) -> None:
    postings = [time_posting(books, 1), time_posting(books, 2, item="999999"), time_posting(books, 3)]
    first, refused, third = connector.write_postings("batch-item", [create(p) for p in postings])
    assert first.ok and third.ok
    assert (refused.ok, refused.code, refused.transient, refused.billed) == (False, "2500", False, False)
    assert "ItemRef" in (refused.error or "")
    assert len(sandbox.company.rows("TimeActivity")) == 2


def test_an_update_after_a_bookkeepers_edit_is_stale_and_transient(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, books: dict[str, str]
) -> None:
    # given posted time that a bookkeeper then edited in QuickBooks
    record = posted(connector, time_posting(books, 1), "batch-a")
    sandbox.edit_transaction("TimeActivity", record.id, {"Description": "fixed by the bookkeeper"})
    # when the hub writes the PSA's correction over the SyncToken it knew
    [answer] = connector.write_postings(
        "batch-b", [change(time_posting(books, 1, minutes=90), record, WriteOperation.UPDATE)]
    )
    # then QBO refuses it as stale, which a later attempt over the new version may pass
    assert (answer.ok, answer.code, answer.transient, answer.billed) == (False, "5010", True, False)
    assert answer.record == PostedRecord(id=record.id, version="1")
    # and over the current version the correction lands, as a full update of the posting
    [done] = connector.write_postings(
        "batch-c", [change(time_posting(books, 1, minutes=90), answer.record, WriteOperation.UPDATE)]
    )
    assert done.ok and done.record == PostedRecord(id=record.id, version="2")
    stored = sandbox.time_activity(record.id)
    assert (stored["Hours"], stored["Minutes"], stored["Description"]) == (
        1,
        30,
        time_posting(books, 1).description,
    )


def test_billed_time_is_never_rewritten_or_removed(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, books: dict[str, str]
) -> None:
    # given posted time an invoice has billed since
    record = posted(connector, time_posting(books, 1), "batch-a")
    sandbox.bill_time_activity(record.id, "130")
    current = connector.posted_records(WorkKind.TIME, [record.id])[record.id]
    assert current == PostedRecord(id=record.id, version="1", billed=True, invoice="130")
    correction = time_posting(books, 1, minutes=30)
    # when the hub updates it over the old version, the current one, or deletes it
    answers = connector.write_postings(
        "batch-b",
        [
            change(correction, record, WriteOperation.UPDATE),
            change(correction, current.model_copy(update={"billed": False}), WriteOperation.UPDATE),
            change(None, current.model_copy(update={"billed": False}), WriteOperation.DELETE),
        ],
    )
    # then each comes back billed, not transient, naming the invoice, and the time is as invoiced
    assert [(a.ok, a.billed, a.transient) for a in answers] == [(False, True, False)] * 3
    assert all(a.record == current for a in answers)
    assert "invoice 130" in (answers[0].error or "")
    assert (sandbox.time_activity(record.id)["Hours"], sandbox.time_activity(record.id)["Minutes"]) == (0, 55)


def test_a_write_over_a_record_known_to_be_billed_is_not_sent(
    connector: QuickBooksConnector, books: dict[str, str]
) -> None:
    billed = PostedRecord(id="7", version="3", billed=True, invoice="130")
    calls = connector.http_calls
    [answer] = connector.write_postings(
        "batch-x", [change(time_posting(books, 1), billed, WriteOperation.UPDATE)]
    )
    assert (answer.billed, answer.record, connector.http_calls - calls) == (True, billed, 0)


def test_posted_records_tell_the_version_and_billing_in_one_call(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, books: dict[str, str]
) -> None:
    answers = connector.write_postings("batch-a", [create(time_posting(books, n)) for n in range(3)])
    ids = [a.record.id for a in answers if a.record]
    sandbox.bill_time_activity(ids[0], "130")
    [gone] = connector.write_postings(
        "batch-b", [change(None, answers[2].record or PostedRecord(id="-"), WriteOperation.DELETE)]
    )
    assert gone.ok and gone.record is None
    calls = connector.http_calls
    found = connector.posted_records(WorkKind.TIME, ids)
    assert connector.http_calls - calls == 1
    assert found == {
        ids[0]: PostedRecord(id=ids[0], version="1", billed=True, invoice="130"),
        ids[1]: PostedRecord(id=ids[1], version="0"),
    }
    # a delete of what is already gone is what was wanted
    [again] = connector.write_postings(
        "batch-c", [change(None, PostedRecord(id=ids[2], version="0"), WriteOperation.DELETE)]
    )
    assert again == WriteOutcome(key=again.key)


def test_a_person_is_found_by_email_else_by_name_with_one_read(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, books: dict[str, str]
) -> None:
    sandbox.add_employee("Sam Lee")
    sandbox.add_employee("Sam Lee (contract)")
    person = SourceRef(system=SystemName.PRODUCTIVE, type="person", id="p-1")
    calls = connector.http_calls
    assert connector.find_worker(person, name=None, email="  emily@FIRM.example ") == books["employee"]
    assert (
        connector.find_worker(person, name="emily  platt", email="nobody@firm.example") == books["employee"]
    )
    assert connector.find_worker(person, name="Sam Lee", email=None) is not None
    assert connector.find_worker(person, name="Pat Doe", email=None) is None
    assert connector.http_calls - calls == 1


def test_an_expense_becomes_a_billable_purchase_line_on_the_engagement(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, books: dict[str, str]
) -> None:
    # when an approved expense is posted
    posting = expense_posting(books)
    record = posted(connector, posting, "batch-e")
    # then QBO holds a cash Purchase paid from the bank account with one billable line on the project
    stored = sandbox.purchase(record.id)
    assert (stored["PaymentType"], stored["AccountRef"]["value"], stored["TotalAmt"]) == (
        "Cash",
        books["bank"],
        86.4,
    )
    assert stored["EntityRef"] == {"value": books["employee"], "name": "Emily Platt", "type": "Employee"}
    assert (stored["PrivateNote"], stored["TxnDate"]) == ("close2cash productive/expense/ex-1", "2026-11-19")
    [line] = stored["Line"]
    detail = line["AccountBasedExpenseLineDetail"]
    assert (line["Amount"], detail["AccountRef"]["value"], detail["BillableStatus"]) == (
        86.4,
        books["travel"],
        "Billable",
    )
    assert (detail["CustomerRef"]["value"], detail["ClassRef"]["value"], detail["TaxCodeRef"]) == (
        books["customer"],
        books["class"],
        {"value": "NON"},
    )
    # when the PSA corrects the amount before billing, then the Purchase is rewritten with one line
    corrected = expense_posting(books, amount=Money.of("90.15", "USD"))
    [update] = connector.write_postings("batch-g", [change(corrected, record, WriteOperation.UPDATE)])
    assert update.ok and update.record == PostedRecord(id=record.id, version="1")
    rewritten = sandbox.purchase(record.id)
    assert (len(rewritten["Line"]), rewritten["TotalAmt"]) == (1, 90.15)
    record = update.record
    # and once an invoice bills the line, the hub sees it billed and leaves it alone
    sandbox.bill_purchase_line(record.id, "131")
    current = connector.posted_records(WorkKind.EXPENSE, [record.id])[record.id]
    assert (current.billed, current.invoice) == (True, "131")
    [answer] = connector.write_postings(
        "batch-f",
        [change(expense_posting(books, amount=Money.of("90.00", "USD")), record, WriteOperation.UPDATE)],
    )
    assert (answer.billed, answer.transient) == (True, False)


def test_a_person_added_after_the_list_was_read_is_found_a_few_minutes_later(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.connectors.quickbooks import postings as module

    now = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    person = SourceRef(system=SystemName.PRODUCTIVE, type="person", id="p-9")
    # given the list was read before the bookkeeper added the employee
    assert connector.find_worker(person, name=None, email="new.hire@firm.example") is None
    sandbox.add_employee("New Hire", email="new.hire@firm.example")
    # then a miss right after does not read the list again, one after five minutes does
    calls = connector.http_calls
    assert connector.find_worker(person, name=None, email="new.hire@firm.example") is None
    assert connector.http_calls == calls
    now[0] += module.STAFF_REREAD_SECONDS
    assert connector.find_worker(person, name=None, email="new.hire@firm.example") is not None


def test_held_postings_read_back_what_was_posted_field_by_field_in_one_call(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, books: dict[str, str]
) -> None:
    # given a time entry posted with one item as non-taxable, and an expense
    first = time_posting(books, 1)
    expense = expense_posting(books)
    time_record = posted(connector, first, "batch-h1")
    expense_record = posted(connector, expense, "batch-h2")
    # when the replay reads them back
    calls = connector.http_calls
    held = connector.held_postings(WorkKind.TIME, [time_record.id, "999999"])
    assert connector.http_calls - calls == 1
    # then QBO's answer reads as the body the hub sent: nothing differs, the version and billing are known
    assert list(held) == [time_record.id]
    assert held[time_record.id].record == PostedRecord(id=time_record.id, version="0")
    assert held[time_record.id].fields == connector.held_fields(first)
    assert held[time_record.id].fields["minutes"] == 55 and held[time_record.id].fields["taxable"] is False
    [expense_held] = connector.held_postings(WorkKind.EXPENSE, [expense_record.id]).values()
    assert expense_held.fields == connector.held_fields(expense)
    assert (expense_held.fields["tax_code"], expense_held.fields["currency"]) == ("NON", "USD")
    # and a posting under corrected rows (another item, a taxable code) differs in those fields only
    made = batch_write(
        connector.client,
        [
            BatchOperation(
                "i",
                "Item",
                "create",
                {"Name": "Advisory", "Type": "Service", "IncomeAccountRef": {"value": "79"}},
            )
        ],
        request_id="setup-item",
    )
    item = str((made["i"].record or {})["Id"])
    corrected = time_posting(books, 1, item=item, tax_code="TAX")
    wanted = connector.held_fields(corrected)
    differs = {name for name, value in wanted.items() if held[time_record.id].fields.get(name) != value}
    assert differs == {"item", "taxable"}
    # and once written as a full update, QBO holds exactly that
    [update] = connector.write_postings("batch-h3", [change(corrected, time_record, WriteOperation.UPDATE)])
    assert update.ok
    [now] = connector.held_postings(WorkKind.TIME, [time_record.id]).values()
    assert now.fields == wanted and now.record.version == "1"
