"""Billing runs, posted invoices, parked payments and report leases on the ledger table (moto)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.aws.billing import DynamoBilling
from shared.domain.billing import Invoice, InvoiceLine
from shared.domain.billing_ports import InvoiceRecord
from shared.domain.billing_runs import BillingPeriod, BillingRun, RunState
from shared.domain.cash import InvoiceStanding, ParkedPayment
from shared.domain.errors import ConflictError
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
ENGAGEMENT = SourceRef(system=SystemName.PRODUCTIVE, type="projects", id="7001")
ACCOUNT = SourceRef(system=SystemName.SALESFORCE, type="account", id="001A")


def run(period: str = "2026-11", **changes: Any) -> BillingRun:
    fields: dict[str, Any] = {
        "id": f"productive-7001-{period.replace('-', '')}",
        "engagement": ENGAGEMENT,
        "period": BillingPeriod(month=period),
        "state": RunState.COMPOSED,
        "created_at": NOW,
    }
    return BillingRun(**{**fields, **changes})


def record(invoice_id: str, *, version: str, balance: str = "100.00") -> InvoiceRecord:
    usd = Money.of(Decimal("100.00"), "USD")
    invoice = Invoice(
        source=SourceRef(system=SystemName.QUICKBOOKS, type="billing_run", id="productive-7001-202611"),
        number="7001-202611",
        customer=SourceRef(system=SystemName.QUICKBOOKS, type="customer", id="88"),
        legal_entity="US01",
        currency="USD",
        issue_date=date(2026, 12, 1),
        due_date=date(2026, 12, 31),
        lines=(
            InvoiceLine(
                description="Advice", quantity=Decimal(1), unit_price=usd, tax_code="NON", tax_rate=Decimal(0)
            ),
        ),
    )
    standing = InvoiceStanding(
        system=SystemName.QUICKBOOKS,
        id=invoice_id,
        customer="88",
        total=usd,
        balance=Money.of(Decimal(balance), "USD"),
        issued_on=date(2026, 12, 1),
        version=version,
        read_at=NOW,
    )
    return InvoiceRecord(
        system=SystemName.QUICKBOOKS,
        id=invoice_id,
        run="productive-7001-202611",
        engagement=ENGAGEMENT,
        account=ACCOUNT,
        invoice=invoice,
        standing=standing,
        updated_at=NOW,
    )


@pytest.fixture
def store(dynamodb: Any) -> DynamoBilling:
    return DynamoBilling("ledger", client=dynamodb)


def test_a_run_is_written_once_and_a_stale_writer_is_refused(store: DynamoBilling) -> None:
    saved = store.save_run(run())
    with pytest.raises(ConflictError):
        store.save_run(run())  # a second creator of the same run
    posted = store.save_run(saved.model_copy(update={"state": RunState.POSTED}))
    with pytest.raises(ConflictError):
        store.save_run(saved.model_copy(update={"state": RunState.REFUSED}))  # read before the post
    assert store.run(saved.id) == posted


def test_runs_are_listed_per_engagement_and_all_by_period(store: DynamoBilling) -> None:
    store.save_run(run("2026-11"))
    store.save_run(run("2026-10"))
    other = SourceRef(system=SystemName.PRODUCTIVE, type="projects", id="7002")
    store.save_run(run("2026-11", id="productive-7002-202611", engagement=other))
    assert [r.period.month for r in store.runs(ENGAGEMENT)] == ["2026-10", "2026-11"]
    assert len(store.runs()) == 3


def test_an_older_standing_never_replaces_a_newer_one(store: DynamoBilling) -> None:
    assert store.save_invoice(record("501", version="3", balance="40.00"))
    # a worker that read the invoice before the payment writes late
    assert not store.save_invoice(record("501", version="2", balance="100.00"))
    held = store.invoice(SystemName.QUICKBOOKS, "501")
    assert held is not None and held.standing.balance.amount == Decimal("40.00")
    assert [r.id for r in store.engagement_invoices(ENGAGEMENT)] == ["501"]
    assert [r.id for r in store.account_invoices(ACCOUNT)] == ["501"]


def test_parked_payments_and_report_leases(store: DynamoBilling) -> None:
    parked = ParkedPayment(system=SystemName.QUICKBOOKS, payment="9", invoice="501", parked_at=NOW)
    store.park_payment(parked)
    assert store.parked_payments(SystemName.QUICKBOOKS, "501") == [parked]
    assert store.all_parked_payments() == [parked]
    store.unpark_payment(parked)
    assert store.all_parked_payments() == []
    store.remember_payment(SystemName.QUICKBOOKS, "9", ["501", "502"])
    assert store.payment_invoices(SystemName.QUICKBOOKS, "9") == ["501", "502"]
    # one reporter at a time; a holder that died is taken over once its time ran out
    assert store.hold("report#501", now=NOW, until=NOW + timedelta(seconds=90))
    assert not store.hold("report#501", now=NOW + timedelta(seconds=10), until=NOW + timedelta(seconds=100))
    assert store.hold("report#501", now=NOW + timedelta(seconds=91), until=NOW + timedelta(seconds=181))
    store.let_go("report#501")
    assert store.hold("report#501", now=NOW, until=NOW + timedelta(seconds=90))
