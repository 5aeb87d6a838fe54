"""Notices onto the EventBridge bus; a rule per consumer routes them to its SQS queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.domain.errors import TransientError
from shared.domain.notices import ChangeNotice

if TYPE_CHECKING:
    # Typing only: importing the events pulls in every lifecycle model, which no handler needs to
    # publish a change notice.
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

    from shared.domain.events import DomainEvent

# PutEvents takes at most 10 entries per call.
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
PUT_EVENTS_MAX_ENTRIES = 10
DETAIL_TYPE = "ChangeNotice"
# Domain events (shared.domain.events) come from the hub itself, whichever system the record lives in;
# their detail-type is the event type, so a rule matches one business fact.
DOMAIN_EVENT_SOURCE = "close2cash.domain"


def source_for(provider: str) -> str:
    """The event `source` the bus rules match on (`close2cash.webhooks.<provider>`)."""
    return f"close2cash.webhooks.{provider}"


def to_put_events_entry(event: DomainEvent[Any], bus: str) -> PutEventsRequestEntryTypeDef:
    """One PutEvents entry carrying `event` as its detail, as the schema registry describes it."""
    return {
        "EventBusName": bus,
        "Source": DOMAIN_EVENT_SOURCE,
        "DetailType": event.type,
        "Detail": event.model_dump_json(),
        "Time": event.occurred_at,
        "Resources": [],
    }


class EventBridgePublisher:
    """`NoticePublisher` port on an EventBridge bus."""

    def __init__(self, bus_name: str, *, client: EventBridgeClient | None = None) -> None:
        self._bus = bus_name
        self._client: EventBridgeClient = client or boto3.client("events")
        self.calls = 0

    def publish(self, notices: list[ChangeNotice]) -> None:
        for start in range(0, len(notices), PUT_EVENTS_MAX_ENTRIES):
            chunk = notices[start : start + PUT_EVENTS_MAX_ENTRIES]
            entries: list[PutEventsRequestEntryTypeDef] = [
                {
                    "EventBusName": self._bus,
                    "Source": source_for(notice.provider),
                    "DetailType": DETAIL_TYPE,
                    # A notice that does not say whether its deal is won leaves `won` out, so the
                    # opportunity rule can tell "not said" (absent) from "open" (false).
                    "Detail": notice.model_dump_json(exclude={"won"} if notice.won is None else None),
                    "Resources": [],
                }
                for notice in chunk
            ]
            self.calls += 1
            response = self._client.put_events(Entries=entries)
            if response.get("FailedEntryCount", 0):
                failed = [e for e in response["Entries"] if e.get("ErrorCode")]
                raise TransientError(f"EventBridge refused {len(failed)} notice(s): {failed[:3]}")

    def publish_events(self, events: list[DomainEvent[Any]]) -> None:
        """`EventPublisher` port: domain events, source close2cash.domain, detail-type the event type.

        Raises TransientError when the bus refused or could not be reached: the fact is not lost, the
        caller's message is retried, and the retry publishes the same event ids (`DomainEvent.fact`).
        """
        for start in range(0, len(events), PUT_EVENTS_MAX_ENTRIES):
            entries = [
                to_put_events_entry(event, self._bus)
                for event in events[start : start + PUT_EVENTS_MAX_ENTRIES]
            ]
            self.calls += 1
            try:
                response = self._client.put_events(Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise TransientError(f"EventBridge did not take {len(entries)} event(s): {exc}") from exc
            if response.get("FailedEntryCount", 0):
                failed = [e for e in response["Entries"] if e.get("ErrorCode")]
                raise TransientError(f"EventBridge refused {len(failed)} event(s): {failed[:3]}")
