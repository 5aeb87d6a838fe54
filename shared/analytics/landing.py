"""Landing: a buffer of domain events, as Data Firehose hands it over, turned into landed rows.

Firehose invokes the transform function with a buffer of records; each record's data is one
EventBridge event (base64) whose `detail` is a domain event. Each comes back as:

- `Ok`: the event's row (rows.py) as one JSON object, and the partition key `dt`, the UTC date
  the fact became true. Firehose converts the rows to Parquet with the Glue table's schema and
  writes them under `<table>/dt=<dt>/`.
- `Dropped`: an event id already landed (a Firehose retry, an EventBridge redelivery, a backfill
  over a window already landed). `LandedIds` remembers every id landed, so each lands once.
- `ProcessingFailed`, with the reason: not a domain event of a known type and version. Firehose
  writes the record as it came to the errors prefix, so nothing is lost and it can be landed again.

JSON of a row, as Firehose's Hive JSON SerDe reads it: decimals as JSON numbers written exactly
(never through a float), timestamps as `yyyy-MM-dd HH:mm:ss.ffffff` in UTC (the deserializer's
default `java.sql.Timestamp.valueOf` format), dates as `yyyy-MM-dd`.
https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html
https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html
https://docs.aws.amazon.com/firehose/latest/APIReference/API_HiveJsonSerDe.html
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.analytics.rows import to_row
from shared.domain.errors import ValidationFailed
from shared.domain.events import DomainEvent, parse_event

PARTITION_KEY = "dt"


class LandedIds(Protocol):
    """The ids of every event already landed (in AWS: marks in the idempotency table)."""

    def claim(self, event_ids: Iterable[str]) -> set[str]:
        """Mark `event_ids` landed; return those that were not landed before (to land now)."""
        ...


class FirehoseRecord(BaseModel):
    """One record of a transformation request: base64 of the EventBridge event."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    record_id: str = Field(alias="recordId", min_length=1)
    data: str


class TransformRequest(BaseModel):
    """What Firehose sends the transform function."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    invocation_id: str = Field(alias="invocationId", default="")
    delivery_stream_arn: str = Field(alias="deliveryStreamArn", default="")
    records: tuple[FirehoseRecord, ...]


class TransformedRecord(BaseModel):
    """One record of the answer: the row (base64) and its partition key, dropped, or failed."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    record_id: str = Field(alias="recordId")
    result: Literal["Ok", "Dropped", "ProcessingFailed"]
    data: str
    metadata: dict[str, dict[str, str]] | None = None
    # Not part of Firehose's contract (it ignores extra keys): why a record failed, for the logs.
    reason: str | None = Field(default=None, exclude=True)


class TransformResponse(BaseModel):
    """What the transform function answers: one record per record asked, in the same order."""

    records: tuple[TransformedRecord, ...]

    def counts(self) -> dict[str, int]:
        """Records per result (Ok, Dropped, ProcessingFailed)."""
        found: dict[str, int] = {}
        for record in self.records:
            found[record.result] = found.get(record.result, 0) + 1
        return found


def row_json(row: Mapping[str, Any]) -> str:
    """One landed row as the JSON object Firehose's Hive JSON SerDe converts to Parquet."""
    parts = [f"{json.dumps(name)}:{_json_value(value)}" for name, value in row.items()]
    return "{" + ",".join(parts) + "}"


def _json_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        # Exactly as held (no exponent), so the SerDe reads the decimal the domain computed.
        return format(value, "f")
    if isinstance(value, datetime):
        return json.dumps(value.strftime("%Y-%m-%d %H:%M:%S.%f"))
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(value)


def partition_date(event: DomainEvent[Any]) -> str:
    """The `dt` partition of an event: the UTC date of `occurred_at`."""
    return event.occurred_at.astimezone(UTC).date().isoformat()


def _decoded(record: FirehoseRecord) -> DomainEvent[Any]:
    try:
        envelope = json.loads(base64.b64decode(record.data, validate=True))
    except (binascii.Error, ValueError) as error:
        raise ValidationFailed(f"record data is not base64 JSON ({error})") from None
    detail = envelope.get("detail") if isinstance(envelope, dict) else None
    if not isinstance(detail, dict):
        raise ValidationFailed("record is not an EventBridge event with a `detail` object")
    return parse_event(detail)


def transform(request: TransformRequest, landed: LandedIds) -> TransformResponse:
    """Each record as its landed row, an event id landed before dropped, a record that is no event failed."""
    rows: dict[str, tuple[str, DomainEvent[Any], dict[str, Any]]] = {}
    failed: dict[str, str] = {}
    for record in request.records:
        try:
            event = _decoded(record)
            rows[record.record_id] = (str(event.id), event, to_row(event))
        except (ValidationFailed, ValueError) as error:
            failed[record.record_id] = str(error)
    # One id may come twice in one buffer (an EventBridge retry): the first lands, the second drops.
    first: dict[str, str] = {}
    for record_id, (event_id, _, _) in rows.items():
        first.setdefault(event_id, record_id)
    fresh = landed.claim(first) if first else set()
    answers: list[TransformedRecord] = []
    for record in request.records:
        if record.record_id in failed:
            answers.append(_failed(record, failed[record.record_id]))
            continue
        event_id, event, row = rows[record.record_id]
        if first[event_id] != record.record_id or event_id not in fresh:
            answers.append(TransformedRecord(record_id=record.record_id, result="Dropped", data=""))
            continue
        answers.append(
            TransformedRecord(
                record_id=record.record_id,
                result="Ok",
                data=base64.b64encode((row_json(row) + "\n").encode()).decode(),
                metadata={"partitionKeys": {PARTITION_KEY: partition_date(event)}},
            )
        )
    return TransformResponse(records=tuple(answers))


def _failed(record: FirehoseRecord, reason: str) -> TransformedRecord:
    # Firehose writes a failed record's original data to the errors prefix; it is sent back as it came.
    return TransformedRecord(
        record_id=record.record_id, result="ProcessingFailed", data=record.data, reason=reason
    )


def parse_request(payload: Mapping[str, Any]) -> TransformRequest:
    """The transformation request Firehose sent, or ValidationFailed naming what is wrong with it."""
    try:
        return TransformRequest.model_validate(payload)
    except ValidationError as error:
        raise ValidationFailed(f"not a Firehose transformation request: {error}") from None
