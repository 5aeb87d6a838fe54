"""Productive.io webhook verification (Productive-Signature on the raw bytes) and notice parsing.

https://developer.productive.io/webhooks.html: every delivery carries
`Productive-Signature: t=<unix seconds>, s=<hex HMAC-SHA256>`, made from the webhook's token, the
timestamp "of current time when a webhook was called" and the payload serialised as JSON; the help
centre (https://help.productive.io/en/articles/3693279-using-webhooks-in-productive) shows the same
header without the space (`t=1629793288,s=...`), so both spellings are accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from shared.connectors.productive.connection import ProductiveConnection
from shared.connectors.productive.mapper import COMPANY_TYPE, EXPENSE_TYPE, TIME_ENTRY_TYPE, parse_timestamp
from shared.connectors.productive.schemas import WebhookPayload
from shared.domain.errors import AuthenticityError, MalformedNotice
from shared.domain.models import EntityType, SystemName, utcnow
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import ReceivedWebhook, WebhookReply, WebhookRequest

SIGNATURE_HEADER = "Productive-Signature"

# Webhook event ids, https://developer.productive.io/reference/resources/webhooks (and "Webhook events"
# on https://developer.productive.io/webhooks.html): New company 29, Updated company 30, Archived
# company 31 (archiving is how a client leaves Productive); time entry 7 new, 8 updated, 9 deleted;
# expense 21 new, 22 updated, 23 deleted. There is no "approved" event: an approval is an update (8, 22).
COMPANY_EVENTS: dict[int, Operation] = {29: Operation.CREATED, 30: Operation.UPDATED, 31: Operation.DELETED}
TIME_ENTRY_EVENTS: dict[int, Operation] = {7: Operation.CREATED, 8: Operation.UPDATED, 9: Operation.DELETED}
EXPENSE_EVENTS: dict[int, Operation] = {21: Operation.CREATED, 22: Operation.UPDATED, 23: Operation.DELETED}
# Invoice (2/14/15) and payment (32/33/34) events, and those of line items, attributions and tasks, are
# not listed: the hub writes those records itself (the invoice mirror), so their notices come back as
# its own writes and are answered 200 with no notice (`receive`: a type not listed here is ignored).
# What each resource type the hub listens to becomes: its canonical entity and its events.
RECORD_KINDS: dict[str, tuple[EntityType, dict[int, Operation]]] = {
    COMPANY_TYPE: (EntityType.ACCOUNT, COMPANY_EVENTS),
    TIME_ENTRY_TYPE: (EntityType.TIME_ENTRY, TIME_ENTRY_EVENTS),
    EXPENSE_TYPE: (EntityType.EXPENSE_ENTRY, EXPENSE_EVENTS),
}
_EVENT_WORDS: dict[str, Operation] = {
    "create": Operation.CREATED,
    "new": Operation.CREATED,
    "update": Operation.UPDATED,
    "archive": Operation.DELETED,
    "delete": Operation.DELETED,
}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `"{t}.{body}"` keyed with the webhook token, as Productive signs."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The `Productive-Signature` value for `body` signed at `timestamp` (documented spelling)."""
    return f"t={timestamp}, s={sign(secret, timestamp, body)}"


# Exactly the two documented spellings, `t=<seconds>,s=<hex>` and `t=<seconds>, s=<hex>`, nothing
# trimmed or case-folded before the comparison. Ten digits hold any Unix time until the year 2286,
# and bound the integer parse (Python refuses to parse ints over 4,300 digits, with a ValueError).
_SIGNATURE = re.compile(r"t=(?P<t>[0-9]{1,10}), ?s=(?P<s>[0-9a-f]{64})")


def parse_signature(value: str) -> tuple[int, str]:
    """`(t, s)` from a Productive-Signature header; AuthenticityError naming what is wrong."""
    found = _SIGNATURE.fullmatch(value)
    if found is None:
        raise AuthenticityError(
            f"{SIGNATURE_HEADER} has a bad format: expected 't=<unix seconds>, s=<64 lower-case hex digits>'"
        )
    return int(found["t"]), found["s"]


class ProductiveWebhooks:
    """Verifies Productive webhooks for one organization; company, time and expense events become notices."""

    provider = SystemName.PRODUCTIVE

    def __init__(
        self,
        *,
        secret: str,
        organization_id: str,
        tolerance_seconds: int = 300,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._secret = secret
        self._organization_id = organization_id
        self._tolerance = tolerance_seconds
        self._clock = clock

    @classmethod
    def for_connection(
        cls, connection: ProductiveConnection, *, clock: Callable[[], datetime] = utcnow
    ) -> ProductiveWebhooks:
        """The receiver of the organization `connection` describes (its webhook secret and window)."""
        return cls(
            secret=connection.webhook_secret.get_secret_value(),
            organization_id=connection.organization_id,
            tolerance_seconds=connection.webhook_tolerance_seconds,
            clock=clock,
        )

    def verify(self, request: WebhookRequest) -> int:
        """Check the signature on the raw body and the timestamp's age; returns the signed timestamp."""
        header = request.header(SIGNATURE_HEADER)
        if not header:
            raise AuthenticityError(f"missing {SIGNATURE_HEADER} header")
        timestamp, received = parse_signature(header)
        expected = sign(self._secret, timestamp, request.body)
        if not hmac.compare_digest(expected, received):
            raise AuthenticityError(
                f"{SIGNATURE_HEADER} mismatch: body or secret differs from what was signed"
            )
        age = self._clock().timestamp() - timestamp
        if abs(age) > self._tolerance:
            raise AuthenticityError(
                f"{SIGNATURE_HEADER} is stale: signed {age:.0f} s ago, tolerance is {self._tolerance} s"
            )
        return timestamp

    def receive(self, request: WebhookRequest) -> ReceivedWebhook:
        """Verify, then parse; company, time entry and expense events become notices, other types none."""
        timestamp = self.verify(request)
        try:
            document = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedNotice(f"productive webhook body is not JSON: {exc}") from exc
        except RecursionError as exc:
            raise MalformedNotice("productive webhook body nests JSON too deeply to read") from exc
        if not isinstance(document, dict):
            raise MalformedNotice("productive webhook body is not a JSON object")
        try:
            payload = WebhookPayload.model_validate(document)
        except ValidationError as exc:
            raise MalformedNotice(f"productive webhook body has an unexpected shape: {exc}") from exc
        resource = payload.resource()
        if not isinstance(resource, dict) or not resource.get("id") or not resource.get("type"):
            raise MalformedNotice("productive webhook body carries no resource with a type and an id")
        # Reply per the help centre: any 2xx stops Productive's retries; an empty 200 is enough.
        reply = WebhookReply(status=200, body="", content_type="text/plain")
        kind = RECORD_KINDS.get(str(resource["type"]))
        if kind is None:
            return ReceivedWebhook(notices=(), reply=reply)
        entity, events = kind
        operation = self._operation(payload, resource, events)
        if operation is Operation.CREATED and _new_and_unapproved(entity, resource):
            # A new time entry or expense that is not approved yet has nothing for accounting, and
            # nothing was ever posted for it: its approval comes as an update of its own. Dropping it
            # here saves a recorded notice, an event, a queue message and a worker's read per entry
            # (the delivery sweep still sees every entry).
            return ReceivedWebhook(notices=(), reply=reply, dropped={"created_unapproved": 1})
        notice = ChangeNotice(
            provider=SystemName.PRODUCTIVE,
            event_id=self._event_id(timestamp, request.body),
            entity=entity,
            vendor_type=str(resource["type"]),
            record_id=str(resource["id"]),
            operation=operation,
            occurred_at=self._occurred_at(resource, timestamp, deleted=operation is Operation.DELETED),
            realm=self._organization_id,
        )
        return ReceivedWebhook(notices=(notice,), reply=reply)

    @staticmethod
    def _event_id(timestamp: int, body: bytes) -> str:
        # Productive documents no delivery id. A digest of the signed timestamp and the body is stable
        # for one delivery attempt; a retry is re-signed with a new t, so it is recorded as a new notice
        # and the worker's checksum comparison absorbs it. Hashing the body alone would instead merge
        # two real changes whose bodies happen to be equal, which loses an update.
        digest = hashlib.sha256(str(timestamp).encode() + b"." + body).hexdigest()
        return f"sig-{digest}"

    @staticmethod
    def _operation(
        payload: WebhookPayload, resource: dict[str, object], events: Mapping[int, Operation]
    ) -> Operation:
        raw_event = payload.event_id if payload.event_id is not None else (payload.meta or {}).get("event_id")
        if raw_event is not None and str(raw_event).isdigit() and int(str(raw_event)) in events:
            return events[int(str(raw_event))]
        name = payload.event or str((payload.meta or {}).get("event") or "")
        for word, operation in _EVENT_WORDS.items():
            if word in name.lower():
                return operation
        attributes = resource.get("attributes")
        if isinstance(attributes, dict) and attributes.get("archived_at"):
            return Operation.DELETED
        # The event is not named in the body: the worker fetches the record anyway.
        return Operation.CHANGED

    @staticmethod
    def _occurred_at(resource: dict[str, object], timestamp: int, *, deleted: bool = False) -> datetime:
        # The resource's own last change (an approval moves `updated_at`); a delete's body is the record
        # as it last stood, so its `deleted_at`, when the body has one, is the better instant.
        keys = ("updated_at", "archived_at", "created_at")
        attributes = resource.get("attributes")
        if isinstance(attributes, dict):
            for key in ("deleted_at", *keys) if deleted else keys:
                value = attributes.get(key)
                if not isinstance(value, str) or not value:
                    continue
                parsed = parse_timestamp(value)
                if parsed is None:
                    raise MalformedNotice(
                        f"productive webhook: {key} {value[:64]!r} is not an ISO 8601 instant UTC can hold"
                    )
                return parsed
        return datetime.fromtimestamp(timestamp, UTC)


# https://developer.productive.io/reference/resources/expenses approval_status: 1 approved, 4 auto-approved
_APPROVED_EXPENSE_STATUSES = frozenset({1, 4})


def _new_and_unapproved(entity: EntityType, resource: Mapping[str, Any]) -> bool:
    """The body itself says the new record is not approved (a time entry's `approved`, an expense's
    `approval_status`); anything the body does not say is kept."""
    attributes = resource.get("attributes")
    if not isinstance(attributes, Mapping):
        return False
    if entity is EntityType.TIME_ENTRY:
        return attributes.get("approved") is False
    if entity is EntityType.EXPENSE_ENTRY:
        status = attributes.get("approval_status")
        return (
            isinstance(status, int)
            and not isinstance(status, bool)
            and status not in _APPROVED_EXPENSE_STATUSES
        )
    return False


def receiver(connection: Mapping[str, Any]) -> ProductiveWebhooks:
    """The webhook receiver of the organization described by `connection` (the secret's fields)."""
    return ProductiveWebhooks.for_connection(ProductiveConnection.parse(connection))
