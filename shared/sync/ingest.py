"""Webhook ingest: verify on the raw bytes, record each notice once, publish, answer fast.

The use case does no fetching: thin and fat payloads alike become change notices, and workers
fetch the current record from its system of record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum

from shared.domain.errors import AuthenticityError, MalformedNotice
from shared.domain.models import CanonicalModel
from shared.domain.ports import (
    Ledger,
    Metrics,
    NoticePublisher,
    WebhookReceiver,
    WebhookReply,
    WebhookRequest,
)


class RejectionReason(StrEnum):
    """Why a webhook was refused (the metric dimension and the error body's `reason`)."""

    UNKNOWN_PROVIDER = "unknown_provider"
    NOT_CONNECTED = "provider_not_connected"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"


STATUS_FOR = {
    RejectionReason.UNKNOWN_PROVIDER: 404,
    RejectionReason.NOT_CONNECTED: 404,
    RejectionReason.BAD_SIGNATURE: 401,
    RejectionReason.MALFORMED: 400,
    RejectionReason.TOO_LARGE: 413,
}


class WebhookRejected(Exception):
    """A webhook that is answered 4xx: nothing was recorded or enqueued."""

    def __init__(self, reason: RejectionReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = STATUS_FOR[reason]
        self.message = message


class IngestOutcome(CanonicalModel):
    """An accepted webhook: how many notices were new, how many were redeliveries."""

    provider: str
    published: int
    duplicates: int
    reply: WebhookReply


class WebhookIngest:
    """The use case behind `POST /webhooks/{provider}`."""

    def __init__(
        self,
        *,
        known_providers: frozenset[str],
        receivers: Mapping[str, Callable[[], WebhookReceiver]],
        ledger: Ledger,
        publisher: NoticePublisher,
        metrics: Metrics,
        max_body_bytes: int,
    ) -> None:
        self._known = known_providers
        self._receivers = receivers
        self._ledger = ledger
        self._publisher = publisher
        self._metrics = metrics
        self._max_body = max_body_bytes

    def handle(self, provider: str, request: WebhookRequest) -> IngestOutcome:
        try:
            return self._handle(provider, request)
        except WebhookRejected as rejected:
            self._metrics.count("WebhookRejected", dimensions={"reason": rejected.reason.value})
            raise

    def _handle(self, provider: str, request: WebhookRequest) -> IngestOutcome:
        if provider not in self._known:
            raise WebhookRejected(RejectionReason.UNKNOWN_PROVIDER, f"unknown provider {provider!r}")
        if len(request.body) > self._max_body:
            raise WebhookRejected(
                RejectionReason.TOO_LARGE,
                f"body of {len(request.body)} bytes exceeds the limit of {self._max_body} bytes",
            )
        build = self._receivers.get(provider)
        if build is None:
            raise WebhookRejected(
                RejectionReason.NOT_CONNECTED, f"provider {provider!r} is not connected in this landscape"
            )
        try:
            received = build().receive(request)
        except AuthenticityError as exc:
            raise WebhookRejected(RejectionReason.BAD_SIGNATURE, str(exc)) from exc
        except MalformedNotice as exc:
            raise WebhookRejected(RejectionReason.MALFORMED, str(exc)) from exc
        fresh = [notice for notice in received.notices if self._ledger.claim_notice(notice)]
        # Publish before acknowledging: if this fails the vendor gets a 5xx and redelivers, and the
        # claim (still "received", not "published") lets the redelivery through.
        if fresh:
            self._publisher.publish(fresh)
        for notice in fresh:
            self._ledger.mark_published(notice)
        duplicates = len(received.notices) - len(fresh)
        self._metrics.count("NoticesReceived", len(received.notices))
        if duplicates:
            self._metrics.count("DuplicatesPrevented", duplicates)
        return IngestOutcome(
            provider=provider, published=len(fresh), duplicates=duplicates, reply=received.reply
        )
