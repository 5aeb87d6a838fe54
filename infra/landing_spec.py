"""The landing's AWS shapes, once for both renderers: each landed table's Glue table and its delivery
stream's S3 destination, in the API's (= CloudFormation's) property names.

The local runtime creates them in moto and its Firehose twin reads them back (infra/local/firehose.py);
the CDK renders the same dictionaries. Columns come from shared/analytics/rows.py, so the Glue table,
the Parquet files and the semantic model's views read one declaration.
https://docs.aws.amazon.com/glue/latest/webapi/API_TableInput.html
https://docs.aws.amazon.com/firehose/latest/APIReference/API_ExtendedS3DestinationConfiguration.html
https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.wiring_model import Landing
from shared.analytics.landing import PARTITION_KEY
from shared.analytics.rows import DECIMAL_PRECISION, DECIMAL_SCALE, LANDED_TABLES, ColumnType

# Hive types of Glue's columns (what Athena and Firehose's Parquet conversion read).
HIVE_TYPES: Mapping[ColumnType, str] = {
    "varchar": "string",
    "bigint": "bigint",
    "boolean": "boolean",
    "decimal": f"decimal({DECIMAL_PRECISION},{DECIMAL_SCALE})",
    "date": "date",
    "timestamp": "timestamp",
    "json": "string",
}
# The first day partition projection knows of; `NOW` is the last.
PROJECTION_START = "2020-01-01"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
# Parquet's compression: Snappy, Firehose's default for Parquet, cheap to decode for Athena and DuckDB.
COMPRESSION = "SNAPPY"


def glue_columns(table: str) -> list[dict[str, str]]:
    """The Glue columns of a landed table, in row order."""
    return [{"Name": c.name, "Type": HIVE_TYPES[c.type]} for c in LANDED_TABLES[table].columns]


def table_location(landing: Landing, table: str, bucket: str) -> str:
    """`s3://<bucket>/events/<table>/`."""
    return f"s3://{bucket}/{landing.table_prefix(table)}"


def glue_table_input(landing: Landing, table: str, bucket: str) -> dict[str, Any]:
    """The Glue TableInput of a landed table: Parquet, partitioned by `dt`, partitions projected."""
    location = table_location(landing, table, bucket)
    return {
        "Name": table,
        "Description": f"Domain events {LANDED_TABLES[table].event_type}, one row per event id",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "classification": "parquet",
            "EXTERNAL": "TRUE",
            "projection.enabled": "true",
            f"projection.{PARTITION_KEY}.type": "date",
            f"projection.{PARTITION_KEY}.format": "yyyy-MM-dd",
            f"projection.{PARTITION_KEY}.range": f"{PROJECTION_START},NOW",
            f"projection.{PARTITION_KEY}.interval": "1",
            f"projection.{PARTITION_KEY}.interval.unit": "DAYS",
            "storage.location.template": f"{location}{PARTITION_KEY}=${{{PARTITION_KEY}}}/",
        },
        "PartitionKeys": [{"Name": PARTITION_KEY, "Type": "string"}],
        "StorageDescriptor": {
            "Columns": glue_columns(table),
            "Location": location,
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "Compressed": True,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
        },
    }


def object_prefix(landing: Landing, table: str) -> str:
    """Where Firehose writes a table's files: its table prefix, then the event's date from the transform."""
    return f"{landing.table_prefix(table)}{PARTITION_KEY}=!{{partitionKeyFromLambda:{PARTITION_KEY}}}/"


def error_prefix(landing: Landing, table: str) -> str:
    """Where Firehose writes what it could not land, as it came, by error type and day."""
    return f"{landing.errors_prefix}/{table}/!{{firehose:error-output-type}}/!{{timestamp:yyyy-MM-dd}}/"


def s3_destination(
    landing: Landing,
    table: str,
    *,
    bucket_arn: str,
    role_arn: str,
    transform_arn: str,
    database: str,
    region: str,
) -> dict[str, Any]:
    """A delivery stream's ExtendedS3DestinationConfiguration: transform, partition, convert to Parquet."""
    return {
        "BucketARN": bucket_arn,
        "RoleARN": role_arn,
        "Prefix": object_prefix(landing, table),
        "ErrorOutputPrefix": error_prefix(landing, table),
        "BufferingHints": {"IntervalInSeconds": landing.buffer_seconds, "SizeInMBs": landing.buffer_mb},
        # Parquet compresses inside the file (COMPRESSION); the object itself stays uncompressed.
        "CompressionFormat": "UNCOMPRESSED",
        "ProcessingConfiguration": {
            "Enabled": True,
            "Processors": [
                {
                    "Type": "Lambda",
                    "Parameters": [
                        {"ParameterName": "LambdaArn", "ParameterValue": transform_arn},
                        # At most 3 MB per invocation (Firehose's default and maximum); 1 MB out per record.
                        {"ParameterName": "BufferSizeInMBs", "ParameterValue": "3"},
                        {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": "60"},
                    ],
                }
            ],
        },
        "DynamicPartitioningConfiguration": {"Enabled": True, "RetryOptions": {"DurationInSeconds": 300}},
        "DataFormatConversionConfiguration": {
            "Enabled": True,
            "InputFormatConfiguration": {"Deserializer": {"HiveJsonSerDe": {}}},
            "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": COMPRESSION}}},
            "SchemaConfiguration": {
                "DatabaseName": database,
                "TableName": table,
                "RoleARN": role_arn,
                "Region": region,
                "VersionId": "LATEST",
            },
        },
        "FileExtension": ".parquet",
    }
