"""Billing and cash feedback state what the ledger holds: invoices posted and as they stand, payments,
credit memos, and what was voided or deleted since."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.billing import InvoiceStatus
from shared.domain.errors import TransientError
from shared.domain.events import CreditMemoIssued, InvoicePosted, PaymentReceived, RecordWithdrawn
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import Operation
from tests.engagement_fakes import FakeEvents
from tests.sync.test_billing import World


class BusWorld(World):
    """The billing test world, with the bus billing and cash feedback state their facts on."""

    def __init__(self) -> None:
        super().__init__(bus=FakeEvents())

    def of(self, cls: type) -> list[Any]:
        return [e for e in self.bus.events if isinstance(e, cls)]


def _billed(world: BusWorld, minutes: int = 120) -> str:
    world.work(minutes)
    world.bill()
    [run] = world.store.runs()
    assert run.invoice_id is not None
    return run.invoice_id


def test_a_posted_invoice_is_stated_as_the_ledger_holds_it() -> None:
    # given two hours at 180.00 billed in November
    world = BusWorld()
    invoice_id = _billed(world)
    # then the bus carries the invoice under its ledger id, open for its whole total
    [posted] = world.of(InvoicePosted)
    assert (posted.source.system, posted.source.type, posted.subject) == (
        SystemName.QUICKBOOKS,
        "invoice",
        invoice_id,
    )
    assert (posted.data.status, posted.data.balance.amount, posted.data.total.amount) == (
        InvoiceStatus.OPEN,
        Decimal("360.00"),
        Decimal("360.00"),
    )
    assert posted.correlation_id == world.store.runs()[0].id
    # and an invoice notice that changes nothing states nothing new
    world.cash.on_notice(world.notice(EntityType.INVOICE, invoice_id))
    assert len(world.of(InvoicePosted)) == 1


def test_a_payment_is_stated_received_and_the_invoice_again_with_its_new_balance() -> None:
    world = BusWorld()
    invoice_id = _billed(world)
    # when a partial payment arrives, its notice twice
    payment = world.invoicing.receive(invoice_id, "100.00", date(2026, 11, 20))
    world.cash.on_notice(world.notice(EntityType.PAYMENT, payment))
    world.cash.on_notice(world.notice(EntityType.PAYMENT, payment))
    # then one payment of 100.00 applied to the invoice, and the invoice open for 260.00
    received = world.of(PaymentReceived)
    assert {e.id for e in received} == {received[0].id}
    assert received[0].data.amount.amount == Decimal("100.00")
    assert [a.invoice.id for a in received[0].data.allocations] == [invoice_id]
    standings = world.of(InvoicePosted)
    assert len({e.id for e in standings}) == 2
    assert (standings[-1].data.balance.amount, standings[-1].data.status) == (
        Decimal("260.00"),
        InvoiceStatus.OPEN,
    )


def test_a_voided_invoice_is_stated_void_with_nothing_owed() -> None:
    world = BusWorld()
    invoice_id = _billed(world)
    world.clock.advance(minutes=5)
    world.invoicing.void(invoice_id)
    world.cash.on_notice(world.notice(EntityType.INVOICE, invoice_id, Operation.VOIDED))
    latest = world.of(InvoicePosted)[-1]
    assert (latest.data.status, latest.data.balance.amount) == (InvoiceStatus.VOID, Decimal("0"))
    assert latest.occurred_at > world.of(InvoicePosted)[0].occurred_at


def test_a_credit_memo_applied_to_the_invoice_is_stated_issued_for_its_total() -> None:
    world = BusWorld()
    invoice_id = _billed(world)
    # when a credit memo for a disputed hour is applied (found by the change-data sweep)
    world.invoicing.credit(invoice_id, "180.00", date(2026, 11, 26))
    world.cash.sweep(SystemName.QUICKBOOKS)
    # then the credit memo is stated against the invoice, and no cash was received
    [credit] = world.of(CreditMemoIssued)
    assert (credit.data.total.amount, credit.data.credits_invoice.id) == (Decimal("180.00"), invoice_id)
    assert credit.data.engagement is not None and world.of(PaymentReceived) == []


def test_a_voided_payment_is_stated_withdrawn() -> None:
    world = BusWorld()
    invoice_id = _billed(world)
    payment = world.invoicing.receive(invoice_id, "360.00", date(2026, 11, 20))
    world.cash.on_notice(world.notice(EntityType.PAYMENT, payment))
    assert world.of(InvoicePosted)[-1].data.status is InvoiceStatus.PAID
    # when the bookkeeper voids the payment
    world.invoicing.void_payment(payment)
    world.cash.on_notice(world.notice(EntityType.PAYMENT, payment))
    # then the payment is withdrawn and the invoice is open again
    [withdrawn] = world.of(RecordWithdrawn)
    assert (withdrawn.data.record.id, withdrawn.data.withdraws) == (payment, "close2cash.payment.received")
    assert world.of(InvoicePosted)[-1].data.status is InvoiceStatus.OPEN


def test_a_change_is_one_publish_call_and_a_bus_that_fails_stores_nothing() -> None:
    world = BusWorld()
    invoice_id = _billed(world)
    payment = world.invoicing.receive(invoice_id, "100.00", date(2026, 11, 20))
    before = world.store.invoice(SystemName.QUICKBOOKS, invoice_id)

    class DownBus:
        def publish_events(self, events: list[Any]) -> None:
            raise TransientError("EventBridge did not take 2 event(s)")

    world.bus = DownBus()
    with pytest.raises(TransientError):
        world.cash.on_notice(world.notice(EntityType.PAYMENT, payment))
    # then the standing was not stored: the retried notice finds it changed and states it
    assert world.store.invoice(SystemName.QUICKBOOKS, invoice_id) == before
    world.bus = FakeEvents()
    world.cash.on_notice(world.notice(EntityType.PAYMENT, payment))
    assert [[e.type for e in call] for call in world.bus.calls] == [
        ["close2cash.payment.received", "close2cash.invoice.posted"]
    ]
