"""Productive webhooks: signatures verified on the raw bytes of sandbox-produced deliveries, then parsed."""

from __future__ import annotations

import json

import httpx
import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector, build
from shared.connectors.productive.webhooks import signature_header
from shared.domain.errors import AuthenticityError, MalformedNotice
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import Operation
from shared.domain.ports import WebhookRequest

from .conftest import BASE_URL, crm_account


class Inbox:
    """A webhook endpoint that keeps what it receives and answers with a chosen status."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[WebhookRequest] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(
            WebhookRequest(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=request.content,
            )
        )
        return httpx.Response(self.status)


@pytest.fixture
def inbox(sandbox: ProductiveSandbox) -> Inbox:
    box = Inbox()
    sandbox.subscribe("https://hub.example/webhooks/productive", transport=httpx.MockTransport(box))
    return box


def test_deliveries_for_the_hubs_own_writes_verify_and_parse(connector: ProductiveConnector, sandbox, inbox):
    # given the hub created and then updated a company through the API
    created = connector.create_account(crm_account(), idempotency_key="c")
    connector.update_account(created.ref.id, crm_account(name="Acme AG"), idempotency_key="u")
    # when Productive delivers the webhooks those writes caused
    assert sandbox.deliver_pending() == 2
    received = [connector.receive(r) for r in inbox.requests]
    # then each verifies and names the company, as a created then an updated account notice
    notices = [w.notices[0] for w in received]
    assert [n.operation for n in notices] == [Operation.CREATED, Operation.UPDATED]
    for notice in notices:
        assert notice.provider is SystemName.PRODUCTIVE
        assert notice.entity is EntityType.ACCOUNT
        assert notice.vendor_type == "companies"
        assert notice.record_id == created.ref.id
        assert notice.realm == "4242"
        assert notice.occurred_at is not None and notice.occurred_at.utcoffset() is not None
    assert notices[0].event_id != notices[1].event_id
    assert received[0].reply.status == 200 and received[0].reply.body == ""


def test_redelivery_of_the_same_attempt_has_the_same_event_id(connector: ProductiveConnector, sandbox, inbox):
    connector.create_account(crm_account(), idempotency_key="c")
    sandbox.deliver_pending()
    request = inbox.requests[0]
    assert connector.receive(request).notices[0].event_id == connector.receive(request).notices[0].event_id


def test_unanswered_deliveries_stay_queued_for_retry(connector: ProductiveConnector, sandbox, inbox):
    # given the hub's endpoint is down
    inbox.status = 503
    connector.create_account(crm_account(), idempotency_key="c")
    # when Productive delivers, nothing is acknowledged, so it stays queued
    assert sandbox.deliver_pending() == 0
    assert sandbox.pending() == 1
    # then once the endpoint is back the delivery goes through
    inbox.status = 200
    assert sandbox.deliver_pending() == 1
    assert sandbox.pending() == 0


def _one_delivery(connector: ProductiveConnector, sandbox: ProductiveSandbox, inbox: Inbox) -> WebhookRequest:
    connector.create_account(crm_account(), idempotency_key="c")
    sandbox.deliver_pending()
    return inbox.requests[-1]


def test_tampered_body_is_rejected(connector: ProductiveConnector, sandbox, inbox):
    request = _one_delivery(connector, sandbox, inbox)
    tampered = request.model_copy(update={"body": request.body.replace(b"Acme", b"Evil")})
    with pytest.raises(AuthenticityError, match="mismatch"):
        connector.receive(tampered)


def test_wrong_secret_is_rejected(sandbox: ProductiveSandbox, inbox, clock):
    other = build(
        {**sandbox.connection(BASE_URL), "webhook_secret": "not-the-token"},
        transport=httpx.WSGITransport(app=sandbox),
        clock=clock,
    )
    request = _one_delivery(other, sandbox, inbox)
    with pytest.raises(AuthenticityError, match="mismatch"):
        other.receive(request)


def test_stale_timestamp_is_rejected(connector: ProductiveConnector, sandbox, inbox, clock):
    # given a delivery signed now, when it is replayed ten minutes later, then it is refused as stale
    request = _one_delivery(connector, sandbox, inbox)
    clock.advance(600)
    with pytest.raises(AuthenticityError, match="stale"):
        connector.receive(request)


def test_missing_header_is_rejected(connector: ProductiveConnector, sandbox, inbox):
    request = _one_delivery(connector, sandbox, inbox)
    unsigned = request.model_copy(update={"headers": {"content-type": "application/json"}})
    with pytest.raises(AuthenticityError, match="missing Productive-Signature"):
        connector.receive(unsigned)


@pytest.mark.parametrize("value", ["garbage", "t=abc, s=00", "t=1740819600", "t=1740819600, s=zz"])
def test_badly_formatted_header_is_rejected(connector: ProductiveConnector, value):
    request = WebhookRequest(method="POST", path="/", headers={"productive-signature": value}, body=b"{}")
    with pytest.raises(AuthenticityError, match="bad format"):
        connector.receive(request)


def test_help_centre_spelling_without_space_is_accepted(connector: ProductiveConnector, clock):
    body = json.dumps({"event_id": 30, "object": {"data": {"id": "7", "type": "companies"}}}).encode()
    timestamp = int(clock().timestamp())
    header = signature_header("whsec-productive", timestamp, body).replace(", ", ",")
    received = connector.receive(
        WebhookRequest(method="POST", path="/", headers={"productive-signature": header}, body=body)
    )
    assert received.notices[0].operation is Operation.UPDATED
    assert received.notices[0].record_id == "7"


def _signed(body: bytes, clock) -> WebhookRequest:
    header = signature_header("whsec-productive", int(clock().timestamp()), body)
    return WebhookRequest(method="POST", path="/", headers={"productive-signature": header}, body=body)


def test_malformed_json_is_malformed_notice(connector: ProductiveConnector, clock):
    with pytest.raises(MalformedNotice, match="not JSON"):
        connector.receive(_signed(b'{"event_id": 29, "object": ', clock))


def test_body_without_a_resource_is_malformed_notice(connector: ProductiveConnector, clock):
    with pytest.raises(MalformedNotice, match="no resource"):
        connector.receive(_signed(b'{"event_id": 29}', clock))


def test_other_record_types_carry_no_account_notice(connector: ProductiveConnector, clock):
    body = json.dumps({"event_id": 1, "object": {"data": {"id": "5", "type": "tasks"}}}).encode()
    assert connector.receive(_signed(body, clock)).notices == ()


def test_archived_company_is_a_deleted_notice(connector: ProductiveConnector, clock):
    body = json.dumps({"event_id": 31, "data": {"id": "9", "type": "companies"}}).encode()
    assert connector.receive(_signed(body, clock)).notices[0].operation is Operation.DELETED
