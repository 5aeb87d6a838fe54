"""`LandedIds` port on the idempotency table: one mark per domain event id that was landed.

A buffer's ids are looked up in batches of 100 (BatchGetItem) and the new ones marked in batches of
25 (BatchWriteItem): two calls per 25-100 events, not one per event. Two transforms landing the same
id at the very same moment (a Firehose retry racing its first attempt) may both land it; the views
count a source record's latest row once (shared/analytics/semantic.py), so the measures hold.
A mark expires after `MARK_DAYS`, longer than the bus archive keeps events, so a backfill from the
archive never lands an id twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import boto3

from shared.aws.dynamo_batch import MAX_BATCH_GET, MAX_BATCH_WRITE, batch_get, batch_write
from shared.domain.models import utcnow

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

MARK = "LANDED#"
MARK_DAYS = 400


class DynamoLandedIds:
    """`LandedIds` port: marks `LANDED#<event id>` in the idempotency table (pk/sk, TTL `expiration`)."""

    def __init__(self, table: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = table
        self._client: DynamoDBClient = client or boto3.client("dynamodb")
        self.calls = 0

    def claim(self, event_ids: Iterable[str], *, now: datetime | None = None) -> set[str]:
        ids = list(dict.fromkeys(event_ids))
        landed: set[str] = set()
        for start in range(0, len(ids), MAX_BATCH_GET):
            keys = [_key(event_id) for event_id in ids[start : start + MAX_BATCH_GET]]
            self.calls += 1
            landed |= {
                item["pk"]["S"].removeprefix(MARK) for item in batch_get(self._client, self._table, keys)
            }
        fresh = [event_id for event_id in ids if event_id not in landed]
        expires = str(int(((now or utcnow()) + timedelta(days=MARK_DAYS)).timestamp()))
        for start in range(0, len(fresh), MAX_BATCH_WRITE):
            items = [
                {**_key(event_id), "expiration": {"N": expires}}
                for event_id in fresh[start : start + MAX_BATCH_WRITE]
            ]
            self.calls += 1
            batch_write(self._client, self._table, items)
        return set(fresh)


def _key(event_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"{MARK}{event_id}"}, "sk": {"S": "landed"}}
