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

from infra.local.sandboxes.kit import Delivery, Notice, Outbox, RetrySchedule, deliver, delivered
from infra.local.sandboxes.kit import Subscriber as KitSubscriber
from infra.local.sandboxes.salesforce.ids import NOTIFICATION_PREFIX
from infra.local.sandboxes.salesforce.records import RecordStore
from infra.local.sandboxes.salesforce.schema import OUTBOUND_FIELDS, PREFIXES
from infra.local.sandboxes.salesforce.wire import sf_datetime

# --- outbound messaging --------------------------------------------------------------------------

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"
# At most 100 notifications per message (WSDL maxOccurs="100"). An undelivered message is retried
# "independent of [its] order in the queue", the interval between retries increasing exponentially
# up to two hours, and dropped once 24 hours old.
# https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_notifications.htm
# https://help.salesforce.com/s/articleView?id=platform.workflow_om_considerations.htm&type=5
MAX_NOTIFICATIONS_PER_MESSAGE = 100
OUTBOUND_RETENTION = timedelta(hours=24)
# The first interval is not documented ("no documented minimum ... in the order of 2-5 seconds",
# https://salesforce.stackexchange.com/questions/142580/outbound-message-clarification): 5 s, doubled.
OUTBOUND_RETRY = RetrySchedule(
    first_wait=timedelta(seconds=5), longest_wait=timedelta(hours=2), give_up_after=OUTBOUND_RETENTION
)
# Salesforce waits 60 seconds for the acknowledgement (same considerations page).
ACK_TIMEOUT_SECONDS = 60.0
# One POST of an outbound message and what came of it (the kit's record of a delivery).
DeliveryAttempt = Delivery


@dataclass(frozen=True)
class PendingNotification:
    """One queued outbound notification: its own id, the record it is about, and its refusals so far."""

    notification_id: str
    record_id: str
    queued_at: datetime | None
    attempts: int = 0


@dataclass
class Subscriber:
    url: str
    token: str
    transport: httpx.BaseTransport | None


class OutboundRules(RecordStore):
    """The outbound message rules on Account and Opportunity, and their delivery queue (the kit's outbox)."""

    organization_id: str
    base_url: str
    _action_id: str
    _delivery_lock: threading.Lock
    _subscriber: Subscriber | None
    _outbox: Outbox[str]  # payload: the record id
    _last_delivered: list[Notice[str]]
    delivery_attempts: list[Delivery]

    def _snapshot(self) -> dict[str, Any]:
        # A rolled-back transaction sends no outbound message: its notifications go with it.
        return {**super()._snapshot(), "outbox": self._outbox.snapshot()}

    def _restore(self, snapshot: dict[str, Any]) -> None:
        super()._restore(snapshot)
        self._outbox.restore(snapshot["outbox"])

    def subscribe(self, url: str, *, token: str, transport: httpx.BaseTransport | None = None) -> None:
        """Point the outbound message rule at `url`; messages are POSTed to url?token=<token>."""
        with self._lock:
            self._subscriber = Subscriber(url=url, token=token, transport=transport)

    def _view(self, notice: Notice[str]) -> PendingNotification:
        return PendingNotification(notice.id, notice.payload, notice.queued_at, self._outbox.refusals(notice))

    @property
    def pending_notifications(self) -> list[PendingNotification]:
        """Notifications queued and not yet acknowledged, oldest first."""
        with self._lock:
            return [self._view(notice) for notice in self._outbox.pending()]

    @property
    def dropped_notifications(self) -> list[PendingNotification]:
        """Notifications given up on after 24 hours undelivered, oldest first."""
        with self._lock:
            return [PendingNotification(n.id, n.payload, n.queued_at) for n in self._outbox.dropped]

    def drop_pending(self, record_id: str) -> int:
        """Lose the queued notifications about `record_id`, as when the outbound message rule was
        inactive at the time of the save, or Salesforce gave up after 24 hours; returns how many."""
        with self._lock:
            return self._outbox.discard(lambda queued: queued == record_id)

    def deliver_pending(self) -> int:
        """POST the notifications due now (up to 100 per message); returns how many were acknowledged.

        A notification leaves the queue only when the reply is a SOAP notificationsResponse with Ack
        true; otherwise it waits for its next try (backoff doubling from 5 s up to 2 hours between
        tries, in the org's clock) until it is 24 hours old, when it is dropped as Salesforce drops
        it. Messages are tried independently of each other: one refused does not hold back the rest.
        """
        with self._delivery_lock:
            with self._lock:
                subscriber = self._subscriber
                due = self._outbox.due()
                if subscriber is None or not due:
                    return 0
                batches = [(batch, self._outbound_message(batch)) for batch in self._messages(due)]
            target = KitSubscriber(
                str(httpx.URL(subscriber.url).copy_add_param("token", subscriber.token)),
                subscriber.transport,
                timeout=ACK_TIMEOUT_SECONDS,
            )
            deliveries = deliver(
                self._outbox,
                target,
                batches,
                lambda body: {"SOAPAction": '""'},
                stop_at_first_refusal=False,
                content_type="text/xml; charset=utf-8",
                acknowledges=lambda answer: answer.status_code == 200 and self._is_ack(answer.content),
                clock=self._clock,
            )
            with self._lock:
                self.delivery_attempts.extend(deliveries)
                for (batch, _), attempt in zip(batches, deliveries, strict=False):
                    if attempt.acknowledged:
                        self._last_delivered = list(batch)
            return delivered(deliveries)

    @staticmethod
    def _messages(due: list[Notice[str]]) -> list[list[Notice[str]]]:
        """The due notifications as messages: one object type each (each rule sends its own), 100 at most."""
        by_kind: dict[str, list[Notice[str]]] = {}
        for notice in due:
            by_kind.setdefault(notice.payload[:3], []).append(notice)
        return [
            same[i : i + MAX_NOTIFICATIONS_PER_MESSAGE]
            for same in by_kind.values()
            for i in range(0, len(same), MAX_NOTIFICATIONS_PER_MESSAGE)
        ]

    def replay_last_delivery(self) -> int:
        """Queue the last acknowledged message's notifications again, same ids: Salesforce delivers at
        least once, so a listener sees redeliveries. Returns how many were queued again.

        https://developer.salesforce.com/docs/atlas.en-us.246.0.api.meta/api/sforce_api_om_outboundmessaging_notifications.htm
        """
        with self._lock:
            for notice in reversed(self._last_delivered):
                self._outbox.add(notice.payload, notice_id=notice.id, first=True)
            return len(self._last_delivered)

    # --- outbound messages ---------------------------------------------------------------------

    def _queue_notification(self, record_id: str, now: datetime) -> None:
        self._outbox.add(record_id, notice_id=self._ids.new(NOTIFICATION_PREFIX), at=now)

    def _outbound_message(self, batch: list[Notice[str]]) -> bytes:
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
            sobject = next(name for name in OUTBOUND_FIELDS if item.payload.startswith(PREFIXES[name]))
            record = self._objects[sobject][item.payload]
            parts.append(f"<Notification><Id>{item.id}</Id>")
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

    @staticmethod
    def _is_ack(body: bytes) -> bool:
        try:
            root: Element = SafeET.fromstring(body, forbid_dtd=True)
        except (ParseError, defusedxml.DefusedXmlException):
            return False
        ack = root.find(f"{{{SOAP_ENV}}}Body/{{{OUTBOUND}}}notificationsResponse/{{{OUTBOUND}}}Ack")
        return ack is not None and (ack.text or "").strip().lower() == "true"
