"""Notices onto the EventBridge bus; a rule per consumer routes them to its SQS queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

from shared.domain.errors import TransientError
from shared.domain.notices import ChangeNotice

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

# PutEvents takes at most 10 entries per call.
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
PUT_EVENTS_MAX_ENTRIES = 10
DETAIL_TYPE = "ChangeNotice"


def source_for(provider: str) -> str:
    """The event `source` the bus rules match on (`close2cash.webhooks.<provider>`)."""
    return f"close2cash.webhooks.{provider}"


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
                    "Detail": notice.model_dump_json(),
                    "Resources": [],
                }
                for notice in chunk
            ]
            self.calls += 1
            response = self._client.put_events(Entries=entries)
            if response.get("FailedEntryCount", 0):
                failed = [e for e in response["Entries"] if e.get("ErrorCode")]
                raise TransientError(f"EventBridge refused {len(failed)} notice(s): {failed[:3]}")
