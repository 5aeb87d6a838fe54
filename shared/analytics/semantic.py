"""The semantic model: model.toml validated, and its views generated for DuckDB and Athena.

One canonical definition per view, built as SQL in sqlglot's neutral dialect and transpiled by
sqlglot to `duckdb` or `athena` (Trino). Three kinds of view:

- `current_<table>`: the current truth of a landed table. A later event for the same source
  record supersedes an earlier one: only the row with the latest `occurred_at` per
  (source_system, source_type, source_id) is kept, among events with `occurred_at <= as_of`. The
  same event id landed twice is two rows of one source record, so it counts once. Ties on
  `occurred_at` are broken by `event_id` (deterministic, not meaningful).
- `measure_<name>`: one base measure per currency, entity and period (month of its `date`).
- `measure_totals`: every base and derived measure, one row per currency.

"As of": every view takes the cut-off timestamp `as_of` (UTC). DuckDB: each view is a table
macro, `SELECT * FROM measure_totals(TIMESTAMP '2026-01-31 00:00:00')`. Athena has no
parameterised views: its views use `CURRENT_TIMESTAMP` (current truth), and a past date is asked
with the query `select_sql(name, "athena", as_of=...)`, the same SELECT with the literal inlined.

Validation refuses, naming it, a measure over an unknown table, column, entity or measure.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import sqlglot
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlglot import exp
from sqlglot.errors import ParseError

from shared.analytics.rows import DECIMAL_PRECISION, DECIMAL_SCALE, LANDED_TABLES, ColumnType, record_key
from shared.domain.errors import ValidationFailed

Dialect = Literal["duckdb", "athena"]

MODEL_PATH = Path(__file__).with_name("model.toml")
AS_OF = "as_of"
TOTALS = "measure_totals"

_SQL_TYPES: Mapping[ColumnType, str] = {
    "varchar": "VARCHAR",
    "bigint": "BIGINT",
    "boolean": "BOOLEAN",
    "decimal": f"DECIMAL({DECIMAL_PRECISION}, {DECIMAL_SCALE})",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "json": "VARCHAR",
}


class InvalidModel(ValidationFailed):
    """The semantic model file names something that does not exist, or does not parse."""


def _expression(sql: str, where: str) -> exp.Expr:
    try:
        parsed = sqlglot.parse_one(sql)
    except ParseError as error:
        raise ValueError(f"{where}: {sql!r} is not a SQL expression ({error})") from None
    if parsed is None:
        raise ValueError(f"{where}: empty expression")
    return parsed


def _columns(sql: str, where: str) -> set[str]:
    return {column.name for column in _expression(sql, where).find_all(exp.Column)} - {AS_OF}


JOINED = "j"  # the alias of a measure's joined table; its own table is `t`


def _columns_by_table(sql: str, where: str) -> dict[str, set[str]]:
    """The columns an expression names, by qualifier: "" (the measure's own table) or `j`."""
    found: dict[str, set[str]] = {}
    for column in _expression(sql, where).find_all(exp.Column):
        if column.name == AS_OF and not column.table:
            continue
        qualifier = "" if column.table in ("", "t") else column.table
        found.setdefault(qualifier, set()).add(column.name)
    return found


class Join(BaseModel):
    """The current rows of another landed table a measure reads beside its own (alias `j`; its own is `t`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    on: str


class Entity(BaseModel):
    """A thing measures are sliced by, and its column in each landed table that carries it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    columns: dict[str, str] = Field(default_factory=dict)
    grain: Literal["month"] | None = None


class Measure(BaseModel):
    """A base measure: one sum over the current rows of one landed table, per currency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    table: str
    value: str
    currency: str
    date: str
    filter: str | None = None
    window_days: int | None = Field(default=None, gt=0)
    entities: tuple[str, ...] = ()
    # Another table's current rows beside this one's (e.g. the engagement a time entry is booked to),
    # and the entities this measure reads from it instead of the entity's own column for `table`.
    join: Join | None = None
    columns: dict[str, str] = Field(default_factory=dict)


class Derived(BaseModel):
    """A derived measure: a formula over other measures, per currency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    formula: str
    # A balance at `as_of` (open AR, backlog): meaningful as a total, not summed per month.
    balance: bool = False


class SemanticModel(BaseModel):
    """The whole model file, checked against the landed tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    entities: dict[str, Entity]
    measures: dict[str, Measure]
    derived: dict[str, Derived] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names_exist(self) -> SemanticModel:
        for name, entity in self.entities.items():
            for table, column in entity.columns.items():
                _require_column(table, column, f"entity {name!r}")
        for name, measure in self.measures.items():
            where = f"measure {name!r}"
            if measure.table not in LANDED_TABLES:
                landed = ", ".join(sorted(LANDED_TABLES))
                raise ValueError(f"{where} reads unknown table {measure.table!r}; landed tables: {landed}")
            tables = {"": measure.table}
            if measure.join is not None:
                if measure.join.table not in LANDED_TABLES:
                    raise ValueError(f"{where} joins unknown table {measure.join.table!r}")
                tables[JOINED] = measure.join.table
            parts = {p: getattr(measure, p) for p in ("value", "currency", "date", "filter")}
            parts |= {f"column of {e}": sql for e, sql in measure.columns.items()}
            if measure.join is not None:
                parts["join"] = measure.join.on
            for part, sql in parts.items():
                for qualifier, columns in (_columns_by_table(sql, f"{where} {part}") if sql else {}).items():
                    if qualifier not in tables:
                        raise ValueError(f"{where} {part} names table {qualifier!r}, which it does not read")
                    for column in columns:
                        _require_column(tables[qualifier], column, f"{where} {part}")
            for entity_name in measure.entities:
                sliced = self.entities.get(entity_name)
                if sliced is None:
                    raise ValueError(f"{where} is sliced by unknown entity {entity_name!r}")
                carried = measure.table in sliced.columns or entity_name in measure.columns
                if sliced.grain is None and not carried:
                    raise ValueError(
                        f"{where}: entity {entity_name!r} has no column in table {measure.table!r}"
                    )
        known = set(self.measures)
        for name in self.derived:
            if name in known:
                raise ValueError(f"derived measure {name!r} has the name of a base measure")
        for name, derived in self.derived.items():
            for column in _columns(derived.formula, f"derived measure {name!r}"):
                if column not in known and column not in self.derived:
                    raise ValueError(f"derived measure {name!r} names unknown measure {column!r}")
            self._expanded(name, ())
        return self

    # --- SQL ---------------------------------------------------------------------------------

    def view_names(self) -> list[str]:
        """Every generated view, in creation order."""
        tables = [f"current_{name}" for name in LANDED_TABLES]
        return [*tables, *(f"measure_{name}" for name in self.measures), TOTALS]

    def select_sql(self, view: str, dialect: Dialect, *, as_of: datetime | None = None) -> str:
        """The SELECT of `view` in `dialect`; with `as_of`, the cut-off inlined as a UTC timestamp literal."""
        select = self._canonical(view)
        if as_of is not None:
            literal = as_of.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
            select = _bind(select, exp.cast(exp.Literal.string(literal), exp.DataType.build("TIMESTAMP")))
        elif dialect == "athena":
            select = _bind(select, exp.CurrentTimestamp())
        return select.sql(dialect=dialect)

    def create_view_sql(self, view: str, dialect: Dialect) -> str:
        """The statement creating `view`: a DuckDB table macro of `as_of`, or an Athena view of now."""
        body = self.select_sql(view, dialect)
        if dialect == "duckdb":
            return f"CREATE OR REPLACE MACRO {view}({AS_OF}) AS TABLE {body}"
        return f"CREATE OR REPLACE VIEW {view} AS {body}"

    def create_views(self, dialect: Dialect) -> list[str]:
        """Every view's creation statement, in dependency order."""
        return [self.create_view_sql(view, dialect) for view in self.view_names()]

    def _canonical(self, view: str) -> exp.Select:
        if view == TOTALS:
            return self._totals()
        if view.startswith("measure_") and view.removeprefix("measure_") in self.measures:
            return self._measure(self.measures[view.removeprefix("measure_")])
        if view.startswith("current_") and view.removeprefix("current_") in LANDED_TABLES:
            return _current(view.removeprefix("current_"))
        raise KeyError(f"unknown view {view!r}; views: {', '.join(self.view_names())}")

    def _base_filter(self, measure: Measure) -> str:
        conditions = [f"({_own(measure, measure.filter)})"] if measure.filter else []
        if measure.window_days is not None:
            day = _own(measure, measure.date)
            conditions.append(
                f"{day} > CAST({AS_OF} AS DATE) - INTERVAL '{measure.window_days}' DAY"
                f" AND {day} <= CAST({AS_OF} AS DATE)"
            )
        return f" WHERE {' AND '.join(conditions)}" if conditions else ""

    def _measure(self, measure: Measure) -> exp.Select:
        return _select(self._aggregate(measure, measure.entities))

    def _aggregate(self, measure: Measure, entities: tuple[str, ...]) -> str:
        """One measure summed per currency and each of `entities`: `currency, <entities>, value`."""
        keys = [f"{_own(measure, measure.currency)} AS currency"]
        keys += [f"{self._key_sql(measure, name)} AS {name}" for name in entities]
        group = ", ".join(str(i) for i in range(1, len(keys) + 1))
        return (
            f"SELECT {', '.join(keys)}, SUM({_own(measure, measure.value)}) AS value"  # noqa: S608
            f" FROM {_source(measure)}{self._base_filter(measure)} GROUP BY {group}"
        )

    def _totals(self) -> exp.Select:
        return self._combined(dict(self.measures), list(self.derived), entity=None)

    def sliced_sql(self, entity: str, dialect: Dialect, *, as_of: datetime) -> str:
        """Every measure that can be sliced by `entity`, one row per currency and entity value.

        Base measures that carry the entity, and each derived measure whose base measures all do
        (billed and open AR per customer; not backlog per customer, whose delivered has no customer).
        """
        if entity not in self.entities:
            raise KeyError(f"unknown entity {entity!r}; entities: {', '.join(self.entities)}")
        measures = {n: m for n, m in self.measures.items() if entity in m.entities and m.window_days is None}
        per_month = self.entities[entity].grain is not None
        derived = [
            n
            for n, d in self.derived.items()
            if self._bases(n) <= set(measures) and not (per_month and d.balance)
        ]
        literal = as_of.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        cut_off = exp.cast(exp.Literal.string(literal), exp.DataType.build("TIMESTAMP"))
        return _bind(self._combined(measures, derived, entity=entity), cut_off).sql(dialect=dialect)

    def _combined(
        self, measures: dict[str, Measure], derived: list[str], *, entity: str | None
    ) -> exp.Select:
        """Base measures side by side per currency (and entity value), then the derived formulas."""
        keys = ["currency"] if entity is None else ["currency", entity]
        sliced = () if entity is None else (entity,)
        ctes = [f"m_{name} AS ({self._aggregate(m, sliced)})" for name, m in measures.items()]
        listed = ", ".join(keys)
        every_key = " UNION ".join(f"SELECT {listed} FROM m_{name}" for name in measures)  # noqa: S608
        base_columns = ", ".join(f"COALESCE(m_{name}.value, 0) AS {name}" for name in measures)
        joins = " ".join(
            f"LEFT JOIN m_{name} ON " + " AND ".join(f"m_{name}.{k} IS NOT DISTINCT FROM k.{k}" for k in keys)
            for name in measures
        )
        formulas = "".join(f", {self._expanded(name, ()).sql()} AS {name}" for name in derived)
        sql = (
            f"WITH {', '.join(ctes)}, k AS ({every_key}),"  # noqa: S608
            f" base AS (SELECT {', '.join(f'k.{k}' for k in keys)}, {base_columns} FROM k {joins})"
            f" SELECT {listed}, {', '.join(measures)}{formulas} FROM base ORDER BY {listed}"
        )
        return _select(sql)

    def _key_sql(self, measure: Measure, entity: str) -> str:
        if self.entities[entity].grain == "month":
            return f"DATE_TRUNC('month', {_own(measure, measure.date)})"
        return _own(measure, measure.columns.get(entity) or self.entities[entity].columns[measure.table])

    def _bases(self, name: str) -> set[str]:
        """The base measures a derived measure reads, through other derived ones."""
        found: set[str] = set()
        for column in _columns(self.derived[name].formula, f"derived measure {name!r}"):
            found |= self._bases(column) if column in self.derived else {column}
        return found

    def _expanded(self, name: str, seen: tuple[str, ...]) -> exp.Expr:
        if name in seen:
            raise ValueError(f"derived measure {name!r} depends on itself ({' -> '.join((*seen, name))})")
        formula = _expression(self.derived[name].formula, f"derived measure {name!r}")

        def inline(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Column) and node.name in self.derived:
                return exp.Paren(this=self._expanded(node.name, (*seen, name)))
            return node

        return formula.transform(inline)


# The SQL below is assembled from the model file, a versioned file of this repository whose every
# table and column name is checked against the landed tables first; no user input reaches it
# (`as_of` is bound as a parsed literal by `_bind`). Hence the S608 waivers.


def _require_column(table: str, column: str, where: str) -> None:
    landed = LANDED_TABLES.get(table)
    if landed is None:
        raise ValueError(f"{where} names unknown table {table!r}")
    if column not in landed.column_names():
        raise ValueError(f"{where} names unknown column {column!r} of table {table!r}")


WITHDRAWALS = "record_withdrawn"


def _current_sql(table: str) -> str:
    """A table's current rows: each record's latest row at the cut-off, unless withdrawn since."""
    latest = (
        f"SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {', '.join(record_key(table))}"  # noqa: S608
        f" ORDER BY occurred_at DESC, event_id DESC) AS landed_rank FROM {table}"
        f" WHERE occurred_at <= {AS_OF}) AS ranked WHERE landed_rank = 1"
    )
    if table == WITHDRAWALS or WITHDRAWALS not in LANDED_TABLES:
        return latest
    # A withdrawal (deleted, un-approved or rejected in its system) at or after the latest row
    # takes the record out; a row after the withdrawal (approved again) brings it back.
    event_type = LANDED_TABLES[table].event_type
    return (
        f"{latest} AND NOT EXISTS (SELECT 1 FROM {WITHDRAWALS} AS w WHERE w.withdraws = '{event_type}'"  # noqa: S608
        " AND w.source_system = ranked.source_system AND w.source_type = ranked.source_type"
        f" AND w.source_id = ranked.source_id AND w.occurred_at >= ranked.occurred_at"
        f" AND w.occurred_at <= {AS_OF})"
    )


def _source(measure: Measure) -> str:
    """What a measure reads: its table's current rows as `t`, and those of its join as `j`."""
    own = f"({_current_sql(measure.table)}) AS t"
    if measure.join is None:
        return own
    return f"{own} LEFT JOIN ({_current_sql(measure.join.table)}) AS {JOINED} ON {measure.join.on}"


def _own(measure: Measure, sql: str) -> str:
    """`sql` with its unqualified columns read from the measure's own table (`t.`) when it joins."""
    if measure.join is None:
        return sql

    def qualify(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table and node.name != AS_OF:
            return exp.column(node.name, table="t")
        return node

    return _expression(sql, "measure").transform(qualify).sql()


def _current(table: str) -> exp.Select:
    return _select(_current_sql(table))


def _select(sql: str) -> exp.Select:
    parsed = sqlglot.parse_one(sql)
    if not isinstance(parsed, exp.Select):
        raise TypeError(f"expected a SELECT, got {type(parsed).__name__}")
    return parsed


def _bind(select: exp.Select, value: exp.Expr) -> exp.Select:
    def replace(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.name == AS_OF and not node.table:
            return value.copy()
        return node

    bound = select.transform(replace)
    assert isinstance(bound, exp.Select)
    return bound


def landed_table_sql(table: str, dialect: Dialect) -> str:
    """CREATE TABLE for a landed table (DuckDB locally; Glue's columns use the same types)."""
    columns = ", ".join(f"{c.name} {_SQL_TYPES[c.type]}" for c in LANDED_TABLES[table].columns)
    return sqlglot.transpile(f"CREATE TABLE {table} ({columns})", write=dialect)[0]


def load_model(path: Path = MODEL_PATH) -> SemanticModel:
    """The semantic model in `path` (the shipped model.toml by default), validated."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise InvalidModel(f"{path}: not valid TOML ({error})") from None
    return parse_model(raw, where=str(path))


def parse_model(raw: Mapping[str, object], *, where: str = "model") -> SemanticModel:
    """The semantic model from an already decoded TOML document, validated."""
    try:
        return SemanticModel.model_validate(raw)
    except ValidationError as error:
        raise InvalidModel(f"{where}: {error}") from None
