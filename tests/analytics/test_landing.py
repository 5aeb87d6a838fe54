"""The transform Firehose calls: each domain event as its landed row, each event id once, the rest failed."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pytest

from shared.analytics.landing import TransformRequest, parse_request, row_json, transform
from shared.domain.errors import ValidationFailed
from shared.domain.events import DomainEvent
from tests.analytics.fixtures import history, time


class Remembered:
    """`LandedIds` as a set: what a second buffer (or a backfill) finds already landed."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.calls = 0

    def claim(self, event_ids: Iterable[str]) -> set[str]:
        self.calls += 1
        fresh = set(event_ids) - self.ids
        self.ids |= fresh
        return fresh


def record(record_id: str, body: Any) -> dict[str, str]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return {"recordId": record_id, "data": base64.b64encode(data).decode()}


def bridged(event: DomainEvent[Any]) -> dict[str, Any]:
    """The EventBridge event EventBridge hands Firehose for a published domain event."""
    return {
        "version": "0",
        "id": "e2e1b4c2",
        "detail-type": event.type,
        "source": "close2cash.domain",
        "time": event.occurred_at.isoformat(),
        "detail": json.loads(event.model_dump_json()),
    }


def request(*records: dict[str, str]) -> TransformRequest:
    return parse_request({"invocationId": "i-1", "deliveryStreamArn": "arn:stream", "records": list(records)})


def decoded(data: str) -> dict[str, Any]:
    text = base64.b64decode(data).decode()
    assert text.endswith("\n")
    parsed: dict[str, Any] = json.loads(text, parse_float=Decimal)
    return parsed


def test_an_approved_entry_lands_as_its_row_in_the_partition_of_its_day() -> None:
    # Given the approval of 6.25 h at 133.33 on 2 February
    event = time("t-2", "6.25", "133.33", "2026-01-13", "2026-02-02")
    # When Firehose hands it to the transform
    answer = transform(request(record("r-1", bridged(event))), Remembered())
    # Then it lands Ok, partitioned by the day the fact became true, with the domain's figures exactly
    (landed,) = answer.records
    assert landed.result == "Ok"
    assert landed.metadata == {"partitionKeys": {"dt": "2026-02-02"}}
    row = decoded(landed.data)
    assert row["event_id"] == str(event.id)
    assert row["hours"] == Decimal("6.25")
    assert row["amount"] == Decimal("833.31")  # 833.3125 rounded half-up per entry
    assert row["occurred_at"] == "2026-02-02 12:00:00.000000"
    assert row["worked_on"] == "2026-01-13"
    assert row["project_id"] == "p-1"


def test_an_event_id_lands_once_across_buffers_and_within_one() -> None:
    # Given one event sent twice in one buffer, then again in a later buffer (a retry, a backfill)
    event = history()[2]
    landed = Remembered()
    first = transform(request(record("r-1", bridged(event)), record("r-2", bridged(event))), landed)
    later = transform(request(record("r-3", bridged(event))), landed)
    # Then the first copy lands and every other copy is dropped
    assert [r.result for r in first.records] == ["Ok", "Dropped"]
    assert [r.result for r in later.records] == ["Dropped"]
    # and the landed ids are asked once per buffer, not once per record
    assert landed.calls == 2


def test_a_record_that_is_no_domain_event_fails_as_it_came_and_lands_no_id() -> None:
    # Given a buffer with a good event, a bad body and an unknown event type
    good = history()[0]
    unknown = {**bridged(good), "detail": {**bridged(good)["detail"], "type": "close2cash.deal.vanished"}}
    landed = Remembered()
    answer = transform(
        request(record("r-1", bridged(good)), record("r-2", b"not json"), record("r-3", unknown)), landed
    )
    # Then the good one lands, the others fail with their reason and their data unchanged
    ok, garbled, strange = answer.records
    assert ok.result == "Ok"
    assert (garbled.result, strange.result) == ("ProcessingFailed", "ProcessingFailed")
    assert garbled.data == base64.b64encode(b"not json").decode()
    assert "not base64 JSON" in (garbled.reason or "")
    assert "close2cash.deal.vanished" in (strange.reason or "")
    # and only the landed event's id was claimed, so the failed ones can be landed again
    assert landed.ids == {str(good.id)}
    # and Firehose's answer carries its own keys only
    dumped = answer.model_dump(mode="json", exclude_none=True)
    assert set(dumped["records"][1]) == {"recordId", "result", "data"}


def test_a_request_that_is_not_from_firehose_is_refused_naming_the_problem() -> None:
    with pytest.raises(ValidationFailed, match="records"):
        parse_request({"invocationId": "i-1"})


def test_row_json_writes_decimals_exactly_and_timestamps_as_the_serde_reads_them() -> None:
    from datetime import date, datetime

    text = row_json(
        {
            "a": Decimal("12345678901234567890.1234567891"),
            "b": Decimal("1E+3"),
            "t": datetime(2026, 1, 2, 3, 4, 5, 6),
            "d": date(2026, 1, 2),
            "f": False,
            "n": None,
            "s": 'say "hi"',
        }
    )
    assert text == (
        '{"a":12345678901234567890.1234567891,"b":1000,"t":"2026-01-02 03:04:05.000006",'
        '"d":"2026-01-02","f":false,"n":null,"s":"say \\"hi\\""}'
    )
