"""Change notices: what a webhook tells the hub, before anything is fetched."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from shared.domain.models import CanonicalModel, EntityType, SystemName, UtcDateTime


class Operation(StrEnum):
    """What the notifying system says happened to the record."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    MERGED = "merged"  # `record_id` is the survivor; `merged_away_id` the record merged into it
    VOIDED = "voided"  # a transaction cancelled but kept (QuickBooks Void)
    CHANGED = "changed"  # the system does not say which (e.g. Salesforce outbound messages)


class ChangeNotice(CanonicalModel):
    """One record changed in one system; workers fetch the record itself from that system.

    `event_id` is the provider's own id for the notice (unique per provider and realm), so a
    redelivered notice is recognised and recorded once.
    """

    provider: SystemName
    event_id: str = Field(min_length=1, max_length=512)
    entity: EntityType
    vendor_type: str = Field(min_length=1, description="the vendor's own name for the record type")
    record_id: str = Field(min_length=1)
    operation: Operation
    occurred_at: UtcDateTime | None = None
    realm: str | None = Field(default=None, description="org / company / tenant the record lives in")
    merged_away_id: str | None = Field(
        default=None,
        max_length=512,
        description="on a merge: the record merged into `record_id` and deleted (QuickBooks deletedId)",
    )

    @property
    def idempotency_key(self) -> str:
        return f"{self.provider}:{self.realm or '-'}:{self.event_id}"
