"""Webhooks on the local API under concurrent and hostile senders: isolated, exclusive, never a 5xx.

Run with `-s` to see the figures (they are also printed by `make bench`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from infra.local.environment import LocalEnvironment, local_environment
from infra.status import StatusReport
from shared import bootstrap
from shared.domain.models import utcnow
from shared.domain.ports import NoticeClaim
from tests.benchmarks.webhooks import (
    concurrent_senders,
    counting_publishes,
    fuzz,
    identical_deliveries,
    outbound_message,
    salesforce_notice,
)

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        yield environment


def test_concurrent_senders_are_each_checked_against_their_own_request(env: LocalEnvironment) -> None:
    # given 20 senders at once, each alternating a valid notice and the same notice with a wrong token
    figure = concurrent_senders(env, senders=20, rounds=5)
    print(
        f"\nconcurrency: {figure.requests} requests from 20 senders; valid notices acknowledged "
        f"{figure.acknowledged}, recorded {figure.recorded}; wrong-token requests accepted "
        f"{figure.wrong_token_accepted}; answers {dict(sorted(figure.statuses.items()))}"
    )
    # then every valid notice was acknowledged and recorded, and no wrong token got in
    assert figure.acknowledged == figure.recorded == figure.requests // 2
    assert figure.wrong_token_accepted == 0


def test_twenty_identical_deliveries_at_once_publish_the_notice_once(env: LocalEnvironment) -> None:
    # given one outbound message delivered 20 times at the same moment (a vendor retrying a slow answer)
    figure = identical_deliveries(env, deliveries=20)
    print(
        f"\nidentical deliveries: {figure.deliveries} at once, published {figure.published},"
        f" answers {dict(figure.statuses)}"
    )
    # then the notice reached the bus once, and every answer is an Ack or "redeliver later"
    assert figure.published == 1
    assert set(figure.statuses) <= {200, 409}
    # and a later redelivery is acknowledged as a duplicate
    assert figure.after_redelivery == 200


def test_a_quickbooks_notification_of_a_bulk_import_is_acknowledged_on_its_first_delivery(
    env: LocalEnvironment,
) -> None:
    # given a bookkeeper's import of 600 customers, which QuickBooks reports in one notification
    env.settle()
    for n in range(600):
        env.quickbooks.put_customer({"DisplayName": f"Imported Customer {n:03d}"})
    # when QuickBooks delivers it (it wants an answer within 3 s; the function may run 10 s)
    with counting_publishes() as published:
        delivered = env.quickbooks.deliver_pending()
    # then the first delivery is acknowledged, nothing is left to redeliver, each change on the bus once
    assert delivered == 600
    assert len(env.quickbooks.notices.outbox) == 0
    assert len({notice.record_id for notice in published}) == len(published) == 600
    env.settle()


def test_hostile_webhooks_get_a_4xx_with_their_reason_and_enqueue_nothing(env: LocalEnvironment) -> None:
    # given forged headers, unroutable providers and signed bodies no vendor sends, for each provider
    figure = fuzz(env)
    print(
        f"\nfuzz: {figure.sent} requests; answers {dict(sorted(figure.statuses.items()))}; "
        f"5xx {len(figure.five_xx)}"
    )
    # then none is answered 5xx (that is reserved for our own outages) and no refusal put anything on the bus
    assert figure.five_xx == []
    assert figure.enqueued_by_rejects == []
    # and each refusal names its reason
    assert all(status < 500 for _, status in figure.answers)


@pytest.mark.parametrize("webhook_format", ["legacy", "cloudevents"])
def test_quickbooks_notices_for_another_company_are_acknowledged_and_never_fetched(
    env: LocalEnvironment, webhook_format: str
) -> None:
    # given the Intuit app is connected to a second company, whose customer 58 changes in the same
    # window as a customer the hub created in ours
    env.settle()
    env.quickbooks.webhook_format = webhook_format  # type: ignore[assignment]
    ours = env.quickbooks.put_customer({"DisplayName": f"Realm Check {webhook_format}"})
    env.quickbooks.notify_for_other_company("9130999999999999", "58")
    metrics = bootstrap.services().metrics
    dropped_before = metrics.totals["NoticesDropped[reason=foreign_realm]"]
    # when QuickBooks delivers that body
    with counting_publishes() as published:
        env.settle()
    # then it was acknowledged (nothing left to redeliver), the other company's notice was dropped and
    # counted, and only our company's notice went to the workers (nothing asks our company for it)
    assert env.quickbooks.pending_notifications == 0
    assert metrics.totals["NoticesDropped[reason=foreign_realm]"] == dropped_before + 1
    quickbooks = [n for n in published if n.provider == "quickbooks"]
    assert [(n.realm, n.record_id) for n in quickbooks] == [(env.quickbooks.realm_id, ours)]


def _api_line(env: LocalEnvironment) -> tuple[int, int, int]:
    assert env.runtime is not None
    clients = env.runtime.clients
    report = StatusReport(
        sfn=clients.stepfunctions(),
        dynamodb=clients.dynamodb(),
        sqs=clients.sqs(),
        cloudwatch=clients.cloudwatch(),
    )
    [line] = [line for line in report.lines(now=utcnow() + timedelta(seconds=1)) if line.startswith("api,")]
    found = re.search(r"(\d+) requests, (\d+) answered 5xx, (\d+) refused", line)
    assert found is not None, line
    requests, server_errors, refused = (int(group) for group in found.groups())
    return requests, server_errors, refused


def test_status_shows_the_api_5xx_and_rejections_of_the_last_hour(env: LocalEnvironment, monkeypatch) -> None:
    before = _api_line(env)
    # given one forged webhook, and one authentic webhook that arrives while the bus is down
    forged = httpx.post(
        f"{env.api_url}/webhooks/quickbooks", headers={"intuit-signature": "forged"}, content=b"{}"
    )
    publisher = bootstrap.services().publisher

    def outage(notices: list) -> None:
        raise ConnectionError("EventBridge unreachable")

    monkeypatch.setattr(publisher, "publish", outage)
    env.quickbooks.put_customer({"DisplayName": "Status During Outage"})
    assert env.quickbooks.deliver_pending() == 0
    monkeypatch.undo()
    assert forged.status_code == 401
    # then `close2cash status` counts both, from the metrics API Gateway publishes (here: the local front)
    after = _api_line(env)
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2]) == (2, 1, 1)
    env.settle()


def test_a_notice_another_container_is_still_publishing_is_answered_409_then_acknowledged(
    env: LocalEnvironment,
) -> None:
    # given another Lambda container claimed an outbound notification and has not published it yet
    account_id = env.salesforce.put_account({"Name": "Held Elsewhere Ltd"})
    env.salesforce.drop_pending(account_id)
    notice = salesforce_notice(env, "04lHELD000000001", account_id)
    ledger: Any = bootstrap.services().ledger
    assert ledger.claim_notice(notice, holder="another container") is NoticeClaim.CLAIMED
    token = env.connections()["salesforce"]["webhook_token"]
    body = outbound_message(env.salesforce.organization_id, [(notice.event_id, account_id)])

    def deliver() -> httpx.Response:
        return httpx.post(
            f"{env.api_url}/webhooks/salesforce",
            params={"token": token},
            content=body,
            headers={"content-type": "text/xml"},
            timeout=30,
        )

    # when Salesforce delivers the same notification meanwhile
    busy = deliver()
    # then it is not acknowledged (Salesforce redelivers), and told when to come back
    assert busy.status_code == 409 and busy.json()["error"] == "in_flight"
    assert int(busy.headers["Retry-After"]) > 10  # past the webhook function's timeout
    # and once the other container has published it, the redelivery is acknowledged with a SOAP Ack
    ledger.mark_published(notice)
    again = deliver()
    assert again.status_code == 200 and "<Ack>true</Ack>" in again.text
