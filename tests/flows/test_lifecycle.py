"""Deletes, merges and poison messages end to end on the local runtime with the vendor sandboxes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from infra.cli import app
from infra.local.environment import LocalEnvironment, local_environment
from shared import bootstrap
from shared.domain.models import EntityType, SourceRef, SystemName

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        yield environment


def _xrefs(account_id: str) -> dict[SystemName, tuple[str, bool]]:
    source = SourceRef(system=SystemName.SALESFORCE, type="Account", id=account_id)
    return {
        x.target.system: (x.target.id, x.active)
        for x in bootstrap.services().ledger.cross_references(EntityType.ACCOUNT, source)
    }


def _open_exceptions_about(record_id: str) -> list[dict[str, str | None]]:
    return [e for e in bootstrap.services().ledger.open_exceptions() if record_id in (e["subject"] or "")]


def test_an_account_deleted_after_its_notice_opens_one_exception_and_is_not_retried(
    env: LocalEnvironment,
) -> None:
    assert env.runtime is not None
    env.settle()
    # given an account whose outbound message reached the hub
    account_id = env.salesforce.put_account({"Name": "Gone Before Sync Ltd"})
    assert env.salesforce.deliver_pending() >= 1
    # when sales deletes it before the worker fetches it
    env.salesforce.delete_account(account_id)
    drained = env.runtime.drain(timeout=30)
    # then the message is done on its first receive: no retry, nothing dead-lettered
    assert (drained.failed, drained.sent_to_dlq) == (0, 0)
    # and one exception names the account and says it was deleted
    found = _open_exceptions_about(account_id)
    assert len(found) == 1
    assert "deleted" in (found[0]["reason"] or "") and account_id in (found[0]["reason"] or "")


@pytest.mark.parametrize("webhook_format", ["legacy", "cloudevents"])
def test_a_quickbooks_merge_repoints_the_cross_reference_to_the_survivor(
    env: LocalEnvironment, webhook_format: str
) -> None:
    # given an account synced to QuickBooks, and a customer a bookkeeper keyed in by hand
    account_id = env.salesforce.put_account({"Name": f"Merge Me {webhook_format} Inc"})
    env.settle()
    ours = _xrefs(account_id)[SystemName.QUICKBOOKS][0]
    survivor = env.quickbooks.put_customer({"DisplayName": f"Merged Survivor {webhook_format} Inc"})
    env.settle()
    # when the bookkeeper merges our customer into theirs (QuickBooks sends Merge with the deleted id)
    env.quickbooks.webhook_format = webhook_format  # type: ignore[assignment]
    try:
        env.quickbooks.merge_customers(survivor, ours)
        env.settle()
    finally:
        env.quickbooks.webhook_format = "legacy"
    # then the ledger names the survivor, which carries the CRM's name again
    assert _xrefs(account_id)[SystemName.QUICKBOOKS] == (survivor, True)
    assert env.quickbooks.customer(survivor)["DisplayName"] == f"Merge Me {webhook_format} Inc"
    assert _open_exceptions_about(account_id) == []


def test_a_salesforce_merge_deactivates_the_merged_away_accounts_copies(env: LocalEnvironment) -> None:
    # given two accounts for one customer, each synced to Productive and QuickBooks
    keep = env.salesforce.put_account({"Name": "Duplicate Keep Co"})
    lose = env.salesforce.put_account({"Name": "Duplicate Lose Co"})
    env.settle()
    lost_copies = _xrefs(lose)
    # when sales merges the duplicate into the account they keep
    env.salesforce.merge_accounts(keep, lose)
    env.settle()
    # then (policy: repoint; the survivor has copies of its own) the loser's copies are deactivated
    assert {system: active for system, (_, active) in _xrefs(lose).items()} == {
        SystemName.PRODUCTIVE: False,
        SystemName.QUICKBOOKS: False,
    }
    assert env.quickbooks.customer(lost_copies[SystemName.QUICKBOOKS][0])["Active"] is False
    archived = {c["id"]: c["attributes"]["archived_at"] for c in env.productive.companies()}
    assert archived[lost_copies[SystemName.PRODUCTIVE][0]] is not None
    # and the survivor's copies are untouched
    assert all(active for _, active in _xrefs(keep).values())


def test_a_dead_lettered_message_is_listed_with_its_reason_and_redriven_once_fixed(
    env: LocalEnvironment,
) -> None:
    assert env.runtime is not None
    env.settle()
    endpoint = env.runtime.moto_endpoint
    cli = CliRunner()
    # given the org's daily API allocation is spent (Salesforce answers REQUEST_LIMIT_EXCEEDED)
    account_id = env.salesforce.put_account({"Name": "Dead Letter Partners"})
    used, limit = env.salesforce.api_usage
    env.salesforce.set_api_limit(used)
    try:
        # when the notice is retried until its last receive
        drained = env.settle()
        assert drained.rounds >= 1
        listed = cli.invoke(app, ["dlq", "list", "account-changes", "--endpoint-url", endpoint])
    finally:
        env.salesforce.set_api_limit(limit)
    # then `dlq list` shows it, with the reason the ledger recorded for it
    assert listed.exit_code == 0, listed.output
    assert account_id in listed.output
    assert "dead-letter queue" in listed.output and "close2cash dlq redrive" in listed.output
    assert "1 message(s)" in listed.output
    # and once the cause is fixed, redrive says what it will move, then moves it; the account syncs
    dry = cli.invoke(app, ["dlq", "redrive", "account-changes", "--dry-run", "--endpoint-url", endpoint])
    assert dry.exit_code == 0 and "1 message(s)" in dry.output and "nothing done (--dry-run)" in dry.output
    moved = cli.invoke(app, ["dlq", "redrive", "account-changes", "--yes", "--endpoint-url", endpoint])
    assert moved.exit_code == 0 and "moved back to account-changes" in moved.output, moved.output
    env.settle()
    assert set(_xrefs(account_id)) == {SystemName.PRODUCTIVE, SystemName.QUICKBOOKS}
    again = cli.invoke(app, ["dlq", "list", "account-changes", "--endpoint-url", endpoint])
    assert "0 message(s)" in again.output


def test_an_account_deleted_in_salesforce_has_its_copies_deactivated_by_the_sweep(
    env: LocalEnvironment,
) -> None:
    # given an account synced to Productive and QuickBooks
    account_id = env.salesforce.put_account({"Name": "Closing Down Ltd"})
    env.settle()
    copies = _xrefs(account_id)
    # when sales deletes it (Salesforce sends no outbound message for a delete), a few minutes
    # before the sweep runs: Get Deleted ignores the seconds of its window, so a delete in the
    # current minute waits for the next sweep
    env.salesforce.delete_account(account_id, at=datetime.now(UTC) - timedelta(minutes=2))
    assert env.salesforce.deliver_pending() == 0
    # and the delete-log sweep runs on its schedule
    env.pass_time(15 * 60, step=15 * 60)
    # then (policy: deactivate) both copies are inactive, and nothing is left for a person to do
    assert {active for _, active in _xrefs(account_id).values()} == {False}
    assert env.quickbooks.customer(copies[SystemName.QUICKBOOKS][0])["Active"] is False
    archived = {c["id"]: c["attributes"]["archived_at"] for c in env.productive.companies()}
    assert archived[copies[SystemName.PRODUCTIVE][0]] is not None
    assert _open_exceptions_about(account_id) == []
