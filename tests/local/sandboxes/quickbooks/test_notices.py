"""Webhook notices name the same instant as the object, and a lost notice is caught up by CDC."""

from __future__ import annotations

import json
from datetime import datetime

import httpx

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from tests.local.sandboxes.quickbooks.conftest import BASE, Clock, Post


def hub(seen: list[bytes]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200)

    return httpx.MockTransport(answer)


def test_a_notice_last_updated_is_the_customers_own_last_updated_time(
    api: httpx.Client, post: Post, qbo: QuickBooksSandbox, clock: Clock
) -> None:
    # given a clock that moves on between any two readings (as a real one does, by a millisecond)
    def ticking() -> datetime:
        clock.advance(milliseconds=1)
        return clock.now

    qbo.clock = ticking
    # and the hub subscribed, when a customer is created through the API
    seen: list[bytes] = []
    qbo.subscribe("http://hub/webhooks/quickbooks", transport=hub(seen))
    customer = post("customer", {"DisplayName": "Instant Co"}).json()["Customer"]
    assert qbo.deliver_pending() == 1
    (entity,) = json.loads(seen[0])["eventNotifications"][0]["dataChangeEvent"]["entities"]
    # then the notice's lastUpdated and the customer's LastUpdatedTime are one instant
    noticed = datetime.fromisoformat(entity["lastUpdated"].replace("Z", "+00:00"))
    assert noticed == datetime.fromisoformat(customer["MetaData"]["LastUpdatedTime"])


def test_a_dropped_notice_is_never_sent_and_cdc_still_has_the_change(
    api: httpx.Client, post: Post, qbo: QuickBooksSandbox
) -> None:
    seen: list[bytes] = []
    qbo.subscribe("http://hub/webhooks/quickbooks", transport=hub(seen))
    lost = post("customer", {"DisplayName": "Lost Notice Co"}).json()["Customer"]["Id"]
    kept = post("customer", {"DisplayName": "Kept Notice Co"}).json()["Customer"]["Id"]
    # when Intuit loses the notice about one customer
    assert qbo.drop_pending(lost) == 1
    qbo.deliver_pending()
    entities = json.loads(seen[0])["eventNotifications"][0]["dataChangeEvent"]["entities"]
    assert [e["id"] for e in entities] == [kept]
    # then ChangeDataCapture still reports both
    cdc = api.get(
        f"{BASE}/cdc", params={"entities": "Customer", "changedSince": "2026-11-20T00:00:00Z"}
    ).json()
    assert [c["Id"] for c in cdc["CDCResponse"][0]["QueryResponse"][0]["Customer"]] == [lost, kept]
