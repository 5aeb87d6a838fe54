"""Webhook ingest: verify on the raw bytes, record each notice once, publish, answer fast.

The use case does no fetching: thin and fat payloads alike become change notices, and workers
fetch the current record from its system of record.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping
from enum import StrEnum

from pydantic import ValidationError

from shared.domain.errors import AuthenticityError, MalformedNotice
from shared.domain.intake_ports import WebhookReceiver, WebhookReply, WebhookRequest
from shared.domain.metrics import BusinessMetric
from shared.domain.models import CanonicalModel
from shared.domain.notices import ChangeNotice
from shared.domain.ports import Ledger, Metrics, NoticeClaim, NoticePublisher
from shared.sync.write_back import is_write_back_echo


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


class RetryLater(Exception):
    """Some notices are held by a concurrent delivery that may still fail: answer 409, not 2xx.

    A 2xx would tell the vendor the notice is safe while the holder could still fail to publish it;
    every vendor redelivers on a non-2xx, and the redelivery finds the notice published:
    QuickBooks on "a 500 (or other) error status"
    (https://blogs.intuit.com/2024/12/02/introducing-our-new-webhooks-page), Salesforce on anything
    but an Ack (https://developer.salesforce.com/docs/platform/api/guide/sforce-api-om-outboundmessaging-wsdl.html),
    Productive until a 2xx (https://help.productive.io/en/articles/3693279-using-webhooks-in-productive).
    """

    status = 409
    reason = "in_flight"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _first_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "notice"
    # The pattern itself says little to a vendor's support desk; what it allows does.
    pattern = first["type"] == "string_pattern_mismatch"
    what = "must be printable ASCII without spaces" if pattern else first["msg"]
    return f"a notice cannot be recorded: {where}: {what}"


def claim_and_publish(
    ledger: Ledger, publisher: NoticePublisher, notices: list[ChangeNotice]
) -> tuple[list[ChangeNotice], list[ChangeNotice]]:
    """Claim, publish, mark published: returns (published now, held by a concurrent delivery).

    Publish before acknowledging: if publishing fails the sender gets an error and redelivers,
    and our claims are released so the redelivery goes through at once. A claim we could not
    release (the ledger is down too) goes stale after the ledger's claim timeout.
    """
    holder = uuid.uuid4().hex
    fresh: list[ChangeNotice] = []
    in_flight: list[ChangeNotice] = []
    try:
        # In bulk: one QuickBooks notification can carry a thousand changes and still wants its
        # answer within 3 s; one write per notice would outlast the function's timeout, and the
        # redeliveries would find the notices held by the dead attempt's claims.
        claims = list(zip(notices, ledger.claim_notices(notices, holder=holder), strict=True))
        fresh = [notice for notice, claim in claims if claim is NoticeClaim.CLAIMED]
        in_flight = [notice for notice, claim in claims if claim is NoticeClaim.IN_FLIGHT]
        if fresh:
            publisher.publish(fresh)
    except Exception:
        for notice in fresh:
            with contextlib.suppress(Exception):
                ledger.release_notice(notice, holder=holder)
        raise
    ledger.mark_all_published(fresh)
    return fresh, in_flight


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
        refused: Mapping[str, str] | None = None,
    ) -> None:
        # Providers connected but told to deliver another way (Salesforce on change data capture):
        # provider -> why their webhooks are refused.
        self._refused = dict(refused or {})
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
            self._metrics.count(BusinessMetric.WEBHOOK_REJECTED, dimensions={"reason": rejected.reason.value})
            raise

    def _claim(self, notices: list[ChangeNotice]) -> tuple[list[ChangeNotice], list[ChangeNotice]]:
        return claim_and_publish(self._ledger, self._publisher, notices)

    def _handle(self, provider: str, request: WebhookRequest) -> IngestOutcome:
        if provider not in self._known:
            raise WebhookRejected(RejectionReason.UNKNOWN_PROVIDER, f"unknown provider {provider!r}")
        if len(request.body) > self._max_body:
            raise WebhookRejected(
                RejectionReason.TOO_LARGE,
                f"body of {len(request.body)} bytes exceeds the limit of {self._max_body} bytes",
            )
        if provider in self._refused:
            raise WebhookRejected(RejectionReason.NOT_CONNECTED, self._refused[provider])
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
        except ValidationError as exc:
            # A vendor's field that no notice can hold (an id too long for a ledger key, ...): the
            # sender's fault, named. Any other model failing is ours, and stays a 5xx.
            if exc.title != ChangeNotice.__name__:
                raise
            raise WebhookRejected(RejectionReason.MALFORMED, _first_problem(exc)) from exc
        notices = list({notice.idempotency_key: notice for notice in received.notices}.values())
        # The CRM's notice about the hub's own write-back stops here: no workflow start for it.
        echoes = [notice for notice in notices if is_write_back_echo(self._ledger, notice)]
        notices = [notice for notice in notices if notice not in echoes]
        fresh, in_flight = self._claim(notices)
        duplicates = len(notices) - len(fresh) - len(in_flight)
        self._metrics.count(BusinessMetric.NOTICES_RECEIVED, len(received.notices))
        if echoes:
            self._metrics.count(
                BusinessMetric.ECHOES_SUPPRESSED, len(echoes), dimensions={"flow": "engagement_setup"}
            )
        if duplicates:
            self._metrics.count(BusinessMetric.DUPLICATES_PREVENTED, duplicates)
        for reason, count in received.dropped.items():
            self._metrics.count(BusinessMetric.NOTICES_DROPPED, count, dimensions={"reason": reason})
        if in_flight:
            self._metrics.count(BusinessMetric.NOTICES_IN_FLIGHT, len(in_flight))
            raise RetryLater(
                f"{len(in_flight)} notice(s) in this webhook are being recorded by a concurrent "
                f"delivery (e.g. {in_flight[0].event_id!r}); redeliver later"
            )
        return IngestOutcome(
            provider=provider, published=len(fresh), duplicates=duplicates, reply=received.reply
        )
