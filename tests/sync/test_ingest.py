"""Webhook ingest against fakes: bad input refused with the right status, notices recorded once."""

from __future__ import annotations

import pytest

from shared.domain.errors import AuthenticityError, MalformedNotice
from shared.domain.intake_ports import ReceivedWebhook, WebhookRequest
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import NoticeClaim
from shared.sync.ingest import RejectionReason, RetryLater, WebhookIngest, WebhookRejected
from tests.fakes import FakeMetrics, InMemoryLedger


class Receiver:
    provider = SystemName.QUICKBOOKS

    def receive(self, request: WebhookRequest) -> ReceivedWebhook:
        if request.header("intuit-signature") != "good":
            raise AuthenticityError("intuit-signature does not match the body")
        if not request.body.startswith(b"{"):
            raise MalformedNotice("body is not JSON")
        ids = request.body.decode().strip("{}").split(",")
        return ReceivedWebhook(
            notices=tuple(
                ChangeNotice(
                    provider=SystemName.QUICKBOOKS,
                    event_id=f"e{i}",
                    entity=EntityType.ACCOUNT,
                    vendor_type="Customer",
                    record_id=i,
                    operation=Operation.UPDATED,
                    realm="r1",
                )
                for i in ids
            )
        )


class Publisher:
    def __init__(self) -> None:
        self.published: list[ChangeNotice] = []

    def publish(self, notices: list[ChangeNotice]) -> None:
        self.published.extend(notices)


@pytest.fixture
def ingest():
    ledger, publisher, metrics = InMemoryLedger(), Publisher(), FakeMetrics()
    use_case = WebhookIngest(
        known_providers=frozenset({"quickbooks", "xero"}),
        receivers={"quickbooks": Receiver},
        ledger=ledger,
        publisher=publisher,
        metrics=metrics,
        max_body_bytes=64,
    )
    return use_case, publisher, metrics


def _req(body: bytes, signature: str = "good") -> WebhookRequest:
    return WebhookRequest(
        method="POST", path="/webhooks/quickbooks", headers={"intuit-signature": signature}, body=body
    )


def test_authentic_webhook_publishes_each_notice_once_across_redeliveries(ingest):
    use_case, publisher, metrics = ingest
    first = use_case.handle("quickbooks", _req(b"{1,2}"))
    again = use_case.handle("quickbooks", _req(b"{1,2}"))
    assert (first.published, first.duplicates) == (2, 0)
    assert (again.published, again.duplicates) == (0, 2)
    assert [n.record_id for n in publisher.published] == ["1", "2"]
    assert metrics.totals["DuplicatesPrevented"] == 2


@pytest.mark.parametrize(
    ("provider", "request_", "reason", "status"),
    [
        ("stripe", _req(b"{1}"), RejectionReason.UNKNOWN_PROVIDER, 404),
        ("xero", _req(b"{1}"), RejectionReason.NOT_CONNECTED, 404),
        ("quickbooks", _req(b"{1}", signature="forged"), RejectionReason.BAD_SIGNATURE, 401),
        ("quickbooks", _req(b"<xml/>"), RejectionReason.MALFORMED, 400),
        ("quickbooks", _req(b"{" + b"1," * 40 + b"}"), RejectionReason.TOO_LARGE, 413),
    ],
)
def test_bad_input_is_refused_with_its_reason_and_nothing_is_published(
    ingest, provider, request_, reason, status
):
    use_case, publisher, metrics = ingest
    with pytest.raises(WebhookRejected) as refused:
        use_case.handle(provider, request_)
    assert (refused.value.reason, refused.value.status) == (reason, status)
    assert refused.value.message
    assert publisher.published == []
    assert metrics.totals[f"WebhookRejected[reason={reason.value}]"] == 1


def test_a_failed_publish_lets_the_vendors_redelivery_through(ingest):
    use_case, publisher, _ = ingest

    def broken(notices: list[ChangeNotice]) -> None:
        raise ConnectionError("bus unavailable")

    publisher.publish = broken  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        use_case.handle("quickbooks", _req(b"{7}"))
    publisher.publish = Publisher.publish.__get__(publisher)  # type: ignore[method-assign]
    outcome = use_case.handle("quickbooks", _req(b"{7}"))
    assert outcome.published == 1


def test_a_notice_still_being_published_by_another_request_is_not_acknowledged(ingest):
    use_case, publisher, metrics = ingest
    # given notice 1 claimed by a concurrent delivery that has not published it yet
    holder = use_case._ledger  # the use case's own ledger, as the other request sees it
    notice = Receiver().receive(_req(b"{1}")).notices[0]
    assert holder.claim_notice(notice, holder="another request") is NoticeClaim.CLAIMED
    # when a webhook carrying notices 1 and 2 arrives
    with pytest.raises(RetryLater) as busy:
        use_case.handle("quickbooks", _req(b"{1,2}"))
    # then it is answered 409 (the vendor redelivers), notice 2 is published, notice 1 is left to its holder
    assert busy.value.status == 409
    assert [n.record_id for n in publisher.published] == ["2"]
    assert metrics.totals["NoticesInFlight"] == 1
    # and once the holder has published, the redelivery is acknowledged with nothing new
    holder.mark_published(notice)
    again = use_case.handle("quickbooks", _req(b"{1,2}"))
    assert (again.published, again.duplicates) == (0, 2)


def test_a_notice_whose_id_no_ledger_key_can_hold_is_a_400_naming_the_field(ingest):
    use_case, publisher, _ = ingest
    # given an authentic webhook whose record id is not a vendor id (non-ASCII, would overflow a key)
    with pytest.raises(WebhookRejected) as refused:
        use_case.handle("quickbooks", _req("{é}".encode()))
    # then it is refused as malformed, naming the field, and nothing is published
    assert refused.value.status == 400
    assert refused.value.message == (
        "a notice cannot be recorded: event_id: must be printable ASCII without spaces"
    )
    assert publisher.published == []


def test_notices_the_receiver_drops_are_acknowledged_and_counted(ingest):
    use_case, publisher, metrics = ingest
    use_case._receivers["quickbooks"] = DroppingReceiver
    outcome = use_case.handle("quickbooks", _req(b"{1}"))
    assert outcome.published == 0 and publisher.published == []
    assert metrics.totals["NoticesDropped[reason=foreign_realm]"] == 2


class DroppingReceiver(Receiver):
    def receive(self, request: WebhookRequest) -> ReceivedWebhook:
        return ReceivedWebhook(notices=(), dropped={"foreign_realm": 2})


def test_a_provider_told_to_deliver_another_way_is_refused_naming_the_intake():
    # given Salesforce on change data capture (its webhooks are refused, with the reason)
    publisher = Publisher()
    use_case = WebhookIngest(
        known_providers=frozenset({"quickbooks"}),
        receivers={"quickbooks": Receiver},
        ledger=InMemoryLedger(),
        publisher=publisher,
        metrics=FakeMetrics(),
        max_body_bytes=64,
        refused={"quickbooks": "quickbooks delivers its changes by change_data_capture in this landscape"},
    )
    # when it posts an authentic webhook anyway
    with pytest.raises(WebhookRejected) as rejected:
        use_case.handle("quickbooks", _req(b"{1}"))
    # then it is a 404 naming the intake, and nothing is published
    assert rejected.value.status == 404 and "change_data_capture" in rejected.value.message
    assert publisher.published == []
