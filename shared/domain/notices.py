"""Change notices: what a webhook tells the hub, before anything is fetched."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from shared.domain.models import CanonicalModel, EntityType, SystemName, UtcDateTime

# Ids become ledger keys (DynamoDB: at most 2,048 bytes of partition key, 1,024 of sort key), so
# they are printable ASCII, one byte a character, and bounded: the longest notice key,
# NOTICE#<provider>#<realm>#<event id>, stays under 800 bytes, and a record's cross-reference keys
# under 300. Every vendor's ids (Salesforce 18-character ids, QBO numbers and UUIDs, Productive
# numbers) fit. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
_VENDOR_ID = r"^[\x21-\x7e]+$"


class Operation(StrEnum):
    """What the notifying system says happened to the record."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    UNDELETED = "undeleted"  # restored from the recycle bin (Salesforce Change Data Capture UNDELETE)
    MERGED = "merged"  # `record_id` is the survivor; `merged_away_id` the record merged into it
    VOIDED = "voided"  # a transaction cancelled but kept (QuickBooks Void)
    CHANGED = "changed"  # the system does not say which (e.g. Salesforce outbound messages)


class ChangeNotice(CanonicalModel):
    """One record changed in one system; workers fetch the record itself from that system.

    `event_id` is the provider's own id for the notice (unique per provider and realm), so a
    redelivered notice is recognised and recorded once.
    """

    provider: SystemName
    event_id: str = Field(min_length=1, max_length=512, pattern=_VENDOR_ID)
    entity: EntityType
    vendor_type: str = Field(
        min_length=1, max_length=64, description="the vendor's own name for the record type"
    )
    record_id: str = Field(min_length=1, max_length=255, pattern=_VENDOR_ID)
    operation: Operation
    occurred_at: UtcDateTime | None = None
    realm: str | None = Field(
        default=None,
        max_length=255,
        pattern=_VENDOR_ID,
        description="org / company / tenant the record lives in",
    )
    won: bool | None = Field(
        default=None,
        description="on an opportunity: whether the notice itself says it is closed and won"
        " (None: it does not say, the record is fetched to know)",
    )
    merged_away_id: str | None = Field(
        default=None,
        max_length=512,
        pattern=_VENDOR_ID,
        description="on a merge: the record merged into `record_id` and deleted (QuickBooks deletedId)",
    )

    @property
    def idempotency_key(self) -> str:
        return f"{self.provider}:{self.realm or '-'}:{self.event_id}"


class SweepRequest(CanonicalModel):
    """A change stream lost track of which records changed (Salesforce's overflow event): every record
    of `vendor_type` changed at or after `since` must be looked at again."""

    provider: SystemName
    entity: EntityType
    vendor_type: str = Field(min_length=1, max_length=64)
    since: UtcDateTime
    event_id: str = Field(min_length=1, max_length=400, pattern=_VENDOR_ID)
    realm: str | None = Field(default=None, max_length=255, pattern=_VENDOR_ID)


class ReceivedChanges(CanonicalModel):
    """One change event from a change stream, read: the notices it carries, what it asks to sweep."""

    notices: tuple[ChangeNotice, ...] = ()
    sweeps: tuple[SweepRequest, ...] = ()
    dropped: dict[str, int] = Field(
        default_factory=dict, description="changes read but not recorded, counted per reason"
    )
