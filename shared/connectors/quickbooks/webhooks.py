"""QuickBooks Online webhooks: `intuit-signature` verification on the raw bytes and notice parsing.

Two body formats exist: the legacy `eventNotifications` object and the CloudEvents 1.0 array that
replaces it (migration mandatory in 2026); the signature scheme is the same for both.
https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/configure-webhooks
https://blogs.a.intuit.com/2025/11/12/upcoming-change-to-webhooks-payload-structure
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from shared.connectors.quickbooks.connection import QuickBooksConnection
from shared.connectors.quickbooks.times import parse_qbo_time
from shared.domain.errors import AuthenticityError, MalformedNotice
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import ReceivedWebhook, WebhookReply, WebhookRequest

SIGNATURE_HEADER = "intuit-signature"

# Customers feed the customer master; invoices, payments and credit memos the cash feedback
# (shared/sync/billing/cash.py). Other entities are skipped, not errors.
_ENTITIES = {
    "customer": EntityType.ACCOUNT,
    "invoice": EntityType.INVOICE,
    "payment": EntityType.PAYMENT,
    "creditmemo": EntityType.CREDIT_MEMO,
}

_OPERATIONS = {
    "create": Operation.CREATED,
    "created": Operation.CREATED,
    "update": Operation.UPDATED,
    "updated": Operation.UPDATED,
    "delete": Operation.DELETED,
    "deleted": Operation.DELETED,
    "merge": Operation.MERGED,
    "merged": Operation.MERGED,
    "void": Operation.VOIDED,
    "voided": Operation.VOIDED,
}


def sign(verifier_token: str, body: bytes) -> str:
    """base64(HMAC-SHA256(verifier token, raw body)): the `intuit-signature` header value.

    https://gist.github.com/gregawoods/67fde88882c00ae11c2ce11d35306647
    https://kestra.io/plugins/plugin-quickbooks/trigger/io.kestra.plugin.quickbooks.trigger.webhooktrigger
    """
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(verifier_token: str, body: bytes, signature: str | None) -> None:
    """Raise `AuthenticityError` naming the failed check unless `signature` signs `body` exactly."""
    if not signature:
        raise AuthenticityError(f"quickbooks webhook: the {SIGNATURE_HEADER} header is missing")
    expected = sign(verifier_token, body)
    # Compared exactly as received: nothing is trimmed, so only the signature itself verifies.
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
        raise AuthenticityError(
            f"quickbooks webhook: {SIGNATURE_HEADER} does not match HMAC-SHA256 of the body "
            "under the verifier token"
        )


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _instant(value: str | None) -> str | None:
    """A notice's timestamp must be a readable instant when present (a clear 400, never a 5xx)."""
    if value is not None and parse_qbo_time(value) is None:
        raise ValueError(f"{value[:64]!r} is not an ISO 8601 instant with an offset that UTC can hold")
    return value


_Instant = Annotated[str | None, AfterValidator(_instant)]


class LegacyEntity(_Lenient):
    """One changed record inside `dataChangeEvent.entities`."""

    name: str = Field(min_length=1)
    id: str = Field(min_length=1)
    operation: str = Field(min_length=1)
    lastUpdated: _Instant = None
    # On a Merge: the record merged into `id` and deleted (`id` is the survivor).
    # https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/data-objects
    deletedId: str | None = None


class LegacyChange(_Lenient):
    """`dataChangeEvent`."""

    entities: list[LegacyEntity] = Field(default_factory=list)


class LegacyNotification(_Lenient):
    """One realm's entry in `eventNotifications`."""

    realmId: str = Field(min_length=1)
    dataChangeEvent: LegacyChange = Field(default_factory=LegacyChange)


class LegacyBody(_Lenient):
    """The legacy webhook body."""

    eventNotifications: list[LegacyNotification]


class CloudEvent(_Lenient):
    """One CloudEvents 1.0 item, e.g. type `qbo.customer.updated.v1` (one body may span realms)."""

    specversion: str = "1.0"
    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: _Instant = None
    intuitentityid: str = Field(min_length=1)
    intuitaccountid: str = Field(min_length=1)
    datacontenttype: str | None = None
    # Varies by type and operation; on qbo.<entity>.merged.v1 it carries `deletedid`, the record
    # merged into `intuitentityid`; many events have none.
    # https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/data-objects
    data: Any = None  # read tolerantly: an unexpected shape is not a reason to refuse the notice

    @property
    def deleted_id(self) -> str | None:
        value = self.data.get("deletedid") if isinstance(self.data, dict) else None
        return str(value) if isinstance(value, str | int) and str(value) else None


def _legacy_event_id(realm: str, entity: LegacyEntity) -> str:
    # The legacy format carries no event id. Intuit redelivers the same bytes until it gets a 200,
    # and one change keeps its lastUpdated in every redelivery, while the next change to the same
    # record gets a new lastUpdated; so realm + entity + id + operation + lastUpdated is stable per
    # change and distinct between changes. lastUpdated is normalised to UTC so that "-0700" and "Z"
    # spellings of one instant give one id.
    instant = parse_qbo_time(entity.lastUpdated)
    when = instant.isoformat() if instant is not None else (entity.lastUpdated or "")
    material = "|".join([realm, entity.name.lower(), entity.id, entity.operation.lower(), when])
    return "legacy-" + hashlib.sha256(material.encode()).hexdigest()


def _operation(text: str) -> Operation:
    # Emailed does not apply to Customer; anything unexpected is still a change worth a fetch.
    return _OPERATIONS.get(text.lower(), Operation.CHANGED)


def _parse_legacy(document: dict[str, Any]) -> list[ChangeNotice]:
    body = LegacyBody.model_validate(document)
    notices: list[ChangeNotice] = []
    for notification in body.eventNotifications:
        for entity in notification.dataChangeEvent.entities:
            canonical = _ENTITIES.get(entity.name.lower())
            if canonical is None:
                continue
            notices.append(
                ChangeNotice(
                    provider=SystemName.QUICKBOOKS,
                    event_id=_legacy_event_id(notification.realmId, entity),
                    entity=canonical,
                    vendor_type=entity.name,
                    record_id=entity.id,
                    operation=_operation(entity.operation),
                    occurred_at=parse_qbo_time(entity.lastUpdated),
                    realm=notification.realmId,
                    merged_away_id=entity.deletedId or None,
                )
            )
    return notices


def _parse_cloudevents(document: list[Any]) -> list[ChangeNotice]:
    notices: list[ChangeNotice] = []
    for item in document:
        event = CloudEvent.model_validate(item)
        # type = "qbo.<entity>.<verb>.v<N>", e.g. qbo.customer.created.v1
        parts = event.type.split(".")
        if len(parts) < 3 or parts[0].lower() != "qbo":
            raise MalformedNotice(f"quickbooks webhook: unknown CloudEvents type {event.type!r}")
        entity_name, verb = parts[1], parts[2]
        canonical = _ENTITIES.get(entity_name.lower())
        if canonical is None:
            continue
        notices.append(
            ChangeNotice(
                provider=SystemName.QUICKBOOKS,
                event_id=event.id,
                entity=canonical,
                vendor_type=entity_name[:1].upper() + entity_name[1:],
                record_id=event.intuitentityid,
                operation=_operation(verb),
                occurred_at=parse_qbo_time(event.time),
                realm=event.intuitaccountid,
                merged_away_id=event.deleted_id,
            )
        )
    return notices


def parse_notices(body: bytes) -> list[ChangeNotice]:
    """Customer, Invoice, Payment and CreditMemo notices (legacy or CloudEvents body), or MalformedNotice."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedNotice(f"quickbooks webhook: body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise MalformedNotice("quickbooks webhook: body nests JSON too deeply to read") from exc
    try:
        if isinstance(document, list):
            return _parse_cloudevents(document)
        if isinstance(document, dict) and "eventNotifications" in document:
            return _parse_legacy(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MalformedNotice(f"quickbooks webhook: {where}: {first['msg']}") from exc
    raise MalformedNotice("quickbooks webhook: expected an eventNotifications object or a CloudEvents array")


# The `ReceivedWebhook.dropped` reason for notices about a company this hub is not connected to.
FOREIGN_REALM = "foreign_realm"


def for_connected_company(notices: list[ChangeNotice], realm_id: str) -> tuple[list[ChangeNotice], int]:
    """The notices about the connected company, and how many were about other companies.

    One Intuit app has one webhook endpoint, and it receives the notices of every company connected
    to the app (legacy `eventNotifications[].realmId`, CloudEvents `intuitaccountid`; one body may
    span several). A notice about another company is not ours to fetch: our tokens are for one realm
    and fetching would ask it for a record it does not hold. It is acknowledged (Intuit would
    otherwise redeliver it, and hold back the notices after it) and dropped, counted.
    https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications
    https://blogs.a.intuit.com/2025/11/12/upcoming-change-to-webhooks-payload-structure
    """
    ours = [notice for notice in notices if notice.realm == realm_id]
    return ours, len(notices) - len(ours)


class QuickBooksWebhooks:
    """The WebhookReceiver port for one QuickBooks Online company: no API client, no token, no budget."""

    provider = SystemName.QUICKBOOKS

    def __init__(self, connection: QuickBooksConnection) -> None:
        self._verifier_token = connection.verifier_token
        self._realm_id = connection.realm_id

    def receive(self, request: WebhookRequest) -> ReceivedWebhook:
        """Verify `intuit-signature` on the raw body, then parse; QBO wants an empty 200 within 3 s.

        https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/configure-webhooks
        """
        verify(self._verifier_token.get_secret_value(), request.body, request.header(SIGNATURE_HEADER))
        notices, foreign = for_connected_company(parse_notices(request.body), self._realm_id)
        return ReceivedWebhook(
            notices=tuple(notices),
            reply=WebhookReply(status=200, body=""),
            dropped={FOREIGN_REALM: foreign} if foreign else {},
        )


def receiver(connection: Mapping[str, Any]) -> QuickBooksWebhooks:
    """The webhook receiver of the company described by `connection` (the secret's fields)."""
    return QuickBooksWebhooks(QuickBooksConnection.parse(connection))
