"""The landing on the local runtime: published domain events become Parquet files where Firehose puts them."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from infra.local.clock import Clock
from infra.local.runtime import LocalRuntime
from infra.wiring import WIRING
from shared.aws.events import EventBridgePublisher
from tests.analytics.fixtures import history

BUCKET = "close2cash-analytics"
LANDING = WIRING.landings[0]


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(WIRING, secrets={}, mode="inprocess", clock=Clock(fast_forward=True)) as rt:
        yield rt


def keys(rt: LocalRuntime, prefix: str = "") -> list[str]:
    listed = rt.clients.s3().list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def parquet(rt: LocalRuntime, key: str) -> duckdb.DuckDBPyRelation:
    body = rt.clients.s3().get_object(Bucket=BUCKET, Key=key)["Body"].read()
    connection = duckdb.connect(":memory:")
    return connection.read_parquet(_scratch(body))


def _scratch(body: bytes) -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile(suffix=".parquet", delete=False)  # noqa: SIM115 - read after close
    handle.write(body)
    handle.close()
    return handle.name


def test_published_events_land_once_as_parquet_by_table_and_day(runtime: LocalRuntime) -> None:
    # Given the January-March history published on the bus (t-1 twice, with one event id)
    events = history()
    EventBridgePublisher(runtime.resources.bus_name, client=runtime.clients.events()).publish_events(events)
    # When the runtime drains (the buffers' interval passes)
    runtime.drain()
    # Then each table's events are Parquet files under events/<table>/dt=<day the fact became true>/
    time_keys = keys(runtime, "events/time_approved/")
    days = sorted({key.split("/")[2] for key in time_keys})
    assert days == ["dt=2026-01-13", "dt=2026-01-14", "dt=2026-01-15", "dt=2026-02-02"]
    assert all(key.endswith(".parquet") and "/close2cash-events-time_approved-1-" in key for key in time_keys)
    # and t-1, sent twice, is one row: every event id lands once
    ids = [row[0] for key in time_keys for row in parquet(runtime, key).select("event_id").fetchall()]
    assert len(ids) == len(set(ids)) == 4
    # and a file's columns are the Glue table's, in its order, with exact decimals
    glue = runtime.clients.glue().get_table(DatabaseName=LANDING.database, Name="time_approved")["Table"]
    first = parquet(runtime, time_keys[0])
    assert first.columns == [c["Name"] for c in glue["StorageDescriptor"]["Columns"]]
    assert str(first.select("amount").types[0]) == "DECIMAL(38,10)"


def test_a_buffer_waits_for_its_interval_before_it_is_written(runtime: LocalRuntime) -> None:
    # Given one event on the bus
    EventBridgePublisher(runtime.resources.bus_name, client=runtime.clients.events()).publish_events(
        history()[:1]
    )
    assert runtime.firehose is not None
    # When the landing is flushed before the buffer interval has passed, nothing is written
    assert runtime.flush_landing() == 0
    assert keys(runtime, "events/") == []
    # Then once the interval (300 s) has passed on the runtime's clock, the buffer is delivered
    runtime.clock.advance(LANDING.buffer_seconds)
    assert runtime.flush_landing() == 1
    assert len(keys(runtime, "events/opportunity_changed/")) == 1


def test_an_event_that_is_no_domain_event_lands_under_the_errors_prefix_as_it_came(
    runtime: LocalRuntime,
) -> None:
    # Given an event on the bus that claims to be an approval but carries no time entry
    bogus: dict[str, Any] = {"type": "close2cash.time.approved", "schema_version": 1, "data": {"hours": "x"}}
    runtime.clients.events().put_events(
        Entries=[
            {
                "EventBusName": runtime.resources.bus_name,
                "Source": LANDING.source,
                "DetailType": "close2cash.time.approved",
                "Detail": json.dumps(bogus),
            }
        ]
    )
    runtime.drain()
    # Then no row landed, and the record is kept with the reason under the errors prefix
    assert keys(runtime, "events/") == []
    (failed,) = keys(runtime, f"{LANDING.errors_prefix}/time_approved/processing-failed/")
    body = runtime.clients.s3().get_object(Bucket=BUCKET, Key=failed)["Body"].read()
    (line,) = [json.loads(text) for text in io.BytesIO(body).read().decode().splitlines()]
    assert line["errorCode"] == "Lambda.ProcessingFailed"
    assert "ProcessingFailed" in line["errorMessage"]  # why is in the transform's log, as in AWS

    assert json.loads(base64.b64decode(line["rawData"]))["detail"] == bogus
