"""Webhook ingest with the real receivers, under generated input: an answer or a 4xx, never a crash.

Whatever a sender puts in a signed body or a header, `WebhookIngest.handle` either accepts it or
raises `WebhookRejected` (a 4xx with its reason). Any other exception would be the handler's 503,
which makes the vendor redeliver the same bytes for a day; that is reserved for our own outages.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.connectors import quickbooks
from shared.connectors.productive.webhooks import ProductiveWebhooks, signature_header
from shared.connectors.quickbooks.webhooks import sign
from shared.connectors.salesforce.ids import case_safe_suffix
from shared.connectors.salesforce.webhooks import OutboundMessageReceiver
from shared.domain.intake_ports import WebhookReceiver, WebhookRequest
from shared.domain.notices import ChangeNotice
from shared.sync.ingest import IngestOutcome, WebhookIngest, WebhookRejected
from tests.benchmarks.webhooks import outbound_message
from tests.fakes import FakeMetrics, InMemoryLedger

REALM, PRODUCTIVE_ORG = "9341453050012345", "31337"
ORG = "00D5g000004DEMO" + case_safe_suffix("00D5g000004DEMO")
VERIFIER, SECRET, TOKEN = "verifier-1", "productive-secret", "endpoint-token"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BOUNDED = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Publisher:
    def __init__(self) -> None:
        self.published: list[ChangeNotice] = []

    def publish(self, notices: list[ChangeNotice]) -> None:
        self.published.extend(notices)


@functools.cache
def _receivers() -> dict[str, WebhookReceiver]:
    qbo = quickbooks.build(
        {
            "base_url": "http://qbo.invalid",
            "token_url": "http://qbo.invalid/token",
            "client_id": "c",
            "client_secret": "s",
            "refresh_token": "r",
            "realm_id": REALM,
            "verifier_token": VERIFIER,
            "minor_version": "75",
            "home_currency": "USD",
        }
    )
    productive = ProductiveWebhooks(secret=SECRET, organization_id=PRODUCTIVE_ORG, clock=lambda: NOW)
    salesforce = OutboundMessageReceiver(organization_id=ORG, endpoint_token=TOKEN)
    return {"quickbooks": qbo, "productive": productive, "salesforce": salesforce}


def _ingest() -> WebhookIngest:
    receivers = _receivers()
    return WebhookIngest(
        known_providers=frozenset(receivers),
        receivers={name: functools.partial(receivers.__getitem__, name) for name in receivers},
        ledger=InMemoryLedger(),
        publisher=Publisher(),
        metrics=FakeMetrics(),
        max_body_bytes=256 * 1024,
    )


def _answered(provider: str, request: WebhookRequest) -> IngestOutcome | WebhookRejected:
    try:
        return _ingest().handle(provider, request)
    except WebhookRejected as rejected:
        assert 400 <= rejected.status < 500 and rejected.message
        return rejected


def _authentic(answer: IngestOutcome | WebhookRejected) -> None:
    # The generated request was signed right: whatever the verdict, it is about the content.
    assert not isinstance(answer, WebhookRejected) or answer.status != 401, answer.message


# Timestamps as vendors write them, and at the edges of the calendar and of UTC offsets.
timestamps = st.one_of(
    st.from_regex(
        r"\A[0-9]{4}-[01][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9]:[0-6][0-9](\.[0-9]{1,9})?"
        r"(Z|[+-][0-9]{2}:?[0-9]{2})?\Z"
    ),
    st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-01-01T00:00:00+2399"]),
    st.text(max_size=40),
)
ids = st.one_of(st.text(max_size=600), st.from_regex(r"\A[0-9]{1,20}\Z"), st.just("x" * 3000))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def quickbooks_bodies(draw: Any) -> Any:
    if draw(st.booleans()):
        entity = {
            "name": draw(st.sampled_from(["Customer", "Vendor"]) | st.text(max_size=10)),
            "id": draw(ids),
            "operation": draw(st.sampled_from(["Create", "Update", "Merge", "Void"])),
            "lastUpdated": draw(timestamps | st.none()),
        }
        notification = {"realmId": draw(st.just(REALM) | ids), "dataChangeEvent": {"entities": [entity]}}
        return {"eventNotifications": [notification]}
    event = {
        "specversion": "1.0",
        "id": draw(ids),
        "type": draw(st.just("qbo.customer.updated.v1") | st.text()),
        "time": draw(timestamps | st.none()),
        "intuitentityid": draw(ids),
        "intuitaccountid": draw(st.just(REALM) | ids),
        "data": draw(json_values),
    }
    return [event]


@BOUNDED
@given(document=quickbooks_bodies() | json_values)
def test_any_signed_quickbooks_body_is_accepted_or_refused_with_a_4xx(document: Any) -> None:
    body = json.dumps(document).encode()
    _authentic(
        _answered(
            "quickbooks",
            WebhookRequest(
                method="POST",
                path="/webhooks/quickbooks",
                headers={"intuit-signature": sign(VERIFIER, body)},
                body=body,
            ),
        )
    )


@BOUNDED
@given(
    attributes=st.dictionaries(
        st.sampled_from(["updated_at", "created_at", "archived_at", "name"]), timestamps, max_size=3
    ),
    record_id=ids,
    event=st.text(max_size=20),
    extra=json_values,
)
def test_any_signed_productive_body_is_accepted_or_refused_with_a_4xx(
    attributes: dict[str, str], record_id: str, event: str, extra: Any
) -> None:
    document = {
        "event": event,
        "data": {"type": "companies", "id": record_id, "attributes": attributes},
        "meta": extra,
    }
    body = json.dumps(document).encode()
    header = signature_header(SECRET, int(NOW.timestamp()), body)
    _authentic(
        _answered(
            "productive",
            WebhookRequest(
                method="POST",
                path="/webhooks/productive",
                headers={"productive-signature": header},
                body=body,
            ),
        )
    )


@BOUNDED
@given(header=st.text(max_size=200))
@example(header="t=\u00b2,s=" + "0" * 64)
@example(header="t=" + "9" * 5000 + ",s=" + "0" * 64)
def test_any_productive_signature_header_is_refused_with_a_401(header: str) -> None:
    answer = _answered(
        "productive",
        WebhookRequest(
            method="POST", path="/webhooks/productive", headers={"productive-signature": header}, body=b"{}"
        ),
    )
    assert isinstance(answer, WebhookRejected) and answer.status == 401


xml_text = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=600)


@BOUNDED
@given(notification_id=xml_text, record_id=xml_text | st.just("001000000000001"), modstamp=timestamps)
@example(notification_id="n" * 600, record_id="001000000000001", modstamp="2026-01-01T00:00:00Z")
@example(notification_id="04l1", record_id="001000000000001", modstamp="9999-12-31T23:59:59-23:59")
def test_any_authentic_outbound_message_is_accepted_or_refused_with_a_4xx(
    notification_id: str, record_id: str, modstamp: str
) -> None:
    body = outbound_message(ORG, [(notification_id, record_id)], SystemModstamp=modstamp)
    _authentic(
        _answered(
            "salesforce",
            WebhookRequest(method="POST", path="/webhooks/salesforce", query={"token": TOKEN}, body=body),
        )
    )
