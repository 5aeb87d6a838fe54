"""Issue 14's analytics figures: landing cost per 1M events, bytes per event, the report on 1M events.

Two parts:
1. Landing, counted: SAMPLE domain events (the fixture history's kinds, many records) published on
   the local runtime's bus go through the landing as in AWS (rule -> delivery stream -> transform
   -> Parquet in S3). Counted: bytes per EventBridge record, transform invocations and records,
   DynamoDB calls for the landed ids, objects and Parquet bytes. The AWS cost of 1M events is
   modelled from those counts at list prices (below, with their pages).
2. The report at scale: EVENTS landed rows (default 1,000,000) are generated straight into Parquet
   files partitioned by table and day as Firehose writes them (the rows come from real events
   through `to_row`, replicated by DuckDB with fresh ids, records, dates and amounts; one time
   entry in ten corrected later). Measured: `close2cash analytics report`'s work (open the files,
   every measure whole and in four slices), and the ratio of DuckDB's time for `delivered` to a
   plain Python aggregation of the same file columns (rows fetched, latest per record kept, summed).

One run: `python -m tests.benchmarks.analytics [EVENTS]`.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from infra.analytics.database import open_database
from infra.analytics.report import gather
from infra.wiring import WIRING
from shared.analytics.rows import table_name, to_row
from shared.analytics.semantic import landed_table_sql, load_model
from tests.analytics.fixtures import history

EVENTS = 1_000_000
SAMPLE = 2_000
LANDING = WIRING.landings[0]
# Share of each landed table in a year of a mid-size firm's events (time dominates).
MIX = {
    "time_approved": 0.80,
    "invoice_posted": 0.06,
    "payment_received": 0.06,
    "opportunity_changed": 0.04,
    "credit_memo_issued": 0.04,
}
DAYS = 365
DAY = f"TIMESTAMP '2026-01-01 12:00:00' + to_days(CAST(i % {DAYS} AS INTEGER))"

# us-east-1 list prices (USD), as of the pages named.
# https://aws.amazon.com/firehose/pricing/ (not readable from here: figures as last listed; check them):
# Direct PUT ingestion $0.029/GB (first 500 TB/month), each
# record rounded up to the next 5 KB; format conversion $0.018/GB; dynamic partitioning $0.020/GB
# plus $0.005 per 1,000 S3 objects delivered.
FIREHOSE_INGEST_GB = 0.029
FIREHOSE_RECORD_ROUNDING = 5 * 1024
FIREHOSE_CONVERSION_GB = 0.018
FIREHOSE_PARTITION_GB = 0.020
FIREHOSE_PER_1000_OBJECTS = 0.005
# https://aws.amazon.com/lambda/pricing/ : $0.20 per 1M requests, $0.0000133334 per GB-s (arm64).
LAMBDA_REQUEST = 0.20 / 1_000_000
LAMBDA_GB_SECOND = 0.0000133334
TRANSFORM_SECONDS = 0.5  # assumed per invocation of a 3 MB buffer (measured locally below, for scale)
TRANSFORM_GB = 0.5
# https://aws.amazon.com/dynamodb/pricing/on-demand/ : $0.625 per 1M write, $0.125 per 1M read units.
DDB_WRITE = 0.625 / 1_000_000
DDB_READ = 0.125 / 1_000_000
# https://aws.amazon.com/s3/pricing/ : PUT $0.005 per 1,000; Standard storage $0.023 per GB-month;
# GET $0.0004 per 1,000.
S3_PUT = 0.005 / 1000
S3_GET = 0.0004 / 1000
S3_GB_MONTH = 0.023
# https://aws.amazon.com/athena/pricing/ : $5 per TB scanned, at least 10 MB per query.
ATHENA_TB = 5.0
ATHENA_MIN_BYTES = 10 * 1024 * 1024
# https://aws.amazon.com/eventbridge/pricing/ : custom events $1.00 per 1M (published once for the
# flows; a rule's delivery to its target is not charged again).
GB = 1024**3


@dataclass(frozen=True)
class Landed:
    """What SAMPLE events cost through the local landing."""

    events: int
    record_bytes: float
    invocations: int
    ddb_reads: int
    ddb_writes: int
    objects: int
    parquet_bytes: int
    seconds: float

    def cost_per_million(self, *, objects_per_million: float, report_scan_bytes: float) -> dict[str, float]:
        """Modelled AWS cost of landing 1M events (and of one report over them in Athena)."""
        scale = 1_000_000 / self.events
        billed_record = math.ceil(self.record_bytes / FIREHOSE_RECORD_ROUNDING) * FIREHOSE_RECORD_ROUNDING
        ingested_gb = 1_000_000 * billed_record / GB
        converted_gb = 1_000_000 * self.record_bytes / GB
        invocations = self.invocations * scale
        parquet_gb = self.parquet_bytes * scale / GB
        return {
            "Firehose ingestion (5 KB rounding)": ingested_gb * FIREHOSE_INGEST_GB,
            "Firehose Parquet conversion": converted_gb * FIREHOSE_CONVERSION_GB,
            "Firehose dynamic partitioning": converted_gb * FIREHOSE_PARTITION_GB
            + objects_per_million / 1000 * FIREHOSE_PER_1000_OBJECTS,
            "Lambda transform": invocations
            * (LAMBDA_REQUEST + TRANSFORM_SECONDS * TRANSFORM_GB * LAMBDA_GB_SECOND),
            # A unit per id: one read (the lookup, strongly consistent, under 4 KB), one write (the mark).
            "DynamoDB landed ids": 1_000_000 * (DDB_WRITE + DDB_READ),
            "S3 PUTs": objects_per_million * S3_PUT,
            "S3 storage (per month)": parquet_gb * S3_GB_MONTH,
            "Athena, one report": max(report_scan_bytes, ATHENA_MIN_BYTES) / 1024**4 * ATHENA_TB,
        }


def objects_per_month(events: int) -> float:
    """Objects Firehose writes for `events` spread evenly over 30 days: one per non-empty buffer and
    partition (events land in today's partition), a buffer every `buffer_seconds` per stream."""
    buffers = 30 * 86400 / LANDING.buffer_seconds
    return sum(buffers * (1 - math.exp(-events * share / buffers)) for share in MIX.values())


def _sample_events(count: int) -> list[Any]:
    """`count` distinct domain events of the history's kinds (fresh ids, distinct records)."""
    base = history()
    found: list[Any] = []
    for index in range(count):
        event = base[index % len(base)]
        record = event.data.model_copy(
            update={"source": event.source.model_copy(update={"id": f"{event.source.id}-{index}"})}
        )
        found.append(
            type(event).about(record, correlation_id=f"bench-{index}", occurred_at=event.occurred_at)
        )
    return found


def measure_landing(count: int = SAMPLE) -> Landed:
    """SAMPLE events through the local runtime's landing, counted."""
    from infra.local.clock import Clock
    from infra.local.runtime import LocalRuntime
    from shared.aws.events import EventBridgePublisher, to_put_events_entry

    events = _sample_events(count)
    sizes = [len(to_put_events_entry(e, "close2cash")["Detail"]) + 250 for e in events]  # + the envelope
    with LocalRuntime(WIRING, secrets={}, mode="inprocess", clock=Clock(fast_forward=True)) as rt:
        started = time.perf_counter()
        EventBridgePublisher(rt.resources.bus_name, client=rt.clients.events()).publish_events(events)
        rt.flush_landing(force=True)
        seconds = time.perf_counter() - started
        assert rt.firehose is not None
        stats = list(rt.firehose.stats.values())
    invocations = sum(s.invocations for s in stats)
    per_stream = [s.received for s in stats]
    return Landed(
        events=count,
        record_bytes=sum(sizes) / len(sizes),
        invocations=invocations,
        ddb_reads=sum(math.ceil(n / 100) for n in per_stream),
        ddb_writes=sum(math.ceil(n / 25) for n in per_stream),
        objects=sum(s.objects for s in stats),
        parquet_bytes=sum(s.bytes for s in stats),
        seconds=seconds,
    )


def generate(folder: Path, events: int) -> dict[str, int]:
    """`events` landed rows in Parquet under folder/events/<table>/dt=<day>/, as Firehose lays them out."""
    connection = duckdb.connect(":memory:")
    templates: dict[str, dict[str, Any]] = {}
    for event in history():
        templates.setdefault(table_name(event.type), to_row(event))
    counts = {}
    for table, share in MIX.items():
        rows = int(events * share)
        counts[table] = rows
        connection.execute(
            landed_table_sql(table, "duckdb").replace(f"CREATE TABLE {table}", "CREATE TABLE template")
        )
        row = templates[table]
        connection.execute(
            f"INSERT INTO template ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",  # noqa: S608
            list(row.values()),
        )
        varied = _varied(table)
        target = folder / LANDING.table_prefix(table)
        target.mkdir(parents=True, exist_ok=True)
        connection.execute(
            f"COPY (SELECT * REPLACE ({varied}), strftime({DAY}, '%Y-%m-%d') AS dt"  # noqa: S608
            f" FROM template, range({rows}) AS r(i)) TO '{target}'"
            " (FORMAT parquet, PARTITION_BY (dt), COMPRESSION snappy, OVERWRITE_OR_IGNORE)"
        )
        connection.execute("DROP TABLE template")
    connection.close()
    return counts


def _varied(table: str) -> str:
    """Fresh id, a record per row (one in ten of them a later correction), a day of the year, an amount."""
    day = DAY
    replaced = {
        "event_id": "CAST(uuid() AS VARCHAR)",
        "source_id": f"'{table}-' || CAST(i - CASE WHEN i % 10 = 9 THEN 1 ELSE 0 END AS VARCHAR)",
        "occurred_at": day,
    }
    amounts = {
        "time_approved": ("amount", "CAST(100 + (i % 700) * 1.25 AS DECIMAL(38,10))"),
        "invoice_posted": ("total_amount", "CAST(1000 + (i % 97) * 10 AS DECIMAL(38,10))"),
        "payment_received": ("amount_amount", "CAST(900 + (i % 89) * 10 AS DECIMAL(38,10))"),
        "opportunity_changed": ("amount_amount", "CAST(20000 + (i % 50) * 1000 AS DECIMAL(38,10))"),
        "credit_memo_issued": ("total_amount", "CAST(50 + (i % 13) * 5 AS DECIMAL(38,10))"),
    }
    name, value = amounts[table]
    replaced[name] = value
    dates = {
        "time_approved": "worked_on",
        "invoice_posted": "issue_date",
        "payment_received": "received_on",
        "opportunity_changed": "close_date",
        "credit_memo_issued": "issue_date",
    }
    replaced[dates[table]] = f"CAST({day} AS DATE)"
    customers = {
        "invoice_posted": "customer_id",
        "payment_received": "customer_id",
        "opportunity_changed": "account_id",
        "credit_memo_issued": "customer_id",
    }
    if table in customers:
        replaced[customers[table]] = "'customer-' || CAST(i % 40 AS VARCHAR)"
    if table == "time_approved":
        replaced["project_id"] = "'project-' || CAST(i % 120 AS VARCHAR)"
        replaced["worker_id"] = "'worker-' || CAST(i % 60 AS VARCHAR)"
    if table == "invoice_posted":
        replaced["engagement_id"] = "'project-' || CAST(i % 120 AS VARCHAR)"
    return ", ".join(f"{expression} AS {column}" for column, expression in replaced.items())


def python_delivered(folder: Path) -> tuple[Decimal, float]:
    """`delivered` by plain Python over the same files: rows fetched, latest per record, summed."""
    started = time.perf_counter()
    pattern = str(folder / LANDING.table_prefix("time_approved") / "*" / "*.parquet")
    rows = duckdb.sql(
        "SELECT source_system, source_type, source_id, occurred_at, event_id, amount, billable"  # noqa: S608
        f" FROM read_parquet('{pattern}')"
    ).fetchall()
    latest: dict[tuple[str, str, str], tuple[Any, str, Decimal, bool]] = {}
    for system, kind, source, occurred, event_id, amount, billable in rows:
        key = (system, kind, source)
        held = latest.get(key)
        if held is None or (occurred, event_id) > (held[0], held[1]):
            latest[key] = (occurred, event_id, amount, billable)
    total = sum((amount for _, _, amount, billable in latest.values() if billable), Decimal(0))
    return total, time.perf_counter() - started


def main(argv: Sequence[str]) -> int:
    events = int(argv[0]) if argv else EVENTS
    say = print
    landed = measure_landing()
    say(f"== Landing {landed.events:,} domain events on the local runtime (bus, stream, transform, S3) ==")
    say(
        f"  {landed.record_bytes:,.0f} bytes per EventBridge record, {landed.invocations} transform calls,"
        f" {landed.ddb_reads} + {landed.ddb_writes} DynamoDB batch calls (get 100, put 25),"
        f" {landed.objects} objects, {landed.seconds:.1f} s"
    )
    folder = Path(tempfile.mkdtemp(prefix="c2c-analytics-bench-"))
    try:
        started = time.perf_counter()
        counts = generate(folder, events)
        generated = time.perf_counter() - started
        files = list(folder.rglob("*.parquet"))
        size = sum(f.stat().st_size for f in files)
        total = sum(counts.values())
        say(f"\n== {total:,} landed events generated into {len(files)} Parquet files ({generated:.1f} s) ==")
        say(f"  {size / total:,.1f} bytes per event at rest (Parquet, Snappy, one file per table and day)")
        model = load_model()
        started = time.perf_counter()
        db = open_database(folder, LANDING, model)
        report = gather(db, model, as_of=datetime(2027, 1, 1, tzinfo=UTC), source=str(folder))
        report_seconds = time.perf_counter() - started
        (usd,) = [row for row in report.totals if row["currency"] == "USD"]
        say(
            f"  the report (every measure, whole and in four slices), files read once: {report_seconds:.2f} s"
        )
        say(f"  delivered {usd['delivered']:,} USD, billed {usd['billed']:,} USD, DSO {usd['dso']} days")
        db.close()
        # The ratio: both read the same files for the one measure (DuckDB through the model's view).
        files_db = open_database(folder, LANDING, model, materialize=False)
        started = time.perf_counter()
        (duck,) = files_db.execute(
            "SELECT SUM(value) FROM measure_delivered(TIMESTAMP '2027-01-01 00:00:00')"
        ).fetchone() or (None,)
        duck_seconds = time.perf_counter() - started
        files_db.close()
        python_total, python_seconds = python_delivered(folder)
        assert Decimal(duck) == python_total, (duck, python_total)
        say(
            f"  delivered from the files: DuckDB {duck_seconds:.3f} s, plain Python {python_seconds:.2f} s,"
            f" ratio {duck_seconds / python_seconds:.3f} (both {python_total:,})"
        )
        objects = objects_per_month(1_000_000)
        costs = landed.cost_per_million(
            objects_per_million=objects, report_scan_bytes=size * 1_000_000 / total
        )
        say(
            f"\n== Modelled AWS cost of landing 1M events in a month (us-east-1 list prices, USD;"
            f" {objects:,.0f} objects: a {LANDING.buffer_seconds} s buffer per stream) =="
        )
        for name, usd_cost in costs.items():
            say(f"  {name:<40} {usd_cost:10.4f}")
        landing = sum(v for k, v in costs.items() if not k.startswith(("Athena", "S3 storage")))
        say(f"  {'landing, once':<40} {landing:10.4f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
