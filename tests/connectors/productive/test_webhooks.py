"""Productive webhooks: signatures verified on the raw bytes of sandbox-produced deliveries, then parsed."""

from __future__ import annotations

import json

import httpx
import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector, build
from shared.connectors.productive.webhooks import signature_header
from shared.domain.errors import AuthenticityError, MalformedNotice
from shared.domain.intake_ports import WebhookRequest
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import Operation

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


def _service(connector: ProductiveConnector, sandbox: ProductiveSandbox) -> str:
    client = connector.client
    company = client.create_company({"name": "Client"}).id
    project = client.copy_project(
        {"name": "P", "template_id": sandbox.add_template("T"), "company_id": company}
    ).id
    deal = client.create_deal(
        {"name": "B", "budget": True, "date": "2025-03-01", "currency": "EUR"},
        {"company": ("companies", company), "project": ("projects", project)},
    ).id
    kind = client.create_service_type("Consultant").id
    return client.create_service(
        {"name": "Consultant", "billing_type_id": 2, "unit_id": 1},
        {"deal": ("deals", deal), "service_type": ("service_types", kind)},
    ).id


def test_an_approval_is_an_updated_time_entry_notice_at_the_entrys_updated_at(
    connector: ProductiveConnector, sandbox, inbox, clock
):
    # given an entry a person tracked, and a manager who approves it a minute later
    service = _service(connector, sandbox)
    ada = sandbox.add_person("Ada", "Lovelace")
    entry = sandbox.add_time_entry(ada, service, "2025-03-03", 60)
    clock.advance(60)
    sandbox.approve_time_entry(entry)
    approved_at = clock()
    # when Productive delivers the webhooks (7 new, then 8 updated: there is no "approved" event)
    sandbox.deliver_pending()
    received = [connector.receive(r) for r in inbox.requests]
    notices = [n for r in received for n in r.notices]
    # then the approval is a time entry notice, an update stamped with the entry's updated_at,
    # and the creation of an unapproved entry is acknowledged but not recorded (nothing to post)
    [updated] = [n for n in notices if n.vendor_type == "time_entries"]
    assert {n.entity for n in notices} == {EntityType.ACCOUNT, EntityType.TIME_ENTRY}  # the set-up's client
    assert sum(r.dropped.get("created_unapproved", 0) for r in received) == 1
    assert (updated.entity, updated.operation, updated.record_id) == (
        EntityType.TIME_ENTRY,
        Operation.UPDATED,
        entry,
    )
    assert updated.occurred_at == approved_at and updated.realm == "4242"


def test_a_deleted_time_entry_is_a_deleted_notice(connector: ProductiveConnector, sandbox, inbox, clock):
    service = _service(connector, sandbox)
    ada = sandbox.add_person("Ada", "Lovelace")
    entry = sandbox.add_time_entry(ada, service, "2025-03-03", 60)
    sandbox.deliver_pending()
    clock.advance(5)
    headers = {"X-Auth-Token": "tok-productive", "X-Organization-Id": "4242"}
    with httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url=BASE_URL + "/") as api:
        assert api.delete(f"time_entries/{entry}", headers=headers).status_code == 204
    sandbox.deliver_pending()
    [notice] = connector.receive(inbox.requests[-1]).notices
    assert (notice.entity, notice.operation, notice.record_id) == (
        EntityType.TIME_ENTRY,
        Operation.DELETED,
        entry,
    )
    assert notice.occurred_at is not None


@pytest.mark.parametrize(
    ("event", "operation"), [(21, Operation.CREATED), (22, Operation.UPDATED), (23, Operation.DELETED)]
)
def test_expense_events_are_expense_notices(connector: ProductiveConnector, clock, event, operation):
    resource = {"id": "88", "type": "expenses", "attributes": {"updated_at": "2025-03-01T10:00:00.000+01:00"}}
    body = json.dumps({"event_id": event, "object": {"data": resource}}).encode()
    [notice] = connector.receive(_signed(body, clock)).notices
    assert (notice.entity, notice.vendor_type, notice.record_id) == (
        EntityType.EXPENSE_ENTRY,
        "expenses",
        "88",
    )
    assert notice.operation is operation
    assert notice.occurred_at is not None and notice.occurred_at.isoformat() == "2025-03-01T09:00:00+00:00"


def test_the_webhook_path_does_not_load_the_delivery_mapper():
    # the receiver is built on every cold start: it must not pay for the money and posting models
    import subprocess
    import sys

    code = (
        "import sys; from shared.connectors.productive import receiver; "
        "import shared.connectors.productive.webhooks; "
        "print('shared.connectors.productive.delivery_mapper' in sys.modules, "
        "'shared.domain.postings' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
