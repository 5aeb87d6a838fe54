"""DuckDB answers the semantic model's measures as a hand computation over the same events does."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shared.analytics.rows import LANDED_TABLES
from shared.analytics.semantic import SemanticModel, load_model
from tests.analytics.fixtures import database, history, time


@pytest.fixture(scope="module")
def model() -> SemanticModel:
    return load_model()


@pytest.fixture(scope="module")
def db(model: SemanticModel) -> duckdb.DuckDBPyConnection:
    return database(model, history())


def totals(db: duckdb.DuckDBPyConnection, as_of: str, unit: str = "USD") -> dict[str, Any]:
    """The totals row of one currency (or of the unit `hours`) as of `as_of`."""
    cursor = db.execute("SELECT * FROM measure_totals(CAST(? AS TIMESTAMP))", [as_of])
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    (row,) = [r for r in rows if r["currency"] == unit] or [{}]
    assert row, rows
    return row


def exact(value: Any) -> Decimal:
    # Money measures come back as DECIMAL; ratios may come back as DOUBLE: read their printed digits.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def test_every_measure_at_the_end_of_march_equals_the_hand_computation(db: duckdb.DuckDBPyConnection) -> None:
    # Given the January-March history (t-2 corrected down, inv-2 voided, t-1 landed twice)
    # When the totals are asked as of the end of March
    got = totals(db, "2026-03-31 23:59:59")
    # Then each measure is what the events say, to the cent
    bookings = Decimal("10000.00") + Decimal("5000.00")
    delivered = Decimal("1200.00") + Decimal(
        "833.31"
    )  # 8 x 150.00 + 6.25 x 133.33 (rounded); t-3 not billable
    invoiced = Decimal("1440.00")  # 8 x 150.00 + 20 % tax; inv-2 is void
    credited = Decimal("120.00")
    collected = Decimal("1000.00")
    billed = invoiced - credited
    open_ar = billed - collected
    assert got["currency"] == "USD"
    assert exact(got["bookings"]) == bookings
    assert exact(got["delivered"]) == delivered
    assert exact(got["backlog"]) == bookings - delivered == Decimal("12966.69")
    assert exact(got["billed"]) == billed == Decimal("1320.00")
    assert exact(got["collected"]) == collected
    assert exact(got["open_ar"]) == open_ar == Decimal("320.00")
    assert (
        exact(got["cash_realization"])
        == (collected / delivered).quantize(Decimal("0.0001"))
        == Decimal("0.4918")
    )
    # DSO, period method: 320.00 open / 1320.00 billed in the 90 days to 31 March x 90 days
    assert exact(got["dso"]) == (open_ar / billed * 90).quantize(Decimal("0.1")) == Decimal("21.8")


def test_as_of_before_the_correction_shows_the_hours_first_approved(db: duckdb.DuckDBPyConnection) -> None:
    # Given t-2 approved at 7.5 h on 14 January and corrected to 6.25 h on 2 February
    # When delivered is asked as of 31 January, then as of 28 February
    january = totals(db, "2026-01-31 23:59:59")
    february = totals(db, "2026-02-28 23:59:59")
    # Then January shows the first figure and February the corrected one
    assert exact(january["delivered"]) == Decimal("1200.00") + Decimal("999.98")
    assert exact(february["delivered"]) == Decimal("1200.00") + Decimal("833.31")


def test_a_voided_invoice_stops_counting_from_its_void(db: duckdb.DuckDBPyConnection) -> None:
    # Given inv-2 (500.00) posted on 10 February and voided on 15 February
    # When billed is asked on 12 February and on 16 February
    # Then it counts on the 12th and not on the 16th
    assert exact(totals(db, "2026-02-12 23:59:59")["billed"]) == Decimal("1940.00")
    assert exact(totals(db, "2026-02-16 23:59:59")["billed"]) == Decimal("1440.00")


def test_a_superseding_time_entry_with_fewer_hours_lowers_delivered(model: SemanticModel) -> None:
    # Given one approved entry of 8 h at 150.00
    before = database(model, [time("t-9", "8", "150.00", "2026-01-12", "2026-01-13")])
    # When the PSA corrects it to 5 h later
    after = database(
        model,
        [
            time("t-9", "8", "150.00", "2026-01-12", "2026-01-13"),
            time("t-9", "5", "150.00", "2026-01-12", "2026-01-20"),
        ],
    )
    # Then delivered falls from 1200.00 to 750.00 (not 1950.00)
    assert exact(totals(before, "2026-03-01 00:00:00")["delivered"]) == Decimal("1200.00")
    assert exact(totals(after, "2026-03-01 00:00:00")["delivered"]) == Decimal("750.00")


def test_the_same_event_landed_twice_counts_once(model: SemanticModel) -> None:
    # Given one time event landed twice (same event id)
    event = time("t-8", "4", "100.00", "2026-01-12", "2026-01-13")
    db = database(model, [event, event])
    # Then the landed table holds two rows, but delivered counts the entry once
    assert db.execute("SELECT COUNT(*) FROM time_approved").fetchone() == (2,)
    assert exact(totals(db, "2026-03-01 00:00:00")["delivered"]) == Decimal("400.00")


def test_measure_views_slice_by_their_entities(db: duckdb.DuckDBPyConnection) -> None:
    # When bookings are asked per customer
    rows = db.execute(
        "SELECT customer, value FROM measure_bookings(TIMESTAMP '2026-03-31 00:00:00') ORDER BY customer"
    ).fetchall()
    # Then each customer has its own deal's amount
    assert rows == [("acme", Decimal("10000.00")), ("globex", Decimal("5000.00"))]


def test_the_same_answers_come_from_landed_parquet_files(
    model: SemanticModel, db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # Given the landed tables written as Parquet files (the layout's file format), one per table
    for table in LANDED_TABLES:
        db.execute(f"COPY {table} TO '{tmp_path / table}.parquet' (FORMAT parquet)")
    # When a fresh DuckDB reads only those files through the model's macros
    files = duckdb.connect(":memory:")
    for table in LANDED_TABLES:
        files.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{tmp_path / table}.parquet')")  # noqa: S608
    for statement in model.create_views("duckdb"):
        files.execute(statement)
    # Then every measure is the same, decimals included
    assert totals(files, "2026-03-31 23:59:59") == totals(db, "2026-03-31 23:59:59")
    assert exact(totals(files, "2026-03-31 23:59:59")["billed"]) == Decimal("1320.00")


def test_sliced_by_customer_the_derived_measures_follow_their_inputs(
    model: SemanticModel, db: duckdb.DuckDBPyConnection
) -> None:
    from datetime import UTC, datetime

    # When the measures are asked per customer as of the end of March
    cursor = db.execute(
        model.sliced_sql("customer", "duckdb", as_of=datetime(2026, 3, 31, 23, 59, tzinfo=UTC))
    )
    names = [d[0] for d in cursor.description]
    rows = {row[1]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    # Then billed, open AR and backlog are there: their inputs carry the customer (delivered through
    # the engagement's activation, which this history does not hold: its hours have no customer)
    assert "open_ar" in names and "billed" in names and "backlog" in names
    assert exact(rows["acme"]["open_ar"]) == Decimal("320.00")
    assert exact(rows["globex"]["bookings"]) == Decimal("5000.00")
    assert exact(rows["globex"]["billed"]) == Decimal("0")
    # and per engagement, backlog is not: bookings do not carry the engagement
    sliced = model.sliced_sql("engagement", "duckdb", as_of=datetime(2026, 3, 31, 23, 59, tzinfo=UTC))
    assert " AS backlog" not in sliced and " AS billed" in sliced


def test_per_month_balances_are_not_summed(model: SemanticModel) -> None:
    from datetime import UTC, datetime

    # When the measures are asked per month
    sql = model.sliced_sql("period", "duckdb", as_of=datetime(2026, 3, 31, tzinfo=UTC))
    # Then flows are there and balances (open AR, backlog) are not: a balance is a total at a moment
    assert " AS billed" in sql and " AS open_ar" not in sql and " AS backlog" not in sql
    # And the same slice transpiles to Athena's dialect and parses there
    import sqlglot

    assert sqlglot.parse_one(
        model.sliced_sql("period", "athena", as_of=datetime(2026, 3, 31, tzinfo=UTC)), read="athena"
    )


def test_delivered_reaches_the_customer_through_its_engagement(model: SemanticModel) -> None:
    from datetime import UTC, datetime

    from tests.analytics.fixtures import ACME, engagement, won

    # Given acme's deal, its engagement activated on 6 January and 8 h at 150.00 booked to it
    db = database(
        model,
        [
            won("o-1", ACME, "10000.00", "2026-01-05"),
            engagement(ACME, "2026-01-06"),
            time("t-1", "8", "150.00", "2026-01-12", "2026-01-13"),
        ],
    )
    # When the measures are asked per customer
    cursor = db.execute(model.sliced_sql("customer", "duckdb", as_of=datetime(2026, 1, 31, tzinfo=UTC)))
    names = [d[0] for d in cursor.description]
    (row,) = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    # Then acme's delivered comes through the engagement, and its backlog is booked less delivered
    assert row["customer"] == "acme"
    assert exact(row["delivered"]) == Decimal("1200.00")
    assert exact(row["backlog"]) == Decimal("8800.00")
    # and the total is the same whether sliced or not
    assert exact(totals(db, "2026-01-31 23:59:59")["backlog"]) == Decimal("8800.00")


def test_a_join_that_names_an_unknown_column_is_refused() -> None:
    from shared.analytics.semantic import InvalidModel, parse_model

    raw = {
        "version": 1,
        "entities": {"customer": {"description": "c", "columns": {}}},
        "measures": {
            "delivered": {
                "description": "d",
                "table": "time_approved",
                "value": "amount",
                "currency": "rate_currency",
                "date": "worked_on",
                "join": {"table": "engagement_activated", "on": "j.no_such = t.project_id"},
            }
        },
    }
    with pytest.raises(InvalidModel, match="no_such"):
        parse_model(raw)


def test_a_reopened_deal_leaves_bookings_for_the_pipeline(model: SemanticModel) -> None:
    from shared.domain.commercial import OpportunityStatus
    from tests.analytics.fixtures import ACME, GLOBEX, deal

    # Given acme's deal won on 5 January and re-opened on 20 January at 60 %, and globex's open at 25 %
    db = database(
        model,
        [
            deal("o-1", ACME, "10000.00", "2026-01-05"),
            deal(
                "o-1",
                ACME,
                "10000.00",
                "2026-02-15",
                status=OpportunityStatus.OPEN,
                probability="60",
                at_="2026-01-20",
            ),
            deal("o-2", GLOBEX, "4000.00", "2026-03-01", status=OpportunityStatus.OPEN, probability="25"),
            deal("o-3", GLOBEX, "999.00", "2026-03-01", status=OpportunityStatus.OPEN),  # no probability
        ],
    )
    # Then before the re-opening acme's deal is booked; after, it is weighted pipeline instead
    before = totals(db, "2026-01-10 00:00:00")
    assert exact(before["bookings"]) == Decimal("10000.00")
    after = totals(db, "2026-03-31 00:00:00")
    assert exact(after["bookings"]) == Decimal("0")
    assert exact(after["pipeline"]) == Decimal("6000.00") + Decimal("1000.00")  # 60 % + 25 %; none counts 0
    assert exact(after["open_deals"]) == Decimal("14999.00")


def test_a_time_entry_deleted_in_the_psa_stops_counting_and_counts_again_when_approved_again(
    model: SemanticModel,
) -> None:
    from shared.domain.events import RecordWithdrawal, RecordWithdrawn
    from shared.domain.models import SourceRef, SystemName
    from tests.analytics.fixtures import at

    entry = SourceRef(system=SystemName.PRODUCTIVE, type="time_entry", id="t-5")
    withdrawn = RecordWithdrawn.about(
        RecordWithdrawal(record=entry, withdraws="close2cash.time.approved", reason="deleted in the PSA"),
        correlation_id="t-5",
        occurred_at=at("2026-01-20"),
    )
    # Given 4 h at 100.00 approved on 13 January and deleted in the PSA on 20 January, beside 2 h that stay
    events = [
        time("t-5", "4", "100.00", "2026-01-12", "2026-01-13"),
        time("t-6", "2", "100.00", "2026-01-12", "2026-01-13"),
        withdrawn,
    ]
    db = database(model, events)
    # Then delivered counts it on the 15th, not on the 21st
    assert exact(totals(db, "2026-01-15 00:00:00")["delivered"]) == Decimal("600.00")
    assert exact(totals(db, "2026-01-21 00:00:00")["delivered"]) == Decimal("200.00")
    # And approved again on 25 January (a later approval), it counts again
    again = database(model, [*events, time("t-5", "3", "100.00", "2026-01-12", "2026-01-25")])
    assert exact(totals(again, "2026-01-31 00:00:00")["delivered"]) == Decimal("500.00")


def capacity(month_start: str, month_end: str, hours: str, cost: str | None, *, at_: str) -> Any:
    """Ada's capacity for a month, as the PSA's salary record states it (one record covers months)."""
    from shared.domain.capacity import WorkerCapacity
    from shared.domain.events import CapacityChanged
    from shared.domain.models import SourceRef, SystemName
    from shared.domain.money import Money
    from tests.analytics.fixtures import ADA, at

    held = WorkerCapacity(
        source=SourceRef(system=SystemName.PRODUCTIVE, type="salaries", id="s-1"),
        worker=ADA,
        period_start=month_start,
        period_end=month_end,
        capacity_hours=hours,
        time_off_hours="8",
        cost_rate=Money.of(cost, "USD") if cost else None,
    )
    return CapacityChanged.about(held, correlation_id="s-1", occurred_at=at(at_))


def test_utilization_and_margin_from_the_psas_capacity_and_cost_rates(model: SemanticModel) -> None:
    # Given ada's January: 168 h scheduled less 8 h off, at a cost of 60.00/h; February 160 h less 8 h
    # (the same salary record), January read again later with 176 h (a schedule corrected)
    events = [
        capacity("2026-01-01", "2026-01-31", "168", "60.00", at_="2026-01-02"),
        capacity("2026-02-01", "2026-02-28", "160", "60.00", at_="2026-02-02"),
        capacity("2026-01-01", "2026-01-31", "176", "60.00", at_="2026-01-20"),
        # and her January time: 8 h billable at 150.00, 2 h not billable
        time("t-1", "8", "150.00", "2026-01-12", "2026-01-13"),
        time("t-3", "2", "150.00", "2026-01-14", "2026-01-15", billable=False),
    ]
    db = database(model, events)
    # When the totals are asked at the end of February
    hours = totals(db, "2026-02-28 23:59:59", unit="hours")
    money = totals(db, "2026-02-28 23:59:59")
    # Then each month is a record of its own (January's correction supersedes January only)
    assert exact(hours["available_hours"]) == Decimal("168") + Decimal("152")  # (176 - 8) + (160 - 8)
    assert exact(hours["billable_hours"]) == Decimal("8")
    assert exact(hours["utilization"]) == (Decimal(8) / Decimal(320)).quantize(Decimal("0.0001"))
    # And margin is delivered less every approved hour at the cost rate: 1200.00 - 10 h x 60.00
    assert exact(money["cost"]) == Decimal("600.00")
    assert exact(money["margin"]) == Decimal("600.00")
    # And per worker and month, January's utilization is 8 / 168
    cursor = db.execute(model.sliced_sql("period", "duckdb", as_of=datetime(2026, 2, 28, 23, 59, tzinfo=UTC)))
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    january = next(r for r in rows if r["currency"] == "hours" and str(r["period"]).startswith("2026-01"))
    assert exact(january["utilization"]) == Decimal("0.0476")
