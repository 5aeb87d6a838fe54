"""A small close-to-cash history as real domain events, and a DuckDB database holding it as landed rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from shared.analytics.rows import LANDED_TABLES, table_name, to_row
from shared.analytics.semantic import SemanticModel, landed_table_sql
from shared.domain.billing import CreditMemo, Invoice, InvoiceLine, InvoiceStatus, Payment
from shared.domain.commercial import Opportunity, OpportunityStatus
from shared.domain.delivery import TimeEntry
from shared.domain.dimensions import FinancialDimensions
from shared.domain.engagements import BillingModel, Engagement
from shared.domain.events import (
    CreditMemoIssued,
    DomainEvent,
    EngagementActivated,
    InvoicePosted,
    OpportunityChanged,
    PaymentReceived,
    TimeApproved,
)
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money

ACME = SourceRef(system=SystemName.SALESFORCE, type="account", id="acme")
GLOBEX = SourceRef(system=SystemName.SALESFORCE, type="account", id="globex")
PROJECT = SourceRef(system=SystemName.PRODUCTIVE, type="project", id="p-1")
ADA = SourceRef(system=SystemName.PRODUCTIVE, type="person", id="ada")


def at(day: str) -> datetime:
    """Noon UTC of an ISO date."""
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def deal(
    oid: str,
    account: SourceRef,
    amount: str,
    closed: str,
    *,
    status: OpportunityStatus = OpportunityStatus.WON,
    probability: str | None = None,
    at_: str | None = None,
) -> OpportunityChanged:
    """An opportunity as the CRM holds it (won by default), stated on `at_` (its close date by default)."""
    held = Opportunity(
        source=SourceRef(system=SystemName.SALESFORCE, type="opportunity", id=oid),
        account=account,
        name=f"Deal {oid}",
        stage={"won": "Closed Won", "lost": "Closed Lost"}.get(status.value, "Negotiation"),
        status=status,
        close_date=date.fromisoformat(closed),
        amount=Money.of(amount, "USD"),
        probability=probability,
        service_line="consulting",
    )
    return OpportunityChanged.about(held, correlation_id=oid, occurred_at=at(at_ or closed))


def won(oid: str, account: SourceRef, amount: str, closed: str) -> OpportunityChanged:
    """A closed-won deal."""
    return deal(oid, account, amount, closed)


def time(
    tid: str, hours: str, rate: str, worked: str, approved: str, *, billable: bool = True
) -> TimeApproved:
    """An approved time entry (a later call with the same `tid` is its correction)."""
    entry = TimeEntry(
        source=SourceRef(system=SystemName.PRODUCTIVE, type="time_entry", id=tid),
        project=PROJECT,
        worker=ADA,
        worked_on=date.fromisoformat(worked),
        hours=hours,
        rate=Money.of(rate, "USD"),
        billable=billable,
    )
    return TimeApproved.about(entry, correlation_id=tid, occurred_at=at(approved))


def engagement(account: SourceRef, activated: str) -> EngagementActivated:
    """The engagement of PROJECT, set up for `account`."""
    held = Engagement(
        source=PROJECT,
        name="Acme rollout",
        account=account,
        template="t-and-m",
        billing_model=BillingModel.TIME_AND_MATERIALS,
        currency="USD",
        dimensions=FinancialDimensions(legal_entity="US01"),
        budget=Money.of("10000.00", "USD"),
        rate_card=SourceRef(system=SystemName.PRODUCTIVE, type="rate_card", id="rc-1"),
        start_date=date.fromisoformat(activated),
        project=PROJECT,
    )
    return EngagementActivated.about(held, correlation_id="p-1", occurred_at=at(activated))


def line(quantity: str, price: str, tax_rate: str) -> InvoiceLine:
    """One invoice or credit memo line."""
    return InvoiceLine(
        description="Consulting",
        quantity=quantity,
        unit_price=Money.of(price, "USD"),
        tax_code="S",
        tax_rate=tax_rate,
    )


def _document(kind: str, number: str, lines: Iterable[InvoiceLine], issued: str) -> dict[str, Any]:
    # What an invoice and a credit memo of ACME share.
    return {
        "source": SourceRef(system=SystemName.QUICKBOOKS, type=kind, id=number),
        "number": number,
        "customer": ACME,
        "legal_entity": "US01",
        "currency": "USD",
        "issue_date": date.fromisoformat(issued),
        "lines": tuple(lines),
        "account": ACME,
    }


def invoice(
    iid: str, lines: Iterable[InvoiceLine], issued: str, *, at_: str, status: InvoiceStatus
) -> InvoicePosted:
    """An invoice as the ERP posted (or later voided) it."""
    fields = _document("invoice", iid, lines, issued)
    document = Invoice(**fields, due_date=fields["issue_date"], engagement=PROJECT, status=status)
    return InvoicePosted.about(document, correlation_id=iid, occurred_at=at(at_))


def credit_memo(cid: str, credits: str, lines: Iterable[InvoiceLine], issued: str) -> CreditMemoIssued:
    """A credit memo against an invoice."""
    credited = SourceRef(system=SystemName.QUICKBOOKS, type="invoice", id=credits)
    memo = CreditMemo(**_document("credit_memo", cid, lines, issued), credits_invoice=credited)
    return CreditMemoIssued.about(memo, correlation_id=cid, occurred_at=at(issued))


def payment(pid: str, amount: str, received: str) -> PaymentReceived:
    """A customer payment."""
    paid = Payment(
        source=SourceRef(system=SystemName.QUICKBOOKS, type="payment", id=pid),
        customer=ACME,
        amount=Money.of(amount, "USD"),
        received_on=date.fromisoformat(received),
        account=ACME,
    )
    return PaymentReceived.about(paid, correlation_id=pid, occurred_at=at(received))


def history() -> list[DomainEvent[Any]]:
    """January to March: deals, time (one entry corrected), invoices (one voided), a credit, a payment."""
    first_time = time("t-1", "8", "150.00", "2026-01-12", "2026-01-13")
    return [
        won("o-1", ACME, "10000.00", "2026-01-05"),
        won("o-2", GLOBEX, "5000.00", "2026-01-10"),
        first_time,
        first_time,  # landed twice (a redelivered Firehose record)
        time("t-2", "7.5", "133.33", "2026-01-13", "2026-01-14"),  # 999.975 -> 999.98
        time("t-2", "6.25", "133.33", "2026-01-13", "2026-02-02"),  # corrected: 833.3125 -> 833.31
        time("t-3", "2", "150.00", "2026-01-14", "2026-01-15", billable=False),
        invoice(
            "inv-1", [line("8", "150.00", "20")], "2026-02-01", at_="2026-02-01", status=InvoiceStatus.OPEN
        ),
        invoice(
            "inv-2", [line("1", "500.00", "0")], "2026-02-10", at_="2026-02-10", status=InvoiceStatus.OPEN
        ),
        invoice(
            "inv-2", [line("1", "500.00", "0")], "2026-02-10", at_="2026-02-15", status=InvoiceStatus.VOID
        ),
        credit_memo("cm-1", "inv-1", [line("1", "100.00", "20")], "2026-02-20"),
        payment("pay-1", "1000.00", "2026-03-01"),
    ]


def database(model: SemanticModel, events: Iterable[DomainEvent[Any]]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every landed table, `events` flattened into them, and the model's macros."""
    connection = duckdb.connect(":memory:")
    for table in LANDED_TABLES:
        connection.execute(landed_table_sql(table, "duckdb"))
    for event in events:
        row = to_row(event)
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        connection.execute(
            # The table and column names come from LANDED_TABLES; the values are bound parameters.
            f"INSERT INTO {table_name(event.type)} ({names}) VALUES ({marks})",  # noqa: S608
            list(row.values()),
        )
    for statement in model.create_views("duckdb"):
        connection.execute(statement)
    return connection
