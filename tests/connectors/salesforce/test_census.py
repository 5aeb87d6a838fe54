"""Reconciliation's censuses on Salesforce: every account and every won deal, read in 2,000-record batches."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from infra.local.sandboxes.salesforce import SalesforceSandbox
from shared.connectors.salesforce import SalesforceConnector
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.money import Money
from shared.domain.reconciliation_ports import CustomerCensus, EngagementCensus, InvoiceCensus, WorkCensus

from .conftest import BASE_URL
from .test_health import health
from .test_opportunities import deal


def test_the_crm_answers_the_customer_and_engagement_censuses_only(connector: SalesforceConnector) -> None:
    # Salesforce holds customers and won deals, no time, expenses or invoices.
    assert isinstance(connector, CustomerCensus)
    assert isinstance(connector, EngagementCensus)
    assert not isinstance(connector, WorkCensus)
    assert not isinstance(connector, InvoiceCensus)


def test_every_account_comes_back_once_in_two_soql_calls_for_2500(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
) -> None:
    # given an org of 2,500 accounts, one of them with an address and a tax id
    ids = [sandbox.put_account({"Name": f"Customer {n:04d}"}) for n in range(2_499)]
    ids.append(
        sandbox.put_account(
            {"Name": "Fabrikam", "BillingCity": "Leeds", "BillingCountry": "UK", "Tax_Id__c": "GB123456789"}
        )
    )
    connector.client.token()  # the token request is not the census's
    before = connector.http_calls
    # when reconciliation takes the customer census
    records = list(connector.census_customers())
    # then every account is there exactly once, read in two batches of at most 2,000
    assert sorted(record.ref.id for record in records) == sorted(ids)
    assert connector.http_calls - before == 2
    # and each is the account fetch_account maps (same fields, same version), with no hub stamp
    fabrikam = next(record for record in records if record.ref.id == ids[-1])
    fetched = connector.fetch_account(ids[-1])
    assert fabrikam.view == fetched
    assert fabrikam.ref == fetched.source
    assert fabrikam.origin is None


def test_won_deals_are_the_engagements_with_their_booking_status_and_health(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
) -> None:
    # given three won deals in three setup states, one open deal and one lost deal
    active = deal(sandbox, StageName="Closed Won", CurrencyIsoCode="EUR", C2C_Setup_Status__c="active")
    rejected = deal(sandbox, StageName="Closed Won", C2C_Setup_Status__c="rejected")
    waiting = deal(sandbox, StageName="Closed Won", C2C_Setup_Status__c="pending_approval")
    unset = deal(sandbox, StageName="Closed Won", CurrencyIsoCode="GBP")
    deal(sandbox)  # Negotiation/Review
    deal(sandbox, StageName="Closed Lost")
    account = str(sandbox.opportunity(active)["AccountId"])
    # and the hub wrote the active deal's commercial health
    written = health("8629.00", "4000.10", currency="EUR", overdue="629.90", dso=Decimal("41.5"))
    connector.write_health(opportunity=active, deal=written, account=account, customer=written)
    # when reconciliation takes the engagement census
    held = {engagement.ref.id: engagement for engagement in connector.census_engagements()}
    # then only the won deals are there, each once
    assert set(held) == {active, rejected, waiting, unset}
    engagement = held[active]
    # booked at the deal's amount in its currency, to the cent (40 x 150.10 + 12.5 x 210)
    assert engagement.booked == Money.of("8629.00", "EUR")
    assert (engagement.opportunity, engagement.customer, engagement.name) == (
        engagement.ref,
        account,
        "Fabrikam ERP rollout",
    )
    assert engagement.link == f"{BASE_URL}/lightning/r/Opportunity/{active}/view"
    # the health figures read back as written (the invoice count is not kept in the org)
    assert engagement.health == written.model_copy(update={"invoices": 0})
    assert engagement.health is not None and engagement.health.last_payment == date(2026, 12, 1)
    # setup's status maps to where the engagement stands; no status, no health: None
    assert [held[i].status for i in (active, rejected, waiting, unset)] == [
        EngagementStatus.ACTIVE,
        EngagementStatus.CLOSED,
        EngagementStatus.DRAFT,
        None,
    ]
    assert held[unset].health is None
    assert held[unset].booked == Money.of("8629.00", "GBP")


def test_engagements_page_at_2000_like_accounts(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
) -> None:
    # given 2,001 won deals on one account
    account = sandbox.put_account({"Name": "Contoso"})
    won = {
        sandbox.put_opportunity(
            {
                "Name": f"Deal {n}",
                "AccountId": account,
                "StageName": "Closed Won",
                "CloseDate": "2026-11-30",
                "Amount": "1000.05",
                "CurrencyIsoCode": "USD",
            }
        )
        for n in range(2_001)
    }
    connector.client.token()
    before = connector.http_calls
    # when the engagement census is read
    held = list(connector.census_engagements())
    # then every deal is there once, in two calls, and the bookings add up to the cent
    assert sorted(engagement.ref.id for engagement in held) == sorted(won)
    assert connector.http_calls - before == 2
    assert sum(e.booked.amount for e in held if e.booked) == Decimal("2001100.05")
