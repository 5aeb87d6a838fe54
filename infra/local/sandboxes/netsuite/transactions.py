"""The money rules of invoices, customer payments and credit memos, and the balances they move.

- Invoice: its terms default to the customer's, its due date to the date plus the terms' days.
- Invoice and credit memo: at least one line; an `item` line's amount is quantity x rate when not
  sent (quantity 1 by default), rounded to the cent; `total` is the sum of the lines, the invoice's
  applied billable time and expenses included.
- Invoice billable time (`time`) and expenses (`expCost`): an applied line's `doc` is a time bill /
  expense report (else INVALID_CONTENT at `time.items[n].doc`) on the invoice's customer or one of
  its projects (a time bill's customer, one of the report's billable lines' customer), not billed on
  another invoice, named once (USER_ERROR at the line's `doc`). Its amount is as sent, else quantity
  x rate, else the record's (hours x rate; the report's billable lines on that customer). Once the
  invoice is stored its time bills show `status` Billed (entities.mark_billed, as `bill_time`); a
  time bill it no longer applies (its line replaced away, the invoice deleted) is billable again.
  The sandbox keeps no billed status on expense reports: another live invoice applying the report
  is what refuses it. Wording of the refusals UNCONFIRMED.
- Customer payment and credit memo: `apply` lines name invoices (`doc`) of the same customer (or of
  its projects) in the same currency; each amount is at most what the invoice still owes, all of
  them at most the payment (or the credit memo's total). A line without an amount applies what is
  left, up to what the invoice owes.
- An invoice's `amountPaid`, `amountRemaining` and `status` (Open, Paid In Full) follow the live
  payments and credit memos applied to it; when they change the invoice's `lastModifiedDate` moves,
  so a SuiteQL sweep on `lastmodifieddate` sees the paid status.
- An invoice something is applied to cannot be deleted, nor its total lowered below what is applied.
- Each live application is a link from the invoice (previous) to the payment or credit memo (next),
  which SuiteQL shows as the `nexttransactionlinelink` table (`application_links`).
- Expense report: an employee's lines (category, amount > 0; a billable line names its customer or
  project); `total` is their sum; approved once both the supervisor and accounting approved.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from infra.local.sandboxes.netsuite import records
from infra.local.sandboxes.netsuite.account import Account, Record
from infra.local.sandboxes.netsuite.entities import TIME_BILLED, default_subsidiary, mark_billed
from infra.local.sandboxes.netsuite.errors import required, user_error
from infra.local.sandboxes.netsuite.schema import (
    CREDIT_MEMO,
    CUSTOMER_PAYMENT,
    EXPENSE_REPORT,
    INVOICE,
    SPECS,
    TIME_BILL,
    RecordSpec,
)

CENT = Decimal("0.01")
ZERO = Decimal(0)
# transaction.status codes SuiteQL holds, and the names REST shows.
INVOICE_OPEN = {"id": "A", "refName": "Open"}
INVOICE_PAID = {"id": "B", "refName": "Paid In Full"}
CREDIT_OPEN = {"id": "A", "refName": "Open"}
CREDIT_APPLIED = {"id": "B", "refName": "Fully Applied"}
PAYMENT_DEPOSITED = {"id": "C", "refName": "Deposited"}
EXPENSES_PENDING = {"id": "B", "refName": "Pending Supervisor Approval"}
EXPENSES_APPROVED = {"id": "F", "refName": "Approved by Accounting"}
_APPLYING = (CUSTOMER_PAYMENT, CREDIT_MEMO)
# The invoice's billable cost sublists and the record type each line's `doc` names.
TIME_LINES = "time"
EXPENSE_LINES = "expCost"
_BILLABLE = ((TIME_LINES, TIME_BILL), (EXPENSE_LINES, EXPENSE_REPORT))
_NO_LINES = "You must enter at least one line item for this transaction."


def cents(value: Decimal) -> Decimal:
    """Rounded to the cent, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def top_customer(account: Account, entity_id: str) -> str:
    """The customer an entity bills to: itself, or a project's parent customer."""
    job = account.get(SPECS["job"], entity_id)
    return str(job["parent"]) if job is not None else entity_id


def applied_to(account: Account, invoice_id: str, *, besides: Record | None = None) -> Decimal:
    """What live payments and credit memos apply to the invoice (`besides`: leave that one out)."""
    total = ZERO
    for spec in _APPLYING:
        for document in account.table(spec).values():
            if besides is not None and document.get("id") == besides.get("id"):
                continue
            for line in document.get("apply", []):
                if line.get("doc") == invoice_id and line.get("apply", True):
                    total += line.get("amount") or ZERO
    return total


def application_links(account: Account) -> list[dict[str, Any]]:
    """One link per live `apply` line: invoice (previous) -> payment or credit memo (next), its amount.

    Live accounts answer the application of a payment or credit memo to an invoice as a row of the
    SuiteQL table NextTransactionLineLink (previousdoc / previoustype = the invoice, nextdoc / nexttype
    = the applying document, linktype 'Payment', foreignamount = the amount applied); Oracle's pages
    name the table in the Records Catalog only, the columns are as clients of live accounts read them
    (3p: https://timdietrich.me/blog/netsuite-suiteql-related-transactions).
    """
    links: list[dict[str, Any]] = []
    for spec in _APPLYING:
        for document in account.table(spec).values():
            for line in document.get("apply", []):
                if not line.get("apply", True) or line.get("amount") is None:
                    continue
                links.append(
                    {
                        "previousdoc": Decimal(str(line["doc"])),
                        "previoustype": INVOICE.type_code,
                        "previousline": Decimal(0),
                        "nextdoc": Decimal(document["id"]),
                        "nexttype": spec.type_code,
                        "nextline": Decimal(int(line.get("line") or 0)),
                        "linktype": "Payment",
                        "foreignamount": line["amount"],
                        "lastmodifieddate": document.get("lastModifiedDate"),
                    }
                )
    links.sort(key=lambda link: (link["previousdoc"], link["nextdoc"]))
    return links


def _header_defaults(account: Account, spec: RecordSpec, record: Record, party: str) -> None:
    record.setdefault("tranDate", account.today())
    if not record.get("tranId"):
        record["tranId"] = account.next_number(spec)
    entity = account.find(("customer", "job"), record[party])
    if entity is not None:
        record.setdefault("subsidiary", entity[1].get("subsidiary"))
        record.setdefault("currency", entity[1].get("currency"))
    default_subsidiary(account, record)


def _item_lines(record: Record, *, needed: bool = True) -> Decimal:
    lines = record.get("item", [])
    if not lines and needed:
        raise user_error(_NO_LINES, error_path="item")
    total = ZERO
    for index, line in enumerate(lines):
        quantity = line.setdefault("quantity", Decimal(1))
        if line.get("amount") is None:
            if line.get("rate") is None:
                raise required("Amount", f"item.items[{index}].amount")
            line["amount"] = cents(quantity * line["rate"])
        else:
            line["amount"] = cents(line["amount"])
            if line.get("rate") is None and quantity:
                line["rate"] = line["amount"] / quantity
        total += line["amount"]
    return total


def _apply_lines(account: Account, record: Record, party: str, available: Decimal) -> Decimal:
    """Check and complete the `apply` lines; returns the amount applied."""
    customer = top_customer(account, record[party])
    applied = ZERO
    for index, line in enumerate(record.get("apply", [])):
        path = f"apply.items[{index}]"
        line.setdefault("apply", True)
        if not line["apply"]:
            continue
        invoice = account.get(INVOICE, line["doc"])
        assert invoice is not None  # the reference was checked
        if top_customer(account, invoice["entity"]) != customer:
            raise user_error(
                f"The invoice {invoice['tranId']} belongs to another customer.", error_path=f"{path}.doc"
            )
        if invoice.get("currency") != record.get("currency"):
            raise user_error(
                f"The invoice {invoice['tranId']} is in another currency.", error_path=f"{path}.doc"
            )
        owed = invoice["total"] - applied_to(account, invoice["id"], besides=record)
        amount = line.get("amount")
        if amount is None:
            amount = min(owed, available - applied)
        amount = cents(amount)
        if amount <= ZERO or amount > owed:
            raise user_error(
                f"The amount applied to invoice {invoice['tranId']} must be more than 0 and at most {owed}.",
                error_path=f"{path}.amount",
            )
        line["amount"] = amount
        applied += amount
    if applied > available:
        raise user_error(
            f"The total applied ({applied}) exceeds the amount available to apply ({available}).",
            error_path="apply",
        )
    return applied


def _invoice(account: Account, spec: RecordSpec, record: Record, previous: Record | None) -> None:
    _header_defaults(account, spec, record, "entity")
    customer = account.get(SPECS["customer"], top_customer(account, record["entity"]))
    if record.get("terms") is None and customer is not None:
        record["terms"] = customer.get("terms")
    term = account.get(SPECS["term"], record["terms"]) if record.get("terms") else None
    days = int(term.get("daysUntilNetDue") or 0) if term else 0
    record.setdefault("dueDate", record["tranDate"] + timedelta(days=days))
    costs = _billable_lines(account, record, previous)
    total = _item_lines(record, needed=costs is None) + (costs or ZERO)
    paid = applied_to(account, record["id"]) if previous is not None else ZERO
    if total < paid:
        raise user_error(f"The total ({total}) cannot be less than the amount already applied ({paid}).")
    record["subtotal"] = record["total"] = total
    _set_balance(record, paid)


def _applied_lines(record: Record | None, sublist: str) -> list[tuple[int, Record]]:
    lines = record.get(sublist, []) if record is not None else []
    return [(index, line) for index, line in enumerate(lines) if line.get("apply", True)]


def _docs(record: Record | None, sublist: str) -> set[str]:
    return {str(line["doc"]) for _, line in _applied_lines(record, sublist)}


def _billed_on(account: Account, sublist: str, doc: str, besides: str | None) -> Record | None:
    """The live invoice (other than `besides`) whose `sublist` applies `doc`, if any."""
    for invoice in account.table(INVOICE).values():
        if invoice.get("id") != besides and doc in _docs(invoice, sublist):
            return invoice
    return None


def _record_amount(account: Account, sublist: str, billed: Record, customer: str) -> Decimal:
    """What the billed record itself comes to: hours x rate, or the report's lines on the customer."""
    if sublist == TIME_LINES:
        return cents(billed["hours"] * (billed.get("rate") or ZERO))
    return sum(
        (
            line["amount"]
            for line in billed.get("expense", [])
            if line.get("isBillable")
            and line.get("customer")
            and top_customer(account, line["customer"]) == customer
        ),
        ZERO,
    )


def _bills_customer(account: Account, sublist: str, billed: Record, customer: str) -> bool:
    if sublist == TIME_LINES:
        return billed.get("customer") is not None and top_customer(account, billed["customer"]) == customer
    return _record_amount(account, sublist, billed, customer) > ZERO


def _billable_lines(account: Account, record: Record, previous: Record | None) -> Decimal | None:
    """Check and complete the applied `time` / `expCost` lines; their sum, None when there are none."""
    customer = top_customer(account, record["entity"])
    total: Decimal | None = None
    for sublist, spec in _BILLABLE:
        seen: set[str] = set()
        for index, line in _applied_lines(record, sublist):
            path = f"{sublist}.items[{index}].doc"
            line["apply"] = True
            doc = str(line["doc"])
            billed = account.get(spec, doc)
            assert billed is not None  # the reference was checked
            label = "time entry" if sublist == TIME_LINES else "expense report"
            if not _bills_customer(account, sublist, billed, customer):
                raise user_error(f"The {label} {doc} is not billable to this customer.", error_path=path)
            elsewhere = _billed_on(account, sublist, doc, record.get("id"))
            already = billed.get("status") == TIME_BILLED and doc not in _docs(previous, sublist)
            if doc in seen or elsewhere is not None or (sublist == TIME_LINES and already):
                on = f" on invoice {elsewhere['tranId']}" if elsewhere is not None else ""
                raise user_error(f"The {label} {doc} has already been billed{on}.", error_path=path)
            seen.add(doc)
            if line.get("amount") is None:
                if line.get("quantity") is not None and line.get("rate") is not None:
                    line["amount"] = line["quantity"] * line["rate"]
                else:
                    line["amount"] = _record_amount(account, sublist, billed, customer)
            line["amount"] = cents(line["amount"])
            line.setdefault("billedDate", record["tranDate"])
            total = (total or ZERO) + line["amount"]
    return total


def _bill_time(account: Account, spec: RecordSpec, after: Record | None, before: Record | None) -> None:
    """After an invoice is stored or deleted: the time bills it applies Billed, the ones it no longer
    applies (and no other invoice does) billable again."""
    now, then = _docs(after, TIME_LINES), _docs(before, TIME_LINES)
    for doc in now | then:
        time_bill = account.get(TIME_BILL, doc)
        if time_bill is None:
            continue
        if doc in now:
            mark_billed(account, time_bill)
        elif _billed_on(account, TIME_LINES, doc, None) is None:
            mark_billed(account, time_bill, billed=False)


def _set_balance(invoice: Record, paid: Decimal) -> bool:
    before = (invoice.get("amountPaid"), invoice.get("amountRemaining"))
    invoice["amountPaid"] = paid
    invoice["amountRemaining"] = invoice["total"] - paid
    invoice["status"] = (
        INVOICE_PAID if invoice["amountRemaining"] == ZERO and invoice["total"] > ZERO else INVOICE_OPEN
    )
    return before != (invoice["amountPaid"], invoice["amountRemaining"])


def _payment(account: Account, spec: RecordSpec, record: Record, previous: Record | None) -> None:
    _header_defaults(account, spec, record, "customer")
    payment = cents(record["payment"])
    if payment < ZERO:
        raise user_error("The payment amount cannot be negative.", error_path="payment")
    record["payment"] = record["total"] = payment
    record["applied"] = _apply_lines(account, record, "customer", payment)
    record["unapplied"] = payment - record["applied"]
    record["status"] = PAYMENT_DEPOSITED


def _credit_memo(account: Account, spec: RecordSpec, record: Record, previous: Record | None) -> None:
    _header_defaults(account, spec, record, "entity")
    total = _item_lines(record)
    record["subtotal"] = record["total"] = total
    record["applied"] = _apply_lines(account, record, "entity", total)
    record["unapplied"] = record["amountRemaining"] = total - record["applied"]
    record["status"] = CREDIT_APPLIED if record["unapplied"] == ZERO else CREDIT_OPEN


def _expense_report(account: Account, spec: RecordSpec, record: Record, previous: Record | None) -> None:
    record.setdefault("tranDate", account.today())
    if not record.get("tranId"):
        record["tranId"] = account.next_number(spec)
    employee = account.get(SPECS["employee"], record["entity"])
    if employee is not None:
        record.setdefault("subsidiary", employee.get("subsidiary"))
    default_subsidiary(account, record)
    lines = record.get("expense", [])
    if not lines:
        raise user_error(_NO_LINES, error_path="expense")
    total = ZERO
    for index, line in enumerate(lines):
        line["amount"] = cents(line["amount"])
        if line["amount"] <= ZERO:
            raise user_error(
                "An expense amount must be more than 0.", error_path=f"expense.items[{index}].amount"
            )
        line.setdefault("expenseDate", record["tranDate"])
        line.setdefault("isBillable", False)
        if line["isBillable"] and not line.get("customer"):
            raise required("Customer:Project", f"expense.items[{index}].customer")
        total += line["amount"]
    record["total"] = total
    approved = record.get("supervisorApproval") and record.get("accountingApproval")
    record["status"] = EXPENSES_APPROVED if approved else EXPENSES_PENDING


def _refresh_invoices(
    account: Account, spec: RecordSpec, after: Record | None, before: Record | None
) -> None:
    touched = {
        line.get("doc") for document in (after, before) if document for line in document.get("apply", [])
    }
    for invoice_id in touched:
        invoice = account.get(INVOICE, str(invoice_id))
        if invoice is not None and _set_balance(invoice, applied_to(account, invoice["id"])):
            invoice["lastModifiedDate"] = account.now()


def _refuse_if_applied(account: Account, spec: RecordSpec, record: Record) -> None:
    if applied_to(account, record["id"]) > ZERO:
        raise user_error("This record cannot be deleted because it has dependent records.")


records.RULES.update(
    {
        INVOICE.name: _invoice,
        CUSTOMER_PAYMENT.name: _payment,
        CREDIT_MEMO.name: _credit_memo,
        EXPENSE_REPORT.name: _expense_report,
    }
)
records.AFTER_WRITE.update(
    {CUSTOMER_PAYMENT.name: _refresh_invoices, CREDIT_MEMO.name: _refresh_invoices, INVOICE.name: _bill_time}
)
records.DELETE_RULES[INVOICE.name] = _refuse_if_applied
