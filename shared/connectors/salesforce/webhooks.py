"""Salesforce Outbound Messages: endpoint-token and org checks, SOAP parsing into notices, the Ack reply.

Outbound Messages carry no signature. What we can check is what the message and its URL carry: the
shared token configured in the endpoint URL (?token=...) and the OrganizationId in the message.
(TLS, IP allowlisting and the Salesforce client certificate are enforced in front of the hub.)
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_security.htm
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

# No stubs ship with defusedxml (types-defusedxml is not a dev dependency yet).
import defusedxml  # type: ignore[import-untyped]
import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]

from shared.connectors.salesforce.connection import SalesforceConnection
from shared.connectors.salesforce.ids import is_salesforce_id, same_salesforce_id
from shared.domain.errors import AuthenticityError, MalformedNotice
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import ReceivedWebhook, WebhookReply, WebhookRequest

# Namespaces of the outbound messaging WSDL: `notifications` and its children live in the outbound
# namespace, the record fields in the enterprise sObject namespace, the type in xsi:type="sf:Account".
# https://developer.salesforce.com/docs/platform/api/guide/sforce-api-om-outboundmessaging-wsdl.html
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

# The WSDL declares <element name="Notification" maxOccurs="100">.
MAX_NOTIFICATIONS = 100

# Only these record types become notices; the value is the canonical entity.
ENTITY_BY_SOBJECT = {"Account": EntityType.ACCOUNT, "Opportunity": EntityType.OPPORTUNITY}

# The listener acknowledges the whole message with notificationsResponse/Ack=true; anything else and
# Salesforce redelivers every notification in it, with backoff, for up to 24 hours.
# https://developer.salesforce.com/docs/platform/api/guide/sforce-api-om-outboundmessaging-wsdl.html
ACK_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body>"
    "</soapenv:Envelope>"
)
ACK_REPLY = WebhookReply(status=200, body=ACK_ENVELOPE, content_type="text/xml; charset=utf-8")


def _text(parent: Element, tag: str) -> str | None:
    child = parent.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _record_field(sobject: Element, name: str) -> str | None:
    """A field of the sObject: in the enterprise namespace (as sent), or unqualified (tolerated)."""
    return _text(sobject, f"{{{SOBJECT}}}{name}") or _text(sobject, name)


def _sobject_type(sobject: Element) -> str | None:
    declared = sobject.get(f"{{{XSI}}}type")
    if not declared:
        return None
    return declared.rsplit(":", 1)[-1]  # "sf:Account" -> "Account"


def _timestamp(value: str | None, notification_id: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        # OverflowError: an instant UTC cannot hold (`9999-12-31T23:59:59-23:59`)
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):
        raise MalformedNotice(
            f"Salesforce outbound message: Notification {notification_id} has an unreadable "
            f"timestamp {value[:64]!r}"
        ) from None


class OutboundMessageReceiver:
    """Receives one org's Outbound Messages: each Account or Opportunity notification is a ChangeNotice."""

    provider: SystemName = SystemName.SALESFORCE

    def __init__(self, *, organization_id: str, endpoint_token: str) -> None:
        if not endpoint_token:
            raise ValueError("an outbound message endpoint needs a non-empty token")
        self._organization_id = organization_id
        self._token = endpoint_token.encode()

    @classmethod
    def for_connection(cls, connection: SalesforceConnection) -> OutboundMessageReceiver:
        """The receiver of the org `connection` describes (its id, its endpoint token)."""
        return cls(
            organization_id=connection.organization_id,
            endpoint_token=connection.webhook_token.get_secret_value(),
        )

    def receive(self, request: WebhookRequest) -> ReceivedWebhook:
        """Verify, parse and acknowledge one Outbound Message (raises AuthenticityError/MalformedNotice)."""
        self._check_token(request)
        notifications = self._parse(request.body)
        organization_id = _text(notifications, f"{{{OUTBOUND}}}OrganizationId")
        self._check_organization(organization_id)
        assert organization_id is not None  # checked just above
        return ReceivedWebhook(notices=self._notices(notifications, organization_id), reply=ACK_REPLY)

    def _check_token(self, request: WebhookRequest) -> None:
        # Checked before parsing: untrusted XML from an unauthenticated sender is never parsed.
        presented = request.query.get("token")
        if not presented:
            raise AuthenticityError(
                "Salesforce outbound message rejected: the endpoint token (?token=) is missing"
            )
        if not hmac.compare_digest(presented.encode(), self._token):
            raise AuthenticityError(
                "Salesforce outbound message rejected: the endpoint token (?token=) does not match"
            )

    def _check_organization(self, organization_id: str | None) -> None:
        if organization_id is None:
            raise AuthenticityError("Salesforce outbound message rejected: it carries no OrganizationId")
        if not same_salesforce_id(organization_id, self._organization_id):
            raise AuthenticityError(
                f"Salesforce outbound message rejected: OrganizationId {organization_id!r} "
                "is not the configured org"
            )

    @staticmethod
    def _parse(body: bytes) -> Element:
        if not body:
            raise MalformedNotice("Salesforce outbound message has an empty body")
        try:
            # A SOAP 1.1 message must not contain a DTD, so DTDs (and with them entity bombs and
            # external entities) are refused outright.
            root: Element = SafeET.fromstring(
                body, forbid_dtd=True, forbid_entities=True, forbid_external=True
            )
        except defusedxml.DefusedXmlException as exc:
            raise MalformedNotice(
                f"Salesforce outbound message refused: XML declares a DTD or entities ({type(exc).__name__})"
            ) from exc
        except ParseError as exc:
            raise MalformedNotice(f"Salesforce outbound message is not well-formed XML: {exc}") from exc
        if root.tag != f"{{{SOAP_ENV}}}Envelope":
            raise MalformedNotice(f"Salesforce outbound message is not a SOAP envelope (root {root.tag!r})")
        notifications = root.find(f"{{{SOAP_ENV}}}Body/{{{OUTBOUND}}}notifications")
        if notifications is None:
            raise MalformedNotice(
                "Salesforce outbound message has no soapenv:Body/notifications element "
                f"in namespace {OUTBOUND}"
            )
        return notifications

    @staticmethod
    def _notices(notifications: Element, organization_id: str) -> tuple[ChangeNotice, ...]:
        items = notifications.findall(f"{{{OUTBOUND}}}Notification")
        if len(items) > MAX_NOTIFICATIONS:
            raise MalformedNotice(
                f"Salesforce outbound message carries {len(items)} notifications; at most "
                f"{MAX_NOTIFICATIONS} are allowed"
            )
        notices: dict[str, ChangeNotice] = {}
        for position, item in enumerate(items, start=1):
            notification_id = _text(item, f"{{{OUTBOUND}}}Id")
            if notification_id is None:
                raise MalformedNotice(f"Salesforce outbound message: Notification #{position} has no Id")
            sobject = item.find(f"{{{OUTBOUND}}}sObject")
            if sobject is None:
                raise MalformedNotice(
                    f"Salesforce outbound message: Notification {notification_id} has no sObject"
                )
            record_id = _record_field(sobject, "Id")
            if record_id is None:
                raise MalformedNotice(
                    f"Salesforce outbound message: Notification {notification_id} has no sObject Id"
                )
            if not is_salesforce_id(record_id):
                raise MalformedNotice(
                    f"Salesforce outbound message: Notification {notification_id} has an invalid "
                    f"sObject Id {record_id!r}"
                )
            vendor_type = _sobject_type(sobject)
            entity = ENTITY_BY_SOBJECT.get(vendor_type or "")
            if entity is None:
                # An outbound message rule on another object pointed at this endpoint. Rejecting it
                # would make Salesforce redeliver the whole message (and its Account notifications)
                # for 24 hours; the hub has no flow for the type, so it is acknowledged and dropped.
                continue
            notices[notification_id] = ChangeNotice(
                provider=SystemName.SALESFORCE,
                event_id=notification_id,
                entity=entity,
                vendor_type=vendor_type or "",
                record_id=record_id,
                # Outbound messages do not say whether the record was created or edited.
                operation=Operation.CHANGED,
                occurred_at=_timestamp(
                    _record_field(sobject, "SystemModstamp") or _record_field(sobject, "LastModifiedDate"),
                    notification_id,
                ),
                realm=organization_id,
                **_opportunity_hints(sobject) if entity is EntityType.OPPORTUNITY else {},
            )
        return tuple(notices.values())


def _opportunity_hints(sobject: Element) -> dict[str, object]:
    """What an Opportunity notification says of the close, when its rule sends IsWon.

    The outbound message carries the fields its rule was set up to send, with the record's values
    at the time of the notification, so a notification that names IsWon says whether the deal is
    won: the workflow start then needs no fetch to skip an open deal.
    https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_understanding.htm
    """
    won = _record_field(sobject, "IsWon")
    return {"won": won == "true"} if won in ("true", "false") else {}


def receiver(connection: Mapping[str, Any]) -> OutboundMessageReceiver:
    """The Outbound Message receiver of the org described by `connection` (the secret's fields)."""
    return OutboundMessageReceiver.for_connection(SalesforceConnection.parse(connection))
