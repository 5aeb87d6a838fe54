"""The Salesforce connector as OpportunitySource: opportunities with products, and the write-back."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from infra.local.sandboxes.salesforce import SalesforceSandbox, to_18
from shared.connectors.salesforce import WRITE_BACK_FIELDS, SalesforceConnector
from shared.domain.commercial import OpportunityStatus
from shared.domain.engagement_ports import SetupOutcome, SetupProject
from shared.domain.engagements import BillingModel
from shared.domain.errors import NotFoundError, PermanentError, ValidationFailed
from shared.domain.models import SystemName
from shared.domain.money import Money
from shared.domain.systems import Role

from .conftest import FakeClock, make_connector, workflow_start


def deal(sandbox: SalesforceSandbox, **fields: object) -> str:
    account_id = sandbox.put_account({"Name": "Fabrikam Consulting"})
    return sandbox.put_opportunity(
        {
            "Name": "Fabrikam ERP rollout",
            "AccountId": account_id,
            "StageName": "Negotiation/Review",
            "CloseDate": "2025-03-31",
            "CurrencyIsoCode": "EUR",
            "Service_Line__c": "Implementation",
            "Billing_Model__c": "Time and Materials",
            **fields,
        },
        line_items=[
            {"Product": "Senior Consultant", "Quantity": 40, "UnitPrice": "150.10"},
            {"Product": "Architect", "Role__c": "Solution Architect", "Quantity": "12.5", "UnitPrice": 210},
        ],
    )


def test_fetches_an_opportunity_with_its_lines_in_its_currency(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    opportunity_id = deal(sandbox)
    opportunity = connector.fetch_opportunity(opportunity_id)
    assert opportunity.source.id == opportunity_id
    assert opportunity.source.type == "Opportunity"
    assert opportunity.name == "Fabrikam ERP rollout"
    assert opportunity.stage == "Negotiation/Review"
    assert opportunity.status is OpportunityStatus.OPEN
    assert opportunity.close_date == date(2025, 3, 31)
    assert opportunity.service_line == "Implementation"
    assert opportunity.billing_model is BillingModel.TIME_AND_MATERIALS
    # Amount rolls up from the products: 40 x 150.10 + 12.5 x 210 = 6004.00 + 2625.00
    assert opportunity.amount == Money.of("8629.00", "EUR")
    assert [(line.role, line.quantity, line.rate) for line in opportunity.lines] == [
        ("Senior Consultant", Decimal("40.00"), Money.of("150.10", "EUR")),
        ("Solution Architect", Decimal("12.50"), Money.of("210.00", "EUR")),
    ]
    assert opportunity.lines_total == opportunity.amount
    assert type(opportunity.amount.amount) is Decimal


def test_the_delivering_department_location_and_cost_center_come_with_the_deal(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    opportunity_id = deal(
        sandbox, Department__c="Technology", Delivery_Location__c="London", Cost_Center__c=" CC-200 "
    )
    opportunity = connector.fetch_opportunity(opportunity_id)
    assert (opportunity.department, opportunity.location, opportunity.cost_center) == (
        "Technology",
        "London",
        "CC-200",
    )
    # blank fields leave the dimension unset
    plain = connector.fetch_opportunity(deal(sandbox))
    assert (plain.department, plain.location, plain.cost_center) == (None, None, None)


def test_a_single_currency_org_prices_in_its_corporate_currency(clock: FakeClock):
    sandbox = SalesforceSandbox(
        organization_id="00D5g000004TstAEAQ",
        client_id="c2c-test",
        client_secret="s3cret",
        clock=clock,
        multi_currency=False,
    )
    account_id = sandbox.put_account({"Name": "Contoso"})
    opportunity_id = sandbox.put_opportunity(
        {
            "Name": "Contoso audit",
            "AccountId": account_id,
            "StageName": "Closed Won",
            "CloseDate": "2025-03-01",
            "Amount": "1234567.10",
            "Service_Line__c": "Advisory",
            "Billing_Model__c": "Fixed Fee",
        }
    )
    connector = make_connector(sandbox, corporate_currency="GBP")
    opportunity = connector.fetch_opportunity(opportunity_id)
    assert opportunity.amount == Money.of("1234567.10", "GBP")
    assert opportunity.billing_model is BillingModel.FIXED_FEE
    assert opportunity.lines == ()


@pytest.mark.parametrize(
    ("stage", "status"),
    [
        ("Prospecting", OpportunityStatus.OPEN),
        ("Closed Won", OpportunityStatus.WON),
        ("Closed Lost", OpportunityStatus.LOST),
    ],
)
def test_the_status_follows_is_closed_and_is_won(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, stage: str, status: OpportunityStatus
):
    opportunity_id = deal(sandbox, StageName=stage)
    assert connector.fetch_opportunity(opportunity_id).status is status


def test_a_reopened_and_reclosed_deal_has_a_new_version(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
):
    opportunity_id = deal(sandbox)
    sandbox.close_won(opportunity_id)
    first = connector.fetch_opportunity(opportunity_id)
    clock.advance(days=2)
    sandbox.reopen(opportunity_id)
    assert connector.fetch_opportunity(opportunity_id).status is OpportunityStatus.OPEN
    clock.advance(days=1)
    sandbox.close_won(opportunity_id)
    second = connector.fetch_opportunity(opportunity_id)
    assert first.status is second.status is OpportunityStatus.WON
    assert second.source.version != first.source.version
    assert second.stage_changed_at is not None and second.stage_changed_at != first.stage_changed_at


def test_write_back_moves_the_version_but_not_the_stage_change(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
):
    opportunity_id = deal(sandbox)
    sandbox.close_won(opportunity_id)
    before = connector.fetch_opportunity(opportunity_id)
    clock.advance(days=1)
    connector.write_back(opportunity_id, SetupOutcome(status="pending_approval"))
    after = connector.fetch_opportunity(opportunity_id)
    assert after.source.version != before.source.version
    assert after.stage_changed_at == before.stage_changed_at is not None


def test_write_back_says_the_instant_its_outbound_message_will_carry(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
):
    opportunity_id = deal(sandbox)
    sandbox.close_won(opportunity_id)
    clock.advance(days=1)
    connector.client.token()  # the token is in hand, as in a warm container
    calls = connector.http_calls
    # when setup writes its outcome back
    stamped = connector.write_back(opportunity_id, SetupOutcome(status="active"))
    # then one composite call wrote it and read back the SystemModstamp Salesforce gave that write
    assert connector.http_calls - calls == 1
    assert sandbox.opportunity(opportunity_id)["C2C_Setup_Status__c"] == "active"
    assert stamped is not None
    assert stamped == datetime.fromisoformat(sandbox.opportunity(opportunity_id)["SystemModstamp"])


def test_line_items_beyond_one_page_are_all_fetched(clock: FakeClock):
    sandbox = SalesforceSandbox(
        organization_id="00D5g000004TstAEAQ",
        client_id="c2c-test",
        client_secret="s3cret",
        clock=clock,
        page_size=2,
    )
    account_id = sandbox.put_account({"Name": "Fabrikam"})
    opportunity_id = sandbox.put_opportunity(
        {
            "Name": "Big deal",
            "AccountId": account_id,
            "StageName": "Closed Won",
            "CloseDate": "2025-03-31",
            "Service_Line__c": "Managed Services",
        },
        line_items=[{"Product": f"Role {n}", "Quantity": 1, "UnitPrice": 100 + n} for n in range(5)],
    )
    connector = make_connector(sandbox)
    opportunity = connector.fetch_opportunity(opportunity_id)
    assert [line.role for line in opportunity.lines] == [f"Role {n}" for n in range(5)]
    assert opportunity.amount == Money.of("510.00", "USD")


def test_write_back_twice_leaves_the_same_values(sandbox: SalesforceSandbox, connector: SalesforceConnector):
    opportunity_id = deal(sandbox, StageName="Closed Won")
    outcome = SetupOutcome(
        status="active",
        projects=(
            SetupProject(system=SystemName.PRODUCTIVE, role=Role.PSA, id="PRJ-42"),
            SetupProject(system=SystemName.QUICKBOOKS, role=Role.ACCOUNTING, id="QBO-7"),
        ),
        detail="ok",
    )
    connector.write_back(opportunity_id, outcome)
    first = {name: sandbox.opportunity(opportunity_id)[name] for name in WRITE_BACK_FIELDS}
    connector.write_back(opportunity_id, outcome)
    second = {name: sandbox.opportunity(opportunity_id)[name] for name in WRITE_BACK_FIELDS}
    assert (
        first
        == second
        == {
            "C2C_PSA_Project_Id__c": "PRJ-42",
            "C2C_Accounting_Project_Id__c": "QBO-7",
            "C2C_Setup_Status__c": "active",
            "C2C_Setup_Detail__c": "ok",
        }
    )
    assert len(sandbox.opportunity_ids()) == 1  # written onto the deal, never a second one


def test_each_project_id_goes_to_the_field_of_its_systems_role_whichever_system_it_is(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
) -> None:
    # given an engagement set up in Kantata and in NetSuite (the ledger its entity is routed to)
    opportunity_id = deal(sandbox, StageName="Closed Won")
    outcome = SetupOutcome(
        status="active",
        projects=(
            SetupProject(system=SystemName.NETSUITE, role=Role.ACCOUNTING, id="NS-1001"),
            SetupProject(system=SystemName.KANTATA, role=Role.PSA, id="KAN-9"),
        ),
    )
    # when setup writes its outcome back
    connector.write_back(opportunity_id, outcome)
    # then the deal shows them in the same two fields as for any other PSA and ledger
    record = sandbox.opportunity(opportunity_id)
    assert (record["C2C_PSA_Project_Id__c"], record["C2C_Accounting_Project_Id__c"]) == ("KAN-9", "NS-1001")


def test_a_later_outcome_clears_what_no_longer_applies(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    opportunity_id = deal(sandbox, StageName="Closed Won")
    connector.write_back(
        opportunity_id,
        SetupOutcome(
            status="pending_approval",
            projects=(SetupProject(system=SystemName.PRODUCTIVE, role=Role.PSA, id="PRJ-42"),),
        ),
    )
    connector.write_back(opportunity_id, SetupOutcome(status="rejected", detail="budget not approved"))
    record = sandbox.opportunity(opportunity_id)
    assert record["C2C_Setup_Status__c"] == "rejected"
    assert record["C2C_PSA_Project_Id__c"] is None
    assert record["C2C_Setup_Detail__c"] == "budget not approved"


def test_an_unknown_opportunity_is_not_found(sandbox: SalesforceSandbox, connector: SalesforceConnector):
    missing = to_18("0068d000000AbCd")
    with pytest.raises(NotFoundError):
        connector.fetch_opportunity(missing)
    with pytest.raises(NotFoundError):
        connector.write_back(missing, SetupOutcome(status="active"))


def test_a_malformed_id_is_refused_before_any_call(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    with pytest.raises(ValidationFailed, match="not a 15- or 18-character"):
        connector.fetch_opportunity("006' OR Name != '")
    assert sandbox.requests == []


def test_a_deal_without_a_service_line_names_the_field(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    opportunity_id = deal(sandbox, Service_Line__c=None)
    with pytest.raises(ValidationFailed, match="Service_Line__c"):
        connector.fetch_opportunity(opportunity_id)


def test_a_status_the_org_does_not_allow_is_a_clear_permanent_error(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    opportunity_id = deal(sandbox)
    with pytest.raises(PermanentError, match=r"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST.*C2C_Setup_Status__c"):
        connector.write_back(opportunity_id, SetupOutcome(status="archived"))


def test_an_open_deal_without_a_service_line_is_skipped_until_it_is_won(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    from shared.domain.commercial import IncompleteOpenDeal
    from shared.domain.models import SystemName
    from shared.domain.notices import ChangeNotice, Operation

    # given an open deal that nobody has given a service line yet
    opportunity_id = deal(sandbox, Service_Line__c=None)
    start, starter, ledger, metrics = workflow_start(connector)
    notice = ChangeNotice(
        provider=SystemName.SALESFORCE,
        event_id="n1",
        entity="opportunity",
        vendor_type="Opportunity",
        record_id=opportunity_id,
        operation=Operation.CHANGED,
    )
    # when its notice arrives, then it is skipped and counted: no exception, no setup
    with pytest.raises(IncompleteOpenDeal):
        connector.fetch_opportunity(opportunity_id)
    assert start.on_notice(notice) is None
    assert metrics.totals["OpenDealsSkipped"] == 1 and ledger.exceptions == {}
    # when it is won still without one, then one exception names the field and the step
    sandbox.close_won(opportunity_id)
    assert start.on_notice(notice.model_copy(update={"event_id": "n2"})) is None
    (exception,) = ledger.exceptions.values()
    assert "Service_Line__c" in exception.reason and exception.step == "workflow_start"
    assert starter.started == {}


def test_the_probability_is_the_percent_salesforce_holds_defaulted_from_the_stage(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    # given a deal in Negotiation/Review (the stage's default, 90 %) and one a person set to 35 %
    defaulted = deal(sandbox)
    set_by_hand = deal(sandbox, Probability=35)
    # then each comes as a percent, as the pipeline weighs it
    assert connector.fetch_opportunity(defaulted).probability == Decimal(90)
    assert connector.fetch_opportunity(set_by_hand).probability == Decimal(35)
    # and a won deal is certain, a re-opened one takes its stage's default again
    sandbox.close_won(defaulted)
    assert connector.fetch_opportunity(defaulted).probability == Decimal(100)
    sandbox.reopen(defaulted)
    reopened = connector.fetch_opportunity(defaulted)
    assert reopened.status is OpportunityStatus.OPEN and reopened.probability is not None
    assert reopened.probability < 100
