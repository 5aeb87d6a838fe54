"""Change events from a vendor's change stream on an event bus: read, claim once, publish as notices.

Salesforce Change Data Capture reaches the hub through Event Relay: events land on an EventBridge
partner bus, a rule puts them on a queue, and this use case turns each into the hub's change notices,
claimed in the ledger exactly like a webhook's (the same change relayed twice publishes nothing
twice), then published on the hub's bus where the account sync and the workflow start take them. So
everything downstream (fetch the record, lifecycle policy for deletes, echo checksums) is the same
whatever the landscape's intake.

- A gap event names its records but not their values: its notice makes the worker fetch them, as
  every notice does.
- An overflow event (or a wildcard record id) names no records: the stream asks for a sweep, and every
  record of that type changed since the commit becomes a notice (claims keep a sweep done twice, or
  overlapping with the changes' own events, from publishing twice).
- The hub's own writes are dropped by the reader (changeOrigin names the hub's API client); what
  slips through is recognised by the ledger's checksum downstream.
- An event that cannot be read or is not this tenant's opens an exception naming it, and the message
  is done: retrying it would only fill the dead-letter queue.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError

from shared.domain.errors import AuthenticityError, MalformedNotice, TransientError
from shared.domain.intake_ports import ChangedRecordsFeed, ChangeEventReceiver
from shared.domain.metrics import BusinessMetric
from shared.domain.models import CanonicalModel, EntityType, SourceRef, SystemName, utcnow
from shared.domain.notices import ChangeNotice, Operation, SweepRequest
from shared.domain.ports import ExceptionRecord, Ledger, Metrics, NoticePublisher
from shared.sync.exceptions import open_exception
from shared.sync.ingest import claim_and_publish


class ChangeStream(ChangeEventReceiver, ChangedRecordsFeed, Protocol):
    """A system whose change events are read here and which answers the sweeps they ask for."""

    system: SystemName


class ChangeEventOutcome(CanonicalModel):
    """What one change event came to."""

    published: int = 0
    duplicates: int = 0
    swept: int = 0
    rejected: bool = False
    dropped: dict[str, int] = {}


class ChangeEventIntake:
    """The use case behind the `change_events` worker (the partner bus's queue)."""

    def __init__(
        self,
        *,
        stream: Callable[[], ChangeStream],
        ledger: Ledger,
        publisher: Callable[[], NoticePublisher],
        metrics: Metrics,
        selected: bool = True,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        # `selected`: the landscape chose this intake for the system; otherwise events are dropped
        # (the relay was left running after the landscape moved back to outbound messages).
        self._stream = stream
        self._ledger = ledger
        self._publisher = publisher
        self._metrics = metrics
        self._selected = selected
        self._clock = clock

    def on_event(self, event: Mapping[str, Any]) -> ChangeEventOutcome:
        if not self._selected:
            self._metrics.count(BusinessMetric.NOTICES_DROPPED, dimensions={"reason": "intake_not_selected"})
            return ChangeEventOutcome(dropped={"intake_not_selected": 1})
        stream = self._stream()
        try:
            received = stream.read_change_event(event)
            swept = [n for request in received.sweeps for n in self._sweep(stream, request)]
        except (AuthenticityError, MalformedNotice) as exc:
            return self._rejected(stream.system, event, str(exc))
        except ValidationError as exc:
            if exc.title not in (ChangeNotice.__name__, SweepRequest.__name__):
                raise
            return self._rejected(
                stream.system, event, f"a notice cannot be recorded: {exc.errors()[0]['msg']}"
            )
        notices = list({n.idempotency_key: n for n in (*received.notices, *swept)}.values())
        fresh, in_flight = claim_and_publish(self._ledger, self._publisher(), notices)
        duplicates = len(notices) - len(fresh) - len(in_flight)
        self._metrics.count(BusinessMetric.NOTICES_RECEIVED, len(notices))
        if duplicates:
            self._metrics.count(BusinessMetric.DUPLICATES_PREVENTED, duplicates)
        for reason, count in received.dropped.items():
            self._metrics.count(BusinessMetric.NOTICES_DROPPED, count, dimensions={"reason": reason})
        if in_flight:
            # Another delivery of the same event holds the claims and may still fail: the queue
            # brings this one back, and by then it is published or released.
            raise TransientError(
                f"{len(in_flight)} notice(s) of this change event are being recorded by a concurrent "
                f"delivery (e.g. {in_flight[0].event_id!r})"
            )
        return ChangeEventOutcome(
            published=len(fresh), duplicates=duplicates, swept=len(swept), dropped=dict(received.dropped)
        )

    def _sweep(self, stream: ChangeStream, request: SweepRequest) -> list[ChangeNotice]:
        """Every record of the request's type changed since its instant, as a notice."""
        self._metrics.count(BusinessMetric.CHANGE_STREAM_SWEEPS, dimensions={"system": stream.system.value})
        return [
            ChangeNotice(
                provider=request.provider,
                event_id=f"{request.event_id}:{record_id}",
                entity=request.entity,
                vendor_type=request.vendor_type,
                record_id=record_id,
                # What changed is not known, only that something may have.
                operation=Operation.CHANGED,
                occurred_at=request.since,
                realm=request.realm,
            )
            for record_id in stream.records_changed_since(request.vendor_type, request.since)
        ]

    def _rejected(self, system: SystemName, event: Mapping[str, Any], reason: str) -> ChangeEventOutcome:
        # The event's own id when it has one, else a digest of it: the same bad event is one exception.
        digest = hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()[:32]
        event_id = str(event.get("id") or digest)
        detail_type = str(event.get("detail-type") or "event")
        entity = EntityType.OPPORTUNITY if detail_type.startswith("Opportunity") else EntityType.ACCOUNT
        open_exception(
            self._ledger,
            self._metrics,
            ExceptionRecord(
                id=f"change_event:{system}:{event_id}",
                kind="change_event_rejected",
                entity=entity,
                subject=SourceRef(system=system, type=detail_type, id=event_id),
                reason=f"{system} change event {event_id} was not recorded: {reason}",
                step="change_events",
                opened_at=self._clock(),
            ),
        )
        self._metrics.count(BusinessMetric.CHANGE_EVENTS_REJECTED, dimensions={"system": system.value})
        return ChangeEventOutcome(rejected=True)
