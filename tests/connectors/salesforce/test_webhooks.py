"""Outbound Messages: the receiver on messages the sandbox sends and on hand-written edge cases."""

from __future__ import annotations

import time

import httpx
import pytest

from infra.local.sandboxes.salesforce import SalesforceSandbox, to_18
from shared.connectors.salesforce import SalesforceConnector
from shared.connectors.salesforce.webhooks import OutboundMessageReceiver
from shared.domain.errors import AuthenticityError, MalformedNotice
from shared.domain.intake_ports import ReceivedWebhook, WebhookRequest
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation

from .conftest import BASE_URL, HUB_URL, FakeClock, as_webhook_request

ORG_18 = "00D5g000004TstAEAS"
TOKEN = "endpoint-token-123"


class Hub:
    """The webhook endpoint in-process: hands each request to the receiver, answers its reply."""

    def __init__(self, receiver: SalesforceConnector | OutboundMessageReceiver, *, answer: int | None = None):
        self.receiver = receiver
        self.answer = answer
        self.received: list[ReceivedWebhook] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.content)
        if self.answer is not None:
            return httpx.Response(self.answer, text="listener down")
        try:
            received = self.receiver.receive(as_webhook_request(request))
        except AuthenticityError as exc:
            return httpx.Response(401, text=str(exc))
        except MalformedNotice as exc:
            return httpx.Response(400, text=str(exc))
        self.received.append(received)
        reply = received.reply
        return httpx.Response(reply.status, text=reply.body, headers={"content-type": reply.content_type})

    @property
    def notices(self) -> list[ChangeNotice]:
        return [notice for received in self.received for notice in received.notices]


def subscribe(sandbox: SalesforceSandbox, hub: Hub, token: str | None = None) -> None:
    token = token or sandbox.connection(BASE_URL)["webhook_token"]
    sandbox.subscribe(HUB_URL, token=token, transport=httpx.MockTransport(hub))


def request(body: str | bytes, *, token: str | None = TOKEN) -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        path="/webhooks/salesforce",
        query={"token": token} if token is not None else {},
        headers={"content-type": "text/xml; charset=utf-8"},
        body=body.encode() if isinstance(body, str) else body,
    )


def message(notifications: str, *, org: str = ORG_18) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org}</OrganizationId><ActionId>04k5g000000CaRkAAK</ActionId>"
        '<SessionId xsi:nil="true"/>'
        "<EnterpriseUrl>https://x.my.salesforce.com/services/Soap/c/62.0/00D5g000004Tsta</EnterpriseUrl>"
        "<PartnerUrl>https://x.my.salesforce.com/services/Soap/u/62.0/00D5g000004Tsta</PartnerUrl>"
        f"{notifications}</notifications></soapenv:Body></soapenv:Envelope>"
    )


def notification(notification_id: str, record_id: str, sobject: str = "Account") -> str:
    return (
        f"<Notification><Id>{notification_id}</Id>"
        f'<sObject xsi:type="sf:{sobject}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>{record_id}</sf:Id><sf:Name>Acme</sf:Name></sObject></Notification>"
    )


@pytest.fixture
def receiver() -> OutboundMessageReceiver:
    return OutboundMessageReceiver(organization_id=ORG_18, endpoint_token=TOKEN)


# --- messages the sandbox sends -----------------------------------------------------------------


def test_a_users_edit_arrives_as_one_account_notice(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    # given the hub listens and a user creates an account in Salesforce
    hub = Hub(connector)
    subscribe(sandbox, hub)
    account_id = sandbox.put_account({"Name": "Contoso"})
    # when Salesforce delivers its outbound message
    acknowledged = sandbox.deliver_pending()
    # then the hub got one change notice for that account, and Salesforce took the Ack
    assert acknowledged == 1
    [notice] = hub.notices
    assert notice.provider is SystemName.SALESFORCE
    assert notice.entity is EntityType.ACCOUNT
    assert notice.vendor_type == "Account"
    assert notice.record_id == account_id
    assert notice.operation is Operation.CHANGED
    assert notice.realm == sandbox.organization_id
    assert notice.event_id.startswith("04l") and len(notice.event_id) == 18
    assert sandbox.pending_notifications == []


def test_the_reply_is_the_soap_ack(sandbox: SalesforceSandbox, connector: SalesforceConnector):
    hub = Hub(connector)
    subscribe(sandbox, hub)
    sandbox.put_account({"Name": "Contoso"})
    sandbox.deliver_pending()
    reply = hub.received[0].reply
    assert reply.status == 200
    assert reply.content_type.startswith("text/xml")
    assert "<Ack>true</Ack>" in reply.body
    assert "notificationsResponse" in reply.body
    assert sandbox.delivery_attempts[-1].acknowledged


def test_150_changes_arrive_as_two_messages_of_at_most_100(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    hub = Hub(connector)
    subscribe(sandbox, hub)
    for number in range(150):
        sandbox.put_account({"Name": f"Client {number}"})
    assert sandbox.deliver_pending() == 150
    assert [len(r.notices) for r in hub.received] == [100, 50]
    assert len({n.event_id for n in hub.notices}) == 150


def test_a_listener_outage_keeps_notifications_queued_until_acknowledged(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
):
    # given the listener is down when Salesforce first delivers
    hub = Hub(connector, answer=503)
    subscribe(sandbox, hub)
    sandbox.put_account({"Name": "Contoso"})
    assert sandbox.deliver_pending() == 0
    assert len(sandbox.pending_notifications) == 1
    # when it is back, Salesforce tries again only once the retry interval has passed
    hub.answer = None
    assert sandbox.deliver_pending() == 0
    clock.advance(seconds=5)
    # then the same notification (same id) is delivered and leaves the queue
    assert sandbox.deliver_pending() == 1
    assert hub.notices[0].event_id == sandbox.delivery_attempts[0].notification_ids[0]
    assert sandbox.pending_notifications == []


def test_a_wrong_endpoint_token_is_refused_and_salesforce_keeps_the_notification(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    hub = Hub(connector)
    subscribe(sandbox, hub, token="guessed")
    sandbox.put_account({"Name": "Contoso"})
    assert sandbox.deliver_pending() == 0
    assert sandbox.delivery_attempts[-1].status == 401
    assert hub.notices == []


def test_a_redelivered_message_carries_the_same_notification_ids(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    hub = Hub(connector)
    subscribe(sandbox, hub)
    sandbox.put_account({"Name": "Contoso"})
    sandbox.deliver_pending()
    assert sandbox.replay_last_delivery() == 1
    sandbox.deliver_pending()
    first, second = hub.received
    assert first.notices[0].idempotency_key == second.notices[0].idempotency_key


# --- hand-written edge cases -------------------------------------------------------------------


def test_a_message_from_another_org_is_refused(receiver: OutboundMessageReceiver):
    body = message(notification("04l5g00000Gx7QzAAJ", "0015g00000ZkM3hAAF"), org="00D5g000009OthrEAC")
    with pytest.raises(AuthenticityError, match="OrganizationId"):
        receiver.receive(request(body))


def test_the_15_character_org_id_matches_its_18_character_form():
    receiver = OutboundMessageReceiver(organization_id=ORG_18[:15], endpoint_token=TOKEN)
    body = message(notification("04l5g00000Gx7QzAAJ", "0015g00000ZkM3hAAF"))
    assert len(receiver.receive(request(body)).notices) == 1


def test_an_org_id_differing_only_in_case_is_another_org(receiver: OutboundMessageReceiver):
    # 15-character ids are case-sensitive: 00D5g000004tSTA is not 00D5g000004TstA
    other = "00D5g000004tSTA"
    body = message(notification("04l5g00000Gx7QzAAJ", "0015g00000ZkM3hAAF"), org=other)
    with pytest.raises(AuthenticityError, match="OrganizationId"):
        receiver.receive(request(body))


def test_an_18_character_org_id_with_a_wrong_suffix_is_refused(receiver: OutboundMessageReceiver):
    body = message(notification("04l5g00000Gx7QzAAJ", "0015g00000ZkM3hAAF"), org=ORG_18[:15] + "AAA")
    with pytest.raises(AuthenticityError, match="OrganizationId"):
        receiver.receive(request(body))


def test_a_missing_endpoint_token_is_refused(receiver: OutboundMessageReceiver):
    with pytest.raises(AuthenticityError, match="missing"):
        receiver.receive(request(message(""), token=None))


def test_a_wrong_endpoint_token_is_refused(receiver: OutboundMessageReceiver):
    with pytest.raises(AuthenticityError, match="does not match"):
        receiver.receive(request(message(""), token="endpoint-token-124"))


def test_the_token_is_checked_before_the_xml_is_parsed(receiver: OutboundMessageReceiver):
    with pytest.raises(AuthenticityError):
        receiver.receive(request("<not xml", token="wrong"))


def test_malformed_xml_is_a_malformed_notice(receiver: OutboundMessageReceiver):
    with pytest.raises(MalformedNotice, match="well-formed"):
        receiver.receive(request("<soapenv:Envelope><unclosed>"))


def test_an_entity_bomb_is_refused_quickly(receiver: OutboundMessageReceiver):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
            for i in range(1, 10)
        )
        + "]><lolz>&lol9;</lolz>"
    )
    started = time.monotonic()
    with pytest.raises(MalformedNotice, match="DTD"):
        receiver.receive(request(bomb))
    assert time.monotonic() - started < 1.0


def test_an_external_entity_is_refused(receiver: OutboundMessageReceiver):
    xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    with pytest.raises(MalformedNotice):
        receiver.receive(request(xxe))


def test_a_body_that_is_not_an_outbound_message_is_malformed(receiver: OutboundMessageReceiver):
    with pytest.raises(MalformedNotice, match="SOAP envelope"):
        receiver.receive(request("<hello/>"))


def test_a_notification_without_id_is_malformed(receiver: OutboundMessageReceiver):
    body = message(
        '<Notification><sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        "<sf:Id>0015g00000ZkM3hAAF</sf:Id></sObject></Notification>"
    )
    with pytest.raises(MalformedNotice, match="has no Id"):
        receiver.receive(request(body))


def test_a_notification_without_sobject_id_is_malformed(receiver: OutboundMessageReceiver):
    body = message(
        "<Notification><Id>04l5g00000Gx7QzAAJ</Id>"
        '<sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        "<sf:Name>Acme</sf:Name></sObject></Notification>"
    )
    with pytest.raises(MalformedNotice, match="no sObject Id"):
        receiver.receive(request(body))


def test_100_notifications_in_one_message_become_100_notices(receiver: OutboundMessageReceiver):
    items = "".join(
        notification(to_18(f"04l5g00000Gx{n:03d}"), to_18(f"0015g00000Zk{n:03d}")) for n in range(100)
    )
    received = receiver.receive(request(message(items)))
    assert len(received.notices) == 100
    assert received.notices[0].realm == ORG_18


def test_more_than_100_notifications_is_not_an_outbound_message(receiver: OutboundMessageReceiver):
    items = "".join(
        notification(to_18(f"04l5g00000Gx{n:03d}"), to_18(f"0015g00000Zk{n:03d}")) for n in range(101)
    )
    with pytest.raises(MalformedNotice, match="at most 100"):
        receiver.receive(request(message(items)))


def test_other_object_types_are_acknowledged_but_not_enqueued(receiver: OutboundMessageReceiver):
    items = notification("04l5g00000Gx7QzAAJ", to_18("0035g00000Con01"), sobject="Contact") + notification(
        "04l5g00000Gx7R0AAJ", "0015g00000ZkM3hAAF"
    )
    received = receiver.receive(request(message(items)))
    assert [n.vendor_type for n in received.notices] == ["Account"]
    assert "<Ack>true</Ack>" in received.reply.body


def test_a_notification_repeated_within_a_message_is_one_notice(receiver: OutboundMessageReceiver):
    item = notification("04l5g00000Gx7QzAAJ", "0015g00000ZkM3hAAF")
    assert len(receiver.receive(request(message(item + item))).notices) == 1


def test_an_opportunity_notification_is_an_opportunity_notice(receiver: OutboundMessageReceiver):
    opportunity_id = to_18("0065g00000Opp01")
    received = receiver.receive(
        request(message(notification("04l5g00000Gx7QzAAJ", opportunity_id, "Opportunity")))
    )
    [notice] = received.notices
    assert notice.entity is EntityType.OPPORTUNITY
    assert notice.vendor_type == "Opportunity"
    assert notice.record_id == opportunity_id
    assert notice.event_id == "04l5g00000Gx7QzAAJ"


def test_a_closed_won_deal_arrives_as_an_opportunity_notice_and_accounts_stay_account_notices(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    # given the hub listens to the org's outbound message rules on Account and Opportunity
    hub = Hub(connector)
    subscribe(sandbox, hub)
    account_id = sandbox.put_account({"Name": "Fabrikam"})
    opportunity_id = sandbox.put_opportunity(
        {
            "Name": "Fabrikam ERP rollout",
            "AccountId": account_id,
            "StageName": "Negotiation/Review",
            "CloseDate": "2025-03-31",
            "Service_Line__c": "Implementation",
        }
    )
    sandbox.deliver_pending()
    # when the salesperson closes it won
    sandbox.close_won(opportunity_id)
    sandbox.deliver_pending()
    # then each message carries one object type, and the deal's notices are opportunity notices
    by_entity = [(n.entity, n.record_id) for n in hub.notices]
    assert by_entity == [
        (EntityType.ACCOUNT, account_id),
        (EntityType.OPPORTUNITY, opportunity_id),
        (EntityType.OPPORTUNITY, opportunity_id),
    ]
    assert all(n.provider is SystemName.SALESFORCE for n in hub.notices)
    assert "<sf:IsWon>true</sf:IsWon>" in hub.bodies[-1].decode()
    # and each opportunity notice says what its message said of the close (no fetch needed to skip)
    assert [n.won for n in hub.notices] == [None, False, True]
