"""Salesforce on Change Data Capture: the sandbox relays change events to the local partner bus,
and accounts and deals reach Productive and QuickBooks exactly once, as they do by outbound message."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from infra.local.demo import engagement_setup
from infra.local.environment import DEFAULT_LANDSCAPE, LocalEnvironment, local_environment
from infra.local.intake import with_salesforce_intake
from shared import bootstrap
from shared.domain.models import SystemName
from shared.domain.systems import Intake
from tests.flows.test_lifecycle import _xrefs

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEnvironment]:
    # the demo firm's landscape, with Salesforce on intake = "change_data_capture"
    landscape = with_salesforce_intake(
        DEFAULT_LANDSCAPE, Intake.CHANGE_DATA_CAPTURE, tmp_path_factory.mktemp("landscape")
    )
    with local_environment(landscape=landscape) as environment:
        yield environment


def _company_names(env: LocalEnvironment) -> list[str]:
    return [c["attributes"]["name"] for c in env.productive.companies()]


def _customer_names(env: LocalEnvironment) -> list[str]:
    return [c["DisplayName"] for c in env.quickbooks.customers()]


def _account_reads(env: LocalEnvironment, account_id: str) -> int:
    """How many times the hub read the account from Salesforce: its sObject Row, or the one queryAll
    that reads an account with the accounts merged into it (its id is in the query, not the path)."""
    return sum(
        1
        for method, path in env.salesforce.requests
        if method == "GET" and (account_id in path or path.endswith("/queryAll"))
    )


def _totals() -> dict[str, float]:
    return dict(bootstrap.services().metrics.totals)


def test_a_new_account_reaches_both_targets_once_by_change_event_alone(env: LocalEnvironment) -> None:
    # given Salesforce on change data capture (the org relays its change events; no outbound rule)
    # when sales creates an account
    account_id = env.salesforce.put_account({"Name": "Relay Works Ltd", "Phone": "+1 555 0100"})
    env.settle()
    # then it is one Productive company and one QuickBooks customer, cross-referenced
    assert _company_names(env).count("Relay Works Ltd") == 1
    assert _customer_names(env).count("Relay Works Ltd") == 1
    assert set(_xrefs(account_id)) == {SystemName.PRODUCTIVE, SystemName.QUICKBOOKS}
    # and it came as a CREATE change event on the partner bus, not as an outbound message
    created = [
        c
        for c in env.salesforce.relayed_changes
        if c.detail["payload"]["ChangeEventHeader"]["recordIds"] == [account_id]
    ]
    assert created[0].detail["payload"]["ChangeEventHeader"]["changeType"] == "CREATE"
    assert env.salesforce.delivery_attempts == []


def test_an_edit_is_one_update_event_and_changes_each_copy_once(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Before Rename GmbH"})
    env.settle()
    before = _xrefs(account_id)
    # when sales renames it
    env.salesforce.put_account({"Name": "After Rename GmbH"}, account_id=account_id)
    env.settle()
    # then one UPDATE event named the changed field
    [update] = [
        c.detail["payload"]["ChangeEventHeader"]
        for c in env.salesforce.relayed_changes
        if c.detail["payload"]["ChangeEventHeader"]["recordIds"] == [account_id]
        and c.detail["payload"]["ChangeEventHeader"]["changeType"] == "UPDATE"
    ]
    assert "Name" in update["changedFields"]
    # and the same copies, one each, carry the new name
    assert _xrefs(account_id) == before
    assert (
        _company_names(env).count("After Rename GmbH"),
        _customer_names(env).count("After Rename GmbH"),
    ) == (1, 1)
    assert "Before Rename GmbH" not in _company_names(env) + _customer_names(env)


def test_a_redelivered_change_event_changes_nothing_and_costs_no_call(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Said Twice Partners"})
    env.settle()
    companies, customers = len(env.productive.companies()), len(env.quickbooks.customers())
    reads = _account_reads(env, account_id)
    duplicates = _totals().get("DuplicatesPrevented", 0)
    # when the relay resumes with ReplayRecovery EARLIEST and sends every retained event again
    assert env.salesforce.replay_retained() >= 1
    env.settle()
    # then nothing was created, the account was not even fetched again, and the duplicates are counted
    assert (len(env.productive.companies()), len(env.quickbooks.customers())) == (companies, customers)
    assert _account_reads(env, account_id) == reads
    assert _totals()["DuplicatesPrevented"] > duplicates


def test_a_gap_event_makes_the_hub_fetch_the_record(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Gap Before Ltd"})
    env.settle()
    reads = _account_reads(env, account_id)
    # given Salesforce could not capture the next change's values (a gap event: header only)
    env.salesforce.gap_next()
    env.salesforce.put_account({"Name": "Gap After Ltd"}, account_id=account_id)
    env.settle()
    header = env.salesforce.relayed_changes[-1].detail["payload"]["ChangeEventHeader"]
    assert header["changeType"] == "GAP_UPDATE"
    # then the hub fetched the account and both copies have the change
    assert _account_reads(env, account_id) == reads + 1
    assert "Gap After Ltd" in _company_names(env) and "Gap After Ltd" in _customer_names(env)


def test_an_overflow_event_sweeps_what_changed(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Overflow Before Inc"})
    env.settle()
    # given the next change comes as an overflow event: no record ids, only the entity
    env.salesforce.overflow_next()
    env.salesforce.put_account({"Name": "Overflow After Inc"}, account_id=account_id)
    env.settle()
    header = env.salesforce.relayed_changes[-1].detail["payload"]["ChangeEventHeader"]
    assert (header["changeType"], header["recordIds"]) == ("GAP_OVERFLOW", [])
    # then the sweep of accounts changed since the commit found it, and both copies have the change
    assert "Overflow After Inc" in _company_names(env) and "Overflow After Inc" in _customer_names(env)
    assert "Overflow Before Inc" not in _customer_names(env)


def test_a_delete_deactivates_the_copies_at_once_by_the_lifecycle_policy(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Wound Up Ltd"})
    env.settle()
    copies = _xrefs(account_id)
    # when sales deletes it (a DELETE change event: no sweep of the delete log needed)
    env.salesforce.delete_account(account_id)
    env.settle()
    # then (lifecycle.customer.on_delete = deactivate) both copies are inactive
    assert {active for _, active in _xrefs(account_id).values()} == {False}
    assert env.quickbooks.customer(copies[SystemName.QUICKBOOKS][0])["Active"] is False
    archived = {c["id"]: c["attributes"]["archived_at"] for c in env.productive.companies()}
    assert archived[copies[SystemName.PRODUCTIVE][0]] is not None


def test_an_undelete_asks_a_person_to_reactivate_the_copies(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Second Life Ltd"})
    env.settle()
    env.salesforce.delete_account(account_id)
    env.settle()
    # when sales restores it from the recycle bin (an UNDELETE change event)
    env.salesforce.undelete_account(account_id)
    env.settle()
    # then the deactivated copies stay as they are and one exception says what to do
    assert {active for _, active in _xrefs(account_id).values()} == {False}
    found = [
        e
        for e in bootstrap.services().ledger.open_exceptions()
        if account_id in (e["subject"] or "") and "restored" in (e["reason"] or "")
    ]
    assert len(found) == 1


def test_outbound_messages_are_refused_while_the_landscape_takes_change_events(
    env: LocalEnvironment,
) -> None:
    # when an org still posts an outbound message to the hub
    response = httpx.post(f"{env.api_url}/webhooks/salesforce?token=whatever", content=b"<x/>", timeout=10)
    # then it is told the landscape takes Salesforce's changes another way (and nothing is recorded)
    assert response.status_code == 404
    assert "change_data_capture" in response.json()["message"]


def test_a_won_deal_starts_one_setup_and_the_write_back_is_not_an_echo(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Deal By Event Corp", "CurrencyIsoCode": "USD"})
    env.settle()
    dropped = _totals().get("NoticesDropped[reason=own_write]", 0)
    # when a deal is won and approved
    report = engagement_setup(env, Console(file=io.StringIO()), account_id=account_id)
    # then the deal is active once everywhere
    assert report.active_once, report
    # and the hub's own write-back to the opportunity came back as change events it recognised
    assert _totals()["NoticesDropped[reason=own_write]"] > dropped
    origins = {
        c.detail["payload"]["ChangeEventHeader"]["changeOrigin"]
        for c in env.salesforce.relayed_changes
        if c.detail_type == "OpportunityChangeEvent"
    }
    assert any(origin.endswith(";client=close2cash") for origin in origins)


def test_the_intake_copy_keeps_every_other_part_of_the_landscape(tmp_path: Path) -> None:
    copy = with_salesforce_intake(DEFAULT_LANDSCAPE, Intake.CHANGE_DATA_CAPTURE, tmp_path)
    original = DEFAULT_LANDSCAPE.read_text().splitlines()
    changed = copy.read_text().splitlines()
    assert [line for line in changed if line not in original] == ['intake = "change_data_capture"']
