"""Landed rows: a domain event as one flat row of its event type's table, and that table's columns.

Pure: no I/O. The column list of every landed table is derived here from the pydantic model of
the event's record, so the Glue table, the DuckDB table and the semantic model's validation all
read one declaration.

Shape of a row:
- the envelope: event_id, event_type, schema_version, occurred_at, source_system, source_type,
  source_id, source_version, subject, correlation_id;
- the record's fields, nested models flattened with `_` (`rate_amount`, `rate_currency`,
  `project_id`). The record's own `source` is the envelope's (DomainEvent enforces it), so it is
  not repeated;
- a few figures the domain computes and a SQL engine must not recompute (DERIVED): a time entry's
  `amount` (hours x rate rounded half-up per entry) and a billing document's `subtotal_amount`,
  `tax_total_amount`, `total_amount` (rounded per line, then summed). Recomputing them in SQL
  would round differently and miss the ledger's totals by a cent.

Types: Decimal stays exact (`decimal`, DECIMAL(38, 10); more than 10 places is refused, never
rounded), timestamps are UTC without a zone (`timestamp`, as Parquet/Glue hold them), enums and
ids are strings.

Lists (invoice lines, payment allocations, milestones) are landed as one JSON string column, not a
child table: every measure of this slice reads document totals (landed as DERIVED columns), so a
child table would add a second file and a join per event without a query that needs it, and one
row per event keeps "exactly once per event id" a property of one file. DuckDB (`json_extract`)
and Athena (`json_extract`, `UNNEST(CAST(json_parse(...) AS ARRAY(...)))`) can still reach the
lines; a line-level measure is the moment to add a child table.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel

from shared.domain.billing import BillingDocument
from shared.domain.delivery import TimeEntry
from shared.domain.events import EVENT_TYPES, DomainEvent

ColumnType = Literal["varchar", "bigint", "boolean", "decimal", "date", "timestamp", "json"]

DECIMAL_PRECISION = 38
DECIMAL_SCALE = 10


@dataclass(frozen=True)
class Column:
    """One column of a landed table: its name and portable type."""

    name: str
    type: ColumnType


ENVELOPE: tuple[Column, ...] = (
    Column("event_id", "varchar"),
    Column("event_type", "varchar"),
    Column("schema_version", "bigint"),
    Column("occurred_at", "timestamp"),
    Column("source_system", "varchar"),
    Column("source_type", "varchar"),
    Column("source_id", "varchar"),
    Column("source_version", "varchar"),
    Column("subject", "varchar"),
    Column("correlation_id", "varchar"),
)

Derived = tuple[Column, Callable[[Any], Any]]


def _time_amount(entry: TimeEntry) -> Decimal:
    return entry.amount.amount


# Figures the domain computes (see the module docstring), per record class.
DERIVED: Mapping[type[BaseModel], tuple[Derived, ...]] = {
    TimeEntry: ((Column("amount", "decimal"), _time_amount),),
    BillingDocument: (
        (Column("subtotal_amount", "decimal"), lambda doc: doc.subtotal.amount),
        (Column("tax_total_amount", "decimal"), lambda doc: doc.tax_total.amount),
        (Column("total_amount", "decimal"), lambda doc: doc.total.amount),
    ),
}


def table_name(event_type: str) -> str:
    """The landed table of an event type: "close2cash.time.approved" -> "time_approved"."""
    return event_type.removeprefix(DomainEvent.TYPE_PREFIX).replace(".", "_")


def _record_class(event_class: type[DomainEvent[Any]]) -> type[BaseModel]:
    annotation = event_class.model_fields["data"].annotation
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        raise TypeError(f"{event_class.__name__}.data is not a pydantic model")
    return annotation


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) is Annotated:
        return _unwrap_optional(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return _unwrap_optional(members[0])
    return annotation


def _scalar_type(annotation: Any) -> ColumnType:
    if get_origin(annotation) in (tuple, list, dict, Union, types.UnionType):
        return "json"
    if not isinstance(annotation, type):
        return "json"
    checks: tuple[tuple[type, ColumnType], ...] = (
        (bool, "boolean"),  # before int: bool is an int subclass
        (int, "bigint"),
        (Decimal, "decimal"),
        (datetime, "timestamp"),  # before date: datetime is a date subclass
        (date, "date"),
        (str, "varchar"),  # StrEnum included
        (Enum, "varchar"),
        (UUID, "varchar"),
    )
    for python_type, column_type in checks:
        if issubclass(annotation, python_type):
            return column_type
    return "json"


def _fields(
    model: type[BaseModel], prefix: str, skip: frozenset[str]
) -> list[tuple[Column, tuple[str, ...]]]:
    found: list[tuple[Column, tuple[str, ...]]] = []
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        annotation = _unwrap_optional(field.annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for column, path in _fields(annotation, f"{prefix}{name}_", frozenset()):
                found.append((column, (name, *path)))
        else:
            found.append((Column(f"{prefix}{name}", _scalar_type(annotation)), (name,)))
    return found


@dataclass(frozen=True)
class LandedTable:
    """The landed table of one event type: its columns and how a record fills them."""

    name: str
    event_type: str
    record_class: type[BaseModel]
    fields: tuple[tuple[Column, tuple[str, ...]], ...]
    derived: tuple[Derived, ...]

    @property
    def columns(self) -> tuple[Column, ...]:
        """Envelope, then record fields, then derived figures."""
        return (
            ENVELOPE
            + tuple(column for column, _ in self.fields)
            + tuple(column for column, _ in self.derived)
        )

    def column_names(self) -> frozenset[str]:
        """The names of every column."""
        return frozenset(column.name for column in self.columns)


def _landed_table(event_type: str, event_class: type[DomainEvent[Any]]) -> LandedTable:
    record = _record_class(event_class)
    skip = frozenset({"source"}) if "source" in record.model_fields else frozenset()
    derived = tuple(d for cls, ds in DERIVED.items() if issubclass(record, cls) for d in ds)
    table = LandedTable(table_name(event_type), event_type, record, tuple(_fields(record, "", skip)), derived)
    names = [column.name for column in table.columns]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise TypeError(f"landed table {table.name} has colliding columns: {', '.join(duplicates)}")
    return table


SOURCE_KEY = ("source_system", "source_type", "source_id")
# What one record is, per table, where its source alone is not: a PSA schedule or salary covers many
# months, and each month's capacity is a record of its own (a later read of that month supersedes it).
RECORD_KEYS: Mapping[str, tuple[str, ...]] = {"capacity_changed": (*SOURCE_KEY, "period_start")}


def record_key(table: str) -> tuple[str, ...]:
    """The columns that name one record of `table` (later rows of a record supersede earlier ones)."""
    return RECORD_KEYS.get(table, SOURCE_KEY)


LANDED_TABLES: Mapping[str, LandedTable] = {
    table_name(event_type): _landed_table(event_type, cls) for event_type, cls in EVENT_TYPES.items()
}
"""Every landed table by name, one per event type (current schema version)."""


def _cell(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if column.type == "json":
        return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"))
    if column.type == "decimal":
        number = Decimal(value)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -DECIMAL_SCALE:
            raise ValueError(f"{column.name}={number} has more than {DECIMAL_SCALE} decimal places")
        return number
    if column.type == "timestamp":
        # Landed timestamps are UTC without a zone (Parquet / Glue `timestamp`).
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return value


def _at(record: BaseModel, path: tuple[str, ...]) -> Any:
    value: Any = record
    for name in path:
        if value is None:
            return None
        value = getattr(value, name)
    return value


def to_row(event: DomainEvent[Any]) -> dict[str, Any]:
    """The flat row of `event` for its event type's landed table (column name -> value)."""
    table = LANDED_TABLES.get(table_name(event.type))
    if table is None or not isinstance(event.data, table.record_class):
        raise ValueError(f"no landed table for event type {event.type} v{event.schema_version}")
    envelope = (
        str(event.id),
        event.type,
        event.schema_version,
        event.occurred_at,
        event.source.system,
        event.source.type,
        event.source.id,
        event.source.version,
        event.subject,
        event.correlation_id,
    )
    row = {column.name: _cell(value, column) for column, value in zip(ENVELOPE, envelope, strict=True)}
    for column, path in table.fields:
        row[column.name] = _cell(_at(event.data, path), column)
    for column, compute in table.derived:
        row[column.name] = _cell(compute(event.data), column)
    return row
