"""DuckDB over the landed files: one view per landed table, then the semantic model's views.

A table with no file yet is an empty table of its columns, so every measure answers (zero) before
its first event lands. Files are read with Hive partitioning (`dt=` from the path)
and by column name, so files landed before a column was added read it as NULL.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from infra.wiring_model import Landing
from shared.analytics.rows import LANDED_TABLES
from shared.analytics.semantic import SemanticModel, landed_table_sql


def open_database(
    folder: Path, landing: Landing, model: SemanticModel, *, materialize: bool = True
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose tables are the landed files under `folder` and whose macros the model's.

    With `materialize` the files are read once into memory (a report asks a dozen queries, each of
    which would read every file again: a table has a file per day and buffer); without, each table
    is a view over its files."""
    connection = duckdb.connect(":memory:")
    for table in LANDED_TABLES:
        files = folder / landing.table_prefix(table)
        if any(files.glob("*/*.parquet")):
            pattern = str(files / "*" / "*.parquet").replace("'", "''")
            kind = "TABLE" if materialize else "VIEW"
            connection.execute(
                f"CREATE {kind} {table} AS SELECT * FROM read_parquet('{pattern}',"  # noqa: S608 - our names
                " hive_partitioning = true, union_by_name = true)"
            )
        else:
            connection.execute(landed_table_sql(table, "duckdb"))
    for statement in model.create_views("duckdb"):
        connection.execute(statement)
    return connection
