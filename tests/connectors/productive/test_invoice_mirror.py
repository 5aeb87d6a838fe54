"""Mirroring the ledger's invoices into Productive: lines, invoiced time, payments, credits and voids."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector
from shared.domain.billing import Invoice, InvoiceLine
from shared.domain.cash import Applied, InvoiceStanding
from shared.domain.errors import ValidationFailed
from shared.domain.models import SystemName
from shared.domain.money import Money

from .billing_helpers import Engagement, approved_time, invoice_of, line_for


def _standing(invoice: Invoice, *applied: Applied, voided: bool = False) -> InvoiceStanding:
    settled = sum((a.amount.amount for a in applied), Decimal(0))
    return InvoiceStanding(
        system=SystemName.QUICKBOOKS,
        id=invoice.source.id,
        number=invoice.number,
        customer="58",
        total=invoice.total,
        balance=Money.of(invoice.total.amount - settled, "EUR"),
        issued_on=invoice.issue_date,
        due_on=invoice.due_date,
        voided=voided,
        applied=applied,
        read_at=datetime(2025, 4, 1, tzinfo=UTC),
    )


def _paid(payment_id: str, amount: str, on: date = date(2025, 4, 10), *, credit: bool = False) -> Applied:
    return Applied(id=payment_id, amount=Money.of(amount, "EUR"), on=on, credit=credit)


@pytest.fixture
def billed(sandbox: ProductiveSandbox, engagement: Engagement) -> tuple[Invoice, list[str]]:
    entries = [
        approved_time(sandbox, engagement, "2025-03-10", 600),
        approved_time(sandbox, engagement, "2025-03-20", 150),
    ]
    # 10 h and 2.5 h at 180.00: 1,800.00 + 450.00 net, 19 % tax: 2,677.50 in all
    lines = (line_for(entries[0], "10"), line_for(entries[1], "2.5", "Consultant, late March"))
    return invoice_of(*lines), entries


def _the_invoice(sandbox: ProductiveSandbox, invoice_id: str) -> dict[str, object]:
    return next(i["attributes"] for i in sandbox.invoices() if i["id"] == invoice_id)


def test_mirror_creates_the_invoice_with_its_lines_and_finalizes_it(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, engagement: Engagement, billed
):
    # Given a T&M invoice the ledger issued for two approved time entries
    invoice, _ = billed
    # When it is mirrored into the engagement's project
    invoice_id = connector.mirror_invoice(engagement.project, invoice, _standing(invoice))
    # Then Productive holds one finalized invoice with the ledger's number, dates and figures
    attributes = _the_invoice(sandbox, invoice_id)
    assert attributes["number"] == "1042"
    assert attributes["invoiced_on"] == "2025-03-31" and attributes["pay_on"] == "2025-04-30"
    assert attributes["invoice_state"] == 2
    assert (attributes["amount"], attributes["amount_tax"], attributes["amount_with_tax"]) == (
        225000,
        42750,
        267750,
    )
    assert attributes["payment_status"] == 2 and attributes["amount_unpaid"] == 267750
    # And its lines are the ledger's, and it is attributed to the project's budget
    lines = sandbox.line_items(invoice_id)
    assert [(li["attributes"]["description"], li["attributes"]["quantity"]) for li in lines] == [
        ("Consultant, March", "10"),
        ("Consultant, late March", "2.5"),
    ]
    assert [li["attributes"]["unit_price"] for li in lines] == [18000, 18000]
    (attribution,) = sandbox.attributions(invoice_id)
    assert attribution["relationships"]["budget"]["data"]["id"] == engagement.budget
    assert (attribution["attributes"]["date_from"], attribution["attributes"]["date_to"]) == (
        "2025-03-10",
        "2025-03-20",
    )


def test_the_billed_time_entries_read_invoiced(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, engagement: Engagement, billed
):
    # Given an invoice billing two entries, and an approved entry of April it does not bill
    invoice, entries = billed
    later = approved_time(sandbox, engagement, "2025-04-02", 60)
    # When it is mirrored
    invoice_id = connector.mirror_invoice(engagement.project, invoice, _standing(invoice))
    # Then the billed entries read invoiced on that invoice, the April one does not
    state = {e["id"]: e for e in sandbox.time_entries()}
    for entry in entries:
        assert state[entry]["attributes"]["invoiced"] is True
        assert state[entry]["attributes"]["invoicing_status"] == 3
        assert state[entry]["relationships"]["invoice"]["data"]["id"] == invoice_id
    assert state[later]["attributes"]["invoiced"] is False
    # And the API's own filter finds them by invoice
    found = list(connector.client.time_entries(project_id=engagement.project))
    assert sorted(e.id for e in found if e.attributes.invoiced) == sorted(entries)


def test_mirroring_the_same_standing_again_changes_nothing(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, engagement: Engagement, billed
):
    # Given an invoice mirrored once with a payment
    invoice, _ = billed
    standing = _standing(invoice, _paid("pay-1", "1000.00"))
    first = connector.mirror_invoice(engagement.project, invoice, standing)
    before = (sandbox.invoices(), sandbox.payments(first), sandbox.line_items(first), sandbox.time_entries())
    # When the same standing is mirrored again
    second = connector.mirror_invoice(engagement.project, invoice, standing)
    # Then it is the same invoice and nothing in Productive changed
    assert second == first
    assert (
        sandbox.invoices(),
        sandbox.payments(first),
        sandbox.line_items(first),
        sandbox.time_entries(),
    ) == before


def test_a_partial_then_a_full_payment_move_the_payment_status(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, engagement: Engagement, billed
):
    # Given a mirrored invoice of 2,677.50
    invoice, _ = billed
    # When the ledger applies 1,000.00, then the remaining 1,677.50
    first = _paid("pay-1", "1000.00")
    invoice_id = connector.mirror_invoice(engagement.project, invoice, _standing(invoice, first))
    partial = _the_invoice(sandbox, invoice_id)
    connector.mirror_invoice(
        engagement.project, invoice, _standing(invoice, first, _paid("pay-2", "1677.50"))
    )
    paid = _the_invoice(sandbox, invoice_id)
    # Then the invoice reads partially paid, then paid, with one payment per ledger payment
    assert (partial["payment_status"], partial["amount_paid"], partial["amount_unpaid"]) == (
        3,
        100000,
        167750,
    )
    assert (paid["payment_status"], paid["amount_paid"], paid["amount_unpaid"]) == (1, 267750, 0)
    payments = sandbox.payments(invoice_id)
    assert sorted((p["attributes"]["external_id"], p["attributes"]["amount"]) for p in payments) == [
        ("pay-1", 100000),
        ("pay-2", 167750),
    ]
    assert {p["attributes"]["paid_on"] for p in payments} == {"2025-04-10"}


def test_a_payment_the_ledger_voided_is_removed(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, engagement: Engagement, billed
):
    # Given a mirrored invoice with two payments, and one a person recorded in Productive by hand
    invoice, _ = billed
    keep, bounced = _paid("pay-1", "1000.00"), _paid("pay-2", "500.00")
    invoice_id = connector.mirror_invoice(engagement.project, invoice, _standing(invoice, keep, bounced))
    connector.billing.api.create_payment({"amount": 100, "paid_on": "2025-04-11"}, invoice_id)
    # When the ledger voids the second payment
    connector.mirror_invoice(engagement.project, invoice, _standing(invoice, keep))
    # Then only the ledger's remaining payment and the hand-recorded one are left
    payments = sandbox.payments(invoice_id)
    assert sorted(str(p["attributes"]["external_id"]) for p in payments) == ["None", "pay-1"]
    assert _the_invoice(sandbox, invoice_id)["amount_paid"] == 100100


def test_a_credit_memo_becomes_a_credit_note_on_the_invoice(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, engagement: Engagement, billed
):
    # Given a mirrored invoice of 2,677.50
    invoice, _ = billed
    # When the ledger applies a credit memo of 677.50 and a payment of 2,000.00
    standing = _standing(invoice, _paid("cm-7", "677.50", credit=True), _paid("pay-1", "2000.00"))
    invoice_id = connector.mirror_invoice(engagement.project, invoice, standing)
    connector.mirror_invoice(engagement.project, invoice, standing)
    # Then one finalized credit note names the invoice, which reads credited and paid
    notes = [i for i in sandbox.invoices() if i["attributes"]["invoice_type_id"] == 2]
    assert [n["attributes"]["number"] for n in notes] == ["1042/CR-cm-7"]
    assert notes[0]["relationships"]["parent_invoice"]["data"]["id"] == invoice_id
    assert notes[0]["attributes"]["invoice_state"] == 2
    attributes = _the_invoice(sandbox, invoice_id)
    assert (attributes["amount_credited"], attributes["amount_paid"]) == (67750, 200000)
    assert (attributes["amount_unpaid"], attributes["payment_status"]) == (0, 1)
    # And no payment was recorded for the credit
    assert [p["attributes"]["external_id"] for p in sandbox.payments(invoice_id)] == ["pay-1"]


def test_a_voided_invoice_is_credited_in_full(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, engagement: Engagement, billed
):
    # Given a mirrored invoice nobody paid
    invoice, _ = billed
    invoice_id = connector.mirror_invoice(engagement.project, invoice, _standing(invoice))
    # When the ledger voids it (and the hub mirrors that twice)
    connector.mirror_invoice(engagement.project, invoice, _standing(invoice, voided=True))
    connector.mirror_invoice(engagement.project, invoice, _standing(invoice, voided=True))
    # Then one credit note for its whole amount leaves nothing open on it
    notes = [i for i in sandbox.invoices() if i["attributes"]["invoice_type_id"] == 2]
    assert [(n["attributes"]["number"], n["attributes"]["amount_with_tax"]) for n in notes] == [
        ("1042/VOID", -267750)
    ]
    attributes = _the_invoice(sandbox, invoice_id)
    assert (attributes["amount_unpaid"], attributes["amount_credited"]) == (0, 267750)


def test_a_line_whose_tax_rate_productive_lacks_is_refused_before_anything_is_written(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, engagement: Engagement, billed
):
    # Given an invoice whose line is taxed at a rate the organization has not set up
    _, entries = billed
    line = line_for(entries[0], "10").model_copy(update={"tax_code": "R", "tax_rate": Decimal(7)})
    invoice = invoice_of(line, number="1043")
    # When it is mirrored, Then the connector says which tax rate is missing
    with pytest.raises(ValidationFailed, match="'R' at 7%"):
        connector.mirror_invoice(engagement.project, invoice, _standing(invoice))
    # And the draft holds no lines and was not finalized
    (draft,) = [i for i in sandbox.invoices() if i["attributes"]["number"] == "1043"]
    assert draft["attributes"]["invoice_state"] == 1 and not sandbox.line_items(draft["id"])


def test_a_billed_expense_reads_invoiced(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, engagement: Engagement, billed
):
    # Given an invoice that bills time and an approved expense
    invoice, _ = billed
    expense = sandbox.add_expense(engagement.person, engagement.service, "2025-03-12", 12000, "EUR")
    sandbox.approve_expense(expense)
    line = InvoiceLine(
        description="Train to Berlin",
        quantity=Decimal(1),
        unit_price=Money.of("120.00", "EUR"),
        tax_code="S",
        tax_rate=19,
        origin=f"productive:expense:{expense}",
    )
    with_expense = invoice.model_copy(update={"lines": (*invoice.lines, line)})
    # When it is mirrored
    invoice_id = connector.mirror_invoice(engagement.project, with_expense, _standing(with_expense))
    # Then the expense reads invoiced on that invoice, and its line names it
    (state,) = [e for e in sandbox.expenses() if e["id"] == expense]
    assert state["attributes"]["invoiced"] is True and state["attributes"]["invoicing_status"] == 3
    assert state["relationships"]["invoice"]["data"]["id"] == invoice_id
    assert [li["relationships"]["expense"]["data"] for li in sandbox.line_items(invoice_id)][-1][
        "id"
    ] == expense
