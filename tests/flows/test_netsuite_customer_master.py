"""NetSuite beside QuickBooks: every customer kept in both ledgers, one cross-reference each, on the twins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.demo_sweep import sweep
from infra.local.environment import LocalEnvironment, local_environment
from shared import bootstrap
from shared.connectors.netsuite.mapper import external_id
from shared.domain.models import EntityType, SourceRef, SystemName

pytestmark = pytest.mark.flow

COEXISTENCE = Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "coexistence.toml"


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment(landscape=COEXISTENCE) as environment:
        yield environment


def _xrefs(account_id: str) -> dict[SystemName, str]:
    source = SourceRef(system=SystemName.SALESFORCE, type="Account", id=account_id)
    return {
        x.target.system: x.target.id
        for x in bootstrap.services().ledger.cross_references(EntityType.ACCOUNT, source)
    }


def _netsuite_customers(env: LocalEnvironment, name: str) -> list[dict]:
    return [c for c in env.sandbox(SystemName.NETSUITE).records("customer") if c.get("companyName") == name]


def test_a_new_account_is_one_customer_in_each_ledger_with_one_cross_reference_each(
    env: LocalEnvironment,
) -> None:
    # given an account created by sales in Salesforce, in a landscape with QuickBooks and NetSuite
    account_id = env.salesforce.put_account({"Name": "Both Ledgers Co", "Phone": "+1 555 0142"})
    # when Salesforce delivers its outbound message and the hub settles
    env.settle()
    # then NetSuite holds one customer, upserted by the external id derived from the CRM account
    [customer] = _netsuite_customers(env, "Both Ledgers Co")
    source = SourceRef(system=SystemName.SALESFORCE, type="Account", id=account_id)
    assert customer["externalId"] == external_id(source)
    # and the account has one copy in the PSA and in each ledger, each cross-referenced once
    copies = _xrefs(account_id)
    assert set(copies) == {SystemName.PRODUCTIVE, SystemName.QUICKBOOKS, SystemName.NETSUITE}
    assert copies[SystemName.NETSUITE] == str(customer["id"])
    assert [c["DisplayName"] for c in env.quickbooks.customers()].count("Both Ledgers Co") == 1


def test_a_redelivered_message_and_a_rename_keep_one_netsuite_customer(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Rename Me Inc"})
    env.settle()
    before = _xrefs(account_id)
    # when Salesforce sends the same message again, then the account is renamed
    assert env.salesforce.replay_last_delivery() >= 1
    env.settle()
    env.salesforce.put_account({"Name": "Renamed Inc"}, account_id=account_id)
    env.settle()
    # then NetSuite renamed its one customer in place
    assert _xrefs(account_id) == before
    assert _netsuite_customers(env, "Rename Me Inc") == []
    [renamed] = _netsuite_customers(env, "Renamed Inc")
    assert str(renamed["id"]) == before[SystemName.NETSUITE]


def test_a_hand_edit_in_netsuite_is_found_by_the_sweep_and_reported_as_drift(env: LocalEnvironment) -> None:
    # given an account synced everywhere, and a sweep that has run since
    account_id = env.salesforce.put_account({"Name": "Owned By Sales Ltd"})
    env.settle()
    sweep(env)
    netsuite_id = _xrefs(account_id)[SystemName.NETSUITE]
    # when a bookkeeper renames the customer in NetSuite's UI (the name is the CRM's)
    env.sandbox(SystemName.NETSUITE).edit("customer", netsuite_id, {"companyName": "Renamed By Hand"})
    published = sweep(env)
    # then the NetSuite sweep brought the change (NetSuite sends no webhooks) and it was not propagated
    assert published[SystemName.NETSUITE.value] >= 1
    assert "Owned By Sales Ltd" in [c["DisplayName"] for c in env.quickbooks.customers()]
    assert env.salesforce.account(account_id)["Name"] == "Owned By Sales Ltd"
    assert bootstrap.services().metrics.totals["DriftDetected"] >= 1
