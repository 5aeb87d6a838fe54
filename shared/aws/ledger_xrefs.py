"""The ledger's cross references: which target record holds each source record, its checksum, the trace.

- `XREF#<entity>#<system>#<id>` / `TARGET#<system>`: the target's id and the checksum last written;
- `TARGET#<entity>#<system>#<id>` / `XREF`: the reverse, so a target's notice finds its source;
- `TRACE#<entity>#<system>#<id>` / `<time>#<target>`: every write, with its action and checksum.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from shared.aws.ledger_table import LedgerTable, get_s, s_value
from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.ports import CrossReference, SyncAction

TRACE_RETENTION = timedelta(days=400)


def _xref_pk(entity: EntityType, ref: SourceRef) -> str:
    return f"XREF#{entity}#{ref.system}#{ref.id}"


def _target_pk(entity: EntityType, system: SystemName, record_id: str) -> str:
    return f"TARGET#{entity}#{system}#{record_id}"


def _active(item: dict[str, Any]) -> bool:
    # Items written before copies could be deactivated have no attribute: they are active.
    return bool(item.get("active", {}).get("BOOL", True))


def _instant(item: dict[str, Any], name: str) -> datetime | None:
    raw = get_s(item, name)
    return None if raw is None else datetime.fromisoformat(raw)


def _content(item: dict[str, Any]) -> dict[str, Any] | None:
    raw = get_s(item, "content")
    return None if raw is None else dict(json.loads(raw))


def _xref(entity: EntityType, source: SourceRef, target: SourceRef, item: dict[str, Any]) -> CrossReference:
    """A cross reference between `source` and `target` with what the item says of the last write."""
    return CrossReference(
        entity=entity,
        source=source,
        target=target,
        checksum=get_s(item, "checksum") or "",
        synced_at=datetime.fromisoformat(get_s(item, "synced_at") or "1970-01-01T00:00:00+00:00"),
        content=_content(item),
        active=_active(item),
        target_modified_at=_instant(item, "target_modified_at"),
    )


class CrossReferences(LedgerTable):
    """Cross references and the sync trace (the `Ledger` port's write records)."""

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
            system=SystemName(get_s(item, "source_system") or ""),
            type=get_s(item, "source_type") or entity.value,
            id=get_s(item, "source_id") or "",
            version=get_s(item, "source_version"),
        )
        held = SourceRef(
            system=target.system,
            type=get_s(item, "target_type") or target.type,
            id=target.id,
            version=get_s(item, "target_version"),
        )
        return _xref(entity, source, held, item)

    def record_sync(self, xref: CrossReference, action: SyncAction) -> None:
        synced = xref.synced_at.isoformat()
        common = {
            "checksum": s_value(xref.checksum),
            "synced_at": s_value(synced),
            "action": s_value(action.value),
            "source_system": s_value(xref.source.system.value),
            "source_type": s_value(xref.source.type),
            "source_id": s_value(xref.source.id),
            "source_version": s_value(xref.source.version),
            "target_system": s_value(xref.target.system.value),
            "target_type": s_value(xref.target.type),
            "target_id": s_value(xref.target.id),
            "target_version": s_value(xref.target.version),
            "content": s_value(
                json.dumps(xref.content, sort_keys=True) if xref.content is not None else None
            ),
            "active": {"BOOL": xref.active},
            "target_modified_at": s_value(
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
        return [{k: get_s(item, k) for k in keys} for item in response.get("Items", [])]

    @staticmethod
    def _xref_from(entity: EntityType, source: SourceRef, item: dict[str, Any]) -> CrossReference:
        target = SourceRef(
            system=SystemName(get_s(item, "target_system") or ""),
            type=get_s(item, "target_type") or "",
            id=get_s(item, "target_id") or "",
            version=get_s(item, "target_version"),
        )
        # The version the copy was written from, as stored (not the caller's), like find_by_target.
        return _xref(
            entity, source.model_copy(update={"version": get_s(item, "source_version")}), target, item
        )
