"""Invoices posted to NetSuite and read back with their payments and credit memos, on the sandbox.

What a firm's accountant would see: one invoice per billing run however often it is sent, NetSuite's
own figures to the cent, payments and credits entered in NetSuite found by the sweep and moving what
is open, and NetSuite's refusal named.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_161488248489.html
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

import pytest

from infra.local.clock import Clock
from infra.local.sandboxes.netsuite import NetSuiteSandbox
from shared.connectors.netsuite import NetSuiteConnector, invoice_mapper
from shared.domain.billing import Invoice, InvoiceLine
from shared.domain.billing_ports import InvoiceRefused, InvoiceTarget
from shared.domain.billing_runs import hours_quantity
from shared.domain.cash import Standing
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.reconciliation_ports import InvoiceCensus


@pytest.fixture
def books(sandbox: NetSuiteSandbox) -> dict[str, str]:
    """A customer with a project (the engagement), and the service item its time is billed with."""
    customer = sandbox.enter("customer", {"companyName": "Acme Corp"})
    project = sandbox.enter("job", {"companyName": "Acme rollout", "parent": {"id": customer}})
    return {"customer": customer, "project": project, "item": sandbox.add_item("Consulting")}


def invoice_for(
    books: dict[str, str], *, number: str = "7001-202611", issued: date = date(2026, 12, 1), item: str = ""
) -> Invoice:
    """7 h 30 at 152.35 (1,142.625: 1,142.63 rounded half up) and an expense of 89.99: 1,232.62."""
    rate, time = Money.of("152.35", "USD"), Money.of("1142.63", "USD")
    lines = (
        InvoiceLine(
            description="Workshop prep, 2026-11-18 (450 min)",
            quantity=hours_quantity(450, rate, time),
            unit_price=rate,
            tax_code="NON",
            tax_rate=Decimal(0),
            service_date=date(2026, 11, 18),
            origin="productive:time:te-1",
            item=item or books["item"],
        ),
        InvoiceLine(
            description="Train to Austin",
            quantity=Decimal(1),
            unit_price=Money.of("89.99", "USD"),
            tax_code="NON",
            tax_rate=Decimal(0),
            origin="productive:expense:ex-1",
            item=item or books["item"],
        ),
    )
    return Invoice(
        source=SourceRef(system=SystemName.NETSUITE, type="billing_run", id=f"productive-{number}"),
        number=number,
        customer=SourceRef(system=SystemName.NETSUITE, type="customer", id=books["project"]),
        legal_entity="US01",
        currency="USD",
        issue_date=issued,
        due_date=issued + timedelta(days=30),
        lines=lines,
        memo="Acme rollout - period 2026-11",
        purchase_order="PO-4471",
    )


def pay(sandbox: NetSuiteSandbox, books: dict[str, str], invoice: str, amount: str) -> str:
    """The bookkeeper records the customer's payment in NetSuite, applied to the invoice."""
    return sandbox.enter(
        "customerPayment",
        {
            "customer": {"id": books["customer"]},
            "payment": Decimal(amount),
            "apply": {"items": [{"doc": {"id": invoice}, "apply": True, "amount": Decimal(amount)}]},
        },
    )


def credit(sandbox: NetSuiteSandbox, books: dict[str, str], invoice: str, amount: str) -> str:
    """The bookkeeper issues a credit memo in NetSuite and applies it to the invoice."""
    return sandbox.enter(
        "creditMemo",
        {
            "entity": {"id": books["project"]},
            "item": {"items": [{"item": {"id": books["item"]}, "amount": Decimal(amount)}]},
            "apply": {"items": [{"doc": {"id": invoice}, "amount": Decimal(amount)}]},
        },
    )


def test_the_connector_is_an_invoice_target_and_census(connector: NetSuiteConnector) -> None:
    assert isinstance(connector, InvoiceTarget)
    assert isinstance(connector, InvoiceCensus)


def test_an_invoice_posted_twice_under_one_request_id_is_one_invoice_with_netsuites_figures(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: dict[str, str]
) -> None:
    # given a billing run's invoice posted once
    invoice = invoice_for(books)
    first = connector.post_invoice("bill-productive-7001-202611-1", invoice)
    writes = sandbox.writes
    # when the post step runs again under the same request id (a lost answer, a redelivery)
    second = connector.post_invoice("bill-productive-7001-202611-1", invoice)
    # then NetSuite holds one invoice, on the engagement's project, and nothing was written again
    assert second.id == first.id
    assert sandbox.writes == writes
    assert len(sandbox.records("invoice")) == 1
    held = sandbox.by_external_id(
        "invoice", invoice_mapper.invoice_external_id("bill-productive-7001-202611-1")
    )
    assert held is not None and held["id"] == first.id
    assert held["entity"] == books["project"]
    assert held["otherRefNum"] == "PO-4471"
    assert "productive-7001-202611" in held["memo"]
    assert [line["amount"] for line in held["item"]] == [Decimal("1142.63"), Decimal("89.99")]
    # and the standing is NetSuite's own total, open in full, to the cent
    assert first.total == invoice.total == Money.of("1232.62", "USD")
    assert first.balance == Money.of("1232.62", "USD")
    assert first.standing is Standing.OPEN
    assert (first.number, first.customer, first.issued_on, first.due_on) == (
        "7001-202611",
        books["project"],
        date(2026, 12, 1),
        date(2026, 12, 31),
    )
    assert second.model_dump(exclude={"read_at"}) == first.model_dump(exclude={"read_at"})


def test_an_upsert_whose_answer_was_lost_and_is_sent_again_keeps_one_set_of_lines(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: dict[str, str]
) -> None:
    # given NetSuite writes the invoice but the gateway loses its answer (503 after the write)
    sandbox.fail_next(1, 503, path="/invoice/eid:", after=True)
    # when the connector sends the upsert again and reads the invoice back
    standing = connector.post_invoice("bill-1", invoice_for(books))
    # then NetSuite holds one invoice with its two lines, not four, and its total to the cent
    (held,) = sandbox.records("invoice")
    assert len(held["item"]) == 2
    assert standing.id == held["id"]
    assert standing.total == Money.of("1232.62", "USD")


def test_a_netsuite_total_that_differs_from_the_hubs_is_reported_with_both_figures(
    connector: NetSuiteConnector,
    sandbox: NetSuiteSandbox,
    books: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a posted invoice whose first line a bookkeeper then changed in NetSuite to 1,000.00
    posted = connector.post_invoice("bill-1", invoice_for(books))
    sandbox.edit("invoice", posted.id, {"item": {"items": [{"line": 1, "amount": Decimal("1000.00")}]}})
    # when the post step runs again
    with caplog.at_level(logging.WARNING, logger="shared.connectors.netsuite.invoicing"):
        again = connector.post_invoice("bill-1", invoice_for(books))
    # then the standing is NetSuite's own figure, and the difference is said with both totals
    assert again.total == Money.of("1089.99", "USD")
    assert "1089.99 USD" in caplog.text and "1232.62 USD" in caplog.text


def test_a_new_attempt_of_the_run_finds_the_invoice_of_its_number_instead_of_a_second(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: dict[str, str]
) -> None:
    # given the first attempt's invoice posted, the workflow failing before it recorded it
    first = connector.post_invoice("bill-productive-7001-202611-1", invoice_for(books))
    # when `close2cash billing retry` posts the same invoice under the second attempt's request id
    again = connector.post_invoice("bill-productive-7001-202611-2", invoice_for(books))
    # then it is the same invoice
    assert again.id == first.id
    assert len(sandbox.records("invoice")) == 1


def test_a_number_held_by_another_customers_invoice_is_refused_not_reused(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: dict[str, str]
) -> None:
    # given an invoice 7001-202611 of another customer
    other = sandbox.enter("customer", {"companyName": "Beta LLC"})
    connector.post_invoice("bill-beta-1", invoice_for({**books, "project": other}))
    # when the engagement's invoice of that number is posted
    with pytest.raises(InvoiceRefused) as refused:
        connector.post_invoice("bill-productive-7001-202611-1", invoice_for(books))
    # then it is refused by name, and NetSuite still holds one invoice
    assert "already used" in refused.value.reason
    assert len(sandbox.records("invoice")) == 1


def test_a_payment_entered_in_netsuite_names_its_invoice_and_moves_what_is_open(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: dict[str, str]
) -> None:
    # given a posted invoice of 1,232.62
    posted = connector.post_invoice("bill-1", invoice_for(books))
    # when the customer pays 500.10 of it and the bookkeeper applies the payment in NetSuite
    payment_id = pay(sandbox, books, posted.id, "500.10")
    # then the payment read back names the invoice it pays, and how much
    payment = connector.payment(payment_id)
    assert payment is not None
    assert payment.invoices == [posted.id]
    assert payment.total == Money.of("500.10", "USD")
    assert payment.unapplied == Money.of("0.00", "USD")
    assert [line.amount for line in payment.lines] == [Money.of("500.10", "USD")]
    # and the invoice's standing has 732.52 open, 500.10 paid by that payment
    standing = connector.invoice_standing(posted.id)
    assert standing is not None
    assert standing.balance == Money.of("732.52", "USD")
    assert standing.paid == Money.of("500.10", "USD")
    assert standing.standing is Standing.PARTIAL
    assert [(a.id, a.amount, a.credit) for a in standing.applied] == [
        (payment_id, Money.of("500.10", "USD"), False)
    ]
    assert standing.last_payment == payment.received_on


def test_a_credit_memo_applied_in_netsuite_is_credited_not_paid(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: dict[str, str]
) -> None:
    # given a posted invoice, paid 1,000 of it
    posted = connector.post_invoice("bill-1", invoice_for(books))
    pay(sandbox, books, posted.id, "1000")
    # when the bookkeeper credits the remaining 232.62 with a credit memo applied to the invoice
    credit_id = credit(sandbox, books, posted.id, "232.62")
    # then the credit memo names the invoice it credits, used up in full
    issued = connector.credit_memo(credit_id)
    assert issued is not None
    assert issued.credits_invoice == posted.id
    assert (issued.total, issued.remaining) == (Money.of("232.62", "USD"), Money.of("0", "USD"))
    assert issued.customer == books["project"]
    # and the invoice is settled: 1,000 paid, 232.62 credited, nothing open
    standing = connector.invoice_standing(posted.id)
    assert standing is not None
    assert standing.standing is Standing.PAID
    assert (standing.paid, standing.credited) == (Money.of("1000", "USD"), Money.of("232.62", "USD"))


def test_what_netsuite_does_not_hold_reads_as_none(connector: NetSuiteConnector) -> None:
    assert connector.invoice_standing("424242") is None
    assert connector.payment("424242") is None
    assert connector.credit_memo("424242") is None


def test_changed_billing_finds_what_changed_since_an_instant(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: dict[str, str], clock: Clock
) -> None:
    # given an invoice posted and a second one posted before the instant of the last sweep
    paid = connector.post_invoice("bill-1", invoice_for(books))
    untouched = connector.post_invoice("bill-2", invoice_for(books, number="7001-202610"))
    clock.advance(60)
    since = clock.now()
    clock.advance(60)
    # when a payment and a credit memo are entered for the first after it
    payment_id = pay(sandbox, books, paid.id, "100")
    credit_id = credit(sandbox, books, paid.id, "32.62")
    # then the sweep names the payment, the credit memo and the invoice they moved, and not the other
    changes = connector.changed_billing(since)
    assert {(change.entity, change.id) for change in changes} == {
        ("invoice", paid.id),
        ("payment", payment_id),
        ("credit_memo", credit_id),
    }
    assert untouched.id not in {change.id for change in changes}
    assert all(change.changed_at is not None and change.changed_at >= since for change in changes)
    # and nothing changed since now
    clock.advance(60)
    assert connector.changed_billing(clock.now()) == []


def test_the_census_reads_every_invoice_dated_since_with_netsuites_figures(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: dict[str, str]
) -> None:
    # given November's invoice (paid 500, credited 32.62) and October's, issued a month earlier
    november = connector.post_invoice("bill-11", invoice_for(books))
    october = connector.post_invoice(
        "bill-10", invoice_for(books, number="7001-202610", issued=date(2026, 11, 2))
    )
    pay(sandbox, books, november.id, "500")
    credit(sandbox, books, november.id, "32.62")
    # when reconciliation takes the census of invoices since 2026-11-15
    held = list(connector.census_invoices(date(2026, 11, 15)))
    # then it holds November's only, with NetSuite's figures to the cent
    assert [h.ref.id for h in held] == [november.id]
    (row,) = held
    assert row.system is SystemName.NETSUITE
    assert (row.number, row.engagement, row.issued_on) == ("7001-202611", books["project"], date(2026, 12, 1))
    assert row.total == Money.of("1232.62", "USD")
    assert (row.paid, row.credited, row.open) == (
        Money.of("500", "USD"),
        Money.of("32.62", "USD"),
        Money.of("700.00", "USD"),
    )
    # and the same figures as the invoice's own standing
    standing = connector.invoice_standing(november.id)
    assert standing is not None
    assert (standing.paid, standing.credited, standing.balance) == (row.paid, row.credited, row.open)
    # and a census from the start of October holds both
    assert {h.ref.id for h in connector.census_invoices(date(2026, 10, 1))} == {november.id, october.id}


def test_a_refused_invoice_names_netsuites_error_and_nothing_is_held(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: dict[str, str]
) -> None:
    # given an invoice whose lines name an item NetSuite does not have
    invoice = invoice_for(books, item="9999")
    # when it is posted
    with pytest.raises(InvoiceRefused) as refused:
        connector.post_invoice("bill-1", invoice)
    # then the refusal carries NetSuite's error code and where it was found
    assert refused.value.code == "INVALID_CONTENT"
    assert "item.items[0].item" in refused.value.reason
    assert sandbox.records("invoice") == []


def test_a_line_without_an_item_is_refused_before_netsuite_is_written(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, books: dict[str, str]
) -> None:
    invoice = invoice_for(books)
    bare = invoice.model_copy(update={"lines": (invoice.lines[0].model_copy(update={"item": None}),)})
    writes = sandbox.writes
    with pytest.raises(InvoiceRefused) as refused:
        connector.post_invoice("bill-1", bare)
    assert "names no NetSuite item" in refused.value.reason
    assert sandbox.writes == writes
