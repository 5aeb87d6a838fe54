"""Change Data Capture relayed by Event Relay: every committed change, published to a partner bus.

What it serves, as documented ([n] below):

| behaviour | as Salesforce does it |
| --- | --- |
| one event per committed change of Account and Opportunity (the channel members) | [1] |
| CREATE carries the non-null fields, UPDATE the changed ones (`changedFields`), DELETE none | [2] |
| `changeOrigin` `.../api/rest/<v>;client=<id>` from the caller's Sforce-Call-Options | [3] |
| `transactionKey` + `sequenceNumber` per change, an increasing opaque `replayId` | [4] |
| gap events (GAP_*: header only) and overflow (GAP_OVERFLOW: no record ids), on a switch | [5] |
| source `aws.partner/salesforce.com/<org>/<channel>`, detail-type the event's name, detail `payload` | [6] |
| a relay resumed with ReplayRecovery EARLIEST re-sends retained events (`replay_retained`) | [7] |

Not served: enrichment, field filters on channel members, Pub/Sub API subscriptions.

[1] https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
[2] https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_body.htm
[3] https://developer.salesforce.com/docs/platform/apex-ref/references/apex-ref/apex-class-eventbus-changeeventheader.html
[4] https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_subscribe_delivery.htm
[5] https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_other_events.htm
[6] https://developer.salesforce.com/docs/platform/event-relay/guide/event-relay-config.html
[7] https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_eventrelayconfig.htm

Event Relay calls PutPartnerEvents as the partner; moto 5.2 delivers partner events to the default
bus instead of the partner bus associated with the source, so the local relay puts the same entry
on the partner bus itself (PutEvents with its EventBusName).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request

from infra.local.sandboxes.salesforce.records import RecordStore
from infra.local.sandboxes.salesforce.wire import json_value

# The channel's members: the change events the relay forwards (one channel, one relay).
CHANNEL_MEMBERS = ("Account", "Opportunity")
# Fields a change event never carries (the IsDeleted and SystemModstamp system fields).
NOT_IN_EVENTS = frozenset({"IsDeleted", "SystemModstamp"})
# PutEvents takes at most 10 entries per call.
PUT_EVENTS_MAX = 10
RELAY_CHANNEL_ID = "0YL5g0000004CDCAAA"


@dataclass
class RelayedChange:
    """One change event as it goes onto the partner bus (the EventBridge entry's parts)."""

    detail_type: str
    detail: dict[str, Any]
    at: datetime


@dataclass
class _Stream:
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)  # record id -> fields last published
    pending: list[RelayedChange] = field(default_factory=list)
    relayed: list[RelayedChange] = field(default_factory=list)
    replay: int = 0
    commit: int = 8_000_000
    gaps: int = 0
    overflow: bool = False
    origin: str = ""
    bus: str | None = None
    client: Any = None


def change_origin(request: Request, api_version: str) -> str:
    """What changeOrigin says of a change made through this request (the client, if it named one)."""
    origin = f"com/salesforce/api/rest/{api_version}"
    for option in (request.headers.get("Sforce-Call-Options") or "").split(","):
        name, _, value = option.partition("=")
        if name.strip() == "client" and value.strip():
            return f"{origin};client={value.strip()}"
    return origin


class ChangeEventRelay(RecordStore):
    """The org's change event stream on Account and Opportunity, relayed to an EventBridge bus."""

    organization_id: str

    @property
    def _stream(self) -> _Stream:
        stream: _Stream | None = self.__dict__.get("_cdc_stream")
        if stream is None:
            stream = self.__dict__["_cdc_stream"] = _Stream()
        return stream

    # --- control API ---------------------------------------------------------------------------

    @property
    def event_source(self) -> str:
        """The partner event source (and partner bus) name Event Relay creates for this org's channel."""
        return f"aws.partner/salesforce.com/{self.organization_id}/{RELAY_CHANNEL_ID}"

    def relay_to(self, events_client: Any, bus_name: str) -> None:
        """Start the relay: events go to `bus_name` through `events_client` (boto3 EventBridge)."""
        with self._lock:
            self._stream.client, self._stream.bus = events_client, bus_name

    def gap_next(self, n: int = 1) -> None:
        """The next `n` changes are published as gap events (header only, GAP_ change types)."""
        with self._lock:
            self._stream.gaps += n

    def overflow_next(self) -> None:
        """The next change is published as an overflow event: GAP_OVERFLOW, no record ids."""
        with self._lock:
            self._stream.overflow = True

    def undelete_account(self, account_id: str) -> None:
        """A user restores the Account from the recycle bin (Undelete)."""
        with self._lock:
            table = self._objects["Account"]
            record = next((r for r in table.values() if r["Id"][:15] == account_id[:15]), None)
            if record is None or not record["IsDeleted"]:
                raise KeyError(account_id)
            now = self._clock()
            record["IsDeleted"] = False
            record["MasterRecordId"] = None
            record["SystemModstamp"] = now
            self._delete_log[:] = [e for e in self._delete_log if e[1] != record["Id"]]
            self._publish("Account", record, "UNDELETE", now)

    def drop_pending_changes(self, record_id: str) -> int:
        """Lose the pending events about `record_id`, as a relay stopped and resumed with
        ReplayRecovery LATEST loses what it did not relay; returns how many were lost."""
        with self._lock:
            stream = self._stream
            kept = [
                c
                for c in stream.pending
                if record_id[:15]
                not in {r[:15] for r in c.detail["payload"]["ChangeEventHeader"]["recordIds"]}
            ]
            lost = len(stream.pending) - len(kept)
            stream.pending = kept
            return lost

    @property
    def relayed_changes(self) -> list[RelayedChange]:
        """Every event put on the partner bus so far (oldest first)."""
        with self._lock:
            return list(self._stream.relayed)

    def relay_pending(self) -> int:
        """Put the pending change events on the partner bus; returns how many were relayed."""
        with self._lock:
            stream = self._stream
            if stream.client is None or not stream.pending:
                return 0
            batch, stream.pending = stream.pending, []
        for start in range(0, len(batch), PUT_EVENTS_MAX):
            self._put(batch[start : start + PUT_EVENTS_MAX])
        with self._lock:
            stream.relayed.extend(batch)
        return len(batch)

    def replay_retained(self) -> int:
        """The relay resumes with ReplayRecovery EARLIEST: every retained event is relayed again."""
        with self._lock:
            again = list(self._stream.relayed)
        for start in range(0, len(again), PUT_EVENTS_MAX):
            self._put(again[start : start + PUT_EVENTS_MAX])
        return len(again)

    # --- the hooks every write goes through -------------------------------------------------------

    @contextmanager
    def _changes_made_by(self, request: Request) -> Iterator[None]:
        """Changes made while serving `request` name its API client in their changeOrigin."""
        self._stream.origin = change_origin(request, self.api_version)
        try:
            yield
        finally:
            self._stream.origin = ""

    def _after_write(self, sobject: str, record: dict[str, Any], now: datetime) -> None:
        super()._after_write(sobject, record, now)
        if sobject == "OpportunityLineItem":
            # A product line is not a member, but the opportunity's rolled-up Amount changed.
            sobject, record = "Opportunity", self._objects["Opportunity"][record["OpportunityId"]]
        if sobject in CHANNEL_MEMBERS:
            created = record["Id"] not in self._stream.seen
            self._publish(sobject, record, "CREATE" if created else "UPDATE", now)

    def _delete(
        self,
        sobject: str,
        record: dict[str, Any],
        *,
        master_id: str | None = None,
        at: datetime | None = None,
    ) -> None:
        super()._delete(sobject, record, master_id=master_id, at=at)
        if sobject in CHANNEL_MEMBERS:
            self._publish(sobject, record, "DELETE", at or self._clock())

    # --- the stream ----------------------------------------------------------------------------

    def _publish(self, sobject: str, record: dict[str, Any], change_type: str, now: datetime) -> None:
        stream = self._stream
        current = {k: v for k, v in record.items() if k not in NOT_IN_EVENTS}
        before = stream.seen.get(record["Id"], {})
        changed = sorted(k for k, v in current.items() if before.get(k) != v)
        if change_type == "UPDATE" and not changed:
            return  # nothing committed changed: no event
        stream.seen[record["Id"]] = dict(current)
        fields: dict[str, Any] = {}
        if change_type == "CREATE":
            fields = {k: _event_value(v) for k, v in current.items() if v is not None and k != "Id"}
        elif change_type in ("UPDATE", "UNDELETE"):
            fields = {k: _event_value(current[k]) for k in changed if k != "Id"}
        record_ids = [record["Id"]]
        if stream.overflow:
            change_type, record_ids, fields, stream.overflow = "GAP_OVERFLOW", [], {}, False
        elif stream.gaps:
            change_type, fields, stream.gaps = f"GAP_{change_type}", {}, stream.gaps - 1
        stream.replay += 1
        stream.commit += 1
        header = {
            "entityName": sobject,
            "recordIds": record_ids,
            "changeType": change_type,
            "changedFields": changed if change_type == "UPDATE" else [],
            "diffFields": [],
            "nulledFields": [k for k in changed if current.get(k) is None] if change_type == "UPDATE" else [],
            "changeOrigin": "" if change_type.startswith("GAP_") else stream.origin,
            "transactionKey": str(uuid.uuid4()),
            "sequenceNumber": 1,
            "commitTimestamp": int(now.timestamp() * 1000),
            "commitNumber": stream.commit,
            "commitUser": self._user_id,
        }
        detail = {
            "payload": {**fields, "ChangeEventHeader": header},
            "schemaId": f"{sobject}ChangeEvent-schema",
            "id": str(uuid.uuid4()),
            "replayId": str(stream.replay),
        }
        stream.pending.append(RelayedChange(f"{sobject}ChangeEvent", detail, now))

    def _put(self, batch: list[RelayedChange]) -> None:
        stream = self._stream
        response = stream.client.put_events(
            Entries=[
                {
                    "EventBusName": stream.bus,
                    "Source": self.event_source,
                    "DetailType": change.detail_type,
                    "Detail": json.dumps(change.detail),
                    "Time": change.at,
                    "Resources": [],
                }
                for change in batch
            ]
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"the partner bus refused change events: {response['Entries']}")


def _event_value(value: Any) -> Any:
    """A field's value as a change event's JSON carries it: numbers as JSON numbers, times as text."""
    if isinstance(value, Decimal):
        return float(value)  # a JSON number; the hub never takes amounts from events (it fetches)
    return json_value(value)
