"""A domain event lands as one flat row whose columns come from the event's pydantic model."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from shared.analytics.rows import LANDED_TABLES, to_row
from shared.domain.billing import InvoiceStatus
from shared.domain.events import EVENT_TYPES
from tests.analytics.fixtures import invoice, line, time


def test_every_event_type_has_a_landed_table_with_the_envelope_first() -> None:
    # Then each event type has its table, and every table starts with the same envelope columns
    assert len(LANDED_TABLES) == len(EVENT_TYPES)
    for table in LANDED_TABLES.values():
        assert [c.name for c in table.columns[:3]] == ["event_id", "event_type", "schema_version"]


def test_a_time_entry_row_keeps_money_exact_and_flattens_references() -> None:
    # Given an approved time entry of 7.5 h at 133.33 USD
    event = time("t-2", "7.5", "133.33", "2026-01-13", "2026-01-14")
    # When it is flattened
    row = to_row(event)
    # Then money stays Decimal (never float), references are flattened with `_`, the amount is the domain's
    assert row["rate_amount"] == Decimal("133.33") and isinstance(row["rate_amount"], Decimal)
    assert row["rate_currency"] == "USD"
    assert row["project_id"] == "p-1" and row["worker_id"] == "ada"
    assert row["amount"] == Decimal("999.98")
    assert row["event_id"] == str(event.id) and row["source_id"] == "t-2"
    assert row["occurred_at"] == datetime(2026, 1, 14, 12, 0)
    types = {c.name: c.type for c in LANDED_TABLES["time_approved"].columns}
    assert types["rate_amount"] == "decimal" and types["hours"] == "decimal" and types["worked_on"] == "date"
    assert types["occurred_at"] == "timestamp" and types["billable"] == "boolean"
    assert set(row) == {c.name for c in LANDED_TABLES["time_approved"].columns}


def test_an_invoice_row_carries_its_totals_status_and_lines_as_json() -> None:
    # Given a voided invoice of two lines
    event = invoice(
        "inv-7",
        [line("2", "100.00", "20"), line("1", "0.05", "20")],
        "2026-02-01",
        at_="2026-02-02",
        status=InvoiceStatus.VOID,
    )
    row = to_row(event)
    # Then the row has the per-line-rounded totals, its status and its lines as JSON text
    assert row["subtotal_amount"] == Decimal("200.05")
    assert row["tax_total_amount"] == Decimal("40.01")
    assert row["total_amount"] == Decimal("240.06")
    assert row["status"] == "void"
    lines = json.loads(row["lines"])
    assert [entry["unit_price"]["amount"] for entry in lines] == ["100.00", "0.05"]
