"""The invoice mapper alone: bodies with exact money, and NetSuite's answers as a live account gives them
(a payment's `apply` sublist lists every open invoice of the customer, only some applied; voided
transactions; SuiteQL amounts as text).

https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_161488248489.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157305090645.html
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.connectors.netsuite import invoice_mapper
from shared.connectors.netsuite.billing_queries import billing_changed_since, invoices_since
from shared.connectors.netsuite.client import write_json
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.netsuite.schemas import LinkRow, TransactionRow
from shared.domain.billing import Invoice, InvoiceLine
from shared.domain.billing_ports import InvoiceRefused
from shared.domain.cash import Standing
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money

READ_AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(connection: dict[str, Any]) -> NetSuiteConnection:
    return NetSuiteConnection.parse(connection)


def invoice(*, currency: str = "USD", item: str | None = "10") -> Invoice:
    price = Money.of("0.10", currency)
    return Invoice(
        source=SourceRef(system=SystemName.NETSUITE, type="billing_run", id="productive-7001-202611"),
        number="7001-202611",
        customer=SourceRef(system=SystemName.NETSUITE, type="customer", id="1042"),
        legal_entity="US01",
        currency=currency,
        issue_date=date(2026, 12, 1),
        due_date=date(2026, 12, 31),
        lines=(
            InvoiceLine(
                description="Pens",
                quantity=Decimal(3),
                unit_price=price,
                tax_code="NON",
                tax_rate=Decimal(0),
                item=item,
            ),
        ),
    )


def ref(record_id: str, name: str = "") -> dict[str, Any]:
    return {"links": [], "id": record_id, "refName": name}


def test_the_body_carries_exact_money_and_the_billing_run(settings: NetSuiteConnection) -> None:
    # given an invoice line of 3 x 0.10 (0.30000000000000004 in floating point)
    body = invoice_mapper.invoice_body(invoice(), settings)
    # when it is written as JSON
    sent = json.loads(write_json(body), parse_float=Decimal)
    # then NetSuite reads 0.30 exactly, on the engagement's entity, with the run in the memo
    (line,) = sent["item"]["items"]
    assert (line["quantity"], line["rate"], line["amount"]) == (3, Decimal("0.10"), Decimal("0.30"))
    assert sent["entity"] == {"id": "1042"}
    assert sent["currency"] == {"id": "1"}
    assert (sent["tranDate"], sent["dueDate"], sent["tranId"]) == ("2026-12-01", "2026-12-31", "7001-202611")
    assert "productive-7001-202611" in sent["memo"]


def test_an_invoice_in_an_undeclared_currency_or_without_an_item_is_refused_by_name(
    settings: NetSuiteConnection,
) -> None:
    with pytest.raises(InvoiceRefused) as currency:
        invoice_mapper.invoice_body(invoice(currency="EUR"), settings)
    assert "EUR" in currency.value.reason and "currencies" in currency.value.reason
    with pytest.raises(InvoiceRefused) as item:
        invoice_mapper.invoice_body(invoice(item=None), settings)
    assert "names no NetSuite item" in item.value.reason


def test_a_payment_names_only_the_invoices_its_apply_lines_apply(settings: NetSuiteConnection) -> None:
    # given a payment as a live account answers it: every open invoice listed, two of them applied,
    # and a credit memo used through the credit sublist
    record = {
        "id": "2001",
        "customer": ref("1042", "Acme Corp"),
        "currency": ref("1", "USD"),
        "tranDate": "2026-12-02",
        "payment": Decimal("700.00"),
        "unapplied": Decimal("50.00"),
        "status": {"id": "C", "refName": "Deposited"},
        "apply": {
            "items": [
                {"doc": ref("1001"), "apply": True, "amount": Decimal("600.00")},
                {"doc": ref("1002"), "apply": False, "amount": Decimal("0")},
                {"doc": ref("1003"), "apply": True, "amount": Decimal("50.00")},
            ]
        },
        "credit": {"items": [{"doc": ref("3001"), "apply": True, "amount": Decimal("20.00")}]},
    }
    payment = invoice_mapper.received(record, settings, READ_AT.date())
    # then it pays 1001 and 1003, not the listed 1002, and uses credit memo 3001
    assert payment.invoices == ["1001", "1003"]
    assert [line.credit_memo for line in payment.lines if line.credit_memo] == ["3001"]
    assert (payment.total, payment.unapplied) == (Money.of("700", "USD"), Money.of("50", "USD"))
    assert payment.received_on == date(2026, 12, 2)
    assert not payment.voided


def test_a_voided_invoice_stands_void_with_nothing_open(settings: NetSuiteConnection) -> None:
    record = {
        "id": "1001",
        "entity": ref("1042"),
        "currency": ref("1"),
        "tranId": "7001-202611",
        "tranDate": "2026-12-01",
        "total": Decimal(0),
        "amountRemaining": Decimal(0),
        "status": {"id": "V", "refName": "Voided"},
        "lastModifiedDate": "2026-12-02T10:00:00Z",
    }
    standing = invoice_mapper.standing(record, [], {}, connection=settings, read_at=READ_AT)
    assert standing.standing is Standing.VOID
    assert standing.version == "2026-12-02T10:00:00Z"


def test_what_applies_to_an_invoice_is_summed_per_document_and_a_voided_payment_is_left_out(
    settings: NetSuiteConnection,
) -> None:
    # given an invoice of 1,000.00 with 400.00 left: a payment applied on two lines, a credit memo,
    # and a voided payment still linked
    record = {
        "id": "1001",
        "entity": ref("1042"),
        "currency": ref("2", "GBP"),
        "tranDate": "2026-12-01",
        "dueDate": "2026-12-31",
        "total": Decimal("1000.00"),
        "amountRemaining": Decimal("400.00"),
        "status": {"id": "A", "refName": "Open"},
    }
    links = [
        LinkRow(previousdoc="1001", nextdoc="2001", nexttype="CustPymt", foreignamount="250.5"),
        LinkRow(previousdoc="1001", nextdoc="2001", nexttype="CustPymt", foreignamount="249.50"),
        LinkRow(previousdoc="1001", nextdoc="3001", nexttype="CustCred", foreignamount="100"),
        LinkRow(previousdoc="1001", nextdoc="2002", nexttype="CustPymt", foreignamount="75"),
        LinkRow(previousdoc="1999", nextdoc="2003", nexttype="CustPymt", foreignamount="9"),
    ]
    dated = {
        "2001": TransactionRow(id="2001", type="CustPymt", trandate="2026-12-02", status="C"),
        "3001": TransactionRow(id="3001", type="CustCred", trandate="2026-12-03", status="B"),
        "2002": TransactionRow(id="2002", type="CustPymt", trandate="2026-12-02", status="V"),
    }
    standing = invoice_mapper.standing(record, links, dated, connection=settings, read_at=READ_AT)
    # then one payment of 500.00 and one credit of 100.00, in the invoice's currency
    assert [(a.id, a.amount, a.credit, a.on) for a in standing.applied] == [
        ("2001", Money.of("500.00", "GBP"), False, date(2026, 12, 2)),
        ("3001", Money.of("100", "GBP"), True, date(2026, 12, 3)),
    ]
    assert (standing.paid, standing.credited) == (Money.of("500", "GBP"), Money.of("100", "GBP"))


def test_a_census_row_parses_suiteqls_text_exactly(settings: NetSuiteConnection) -> None:
    # given an invoice row as SuiteQL answers it: every value text, GBP's currency record "2"
    row = TransactionRow(
        id="1001",
        tranid="7001-202611",
        entity="1042",
        trandate="2026-12-01",
        currency="2",
        foreigntotal="1234567.10",
        foreignamountpaid="1000000.05",
        foreignamountremaining="234567.05",
        status="A",
        lastmodified="2026-12-02T10:00:00",
    )
    held = invoice_mapper.held_invoice(row, Decimal("0.05"), settings)
    # then the figures are NetSuite's to the cent, the credit memo's part credited, the rest paid
    assert held.total == Money.of("1234567.10", "GBP")
    assert (held.paid, held.credited, held.open) == (
        Money.of("1000000.00", "GBP"),
        Money.of("0.05", "GBP"),
        Money.of("234567.05", "GBP"),
    )
    assert held.ref.version == "2026-12-02T10:00:00Z"


def test_the_sweep_is_inclusive_of_since_in_the_zone_suiteql_shows_datetimes_in() -> None:
    # given an integration user whose time zone preference is Chicago (UTC-6 in December)
    since = datetime(2026, 12, 3, 8, 0, 5, tzinfo=UTC)
    statement = billing_changed_since(since, ZoneInfo("America/Chicago"))
    # then the sweep compares at or after 02:00:05 Chicago time, invoices, payments and credit memos
    assert "lastmodifieddate >= TO_TIMESTAMP('2026-12-03 02:00:05', 'YYYY-MM-DD HH24:MI:SS')" in statement
    assert "type IN ('CustInvc', 'CustPymt', 'CustCred')" in statement
    assert statement.endswith("ORDER BY lastmodifieddate, id")
    assert "trandate >= TO_DATE('2026-11-01', 'YYYY-MM-DD')" in invoices_since(date(2026, 11, 1))


def _billed(description: str, origin: str | None, bills: str, price: str, quantity: str = "1") -> InvoiceLine:
    return InvoiceLine(
        description=description,
        quantity=Decimal(quantity),
        unit_price=Money.of(price, "USD"),
        tax_code="NON",
        tax_rate=Decimal(0),
        origin=origin,
        item="10",
        bills=bills,
    )


def test_lines_that_bill_time_or_an_expense_go_in_the_billable_sublists(settings: NetSuiteConnection) -> None:
    # given an invoice with an item line, 7.5 h at 152.35 that bill time bill 501, and a train fare
    # that bills expense report 777
    lines = (
        *invoice().lines,
        _billed("Workshop prep (450 min)", "productive:time:te-1", "501", "152.35", "7.5"),
        _billed("Train to Austin", "productive:expense:ex-1", "777", "89.99"),
    )
    body = invoice_mapper.invoice_body(invoice().model_copy(update={"lines": lines}), settings)
    sent = json.loads(write_json(body), parse_float=Decimal)
    # then the time is applied in Billable Time with the hub's figures, the expense in Billable
    # Expenses, and only the pens are an item line
    assert [line["description"] for line in sent["item"]["items"]] == ["Pens"]
    (time,) = sent["time"]["items"]
    assert time == {
        "apply": True,
        "doc": {"id": "501"},
        "quantity": Decimal("7.5"),
        "rate": Decimal("152.35"),
        "amount": Decimal("1142.63"),
        "memo": "Workshop prep (450 min)",
    }
    (expense,) = sent["expCost"]["items"]
    assert expense == {
        "apply": True,
        "doc": {"id": "777"},
        "amount": Decimal("89.99"),
        "memo": "Train to Austin",
    }
    # and a resend replaces all three sublists whole; an invoice without billed work only its items
    assert invoice_mapper.sublists_of(body) == ("item", "time", "expCost")
    assert invoice_mapper.sublists_of(invoice_mapper.invoice_body(invoice(), settings)) == ("item",)


def test_a_line_billing_a_record_of_no_known_kind_is_refused_before_any_write(
    settings: NetSuiteConnection,
) -> None:
    # given a line that bills record 501 but whose origin is no work key
    lines = (_billed("Workshop", "milestone:kickoff", "501", "100"),)
    # when its body is made, then it is refused: a time bill cannot be told from an expense report
    with pytest.raises(InvoiceRefused, match="501"):
        invoice_mapper.invoice_body(invoice().model_copy(update={"lines": lines}), settings)
