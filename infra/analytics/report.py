"""The analytics report's figures: the semantic model's measures as of a moment, whole and sliced.

Every figure comes from the model's views over the landed files (infra/analytics/database.py): the
totals per currency, then the same measures per customer, engagement, worker and month, each with
the derived measures whose inputs that slice carries. Amounts are exact and shown to the currency's
minor unit; ratios (cash realization) and days (DSO) keep the model's own rounding. Names come from
the landed records themselves (the customer's account, the engagement's project), as of the same
moment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict

from shared.analytics.rows import LANDED_TABLES
from shared.analytics.semantic import TOTALS, SemanticModel
from shared.domain.money import Money

# Measures that are not amounts of money: shown as the model computes them.
RATIOS = frozenset({"cash_realization", "utilization"})
DAYS = frozenset({"dso"})
# Measures counted in hours: their rows' "currency" is the unit `hours` (model.toml).
HOURS_UNIT = "hours"
HOURS = Decimal("0.01")
SLICES = ("customer", "engagement", "worker", "period")

Figure = Decimal | str | None


class Slice(BaseModel):
    """One entity's rows: its value, currency, then each measure that slice carries."""

    model_config = ConfigDict(frozen=True)

    entity: str
    measures: tuple[str, ...]
    rows: tuple[dict[str, Figure], ...]


class AnalyticsReport(BaseModel):
    """The whole report as of one moment."""

    model_config = ConfigDict(frozen=True)

    as_of: datetime
    model_version: int
    source: str
    landed_rows: dict[str, int]
    current_rows: dict[str, int]
    measures: tuple[str, ...]
    descriptions: dict[str, str]
    totals: tuple[dict[str, Figure], ...]
    slices: tuple[Slice, ...]

    def slice(self, entity: str) -> Slice:
        return next(s for s in self.slices if s.entity == entity)


def _figure(name: str, value: Any, currency: str) -> Figure:
    if value is None:
        return None
    if name in RATIOS or name in DAYS:
        return Decimal(str(value))
    if isinstance(value, Decimal | int | float) and currency == HOURS_UNIT:
        return Decimal(str(value)).quantize(HOURS)
    if isinstance(value, Decimal | int | float):
        return Money.of(Decimal(str(value)), currency).rounded().amount
    return str(value)


def _key(value: Any) -> str | None:
    """An entity's value as text: a month as YYYY-MM."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m")
    return str(value)


def _rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _named(rows: list[dict[str, Any]], measures: list[str]) -> tuple[dict[str, Figure], ...]:
    return tuple(
        {
            key: _figure(key, value, str(row["currency"])) if key in measures else _key(value)
            for key, value in row.items()
        }
        for row in rows
    )


def _names(db: duckdb.DuckDBPyConnection, as_of: datetime) -> dict[str, dict[str, str]]:
    """Display names: customers from their account's changes, engagements from their activation."""
    found: dict[str, dict[str, str]] = {"customer": {}, "engagement": {}}
    # An engagement is known by its PSA project (what time and invoices name).
    for entity, table, key in (
        ("customer", "account_changed", "source_id"),
        ("engagement", "engagement_activated", "project_id"),
    ):
        cursor = db.execute(f"SELECT {key}, name FROM current_{table}(CAST(? AS TIMESTAMP))", [as_of])  # noqa: S608
        found[entity] = {str(k): str(name) for k, name in cursor.fetchall() if k is not None}
    return found


def gather(
    db: duckdb.DuckDBPyConnection, model: SemanticModel, *, as_of: datetime, source: str
) -> AnalyticsReport:
    """Every measure as of `as_of`, whole and per slice, from a database `open_database` built."""
    # The macros take a UTC timestamp without a zone, as the landed timestamps are.
    cut_off = as_of.astimezone(UTC).replace(tzinfo=None)
    totals = _rows(db.execute(f"SELECT * FROM {TOTALS}(CAST(? AS TIMESTAMP))", [cut_off]))  # noqa: S608
    measures = [*model.measures, *model.derived]
    names = _names(db, cut_off)
    slices = []
    for entity in SLICES:
        rows = _rows(db.execute(model.sliced_sql(entity, "duckdb", as_of=as_of)))
        carried = [m for m in measures if rows and m in rows[0]] or [
            m for m in model.measures if entity in model.measures[m].entities
        ]
        if entity in names:
            for row in rows:
                row["name"] = names[entity].get(str(row[entity]), "")
        slices.append(Slice(entity=entity, measures=tuple(carried), rows=_named(rows, carried)))
    landed = {t: _count(db, f"SELECT COUNT(*) FROM {t}") for t in LANDED_TABLES}  # noqa: S608
    current = {
        t: _count(db, f"SELECT COUNT(*) FROM current_{t}(CAST(? AS TIMESTAMP))", [cut_off])  # noqa: S608
        for t in LANDED_TABLES
    }
    return AnalyticsReport(
        as_of=as_of,
        model_version=model.version,
        source=source,
        landed_rows=landed,
        current_rows=current,
        measures=tuple(measures),
        descriptions={
            **{n: m.description for n, m in model.measures.items()},
            **{n: d.description for n, d in model.derived.items()},
        },
        totals=_named(totals, measures),
        slices=tuple(slices),
    )


def _count(db: duckdb.DuckDBPyConnection, sql: str, parameters: list[Any] | None = None) -> int:
    row = db.execute(sql, parameters or []).fetchone()
    return int(row[0]) if row else 0
