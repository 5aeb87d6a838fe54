"""Vendor calls per record on the sandboxes: what a new account and an edit cost, and what is not saved.

A saved call that loses a change is not a saving: each figure here sits beside a check that the
change still lands (or is still reported as drift).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from infra.local.demo import engagement_setup
from infra.local.environment import LocalEnvironment, local_environment
from shared import bootstrap
from shared.domain.models import EntityType, SourceRef, SystemName

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        # A first account brings every connector's token in, so the figures below are per record.
        environment.salesforce.put_account({"Name": "Warm Up Holdings"})
        environment.settle()
        yield environment


def _calls() -> dict[str, int]:
    return dict(bootstrap.services().vendor_calls())


def _spent(before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in _calls().items() if v - before.get(k, 0)}


def _xref(account_id: str, system: SystemName) -> str:
    source = SourceRef(system=SystemName.SALESFORCE, type="Account", id=account_id)
    xref = bootstrap.services().ledger.cross_reference(EntityType.ACCOUNT, source, system)
    assert xref is not None
    return xref.target.id


def _sync_then_echoes(env: LocalEnvironment) -> tuple[dict[str, int], dict[str, int]]:
    """Vendor calls of the CRM notice's sync, then of the targets' notices about those writes."""
    assert env.runtime is not None
    before = _calls()
    env.salesforce.deliver_pending()
    env.runtime.drain(timeout=30, executions=False)
    synced = _spent(before)
    before = _calls()
    env.settle()
    return synced, _spent(before)


def test_a_new_account_costs_five_vendor_calls_and_its_echoes_none(env: LocalEnvironment) -> None:
    # given a new account in Salesforce
    env.salesforce.put_account({"Name": "Fivefold Advisory", "Phone": "+1 555 0170"})
    # when the hub syncs it and the targets' notices of those writes come back
    synced, echoes = _sync_then_echoes(env)
    # then the sync read the account and its merge losers at once, and made one search (one QBO
    # batch of two queries) and one create per target (was 11: look-ups before each create)
    assert synced == {"salesforce": 1, "productive": 2, "quickbooks": 2}
    # and the echoes were known by their modification instant, not read back
    assert echoes == {}
    assert [c["DisplayName"] for c in env.quickbooks.customers()].count("Fivefold Advisory") == 1


def test_an_edit_costs_three_vendor_calls_and_lands_in_both_targets(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Edit Count Ltd"})
    env.settle()
    # when sales edits the account
    env.salesforce.put_account({"Phone": "+1 555 0199"}, account_id=account_id)
    synced, echoes = _sync_then_echoes(env)
    # then one read of the CRM, and one write per target, QuickBooks over the SyncToken the ledger
    # kept (no read first); the echoes cost nothing
    assert synced == {"salesforce": 1, "productive": 1, "quickbooks": 1}
    assert echoes == {}
    customer = env.quickbooks.customer(_xref(account_id, SystemName.QUICKBOOKS))
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "+1 555 0199"


def test_an_edit_after_a_bookkeeper_saved_the_customer_still_lands(env: LocalEnvironment) -> None:
    # given a customer a bookkeeper saved since the hub's last write (its SyncToken moved on)
    account_id = env.salesforce.put_account({"Name": "Busy Books Co"})
    env.settle()
    customer_id = _xref(account_id, SystemName.QUICKBOOKS)
    env.quickbooks.put_customer({"Id": customer_id, "Notes": "called about the invoice"})
    env.settle()
    # when sales edits the account
    env.salesforce.put_account({"Phone": "+1 555 0142"}, account_id=account_id)
    env.settle()
    # then the edit reached QuickBooks anyway (the stale SyncToken was refused, read, written again)
    customer = env.quickbooks.customer(customer_id)
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "+1 555 0142"
    assert customer["Notes"] == "called about the invoice"


def test_a_hand_edit_right_after_the_hubs_write_is_still_drift(env: LocalEnvironment) -> None:
    assert env.runtime is not None
    account_id = env.salesforce.put_account({"Name": "Echo Or Not Inc"})
    env.settle()
    customer_id = _xref(account_id, SystemName.QUICKBOOKS)
    # given the hub has just written an edit, and its echo from QuickBooks is still queued
    env.salesforce.put_account({"Phone": "+1 555 0123"}, account_id=account_id)
    env.salesforce.deliver_pending()
    env.runtime.drain(timeout=30, executions=False)
    # when a bookkeeper renames the customer before that echo arrives, and both notices come
    env.quickbooks.put_customer({"Id": customer_id, "DisplayName": "Renamed By Hand"})
    env.settle()
    # then the rename is reported as drift, not taken for the hub's own echo
    reasons = [e["reason"] or "" for e in bootstrap.services().ledger.open_exceptions()]
    assert any(account_id in reason and "quickbooks" in reason for reason in reasons)
    assert env.salesforce.account(account_id)["Name"] == "Echo Or Not Inc"


def test_a_won_deal_costs_at_most_28_vendor_calls_and_its_write_back_echo_no_fetch(
    env: LocalEnvironment,
) -> None:
    assert env.runtime is not None
    account_id = env.salesforce.put_account({"Name": "Deal Count Co", "CurrencyIsoCode": "USD"})
    env.settle()
    starts = env.runtime.invocations["workflow_start"]
    before = _calls()
    # when sales creates a deal, wins it, and the approver approves its setup
    report = engagement_setup(env, Console(file=io.StringIO()), account_id=account_id)
    # then the engagement is active in both systems for at most 28 vendor calls (was 37): 25 for
    # the setup, and one read of the deal per notice while it was open (the pipeline states it)
    assert report.active_once
    spent = _spent(before)
    assert sum(spent.values()) <= 28
    invoked = env.runtime.invocations["workflow_start"] - starts
    # and, once the CRM's notices about the hub's write-back have come too, nothing more invoked
    # the workflow start or read the deal: the write-back's echo is known at the webhook by its
    # SystemModstamp, without fetching the deal
    env.settle()
    assert env.runtime.invocations["workflow_start"] - starts == invoked
    assert _spent(before).get("salesforce") == spent.get("salesforce")
    assert bootstrap.services().metrics.totals["EchoesSuppressed[flow=engagement_setup]"] >= 1
