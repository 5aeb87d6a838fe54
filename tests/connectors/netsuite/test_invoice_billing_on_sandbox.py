"""Invoices that bill posted time, on the sandbox: the time bill reads back billed, it is billed once.

What a firm's accountant would see: after the hub invoices an engagement's hours, NetSuite shows the
time bill Billed (so no NetSuite user is offered that hour again), a second invoice that tries to bill
it is refused, and the invoice's total is the hub's.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_161488248489.html
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from shared.connectors.netsuite import NetSuiteConnector
from shared.domain.billing import Invoice
from shared.domain.billing_ports import InvoiceRefused
from shared.domain.money import Money
from shared.domain.postings import WorkKind
from tests.connectors.netsuite.test_invoicing_on_sandbox import invoice_for


@pytest.fixture
def engagement(sandbox: NetSuiteSandbox) -> dict[str, str]:
    """A project of Acme's, and 7 h 30 at 152.35 posted on it as a time bill (the hub's posting)."""
    customer = sandbox.enter("customer", {"companyName": "Acme Corp"})
    project = sandbox.enter("job", {"companyName": "Acme rollout", "parent": {"id": customer}})
    item = sandbox.add_item("Consulting")
    employee = sandbox.add_employee("Emily", "Platt")
    time_bill = sandbox.enter(
        "timeBill",
        {
            "employee": {"id": employee},
            "customer": {"id": project},
            "item": {"id": item},
            "hours": "7:30",
            "rate": Decimal("152.35"),
            "tranDate": "2026-11-18",
        },
    )
    return {"project": project, "item": item, "time_bill": time_bill}


def billing(engagement: dict[str, str], number: str) -> Invoice:
    """The run's invoice (test_invoicing_on_sandbox's): its 7 h 30 line bills the posted time bill,
    its expense (89.99) bills nothing NetSuite holds, so it stays an item line: 1,232.62."""
    invoice = invoice_for(engagement, number=number)
    time, *rest = invoice.lines
    return invoice.model_copy(
        update={"lines": (time.model_copy(update={"bills": engagement["time_bill"]}), *rest)}
    )


def test_invoiced_time_reads_back_billed_and_the_total_is_the_hubs(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, engagement: dict[str, str]
) -> None:
    # given the hub's posted time, unbilled
    time_bill = engagement["time_bill"]
    assert connector.posted_records(WorkKind.TIME, [time_bill])[time_bill].billed is False
    # when the billing run posts the invoice that bills it
    invoice = billing(engagement, "7001-202611")
    standing = connector.post_invoice("bill-productive-7001-202611-1", invoice)
    # then NetSuite's total is the hub's, the time sits on the invoice's Billable Time, not its items
    assert standing.total == invoice.total == Money.of("1232.62", "USD")
    (stored,) = sandbox.records("invoice")
    assert [line["doc"] for line in stored["time"]] == [time_bill]
    assert [line["amount"] for line in stored["item"]] == [Decimal("89.99")]
    # and the time bill reads back billed, as the postings flow asks it
    assert connector.posted_records(WorkKind.TIME, [time_bill])[time_bill].billed is True
    assert connector.held_postings(WorkKind.TIME, [time_bill])[time_bill].record.billed is True


def test_a_second_invoice_billing_the_same_time_is_refused_by_netsuite(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, engagement: dict[str, str]
) -> None:
    # given the time billed on a first invoice
    connector.post_invoice("bill-productive-7001-202611-1", billing(engagement, "7001-202611"))
    # when another invoice (another run, another number) tries to bill it again
    with pytest.raises(InvoiceRefused) as refused:
        connector.post_invoice("bill-productive-7001-202612-1", billing(engagement, "7001-202612"))
    # then NetSuite refuses it, naming the time line, and holds one invoice
    assert refused.value.code == "USER_ERROR"
    assert "time.items[0].doc" in str(refused.value)
    assert len(sandbox.records("invoice")) == 1


def test_a_lost_answer_sent_again_keeps_one_invoice_billing_the_time_once(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, engagement: dict[str, str]
) -> None:
    # given NetSuite writes the invoice but its answer is lost once
    sandbox.fail_next(1, 503, path="/record/v1/invoice/eid:", after=True)
    invoice = billing(engagement, "7001-202611")
    # when the connector sends it again (its retry)
    standing = connector.post_invoice("bill-productive-7001-202611-1", invoice)
    # then one invoice holds one time line and one item line, the hub's total, and the time is billed
    (stored,) = sandbox.records("invoice")
    assert (len(stored["time"]), len(stored["item"])) == (1, 1)
    assert standing.total == invoice.total
    assert sandbox.record("timeBill", engagement["time_bill"])["status"] == "Billed"
    # and the invoice can be posted once more under its request id without a refusal (read back)
    assert connector.post_invoice("bill-productive-7001-202611-1", invoice).id == standing.id
    assert sandbox.record("invoice", standing.id)["total"] == Decimal("1232.62")
