"""Outbound Messages: the org's rules queue SOAP notifications and POST them to the subscriber."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

import defusedxml  # type: ignore[import-untyped]
import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]
import httpx

from infra.local.sandboxes.salesforce.ids import NOTIFICATION_PREFIX
from infra.local.sandboxes.salesforce.records import RecordStore
from infra.local.sandboxes.salesforce.schema import OUTBOUND_FIELDS, PREFIXES
from infra.local.sandboxes.salesforce.wire import sf_datetime

# --- outbound messaging --------------------------------------------------------------------------

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"
# At most 100 notifications per message (WSDL maxOccurs="100"); undelivered ones are dropped after
# 24 hours. https://developer.salesforce.com/docs/atlas.en-us.246.0.api.meta/api/sforce_api_om_outboundmessaging_notifications.htm
MAX_NOTIFICATIONS_PER_MESSAGE = 100
OUTBOUND_RETENTION = timedelta(hours=24)


@dataclass
class PendingNotification:
    """One queued outbound notification: its own id and the record it is about."""

    notification_id: str
    record_id: str
    queued_at: datetime
    attempts: int = 0


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of an outbound message to the subscriber, and what came of it."""

    at: datetime
    notification_ids: tuple[str, ...]
    status: int | None
    acknowledged: bool
    error: str | None = None


@dataclass
class Subscriber:
    url: str
    token: str
    transport: httpx.BaseTransport | None


class OutboundRules(RecordStore):
    """The outbound message rules on Account and Opportunity, and their delivery queue."""

    organization_id: str
    base_url: str
    _action_id: str
    _delivery_lock: threading.Lock
    _subscriber: Subscriber | None
    _pending: list[PendingNotification]
    _last_delivered: list[PendingNotification]
    delivery_attempts: list[DeliveryAttempt]
    dropped_notifications: list[PendingNotification]

    def _snapshot(self) -> dict[str, Any]:
        # A rolled-back transaction sends no outbound message: its notifications go with it.
        return {**super()._snapshot(), "pending": list(self._pending)}

    def _restore(self, snapshot: dict[str, Any]) -> None:
        super()._restore(snapshot)
        self._pending = snapshot["pending"]

    def subscribe(self, url: str, *, token: str, transport: httpx.BaseTransport | None = None) -> None:
        """Point the outbound message rule at `url`; messages are POSTed to url?token=<token>."""
        with self._lock:
            self._subscriber = Subscriber(url=url, token=token, transport=transport)

    @property
    def pending_notifications(self) -> list[PendingNotification]:
        """Notifications queued and not yet acknowledged, oldest first."""
        with self._lock:
            return list(self._pending)

    def drop_pending(self, record_id: str) -> int:
        """Lose the queued notifications about `record_id`, as when the outbound message rule was
        inactive at the time of the save, or Salesforce gave up after 24 hours; returns how many."""
        with self._lock:
            kept = [p for p in self._pending if p.record_id != record_id]
            dropped = len(self._pending) - len(kept)
            self._pending = kept
            return dropped

    def deliver_pending(self) -> int:
        """POST queued notifications (up to 100 per message); returns how many were acknowledged.

        A notification leaves the queue only when the reply is a SOAP notificationsResponse with
        Ack true; otherwise it stays for the next round (Salesforce retries with backoff) until it is
        24 hours old, when it is dropped as Salesforce drops it.
        """
        acknowledged = 0
        with self._delivery_lock:
            while True:
                with self._lock:
                    self._drop_expired()
                    subscriber = self._subscriber
                    # Each outbound message rule (one per object) sends its own messages, so a
                    # message carries notifications about one object type only.
                    kind = self._pending[0].record_id[:3] if self._pending else ""
                    same = [p for p in self._pending if p.record_id[:3] == kind]
                    batch = same[:MAX_NOTIFICATIONS_PER_MESSAGE]
                    if subscriber is None or not batch:
                        return acknowledged
                    for item in batch:
                        item.attempts += 1
                    body = self._outbound_message(batch)
                attempt = self._post(subscriber, body, batch)
                with self._lock:
                    self.delivery_attempts.append(attempt)
                    if not attempt.acknowledged:
                        return acknowledged
                    delivered = set(attempt.notification_ids)
                    self._last_delivered = [p for p in self._pending if p.notification_id in delivered]
                    self._pending = [p for p in self._pending if p.notification_id not in delivered]
                acknowledged += len(batch)

    def replay_last_delivery(self) -> int:
        """Queue the last acknowledged message's notifications again, same ids: Salesforce delivers at
        least once, so a listener sees redeliveries. Returns how many were queued again.

        https://developer.salesforce.com/docs/atlas.en-us.246.0.api.meta/api/sforce_api_om_outboundmessaging_notifications.htm
        """
        with self._lock:
            again = [
                PendingNotification(p.notification_id, p.record_id, self._clock())
                for p in self._last_delivered
            ]
            self._pending = again + self._pending
            return len(again)

    # --- outbound messages ---------------------------------------------------------------------

    def _queue_notification(self, record_id: str, now: datetime) -> None:
        self._pending.append(
            PendingNotification(
                notification_id=self._ids.new(NOTIFICATION_PREFIX), record_id=record_id, queued_at=now
            )
        )

    def _drop_expired(self) -> None:
        horizon = self._clock() - OUTBOUND_RETENTION
        expired = [p for p in self._pending if p.queued_at <= horizon]
        if expired:
            self.dropped_notifications.extend(expired)
            self._pending = [p for p in self._pending if p.queued_at > horizon]

    def _outbound_message(self, batch: list[PendingNotification]) -> bytes:
        """The SOAP notifications() message for `batch`, with each record's latest data.

        https://developer.salesforce.com/docs/platform/api/guide/sforce-api-om-outboundmessaging-wsdl.html
        """
        org15 = self.organization_id[:15]
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
            "<soapenv:Body>",
            f'<notifications xmlns="{OUTBOUND}">',
            f"<OrganizationId>{self.organization_id}</OrganizationId>",
            f"<ActionId>{self._action_id}</ActionId>",
            '<SessionId xsi:nil="true"/>',
            f"<EnterpriseUrl>{escape(self.base_url)}/services/Soap/c/{self.api_version}/{org15}</EnterpriseUrl>",
            f"<PartnerUrl>{escape(self.base_url)}/services/Soap/u/{self.api_version}/{org15}</PartnerUrl>",
        ]
        for item in batch:
            sobject = next(name for name in OUTBOUND_FIELDS if item.record_id.startswith(PREFIXES[name]))
            record = self._objects[sobject][item.record_id]
            parts.append(f"<Notification><Id>{item.notification_id}</Id>")
            parts.append(f'<sObject xsi:type="sf:{sobject}" xmlns:sf={quoteattr(SOBJECT)}>')
            for name in OUTBOUND_FIELDS[sobject]:
                value = record.get(name)
                if value is None:
                    continue  # null fields are left out of the message
                if isinstance(value, datetime):
                    text = sf_datetime(value).replace("+0000", "Z")
                elif isinstance(value, bool):
                    text = str(value).lower()
                elif isinstance(value, Decimal):
                    text = format(value, "f")
                else:
                    text = str(value)
                parts.append(f"<sf:{name}>{escape(text)}</sf:{name}>")
            parts.append("</sObject></Notification>")
        parts.extend(["</notifications>", "</soapenv:Body>", "</soapenv:Envelope>"])
        return "".join(parts).encode()

    def _post(self, subscriber: Subscriber, body: bytes, batch: list[PendingNotification]) -> DeliveryAttempt:
        ids = tuple(item.notification_id for item in batch)
        # Salesforce waits 60 seconds for the acknowledgement.
        # https://help.salesforce.com/s/articleView?id=platform.workflow_om_considerations.htm&type=5
        try:
            with httpx.Client(transport=subscriber.transport, timeout=60.0) as client:
                response = client.post(
                    subscriber.url,
                    params={"token": subscriber.token},
                    content=body,
                    headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
                )
        except httpx.HTTPError as exc:
            return DeliveryAttempt(self._clock(), ids, None, False, f"{type(exc).__name__}: {exc}")
        acknowledged = response.status_code == 200 and self._is_ack(response.content)
        error = None if acknowledged else f"HTTP {response.status_code}: {response.text[:200]}"
        return DeliveryAttempt(self._clock(), ids, response.status_code, acknowledged, error)

    @staticmethod
    def _is_ack(body: bytes) -> bool:
        try:
            root: Element = SafeET.fromstring(body, forbid_dtd=True)
        except (ParseError, defusedxml.DefusedXmlException):
            return False
        ack = root.find(f"{{{SOAP_ENV}}}Body/{{{OUTBOUND}}}notificationsResponse/{{{OUTBOUND}}}Ack")
        return ack is not None and (ack.text or "").strip().lower() == "true"
