"""Work records, pending batches and booked engagements on the ledger table (`PostingStore` port).

Items (pk / sk), beside the ledger's own (shared/aws/ledger.py):
- `WORK#<system>#<kind>#<id>` / `WORK`: one piece of work (`WorkRecord` in `record`), with
  the attributes the indexes and conditions need: `engagement_key` `<PSA system>#<project>` and
  `engagement_sort` `<worked on>#<kind>#<id>` (index `by-engagement`, keys only: `time list`),
  `batch` and `batch_at` (epoch ms: the claim of the batch writing it now), and, while parked or
  in exception, the status index's `WORK#parked` / `WORK#exception` with `status_at`
  `<project>#<work key>`;
- `BATCH#<id>` / `BATCH`: a batch recorded before it is sent (`PendingBatch` in `batch`), in the status
  index under `BATCH#pending` (`status_at` `<created at>#<id>`) until it is finished; a finished one
  leaves the index and expires (TTL `expires_at`) after BATCH_RETENTION, so an audit can read it;
- `ENGAGEMENT#<system>#<project>` / `ENGAGEMENT`: an engagement the hub set up (`BookedEngagement` as
  plain JSON in `engagement`: one item per engagement, rarely written).

Records are stored as their model's JSON (None fields left out), zlib-compressed into a binary
attribute, and read back with `model_validate_json`: amounts and rates are Decimals that never pass
through a float. The compression is for cost, not for the 400 KB limit: a write is billed per 1 KB
of item (once more for each index whose keys or projected attributes it changes: `by-engagement`
holds keys only, so only a work's first write reaches it), and a posted time entry's JSON is ~900
bytes, which with its keys makes a 1.3 KB item (2 units); compressed it fits one. A batch of 30
writes is ~15 KB of JSON, ~3 KB compressed, written once into the table and the status index and
updated once when it is done.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
Items stay far below DynamoDB's 400 KB (a batch item is checked before it is written). Claims and
finishes are conditional puts, one per work, not transactions (which bill twice): the order of the
writes is what keeps a crash between them safe (see `claim` and `finish`).
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
"""

from __future__ import annotations

import logging
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.exceptions import ClientError

from shared.aws.dynamo_batch import MAX_BATCH_GET, batch_get
from shared.aws.ledger_table import query_pages
from shared.domain.delivery_ports import BookedEngagement, PendingBatch, WorkRecord
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.models import CanonicalModel, SystemName, epoch_seconds
from shared.domain.postings import PostingState
from shared.settings import (
    LEDGER_ENGAGEMENT_INDEX,
    LEDGER_ENGAGEMENT_KEY,
    LEDGER_ENGAGEMENT_SORT,
    LEDGER_STATUS_INDEX,
    LEDGER_STATUS_KEY,
    LEDGER_STATUS_SORT,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger(__name__)

PARKED = "WORK#parked"
EXCEPTION = "WORK#exception"
# Work waiting for something before it can post, in the status index under these keys: parked (its
# engagement is not active in accounting yet) and in exception (a person must act). A sweep looks
# at both again (`DeliverySync.release`); `close2cash status` counts the parked.
WAITING = {PostingState.PARKED: PARKED, PostingState.EXCEPTION: EXCEPTION}
PENDING = "BATCH#pending"
ENGAGEMENTS = "ENGAGEMENT#"
# Each write of a work stamps a new token here (and in the record): a save or a claim names the token
# it read, so two workers that read the same work cannot both act on it (optimistic concurrency).
REVISION = "rev"
# A finished batch stays readable this long (an audit of what was sent, and with which request id).
BATCH_RETENTION = timedelta(days=30)
# One item's limit (400 KB, attribute names included); a batch item is checked against it before it
# is written, so an oversized batch fails here with its size, not as a vendor-side mystery.
MAX_ITEM_BYTES = 400 * 1024
ZLIB_LEVEL = 6  # zlib's default: within a few per cent of level 9 on JSON, at a fraction of the time


_Model = TypeVar("_Model", bound=CanonicalModel)


def _packed(model: CanonicalModel) -> dict[str, Any]:
    """The model's JSON (None fields left out), zlib-compressed: see the module's note on size."""
    return {"B": zlib.compress(model.model_dump_json(exclude_none=True).encode(), ZLIB_LEVEL)}


def _unpacked(value: Mapping[str, Any], model: type[_Model]) -> _Model:
    return model.model_validate_json(zlib.decompress(value["B"]))


def _work_pk(key: str) -> str:
    system, kind, record_id = key.split(":", 2)
    return f"WORK#{system}#{kind}#{record_id}"


def _work_key(key: str) -> dict[str, Any]:
    return {"pk": {"S": _work_pk(key)}, "sk": {"S": "WORK"}}


def _batch_key(batch_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"BATCH#{batch_id}"}, "sk": {"S": "BATCH"}}


def _engagement_key(system: SystemName | str, project: str) -> dict[str, Any]:
    return {"pk": {"S": f"ENGAGEMENT#{system}#{project}"}, "sk": {"S": "ENGAGEMENT"}}


def _sortable(moment: datetime) -> str:
    """A UTC instant in one fixed width, so that string order is time order (isoformat drops zero µs)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _work_item(record: WorkRecord) -> dict[str, Any]:
    """The item of `record`, stamped with a new revision token (every write gets its own)."""
    _, _, record_id = record.key.split(":", 2)
    revision = uuid.uuid4().hex[:16]
    item: dict[str, Any] = {
        **_work_key(record.key),
        "record": _packed(record.model_copy(update={"revision": revision})),
        REVISION: {"S": revision},
        LEDGER_ENGAGEMENT_KEY: {"S": f"{record.source.system}#{record.project}"},
        LEDGER_ENGAGEMENT_SORT: {"S": f"{record.worked_on.isoformat()}#{record.kind}#{record_id}"},
    }
    if record.batch is not None:
        item["batch"] = {"S": record.batch}
        if record.batch_at is not None:
            item["batch_at"] = {"N": str(_millis(record.batch_at))}
    # A put replaces the whole item: a record that stops waiting leaves the sparse index with it.
    waiting = WAITING.get(record.state)
    if waiting is not None:
        item[LEDGER_STATUS_KEY] = {"S": waiting}
        item[LEDGER_STATUS_SORT] = {"S": f"{record.project}#{record.key}"}
    return item


def _as_read(record: WorkRecord) -> tuple[str, dict[str, Any]]:
    """The condition that the work is still as `record` was read: its revision, or still absent."""
    if record.revision is None:
        return "attribute_not_exists(pk)", {}
    return "#rev = :read", {":read": {"S": record.revision}}


def _record_of(item: Mapping[str, Any]) -> WorkRecord:
    return _unpacked(item["record"], WorkRecord)


def _batch_item(batch: PendingBatch) -> dict[str, Any]:
    item = {
        **_batch_key(batch.id),
        "batch": _packed(batch),
        LEDGER_STATUS_KEY: {"S": PENDING},
        LEDGER_STATUS_SORT: {"S": f"{_sortable(batch.created_at)}#{batch.id}"},
    }
    size = sum(len(name.encode()) + len(next(iter(value.values()))) for name, value in item.items())
    if size > MAX_ITEM_BYTES:
        raise ValueError(f"batch {batch.id}: {size} bytes, more than DynamoDB's {MAX_ITEM_BYTES} per item")
    return item


def _pending_of(item: Mapping[str, Any] | None) -> PendingBatch | None:
    """The batch of an item that is still pending (None: absent, or finished)."""
    if not item or LEDGER_STATUS_KEY not in item:
        return None
    return _unpacked(item["batch"], PendingBatch)


class DynamoPostings:
    """`PostingStore` port on the ledger table."""

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = epoch_seconds,
    ) -> None:
        self._table = table_name
        self._client: DynamoDBClient = client or boto3.client("dynamodb")
        self._clock = clock  # epoch seconds: claims are stamped with it (the local runtime's virtual time)

    # --- work records -----------------------------------------------------------------------

    def works(self, keys: Sequence[str]) -> dict[str, WorkRecord]:
        """One strongly consistent BatchGetItem per 100 keys (plus one per retry of unprocessed keys)."""
        found: dict[str, WorkRecord] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), MAX_BATCH_GET):
            chunk = unique[start : start + MAX_BATCH_GET]
            keys_of = [_work_key(key) for key in chunk]
            for item in self._batch_get(keys_of):
                record = _record_of(item)
                found[record.key] = record
        return found

    def save_works(self, records: Sequence[WorkRecord], *, stale_before: datetime) -> set[str]:
        """One conditional PutItem per record (1 WCU per KB); the keys refused are returned.

        A work is written where it is still as read (its revision) and no live batch holds it: a
        save must never clear the claim of a batch that is writing the work to accounting.
        """
        latest = {
            record.key: record.model_copy(update={"batch": None, "batch_at": None}) for record in records
        }
        return {
            key
            for key, record in latest.items()
            if not self._put_if(self._conditional_put(record, stale_before=stale_before))
        }

    def _conditional_put(
        self, record: WorkRecord, *, stale_before: datetime, batch_id: str | None = None
    ) -> dict[str, Any]:
        """A put of `record` if the work is as read and no live batch (but this one) holds it."""
        as_read, values = _as_read(record)
        return {
            "Put": {
                "TableName": self._table,
                "Item": _work_item(record),
                "ConditionExpression": (
                    f"({as_read}) AND (attribute_not_exists(#b) OR #b = :mine OR batch_at < :stale)"
                ),
                "ExpressionAttributeNames": {"#b": "batch", **({"#rev": REVISION} if values else {})},
                "ExpressionAttributeValues": {
                    ":mine": {"S": batch_id or "-"},
                    ":stale": {"N": str(_millis(stale_before))},
                    **values,
                },
            }
        }

    def parked(self, project: str | None = None) -> list[WorkRecord]:
        """Work parked and work in exception (what `release` looks at again), by project and key:
        one Query of the status index per state (per 1 MB page), eventually consistent."""
        condition = "#k = :status"
        names = {"#k": LEDGER_STATUS_KEY}
        values: dict[str, Any] = {}
        if project is not None:
            condition += " AND begins_with(#s, :project)"
            names["#s"] = LEDGER_STATUS_SORT
            values[":project"] = {"S": f"{project}#"}
        found = [
            _record_of(item)
            for status in WAITING.values()
            for item in self._query(
                IndexName=LEDGER_STATUS_INDEX,
                KeyConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":status": {"S": status}},
            )
        ]
        return sorted(found, key=lambda r: (r.project, r.key))

    def engagement_works(
        self, system: SystemName, project: str, *, since: date | None = None
    ) -> list[WorkRecord]:
        """The index's keys (one Query per 1 MB page: ~8,000 works), then one strongly consistent
        BatchGetItem per 100 works. The index holds keys only (see infra/wiring.py): claims and
        finishes rewrite a work's item without writing the index."""
        condition = "#k = :engagement"
        names = {"#k": LEDGER_ENGAGEMENT_KEY}
        values: dict[str, Any] = {":engagement": {"S": f"{system}#{project}"}}
        if since is not None:
            condition += " AND #s >= :since"
            names["#s"] = LEDGER_ENGAGEMENT_SORT
            values[":since"] = {"S": since.isoformat()}
        keys = [
            {"pk": item["pk"], "sk": item["sk"]}
            for item in self._query(
                IndexName=LEDGER_ENGAGEMENT_INDEX,
                KeyConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        ]
        records: list[WorkRecord] = []
        for start in range(0, len(keys), MAX_BATCH_GET):
            records += [_record_of(item) for item in self._batch_get(keys[start : start + MAX_BATCH_GET])]
        # BatchGetItem answers in no particular order: the index's order is the day worked.
        return sorted(records, key=lambda r: (r.worked_on, r.kind, r.key))

    # --- batches ----------------------------------------------------------------------------

    def claim(
        self, batch: PendingBatch, records: Mapping[str, WorkRecord], *, stale_before: datetime
    ) -> set[str]:
        """One conditional PutItem per work (1 WCU per KB), then one PutItem of the batch with the
        works it holds.

        A work is claimed when its item is as the caller read it (its revision) and holds no claim,
        a claim made before `stale_before` (its batch's sender died), or this batch's own. The works
        are claimed before the batch is recorded: a sender that dies in between leaves claims
        naming a batch that does not exist, which go stale and are taken over (nothing was sent),
        while a recorded batch only ever names works it holds. Why not one transaction: it costs
        twice the write units (2 WCU per KB), and month-end posting writes every work twice.
        https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling
        """
        strangers = set(records) - set(batch.keys)
        if strangers:
            raise ValueError(f"batch {batch.id}: records {sorted(strangers)} are not among its writes")
        now = datetime.fromtimestamp(self._clock(), UTC)
        refused: set[str] = set()
        for key in [key for key in batch.keys if key in records]:
            record = records[key]
            # The caller's claim instant when it stamped one (its clock decides staleness), else now.
            if record.batch != batch.id or record.batch_at is None:
                record = record.model_copy(update={"batch": batch.id, "batch_at": now})
            if not self._put_if(self._conditional_put(record, stale_before=stale_before, batch_id=batch.id)):
                refused.add(key)
        kept = tuple(write for write in batch.writes if write.key not in refused and write.key in records)
        if kept:
            self._client.put_item(
                TableName=self._table, Item=_batch_item(batch.model_copy(update={"writes": kept}))
            )
        return refused

    def _put_if(self, part: Mapping[str, Any]) -> bool:
        """One conditional PutItem (a transaction part's `Put`); False when its condition failed."""
        try:
            self._client.put_item(**part["Put"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def pending(self, batch_id: str) -> PendingBatch | None:
        """One strongly consistent GetItem; a finished batch is not pending (None)."""
        answer = self._client.get_item(TableName=self._table, Key=_batch_key(batch_id), ConsistentRead=True)
        return _pending_of(answer.get("Item"))

    def pending_batches(self, *, created_before: datetime) -> list[PendingBatch]:
        """One Query of the status index (per 1 MB page), then one strongly consistent BatchGetItem
        per 100 batches it lists: the index lags the table, so a batch finished a moment ago is
        dropped on the table's word, not the index's."""
        listed = [
            item["pk"]["S"].removeprefix("BATCH#")
            for item in self._query(
                IndexName=LEDGER_STATUS_INDEX,
                KeyConditionExpression="#k = :status AND #s < :before",
                ExpressionAttributeNames={"#k": LEDGER_STATUS_KEY, "#s": LEDGER_STATUS_SORT},
                ExpressionAttributeValues={
                    ":status": {"S": PENDING},
                    ":before": {"S": _sortable(created_before)},
                },
            )
        ]
        batches: list[PendingBatch] = []
        for start in range(0, len(listed), MAX_BATCH_GET):
            for item in self._batch_get([_batch_key(i) for i in listed[start : start + MAX_BATCH_GET]]):
                batch = _pending_of(item)
                if batch is not None:
                    batches.append(batch)
        return sorted(batches, key=lambda b: (b.created_at, b.id))

    def finish(self, batch: PendingBatch, records: Sequence[WorkRecord]) -> set[str]:
        """One conditional PutItem per work (1 WCU per KB), then one UpdateItem marking the batch done.

        Each record is written, its claim released, only where the item still holds this batch's
        claim: a sender that was taken over (its claim went stale and another batch claimed the work)
        must not write over the newer batch's record. Such works are skipped, logged, and their keys
        returned. The batch is marked done last: a sender that dies before that leaves it pending,
        and the recovery finds its works already released and only marks it done.
        """
        now = self._clock()
        latest = {
            record.key: record.model_copy(update={"batch": None, "batch_at": None}) for record in records
        }
        lost: set[str] = set()
        for key, record in latest.items():
            put = {
                "Put": {
                    "TableName": self._table,
                    "Item": _work_item(record),
                    "ConditionExpression": "#b = :mine",
                    "ExpressionAttributeNames": {"#b": "batch"},
                    "ExpressionAttributeValues": {":mine": {"S": batch.id}},
                }
            }
            if not self._put_if(put):
                lost.add(key)
        self._client.update_item(
            TableName=self._table,
            Key=_batch_key(batch.id),
            UpdateExpression="SET expires_at = :expires, finished_at = :now REMOVE #k, #s",
            ExpressionAttributeNames={"#k": LEDGER_STATUS_KEY, "#s": LEDGER_STATUS_SORT},
            ExpressionAttributeValues={
                ":expires": {"N": str(int(now + BATCH_RETENTION.total_seconds()))},
                ":now": {"S": datetime.fromtimestamp(now, UTC).isoformat()},
            },
        )
        if lost:
            logger.warning(
                "batch %s: %d works were claimed by another batch meanwhile (their records are its): %s",
                batch.id,
                len(lost),
                sorted(lost),
            )
        return lost

    # --- engagements ------------------------------------------------------------------------

    def engagement(self, system: SystemName, project: str) -> BookedEngagement | None:
        item = self._client.get_item(
            TableName=self._table, Key=_engagement_key(system, project), ConsistentRead=True
        ).get("Item")
        return BookedEngagement.model_validate_json(item["engagement"]["S"]) if item else None

    def save_engagement(self, engagement: BookedEngagement) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                **_engagement_key(engagement.psa.system, engagement.psa.id),
                "engagement": {"S": engagement.model_dump_json()},
                # Listed by status for the billing calendar (`engagements`): a Query, never a scan.
                LEDGER_STATUS_KEY: {"S": f"{ENGAGEMENTS}{engagement.status}"},
                LEDGER_STATUS_SORT: {"S": f"{engagement.psa.system}#{engagement.psa.id}"},
            },
        )

    def engagements(self, status: EngagementStatus) -> list[BookedEngagement]:
        """The engagements booked in `status` (one Query of the status index per 1 MB page)."""
        return [
            BookedEngagement.model_validate_json(item["engagement"]["S"])
            for item in self._query(
                IndexName=LEDGER_STATUS_INDEX,
                KeyConditionExpression="#k = :status",
                ExpressionAttributeNames={"#k": LEDGER_STATUS_KEY},
                ExpressionAttributeValues={":status": {"S": f"{ENGAGEMENTS}{status}"}},
            )
        ]

    # --- DynamoDB calls ---------------------------------------------------------------------

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return query_pages(self._client, self._table, **kwargs)

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return batch_get(self._client, self._table, keys)
