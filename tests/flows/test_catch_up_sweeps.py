"""Webhooks are hints: a notice lost on purpose is brought by the next catch-up sweep, exactly once."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infra.local.demo_sweep import sweep
from infra.local.environment import LocalEnvironment, local_environment
from shared import bootstrap
from shared.domain.models import EntityType, SourceRef, SystemName

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        yield environment


def _copies(account_id: str) -> dict[SystemName, str]:
    source = SourceRef(system=SystemName.SALESFORCE, type="Account", id=account_id)
    return {
        x.target.system: x.target.id
        for x in bootstrap.services().ledger.cross_references(EntityType.ACCOUNT, source)
    }


def _open_exceptions_about(record_id: str) -> list[dict[str, str | None]]:
    return [e for e in bootstrap.services().ledger.open_exceptions() if record_id in (e["reason"] or "")]


def _lose_quickbooks_webhooks(env: LocalEnvironment) -> int:
    """Deliver QuickBooks' queued webhooks to an endpoint that acknowledges them and passes nothing on
    (a misrouted app endpoint): Intuit considers them delivered, the hub never hears of them."""
    env.quickbooks.subscribe(
        "https://lost.invalid/webhooks", transport=httpx.MockTransport(lambda _: httpx.Response(200))
    )
    try:
        return env.quickbooks.deliver_pending()
    finally:
        env.quickbooks.subscribe(f"{env.api_url}/webhooks/quickbooks")


def test_a_salesforce_edit_whose_outbound_message_was_dropped_is_brought_by_the_next_sweep_once(
    env: LocalEnvironment,
) -> None:
    # given an account synced to Productive and QuickBooks, and a sweep that has run since
    account_id = env.salesforce.put_account({"Name": "Dropped Notice Ltd"})
    env.settle()
    sweep(env)
    copies = _copies(account_id)
    token_before = env.quickbooks.customer(copies[SystemName.QUICKBOOKS])["SyncToken"]
    # when sales renames it and the outbound message is lost (Salesforce's fault switch)
    env.salesforce.put_account({"Name": "Swept Up Ltd"}, account_id=account_id)
    assert env.salesforce.drop_pending(account_id) == 1
    env.settle()
    assert env.quickbooks.customer(copies[SystemName.QUICKBOOKS])["DisplayName"] == "Dropped Notice Ltd"
    # and the sweep's schedule comes due
    published = sweep(env)
    # then the rename reached both copies, in place, through one notice
    assert published[SystemName.SALESFORCE.value] == 1
    assert env.quickbooks.customer(copies[SystemName.QUICKBOOKS])["DisplayName"] == "Swept Up Ltd"
    assert env.productive.company(copies[SystemName.PRODUCTIVE])["attributes"]["name"] == "Swept Up Ltd"
    assert _copies(account_id) == copies
    # and exactly once: QuickBooks took one update, and the next sweep (its overlap re-reads the
    # change) brings nothing more
    assert int(env.quickbooks.customer(copies[SystemName.QUICKBOOKS])["SyncToken"]) == int(token_before) + 1
    assert sweep(env) == {SystemName.SALESFORCE.value: 0, SystemName.QUICKBOOKS.value: 0}
    assert int(env.quickbooks.customer(copies[SystemName.QUICKBOOKS])["SyncToken"]) == int(token_before) + 1


def test_a_quickbooks_edit_whose_webhook_was_lost_is_brought_by_the_quickbooks_sweep(
    env: LocalEnvironment,
) -> None:
    # given an account synced to QuickBooks
    account_id = env.salesforce.put_account({"Name": "Books Drift Co"})
    env.settle()
    customer_id = _copies(account_id)[SystemName.QUICKBOOKS]
    # when a bookkeeper renames the customer (the CRM owns the name) and the webhook is lost
    env.quickbooks.put_customer({"Id": customer_id, "DisplayName": "Renamed Behind Our Back"})
    assert _lose_quickbooks_webhooks(env) >= 1
    env.settle()
    assert _open_exceptions_about(account_id) == []
    # and the sweep's schedule comes due
    published = sweep(env)
    # then the change reached drift detection as the webhook's would have: one drift exception, and
    # the CRM's name was not overwritten
    assert published[SystemName.QUICKBOOKS.value] == 1
    found = _open_exceptions_about(account_id)
    assert [e["kind"] for e in found] == ["drift"]
    assert "name" in (found[0]["reason"] or "")
    assert env.salesforce.account(account_id)["Name"] == "Books Drift Co"
    # and the next sweep opens nothing more
    sweep(env)
    assert len(_open_exceptions_about(account_id)) == 1


def test_a_sweep_after_delivered_notices_changes_nothing_and_costs_one_call_per_vendor(
    env: LocalEnvironment,
) -> None:
    # given an edit in Salesforce and a hand edit in QuickBooks, both notices delivered and handled
    account_id = env.salesforce.put_account({"Name": "Delivered Fine Inc"})
    env.settle()
    customer_id = _copies(account_id)[SystemName.QUICKBOOKS]
    env.salesforce.put_account({"Name": "Delivered Fine Incorporated"}, account_id=account_id)
    env.settle()
    env.quickbooks.put_customer({"Id": customer_id, "DisplayName": "Delivered Hand Edit"})
    env.settle()
    token = env.quickbooks.customer(customer_id)["SyncToken"]
    exceptions = len(_open_exceptions_about(account_id))
    assert exceptions == 1  # the hand edit's drift, from its webhook
    # when the sweep runs over the same window
    sweep(env)
    # then nothing changed anywhere: no write to QuickBooks, no second exception
    assert env.quickbooks.customer(customer_id)["SyncToken"] == token
    assert len(_open_exceptions_about(account_id)) == exceptions
    # and a sweep with nothing new (its window still holds both changes) costs one call per swept vendor
    before = bootstrap.services().vendor_calls()
    assert sweep(env) == {SystemName.SALESFORCE.value: 0, SystemName.QUICKBOOKS.value: 0}
    after = bootstrap.services().vendor_calls()
    spent = {system: after.get(system, 0) - before.get(system, 0) for system in after}
    assert spent == {"salesforce": 1, "productive": 0, "quickbooks": 1}
