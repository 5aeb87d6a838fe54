"""QBO webhooks: change events aggregated into signed notifications, legacy or CloudEvents format.

https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from infra.local.sandboxes.kit import Notice, Outbox, Subscriber, deliver, delivered

WebhookFormat = Literal["legacy", "cloudevents"]
_VERBS = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Merge": "merged",
    "Void": "voided",
    "Emailed": "emailed",  # an invoice sent to the customer (UNCONFIRMED CloudEvents spelling)
}


@dataclass(frozen=True)
class ChangeEvent:
    """One change to one object, as a notification reports it."""

    entity: str
    record_id: str
    operation: str
    at: datetime
    realm: str
    deleted_id: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


def signature(verifier_token: str, body: bytes) -> str:
    """`intuit-signature`: base64(HMAC-SHA256(verifier token, raw body))."""
    return base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode("ascii")


def _cloudevents_body(events: Sequence[ChangeEvent]) -> bytes:
    items = [
        {
            "specversion": "1.0",
            "id": event.id,
            "source": f"intuit.sandbox.{event.realm}",
            "type": f"qbo.{event.entity.lower()}.{_VERBS[event.operation]}.v1",
            "time": event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z",
            "intuitentityid": event.record_id,
            "intuitaccountid": event.realm,
            # The data object varies by event: a merge carries the merged-away id with
            # datacontenttype application/json; an update carries none.
            # https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/data-objects
            **(
                {"datacontenttype": "application/json", "data": {"deletedid": event.deleted_id}}
                if event.deleted_id
                else {}
            ),
        }
        for event in events
    ]
    return json.dumps(items, separators=(",", ":")).encode()


def _legacy_body(events: Sequence[ChangeEvent]) -> bytes:
    entities = [
        {
            "name": event.entity,
            "id": event.record_id,
            "operation": event.operation,
            "lastUpdated": event.at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            **({"deletedId": event.deleted_id} if event.deleted_id else {}),
        }
        for event in events
    ]
    realm = events[0].realm  # one company per legacy body (see `Notices.bodies`)
    body = {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": entities}}]}
    return json.dumps(body, separators=(",", ":")).encode()


class Notices:
    """The app's webhook endpoint, the events not yet acknowledged, and how they are sent."""

    def __init__(self, verifier_token: str, webhook_format: WebhookFormat) -> None:
        self.verifier_token = verifier_token
        self.format: WebhookFormat = webhook_format
        self.outbox: Outbox[ChangeEvent] = Outbox()
        self.subscriber: Subscriber | None = None

    def queue(self, event: ChangeEvent) -> None:
        """One more change for the next notification."""
        self.outbox.add(event)

    def bodies(self, notices: list[Notice[ChangeEvent]]) -> list[tuple[list[Notice[ChangeEvent]], bytes]]:
        """The notification bodies for these events.

        A CloudEvents body may span companies; a legacy notification carries one realmId ("it only
        uses one at this time ... you will receive multiple eventNotifications (one per RealmID)").
        https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications
        """
        if self.format == "cloudevents":
            return [(notices, _cloudevents_body([n.payload for n in notices]))]
        realms = dict.fromkeys(n.payload.realm for n in notices)
        per_realm = [[n for n in notices if n.payload.realm == realm] for realm in realms]
        return [(batch, _legacy_body([n.payload for n in batch])) for batch in per_realm]

    def deliver_pending(self) -> int:
        """POST every queued event in signed notifications; returns how many were acknowledged.

        QBO aggregates the changes of a window into one POST and redelivers until it gets a 2xx, and
        "you may not receive subsequent events ... until you correctly acknowledge the first event",
        so a refused notification holds back the ones after it.
        https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/best-practices
        """
        pending = self.outbox.due()
        if self.subscriber is None or not pending:
            return 0
        return delivered(
            deliver(
                self.outbox,
                self.subscriber,
                self.bodies(pending),
                lambda body: {"intuit-signature": signature(self.verifier_token, body)},
                stop_at_first_refusal=True,
            )
        )
