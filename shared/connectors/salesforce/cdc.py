"""Salesforce Change Data Capture events as Event Relay delivers them to an EventBridge partner bus.

Event Relay forwards a CDC channel to a partner event source named
`aws.partner/salesforce.com/<orgId>/<channelId>`; the partner event bus associated with it holds
EventBridge events whose `detail-type` is the change event's name (`AccountChangeEvent`) and whose
`detail` carries the event: `payload` (the `ChangeEventHeader` and the changed fields) and its
`replayId`.
https://developer.salesforce.com/docs/platform/event-relay/guide/event-relay-config.html
https://developer.salesforce.com/docs/platform/event-relay/guide/process-events-rules.html

What the header means (https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm):
- `changeType` CREATE, UPDATE, DELETE, UNDELETE; a GAP_ prefix when Salesforce could not capture the
  field values (the record must be fetched); GAP_OVERFLOW when a transaction changed more records
  than events are published for (the type must be swept).
  https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_other_events.htm
- `recordIds` one or more ids: one change applied to several records in one transaction within a
  second is merged into one event.
- `transactionKey` + `sequenceNumber` identify a change within its transaction: the same change
  relayed twice (a resumed relay replays retained events) has the same pair, so it is the notice's
  id. Replay ids are opaque and not unique across org migrations, so they are only the fallback.
  https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-message-durability.html
- `changeOrigin` `com/salesforce/api/<api>/<version>;client=<client id>` names the API client that
  set the `Sforce-Call-Options` client header: the hub's own writes carry its name and are dropped.
  https://developer.salesforce.com/docs/platform/apex-ref/references/apex-ref/apex-class-eventbus-changeeventheader.html
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.connectors.salesforce.health import HEALTH_FIELD_NAMES
from shared.connectors.salesforce.ids import is_salesforce_id, same_salesforce_id
from shared.connectors.salesforce.webhooks import ENTITY_BY_SOBJECT
from shared.domain.errors import AuthenticityError, MalformedNotice
from shared.domain.models import SystemName
from shared.domain.notices import ChangeNotice, Operation, ReceivedChanges, SweepRequest

EVENT_SOURCE_PREFIX = "aws.partner/salesforce.com/"
# The change event of a standard object is its name plus ChangeEvent (AccountChangeEvent).
# https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields.htm
CHANGE_EVENT_SUFFIX = "ChangeEvent"
CHANGE_EVENTS = {f"{sobject}{CHANGE_EVENT_SUFFIX}": sobject for sobject in ENTITY_BY_SOBJECT}
GAP_PREFIX = "GAP_"


class ChangeType(StrEnum):
    """`ChangeEventHeader.changeType`: what happened, or (GAP_*) what happened without the values."""

    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    UNDELETE = "UNDELETE"
    GAP_CREATE = "GAP_CREATE"
    GAP_UPDATE = "GAP_UPDATE"
    GAP_DELETE = "GAP_DELETE"
    GAP_UNDELETE = "GAP_UNDELETE"
    GAP_OVERFLOW = "GAP_OVERFLOW"

    @property
    def operation(self) -> Operation | None:
        """The notice's operation (a gap event names it too); None for an overflow."""
        return _OPERATIONS.get(self.value.removeprefix(GAP_PREFIX))


_OPERATIONS = {
    "CREATE": Operation.CREATED,
    "UPDATE": Operation.UPDATED,
    "DELETE": Operation.DELETED,
    "UNDELETE": Operation.UNDELETED,
}


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ChangeEventHeader(_Tolerant):
    """The header every change event carries (fields the hub reads; the rest are kept)."""

    entity_name: str = Field(alias="entityName", min_length=1)
    change_type: ChangeType = Field(alias="changeType")
    record_ids: list[str] = Field(default_factory=list, alias="recordIds")
    changed_fields: list[str] = Field(default_factory=list, alias="changedFields")
    change_origin: str = Field(default="", alias="changeOrigin")
    transaction_key: str | None = Field(default=None, alias="transactionKey")
    sequence_number: int | None = Field(default=None, alias="sequenceNumber")
    # Milliseconds since the epoch, as Salesforce sends it.
    commit_timestamp: int = Field(alias="commitTimestamp", ge=0)
    commit_user: str | None = Field(default=None, alias="commitUser")

    @property
    def committed_at(self) -> datetime:
        return datetime.fromtimestamp(self.commit_timestamp / 1000, tz=UTC)


class ChangeEventPayload(_Tolerant):
    header: ChangeEventHeader = Field(alias="ChangeEventHeader")


class RelayedDetail(_Tolerant):
    """The EventBridge event's `detail`: the change event and its position in the stream."""

    payload: ChangeEventPayload
    replay_id: str | int | None = Field(default=None, alias="replayId")
    schema_id: str | None = Field(default=None, alias="schemaId")


class RelayedEvent(_Tolerant):
    """The EventBridge envelope around one relayed change event."""

    source: str
    detail_type: str = Field(alias="detail-type")
    detail: RelayedDetail


def client_of(change_origin: str) -> str | None:
    """The API client id in a `changeOrigin` (`...;client=close2cash`), if the writer set one."""
    for part in change_origin.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip() == "client":
            return value.strip().rstrip("/") or None
    return None


# Fields every edit moves (an UPDATE's changedFields lists them besides what was edited).
# https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
_AUDIT_FIELDS = frozenset({"LastModifiedDate", "LastModifiedById", "SystemModstamp"})


def _only_unread_fields(changed: list[str]) -> bool:
    """Whether an UPDATE changed nothing but the commercial health fields (and the audit fields)."""
    edited = set(changed) - _AUDIT_FIELDS
    return bool(edited) and edited <= HEALTH_FIELD_NAMES


class ChangeEventReader:
    """Reads one org's relayed change events into notices (Account and Opportunity; others dropped)."""

    provider: SystemName = SystemName.SALESFORCE

    def __init__(self, *, organization_id: str, own_client: str) -> None:
        self._organization_id = organization_id
        self._own_client = own_client

    def read_change_event(self, event: Mapping[str, Any]) -> ReceivedChanges:
        """Notices (and sweeps) of one relayed event; raises AuthenticityError or MalformedNotice."""
        try:
            relayed = RelayedEvent.model_validate(event)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "event"
            raise MalformedNotice(f"Salesforce change event is unreadable: {where}: {first['msg']}") from None
        org = self._check_source(relayed.source)
        sobject = CHANGE_EVENTS.get(relayed.detail_type)
        if sobject is None:
            # A channel member the hub has no flow for: nothing to do, and nothing to retry.
            return ReceivedChanges(dropped={"not_synced_type": 1})
        header = relayed.detail.payload.header
        if header.entity_name != sobject:
            raise MalformedNotice(
                f"Salesforce change event {relayed.detail_type} names entity {header.entity_name!r}"
            )
        event_id = self._event_id(header, relayed.detail.replay_id)
        if header.change_type.operation is not None and client_of(header.change_origin) == self._own_client:
            # The hub's own write coming back (write-back, fields other systems own): an echo.
            return ReceivedChanges(dropped={"own_write": len(header.record_ids) or 1})
        if header.change_type is ChangeType.UPDATE and _only_unread_fields(header.changed_fields):
            # Only the commercial health figures changed (by a person, a flow, or the hub under another
            # client name): nothing the hub reads moved, so there is nothing to sync or to set up.
            return ReceivedChanges(dropped={"unsynced_fields": len(header.record_ids) or 1})
        entity = ENTITY_BY_SOBJECT[sobject]
        wildcard = any(record_id.endswith("*") for record_id in header.record_ids)
        if header.change_type is ChangeType.GAP_OVERFLOW or wildcard:
            # Which records changed is not said: every one changed since the commit is looked at.
            sweep = SweepRequest(
                provider=SystemName.SALESFORCE,
                entity=entity,
                vendor_type=sobject,
                since=header.committed_at,
                event_id=event_id,
                realm=org,
            )
            return ReceivedChanges(sweeps=(sweep,))
        operation = header.change_type.operation
        assert operation is not None  # only GAP_OVERFLOW has none
        if not header.record_ids:
            raise MalformedNotice(f"Salesforce change event {event_id} names no recordIds")
        notices: list[ChangeNotice] = []
        for record_id in dict.fromkeys(header.record_ids):
            if not is_salesforce_id(record_id):
                raise MalformedNotice(
                    f"Salesforce change event {event_id} has an invalid record id {record_id[:40]!r}"
                )
            notices.append(
                ChangeNotice(
                    provider=SystemName.SALESFORCE,
                    # One change of one record: a merged event names several, each its own notice.
                    event_id=f"{event_id}:{record_id}",
                    entity=entity,
                    vendor_type=sobject,
                    record_id=record_id,
                    operation=operation,
                    occurred_at=header.committed_at,
                    realm=org,
                )
            )
        return ReceivedChanges(notices=tuple(notices))

    def _check_source(self, source: str) -> str:
        """The org id the partner event source names; it must be the configured org."""
        if not source.startswith(EVENT_SOURCE_PREFIX):
            raise AuthenticityError(f"event source {source[:120]!r} is not a Salesforce Event Relay source")
        org = source.removeprefix(EVENT_SOURCE_PREFIX).split("/", 1)[0]
        if not same_salesforce_id(org, self._organization_id):
            raise AuthenticityError(f"Salesforce change event from org {org[:20]!r}, not the configured org")
        return org

    @staticmethod
    def _event_id(header: ChangeEventHeader, replay_id: str | int | None) -> str:
        if header.transaction_key and header.sequence_number is not None:
            return f"cdc:{header.transaction_key}:{header.sequence_number}"
        if replay_id not in (None, ""):
            return f"cdc-replay:{replay_id}"
        raise MalformedNotice(
            "Salesforce change event has neither transactionKey/sequenceNumber nor replayId"
        )
