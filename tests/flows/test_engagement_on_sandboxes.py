"""Closed-won to active engagement against the Salesforce, Productive and QuickBooks sandboxes."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from infra.local.demo import engagement_setup
from infra.local.environment import LocalEnvironment, local_environment

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        yield environment


def test_a_won_deal_becomes_one_active_engagement_in_each_system_after_approval(
    env: LocalEnvironment,
) -> None:
    # given an account synced from Salesforce
    account_id = env.salesforce.put_account({"Name": "Sandbox Flow Corp", "CurrencyIsoCode": "USD"})
    env.settle()
    # when a deal for it is won and delivery operations approves the setup
    report = engagement_setup(env, Console(file=io.StringIO()), account_id=account_id)
    # then the approval showed the contracted rates and mapped class, and the deal is active everywhere
    assert report.approval["rates"][0]["rate"] == "320.00"
    assert report.approval["dimensions"]["accounting_class"] == "100000000000128001"
    assert report.active_once, report
    assert report.write_back["C2C_PSA_Project_Id__c"] == report.psa_projects[0]["id"]
    assert report.write_back["C2C_Accounting_Project_Id__c"] == report.accounting_projects[0]["Id"]


def test_a_replayed_closed_won_message_starts_nothing_new(env: LocalEnvironment) -> None:
    assert env.runtime is not None
    executions_before = _executions(env)
    assert executions_before == 1
    # Salesforce delivers the last outbound message again (at-least-once)
    env.salesforce.replay_last_delivery()
    env.settle()
    assert _executions(env) == executions_before


def _executions(env: LocalEnvironment) -> int:
    assert env.runtime is not None
    sfn = env.runtime.clients.stepfunctions()
    arn = env.runtime.resources.state_machines["close-to-cash"]
    return len(sfn.list_executions(stateMachineArn=arn)["executions"])
