"""Closed-won to active engagement against the Salesforce, Productive and QuickBooks sandboxes."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from infra.local.demo import engagement_setup
from infra.local.environment import LocalEnvironment, local_environment
from shared import bootstrap
from shared.domain.engagement_ports import EngagementStatus
from tests.flows.deals import decide, engagements, pending_for, setup_status, won_deal

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
    assert report.approval["dimensions"]["location"] == "3"  # New York, mapped for US01
    assert report.approval["dimensions"]["cost_center"] == "Delivery US"
    assert report.active_once, report
    assert report.write_back["C2C_PSA_Project_Id__c"] == report.psa_projects[0]["id"]
    assert report.write_back["C2C_Accounting_Project_Id__c"] == report.accounting_projects[0]["Id"]
    # and the QuickBooks engagement carries the class and the location (QBO's Department list)
    notes = report.accounting_projects[0]["Notes"].splitlines()
    assert "close2cash-class:100000000000128001" in notes and "close2cash-department:3" in notes


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


def test_a_rejected_setup_closes_both_shells_and_the_crm_shows_rejected(env: LocalEnvironment) -> None:
    opportunity_id = won_deal(
        env,
        "Rejected deal",
        line={"Product": "Architect", "Quantity": 10, "UnitPrice": 250, "Role__c": "Architect"},
        close_date="2026-12-20",
    )
    request = pending_for(env, opportunity_id)
    # when delivery operations rejects it with a reason
    answer = decide(env, request["id"], reject="rates not signed off")
    assert answer.status_code == 200, answer.text
    # then the CRM shows it, both shells are closed, and an exception says why
    assert setup_status(env, opportunity_id, "rejected") == "rejected"
    for role, found in engagements(opportunity_id).items():
        assert found is not None and found.status is EngagementStatus.CLOSED, (role, found)
    reasons = [e["reason"] or "" for e in bootstrap.services().ledger.open_exceptions()]
    assert any("rates not signed off" in reason for reason in reasons)


def test_a_service_line_without_a_template_mapping_fails_naming_the_mapping(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Training Buyer GmbH", "CurrencyIsoCode": "USD"})
    env.settle()
    projects_before = len(env.productive.projects())
    # given a deal for a service line the landscape maps to no project template
    opportunity_id = env.salesforce.put_opportunity(
        {
            "Name": "Onboarding workshops",
            "AccountId": account_id,
            "StageName": "Proposal/Price Quote",
            "CloseDate": "2026-12-22",
            "Service_Line__c": "Training",
            "Amount": 15000,
            "CurrencyIsoCode": "USD",
        }
    )
    env.settle()
    # when it is won
    env.salesforce.close_won(opportunity_id)
    for _ in range(60):
        env.settle()
        if env.salesforce.opportunity(opportunity_id).get("C2C_Setup_Status__c") == "failed":
            break
    # then nothing was created, the CRM shows the failure, and the exception names the mapping
    record = env.salesforce.opportunity(opportunity_id)
    assert record["C2C_Setup_Status__c"] == "failed"
    assert "project_templates" in (record["C2C_Setup_Detail__c"] or "")
    assert len(env.productive.projects()) == projects_before
    reasons = [e["reason"] or "" for e in bootstrap.services().ledger.open_exceptions()]
    assert any("project_templates" in reason and "Training" in reason for reason in reasons)


def test_a_deal_whose_customer_never_reached_the_hub_syncs_the_customer_first(env: LocalEnvironment) -> None:
    # given an account whose outbound message never went out: the hub has never heard of it
    account_id = env.salesforce.put_account({"Name": "Silent Account Partners", "CurrencyIsoCode": "USD"})
    assert env.salesforce.drop_pending(account_id) == 1
    env.settle()
    assert not [c for c in env.productive.companies() if c["attributes"]["name"] == "Silent Account Partners"]
    # when a deal for it is won and approved
    report = engagement_setup(env, Console(file=io.StringIO()), account_id=account_id)
    # then setup synced the customer first, once in each system, and the deal is active
    assert report.active_once, report
    companies = [
        c for c in env.productive.companies() if c["attributes"]["name"] == "Silent Account Partners"
    ]
    customers = [c for c in env.quickbooks.customers() if c.get("DisplayName") == "Silent Account Partners"]
    assert len(companies) == 1 and len(customers) == 1
