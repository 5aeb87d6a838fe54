"""The analytics read side on one machine: landed Parquet files from the bucket, DuckDB, the report."""
