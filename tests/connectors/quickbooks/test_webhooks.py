"""QuickBooks webhooks: Intuit's own signature vectors and sample bodies, byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.connectors.quickbooks import QuickBooksConnector
from shared.connectors.quickbooks.webhooks import parse_notices, sign, verify
from shared.domain.errors import AuthenticityError, MalformedNotice
from shared.domain.intake_ports import WebhookRequest
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import Operation
from tests.connectors.quickbooks.conftest import sample_bytes, sample_json


@pytest.mark.parametrize("vector", ["signature_dotnet_sdk_vector.json", "signature_java_sdk_vector.json"])
def test_official_signature_vectors_are_accepted(vector: str) -> None:
    # given Intuit's SDK test vector (token, exact body bytes, expected signature)
    data = sample_json(vector)
    body = data["body"].encode()
    # when the hub signs and verifies the raw bytes
    # then it computes Intuit's signature and accepts the request
    assert sign(data["secret"], body) == data["expected_signature"]
    verify(data["secret"], body, data["expected_signature"])


def test_java_sdk_negative_signature_is_rejected() -> None:
    # given the Java SDK vector's negative case, signature "1234"
    data = sample_json("signature_java_sdk_vector.json")
    bad = data["negative_cases_from_same_test"][0]["signature"]
    # when / then verification fails and names the check that failed
    with pytest.raises(AuthenticityError, match="does not match HMAC-SHA256"):
        verify(data["secret"], data["body"].encode(), bad)


def test_missing_signature_and_tampered_body_are_rejected() -> None:
    data = sample_json("signature_dotnet_sdk_vector.json")
    with pytest.raises(AuthenticityError, match="header is missing"):
        verify(data["secret"], data["body"].encode(), None)
    # one byte changed (whitespace a JSON parser would ignore) breaks the signature
    with pytest.raises(AuthenticityError, match="does not match"):
        verify(data["secret"], data["body"].encode() + b" ", data["expected_signature"])


def test_legacy_dotnet_body_yields_the_customer_and_skips_the_vendor() -> None:
    # given the .NET SDK body: a Vendor Update and a Customer Create
    notices = parse_notices(sample_bytes("webhook_eventnotifications_dotnet_sdk_body.json"))
    # then only the customer becomes a notice, with its realm, operation and UTC time
    assert len(notices) == 1
    notice = notices[0]
    assert notice.provider is SystemName.QUICKBOOKS
    assert notice.entity is EntityType.ACCOUNT
    assert (notice.vendor_type, notice.record_id, notice.realm) == ("Customer", "43", "1269959970")
    assert notice.operation is Operation.CREATED
    assert notice.occurred_at == datetime(2016, 10, 5, 3, 7, 4, tzinfo=UTC)


def test_legacy_java_body_with_offset_without_colon_parses() -> None:
    notices = parse_notices(sample_bytes("webhook_eventnotifications_java_sdk_body.json"))
    assert [n.record_id for n in notices] == ["1"]
    # 14:42:19-0700 is 21:42:19 UTC
    assert notices[0].occurred_at == datetime(2015, 10, 5, 21, 42, 19, tzinfo=UTC)


def test_legacy_event_id_is_stable_across_redelivery_and_distinct_per_change() -> None:
    body = sample_bytes("webhook_eventnotifications_java_sdk_body.json")
    first, again = parse_notices(body)[0], parse_notices(body)[0]
    assert first.event_id == again.event_id
    later = body.replace(b"14:42:19-0700", b"14:50:00-0700")
    assert parse_notices(later)[0].event_id != first.event_id
    # the same instant spelled in UTC is the same change
    utc = body.replace(b"2015-10-05T14:42:19-0700", b"2015-10-05T21:42:19.000Z")
    assert parse_notices(utc)[0].event_id == first.event_id


def test_cloudevents_sample_for_a_class_is_skipped_not_rejected() -> None:
    # given the CloudEvents sample (qbo.class.created.v1, nanosecond time)
    assert parse_notices(sample_bytes("webhook_cloudevents_dotnet_sdk_body.json")) == []


def test_cloudevents_customer_event_keeps_its_id_and_nanosecond_time() -> None:
    sample = sample_json("webhook_cloudevents_dotnet_sdk_body.json")
    sample[0]["type"] = "qbo.customer.updated.v1"
    notices = parse_notices(json.dumps(sample).encode())
    assert len(notices) == 1
    notice = notices[0]
    assert notice.event_id == "d1a3aedd-9670-41bf-a4f9-c148a1cc4e03"
    assert (notice.record_id, notice.realm, notice.operation) == ("1234", "310687", Operation.UPDATED)
    assert notice.occurred_at == datetime(2025, 10, 7, 19, 59, 7, 34359, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"something": 1}',
        b'{"eventNotifications": [{"dataChangeEvent": {}}]}',
        b'[{"id": "x"}]',
    ],
)
def test_malformed_bodies_are_rejected(body: bytes) -> None:
    with pytest.raises(MalformedNotice):
        parse_notices(body)


def _connected_to(connector: QuickBooksConnector, realm_id: str) -> QuickBooksConnector:
    return QuickBooksConnector(
        connector.connection.model_copy(update={"realm_id": realm_id}), connector.client
    )


def _signed(body: bytes) -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        path="/webhooks/quickbooks",
        headers={"intuit-signature": sign("verifier-1", body)},
        body=body,
    )


def test_receive_verifies_then_answers_an_empty_200(connector: QuickBooksConnector) -> None:
    body = sample_bytes("webhook_eventnotifications_java_sdk_body.json")
    connector = _connected_to(connector, json.loads(body)["eventNotifications"][0]["realmId"])
    request = WebhookRequest(
        method="POST",
        path="/webhooks/quickbooks",
        headers={"intuit-signature": sign("verifier-1", body)},
        body=body,
    )
    received = connector.receive(request)
    assert received.reply.status == 200
    assert received.reply.body == ""
    assert [n.record_id for n in received.notices] == ["1"]
    with pytest.raises(AuthenticityError):
        connector.receive(request.model_copy(update={"headers": {"intuit-signature": "1234"}}))


def test_notices_for_a_company_we_are_not_connected_to_are_acknowledged_and_dropped(
    connector: QuickBooksConnector,
) -> None:
    # given Intuit's sample bodies, in both formats, for companies other than the connected one
    for sample in (
        "webhook_eventnotifications_java_sdk_body.json",
        "webhook_cloudevents_dotnet_sdk_body.json",
    ):
        body = sample_bytes(sample)
        received = connector.receive(_signed(body.replace(b'"qbo.class.', b'"qbo.customer.')))
        # then the webhook is acknowledged, nothing is left to fetch, and the drop is counted
        assert received.reply.status == 200
        assert received.notices == ()
        assert received.dropped == {"foreign_realm": 1}


def test_one_body_spanning_two_companies_keeps_only_the_connected_ones(
    connector: QuickBooksConnector,
) -> None:
    # given one CloudEvents body with a customer change in our company and one in another
    ours = connector.connection.realm_id
    events = [
        {
            "specversion": "1.0",
            "id": f"e-{realm}",
            "type": "qbo.customer.updated.v1",
            "time": "2026-01-01T00:00:00Z",
            "intuitentityid": "58",
            "intuitaccountid": realm,
            "data": {},
        }
        for realm in (ours, "9130999999999999")
    ]
    received = connector.receive(_signed(json.dumps(events).encode()))
    # then only our company's notice is kept
    assert [(n.realm, n.event_id) for n in received.notices] == [(ours, f"e-{ours}")]
    assert received.dropped == {"foreign_realm": 1}


def test_a_customer_merge_names_the_survivor_and_the_merged_away_id_in_both_formats() -> None:
    # given Intuit's documented merge payloads: CloudEvents data.deletedid, legacy deletedId
    # https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/data-objects
    cloud = [
        {
            "specversion": "1.0",
            "id": "evt-Customer-123",
            "source": "intuit.abc",
            "type": "qbo.customer.merged.v1",
            "datacontenttype": "application/json",
            "time": "2025-12-04T15:25:05Z",
            "intuitentityid": "123",
            "intuitaccountid": "9341455",
            "data": {"deletedid": "27"},
        }
    ]
    legacy = {
        "eventNotifications": [
            {
                "realmId": "9341455",
                "dataChangeEvent": {
                    "entities": [
                        {
                            "name": "Customer",
                            "id": "123",
                            "operation": "Merge",
                            "lastUpdated": "2025-12-04T15:25:05.000Z",
                            "deletedId": "27",
                        }
                    ]
                },
            }
        ]
    }
    for body in (cloud, legacy):
        (notice,) = parse_notices(json.dumps(body).encode())
        # then the notice is a merge of 27 into 123, not an update of 123
        assert (notice.operation, notice.record_id, notice.merged_away_id) == (Operation.MERGED, "123", "27")
