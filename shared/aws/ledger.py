"""The ledger on DynamoDB: cross-reference ids, checksums, sync trace, notices, leases, exceptions.

Single-table design (pk, sk):
- `XREF#<entity>#<system>#<id>` / `TARGET#<system>`: the target's id and the checksum last written;
- `TARGET#<entity>#<system>#<id>` / `XREF`: the reverse, so a target's notice finds its source;
- `TRACE#<entity>#<system>#<id>` / `<time>#<target>`: every write, with its action and checksum;
- `NOTICE#<provider>#<realm>#<event id>` / `NOTICE`: each webhook notice, received then published;
- `LEASE#<name>` / `LEASE`, `EXCEPTION#<id>` / `EXCEPTION`, `CURSOR#<name>` / `CURSOR` (sweeps).

What people act on is read from the sparse index `by-status` (settings.LEDGER_STATUS_INDEX), never
by a scan: an exception carries `status_key` `EXCEPTION#open` or `EXCEPTION#resolved` and
`status_at` `<opened at>#<id>`; an approval request carries `APPROVAL#awaiting` until it is settled.
Index reads are eventually consistent (GSIs offer nothing else): fine for lists a person reads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.notices import ChangeNotice
from shared.domain.ports import CrossReference, ExceptionRecord, NoticeClaim, SyncAction
from shared.settings import LEDGER_STATUS_INDEX, LEDGER_STATUS_KEY, LEDGER_STATUS_SORT

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

NOTICE_RETENTION = timedelta(days=35)  # longer than any vendor's redelivery window (QBO, Productive)
# How long a notice's claim keeps concurrent deliveries out while its holder publishes it. Longer than
# the webhook function's 10 s timeout (infra/wiring.py), so a live holder is never overtaken, with a
# few seconds for clock skew between containers; shorter than the vendors' redelivery intervals after
# the first (QBO retries after 10 s, 20 s, 30 s, ... per
# https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/best-practices; Salesforce and
# Productive back off for minutes), so a holder that died without releasing its claim (a crash, a
# timeout) delays the notice by at most one redelivery. A failed publish releases the claim at once.
NOTICE_CLAIM_SECONDS = 15
# DynamoDB's limit of actions in one TransactWriteItems call.
MAX_TRANSACTION_PARTS = 100
TRACE_RETENTION = timedelta(days=400)


def _xref_pk(entity: EntityType, ref: SourceRef) -> str:
    return f"XREF#{entity}#{ref.system}#{ref.id}"


def _target_pk(entity: EntityType, system: SystemName, record_id: str) -> str:
    return f"TARGET#{entity}#{system}#{record_id}"


def _s(value: str | None) -> dict[str, Any]:
    return {"S": value} if value is not None else {"NULL": True}


def _get_s(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None or "NULL" in value:
        return None
    return str(value["S"])


def _held_claim(item: dict[str, Any]) -> NoticeClaim:
    """What a refused claim found: the notice's item as the refusal returned it (ALL_OLD)."""
    return NoticeClaim.PUBLISHED if _get_s(item, "status") == "published" else NoticeClaim.IN_FLIGHT


def _active(item: dict[str, Any]) -> bool:
    # Items written before copies could be deactivated have no attribute: they are active.
    return bool(item.get("active", {}).get("BOOL", True))


def _instant(item: dict[str, Any], name: str) -> datetime | None:
    raw = _get_s(item, name)
    return None if raw is None else datetime.fromisoformat(raw)


def _content(item: dict[str, Any]) -> dict[str, Any] | None:
    raw = _get_s(item, "content")
    return None if raw is None else dict(json.loads(raw))


def cancellation_reasons(exc: ClientError) -> list[dict[str, Any]]:
    """Why a TransactWriteItems was cancelled: one reason per part, in order (`Code` "None" for the
    parts that were fine). Any other error is raised again.
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
    """
    if exc.response["Error"]["Code"] != "TransactionCanceledException":
        raise exc
    return [dict(reason) for reason in exc.response.get("CancellationReasons", [])]


# What a reconciliation break adds to an exception: each side (JSON), the action, the money at stake.
DETAIL_KEYS = ("evidence", "action", "at_stake")


def _details(exception: ExceptionRecord) -> dict[str, dict[str, str]]:
    details: dict[str, dict[str, str]] = {}
    if exception.evidence:
        sides = [side.model_dump(mode="json", exclude_none=True) for side in exception.evidence]
        details["evidence"] = {"S": json.dumps(sides, separators=(",", ":"))}
    if exception.action:
        details["action"] = {"S": exception.action}
    if exception.at_stake is not None:
        details["at_stake"] = {"S": f"{exception.at_stake.amount} {exception.at_stake.currency}"}
    return details


EXCEPTION_OPEN = "EXCEPTION#open"
EXCEPTION_RESOLVED = "EXCEPTION#resolved"


def status_items(client: DynamoDBClient, table: str, status: str) -> Iterator[dict[str, Any]]:
    """Every item of the ledger's status index under `status`, oldest first, page by page."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": LEDGER_STATUS_INDEX,
        "KeyConditionExpression": "#k = :status",
        "ExpressionAttributeNames": {"#k": LEDGER_STATUS_KEY},
        "ExpressionAttributeValues": {":status": {"S": status}},
    }
    while True:
        page = client.query(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class DynamoLedger:
    """`Ledger` port on one DynamoDB table."""

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._client: DynamoDBClient = client or boto3.client("dynamodb")
        self._clock = clock  # epoch seconds; notice claims expire on it

    # --- cross references -------------------------------------------------------------------

    def cross_reference(
        self, entity: EntityType, source: SourceRef, target_system: SystemName
    ) -> CrossReference | None:
        response = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _xref_pk(entity, source)}, "sk": {"S": f"TARGET#{target_system}"}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return self._xref_from(entity, source, item) if item else None

    def cross_references(self, entity: EntityType, source: SourceRef) -> list[CrossReference]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": _xref_pk(entity, source)}, ":prefix": {"S": "TARGET#"}},
            ConsistentRead=True,
        )
        return [self._xref_from(entity, source, item) for item in response.get("Items", [])]

    def find_by_target(self, entity: EntityType, target: SourceRef) -> CrossReference | None:
        response = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _target_pk(entity, target.system, target.id)}, "sk": {"S": "XREF"}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            return None
        source = SourceRef(
            system=SystemName(_get_s(item, "source_system") or ""),
            type=_get_s(item, "source_type") or entity.value,
            id=_get_s(item, "source_id") or "",
            version=_get_s(item, "source_version"),
        )
        return CrossReference(
            entity=entity,
            source=source,
            target=SourceRef(
                system=target.system,
                type=_get_s(item, "target_type") or target.type,
                id=target.id,
                version=_get_s(item, "target_version"),
            ),
            checksum=_get_s(item, "checksum") or "",
            synced_at=datetime.fromisoformat(_get_s(item, "synced_at") or "1970-01-01T00:00:00+00:00"),
            content=_content(item),
            active=_active(item),
            target_modified_at=_instant(item, "target_modified_at"),
        )

    def record_sync(self, xref: CrossReference, action: SyncAction) -> None:
        synced = xref.synced_at.isoformat()
        common = {
            "checksum": _s(xref.checksum),
            "synced_at": _s(synced),
            "action": _s(action.value),
            "source_system": _s(xref.source.system.value),
            "source_type": _s(xref.source.type),
            "source_id": _s(xref.source.id),
            "source_version": _s(xref.source.version),
            "target_system": _s(xref.target.system.value),
            "target_type": _s(xref.target.type),
            "target_id": _s(xref.target.id),
            "target_version": _s(xref.target.version),
            "content": _s(json.dumps(xref.content, sort_keys=True) if xref.content is not None else None),
            "active": {"BOOL": xref.active},
            "target_modified_at": _s(
                xref.target_modified_at.isoformat() if xref.target_modified_at is not None else None
            ),
        }
        trace_expiry = int((xref.synced_at + TRACE_RETENTION).timestamp())
        # One transaction: the forward and reverse references never disagree, and every write
        # leaves its trace.
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": {"S": _xref_pk(xref.entity, xref.source)},
                            "sk": {"S": f"TARGET#{xref.target.system}"},
                            **common,
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": {"S": _target_pk(xref.entity, xref.target.system, xref.target.id)},
                            "sk": {"S": "XREF"},
                            **common,
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": {"S": f"TRACE#{xref.entity}#{xref.source.system}#{xref.source.id}"},
                            "sk": {"S": f"{synced}#{xref.target.system}"},
                            "expires_at": {"N": str(trace_expiry)},
                            **common,
                        },
                    }
                },
            ]
        )

    def repoint(self, xref: CrossReference, *, was: SourceRef) -> None:
        """Record `xref` (now naming the survivor of a merge) and forget the merged-away target `was`.

        The merged-away record's reverse reference is deleted after the new one is written; a crash
        in between leaves it naming the account, which is harmless: that record no longer exists,
        and the next merge notice (redelivered) deletes it.
        """
        self.record_sync(xref, SyncAction.REPOINTED)
        self._client.delete_item(
            TableName=self._table,
            Key={"pk": {"S": _target_pk(xref.entity, was.system, was.id)}, "sk": {"S": "XREF"}},
        )

    def history(self, entity: EntityType, source: SourceRef) -> list[dict[str, str | None]]:
        """Every write made for one source record, oldest first (the trace the ledger keeps)."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"TRACE#{entity}#{source.system}#{source.id}"}},
            ConsistentRead=True,
        )
        keys = ("synced_at", "action", "target_system", "target_id", "checksum")
        return [{k: _get_s(item, k) for k in keys} for item in response.get("Items", [])]

    @staticmethod
    def _xref_from(entity: EntityType, source: SourceRef, item: dict[str, Any]) -> CrossReference:
        return CrossReference(
            entity=entity,
            # The version the copy was written from, as stored (not the caller's), like find_by_target.
            source=source.model_copy(update={"version": _get_s(item, "source_version")}),
            target=SourceRef(
                system=SystemName(_get_s(item, "target_system") or ""),
                type=_get_s(item, "target_type") or "",
                id=_get_s(item, "target_id") or "",
                version=_get_s(item, "target_version"),
            ),
            checksum=_get_s(item, "checksum") or "",
            synced_at=datetime.fromisoformat(_get_s(item, "synced_at") or "1970-01-01T00:00:00+00:00"),
            content=_content(item),
            active=_active(item),
            target_modified_at=_instant(item, "target_modified_at"),
        )

    # --- exceptions and leases --------------------------------------------------------------

    def record_exception(self, exception: ExceptionRecord) -> bool:
        item = {
            "pk": {"S": f"EXCEPTION#{exception.id}"},
            "sk": {"S": "EXCEPTION"},
            "kind": _s(exception.kind),
            "entity": _s(exception.entity.value),
            "subject": _s(str(exception.subject)),
            "reason": _s(exception.reason),
            "owner": _s(exception.owner),
            "state": _s(exception.state),
            "step": _s(exception.step),
            "opened_at": _s(exception.opened_at.isoformat()),
            **_details(exception),
            LEDGER_STATUS_KEY: {"S": EXCEPTION_OPEN},
            LEDGER_STATUS_SORT: {"S": f"{exception.opened_at.isoformat()}#{exception.id}"},
        }
        try:
            # The same problem reported twice stays one exception with its first opening time; one
            # that was resolved and comes back opens again.
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR #state <> :open",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":open": {"S": "open"}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def refresh_exception(self, exception: ExceptionRecord) -> bool:
        """An open exception's reason and evidence as they are now (the same problem, new figures);
        False when it is not open (resolved meanwhile: `record_exception` opens it again)."""
        details = _details(exception)
        names = {"#state": "state", "#reason": "reason", **{f"#{k}": k for k in details}}
        values: dict[str, Any] = {":open": {"S": "open"}, ":reason": _s(exception.reason)}
        values.update({f":{k}": v for k, v in details.items()})
        sets = ["#reason = :reason", *(f"#{k} = :{k}" for k in details)]
        removed = [k for k in DETAIL_KEYS if k not in details]
        names.update({f"#{k}": k for k in removed})
        expression = (
            "SET " + ", ".join(sets) + (f" REMOVE {', '.join(f'#{k}' for k in removed)}" if removed else "")
        )
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"EXCEPTION#{exception.id}"}, "sk": {"S": "EXCEPTION"}},
                UpdateExpression=expression,
                ConditionExpression="#state = :open",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def resolve_exception(self, exception_id: str, *, resolution: str, at: datetime) -> datetime | None:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"EXCEPTION#{exception_id}"}, "sk": {"S": "EXCEPTION"}},
                UpdateExpression=(
                    "SET #state = :resolved, resolution = :why, resolved_at = :at, #status = :filed"
                ),
                ConditionExpression="#state = :open",
                ExpressionAttributeNames={"#state": "state", "#status": LEDGER_STATUS_KEY},
                ExpressionAttributeValues={
                    ":filed": {"S": EXCEPTION_RESOLVED},
                    ":resolved": {"S": "resolved"},
                    ":open": {"S": "open"},
                    ":why": {"S": resolution[:2000]},
                    ":at": {"S": at.isoformat()},
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return None
        opened = _get_s(answer.get("Attributes", {}), "opened_at")
        return datetime.fromisoformat(opened) if opened else at

    def exception(self, exception_id: str) -> dict[str, str | None] | None:
        """One exception record by its id (open or resolved), or None."""
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"EXCEPTION#{exception_id}"}, "sk": {"S": "EXCEPTION"}},
            ConsistentRead=True,
        ).get("Item")
        return self._exception_from(item) if item else None

    def open_exceptions(self) -> list[dict[str, str | None]]:
        """The exceptions still open, oldest first: a query on the status index, never a scan."""
        return [
            self._exception_from(item) for item in status_items(self._client, self._table, EXCEPTION_OPEN)
        ]

    def exceptions(self) -> list[dict[str, str | None]]:
        """Every exception record, open then resolved, each oldest first (two paginated index queries)."""
        return [
            self._exception_from(item)
            for status in (EXCEPTION_OPEN, EXCEPTION_RESOLVED)
            for item in status_items(self._client, self._table, status)
        ]

    @staticmethod
    def _exception_from(item: dict[str, Any]) -> dict[str, str | None]:
        keys = (
            "kind",
            "subject",
            "reason",
            "owner",
            "step",
            "state",
            "opened_at",
            "resolution",
            "resolved_at",
            *DETAIL_KEYS,
        )
        record: dict[str, str | None] = {"id": (_get_s(item, "pk") or "").removeprefix("EXCEPTION#")}
        return record | {k: _get_s(item, k) for k in keys}

    def acquire_lease(self, name: str, owner: str, seconds: int) -> bool:
        now = int(time.time())
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"LEASE#{name}"},
                    "sk": {"S": "LEASE"},
                    "owner": {"S": owner},
                    "lease_until": {"N": str(now + seconds)},
                    "expires_at": {"N": str(now + seconds + 3600)},
                },
                ConditionExpression="attribute_not_exists(pk) OR lease_until < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_lease(self, name: str, owner: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"LEASE#{name}"}, "sk": {"S": "LEASE"}},
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # --- sweep cursors ----------------------------------------------------------------------

    def cursor(self, name: str) -> str | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"CURSOR#{name}"}, "sk": {"S": "CURSOR"}},
            ConsistentRead=True,
        ).get("Item")
        return _get_s(item, "value") if item else None

    def set_cursor(self, name: str, value: str) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={"pk": {"S": f"CURSOR#{name}"}, "sk": {"S": "CURSOR"}, "value": {"S": value}},
        )

    # --- notices ----------------------------------------------------------------------------

    def _notice_key(self, notice: ChangeNotice) -> dict[str, Any]:
        return {
            "pk": {"S": f"NOTICE#{notice.provider}#{notice.realm or '-'}#{notice.event_id}"},
            "sk": {"S": "NOTICE"},
        }

    def _claim_write(self, notice: ChangeNotice, holder: str, now: float) -> dict[str, Any]:
        """The conditional put that claims `notice` for `holder` (PutItem and transaction part alike)."""
        return {
            "TableName": self._table,
            "Item": {
                **self._notice_key(notice),
                "status": {"S": "received"},
                "received_at": {"S": datetime.fromtimestamp(now, UTC).isoformat()},
                "claimed_by": {"S": holder},
                "claimed_until": {"N": str(int((now + NOTICE_CLAIM_SECONDS) * 1000))},
                "record": {"S": f"{notice.vendor_type}/{notice.record_id}"},
                "operation": {"S": notice.operation.value},
                "expires_at": {"N": str(int(now + NOTICE_RETENTION.total_seconds()))},
            },
            # One conditional write makes the claim exclusive: a notice never seen, or one whose
            # receipt never reached "published" and whose claim was released or went stale.
            # (An item written before claims had a lease has no claimed_until: stale.)
            "ConditionExpression": (
                "attribute_not_exists(pk) OR (#st = :received AND "
                "(attribute_not_exists(claimed_until) OR claimed_until < :now))"
            ),
            "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": {
                ":received": {"S": "received"},
                ":now": {"N": str(int(now * 1000))},
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def claim_notice(self, notice: ChangeNotice, *, holder: str) -> NoticeClaim:
        try:
            self._client.put_item(**self._claim_write(notice, holder, self._clock()))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # The item that failed the condition comes back with the error (ALL_OLD above).
            return _held_claim(dict(exc.response.get("Item") or {}))  # type: ignore[call-overload]
        return NoticeClaim.CLAIMED

    def claim_notices(self, notices: Sequence[ChangeNotice], *, holder: str) -> list[NoticeClaim]:
        """`claim_notice` for each notice, in order, 100 claims per TransactWriteItems call.

        A QuickBooks notification aggregates minutes of changes (a bulk import: a thousand
        customers) and must be answered within 3 s; one conditional put per notice does not fit.
        A transaction whose conditions fail for some notices (redeliveries) is cancelled with
        one reason per part, the failed parts' items included (ALL_OLD): those are answered from
        them and the rest are claimed again. A cancellation of another kind (a concurrent
        transaction on one of the items) falls back to one put per notice.
        https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
        """
        claims: dict[int, NoticeClaim] = {}
        for start in range(0, len(notices), MAX_TRANSACTION_PARTS):
            pending = list(range(start, min(start + MAX_TRANSACTION_PARTS, len(notices))))
            keys = {json.dumps(self._notice_key(notices[i]), sort_keys=True) for i in pending}
            # One notice (most webhooks carry one) is one plain put: a transaction costs twice the
            # writes. One item twice in a transaction is refused, so such a chunk goes one by one.
            if len(pending) == 1 or len(keys) < len(pending):
                claims.update({i: self.claim_notice(notices[i], holder=holder) for i in pending})
                continue
            while pending:
                now = self._clock()
                parts: list[Any] = [{"Put": self._claim_write(notices[i], holder, now)} for i in pending]
                try:
                    self._client.transact_write_items(TransactItems=parts)
                except ClientError as exc:
                    reasons = cancellation_reasons(exc)
                    failed = {
                        i: _held_claim(dict(reason.get("Item") or {}))
                        for i, reason in zip(pending, reasons, strict=False)
                        if reason.get("Code") == "ConditionalCheckFailed"
                    }
                    if len(reasons) != len(pending) or not failed:
                        claims.update({i: self.claim_notice(notices[i], holder=holder) for i in pending})
                        break
                    claims.update(failed)
                    pending = [i for i in pending if i not in failed]
                    continue
                claims.update(dict.fromkeys(pending, NoticeClaim.CLAIMED))
                break
        return [claims[i] for i in range(len(notices))]

    def release_notice(self, notice: ChangeNotice, *, holder: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._notice_key(notice),
                UpdateExpression="SET claimed_until = :zero",
                # Only our own claim: after a takeover the claim is another request's to keep.
                ConditionExpression="#st = :received AND claimed_by = :holder",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={
                    ":zero": {"N": "0"},
                    ":received": {"S": "received"},
                    ":holder": {"S": holder},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def notice_status(self, notice: ChangeNotice) -> str | None:
        """ "received" or "published" for a notice the hub has seen, None for one it has not."""
        response = self._client.get_item(
            TableName=self._table, Key=self._notice_key(notice), ConsistentRead=True
        )
        return _get_s(response.get("Item") or {}, "status")

    def _published_write(self, notice: ChangeNotice) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": self._notice_key(notice),
            "UpdateExpression": "SET #st = :published, published_at = :at",
            "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": {
                ":published": {"S": "published"},
                ":at": {"S": datetime.now(UTC).isoformat()},
            },
        }

    def mark_published(self, notice: ChangeNotice) -> None:
        self._client.update_item(**self._published_write(notice))

    def mark_all_published(self, notices: Sequence[ChangeNotice]) -> None:
        """`mark_published` for each notice, 100 per TransactWriteItems call (one update for a lone notice,
        and one per notice if the transaction is refused)."""
        for start in range(0, len(notices), MAX_TRANSACTION_PARTS):
            chunk = notices[start : start + MAX_TRANSACTION_PARTS]
            if 1 < len({json.dumps(self._notice_key(n), sort_keys=True) for n in chunk}) == len(chunk):
                parts: list[Any] = [{"Update": self._published_write(n)} for n in chunk]
                try:
                    self._client.transact_write_items(TransactItems=parts)
                    continue
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "TransactionCanceledException":
                        raise
            for notice in chunk:
                self.mark_published(notice)
