"""The Salesforce connector against the local Salesforce sandbox, mounted in-process."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from infra.local.sandboxes.salesforce import SalesforceSandbox
from shared.connectors.salesforce import SalesforceConnection, SalesforceConnector, build
from shared.domain.budgets import InMemoryBudgets
from shared.domain.errors import (
    ConfigurationError,
    NotFoundError,
    RateLimitedError,
    ValidationFailed,
)
from shared.domain.models import SystemName

from .conftest import BASE_URL, FakeClock, make_connector

FABRIKAM = {
    "Name": "Fabrikam Consulting",
    "Website": "https://fabrikam.example",
    "Phone": "+1 415 555 0100",
    "BillingStreet": "500 Howard St",
    "BillingCity": "San Francisco",
    "BillingState": "CA",
    "BillingPostalCode": "94105",
    "BillingCountry": "United States",
    "CurrencyIsoCode": "EUR",
    "Tax_Id__c": " US-94-1234567 ",
}


def token_requests(sandbox: SalesforceSandbox) -> int:
    return sum(1 for method, path in sandbox.requests if path == "/services/oauth2/token")


def test_fetches_an_account_a_user_created(sandbox: SalesforceSandbox, connector: SalesforceConnector):
    # given a salesperson created Fabrikam in Salesforce
    account_id = sandbox.put_account(FABRIKAM)
    # when the hub fetches it
    account = connector.fetch_account(account_id)
    # then the canonical account carries its content, id and version
    assert account.source.system is SystemName.SALESFORCE
    assert account.source.id == account_id
    assert account.name == "Fabrikam Consulting"
    assert account.currency == "EUR"
    assert account.tax_id == "US-94-1234567"
    assert account.billing_address is not None and account.billing_address.region == "CA"
    assert account.modified_at == datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    assert account.source.version == "2025-03-03T09:00:00.000Z"


def test_a_15_character_id_fetches_the_same_account(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    account_id = sandbox.put_account(FABRIKAM)
    assert connector.fetch_account(account_id[:15]).source.id == account_id


def test_an_edit_gives_a_new_version(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
):
    account_id = sandbox.put_account(FABRIKAM)
    before = connector.fetch_account(account_id)
    clock.advance(minutes=5)
    sandbox.put_account({"Phone": "+1 415 555 0199"}, account_id=account_id)
    after = connector.fetch_account(account_id)
    assert after.phone == "+1 415 555 0199"
    assert after.source.version != before.source.version


def test_the_token_is_requested_once_and_reused(sandbox: SalesforceSandbox, connector: SalesforceConnector):
    account_id = sandbox.put_account(FABRIKAM)
    for _ in range(3):
        connector.fetch_account(account_id)
    assert token_requests(sandbox) == 1
    assert connector.http_calls == 4  # one token request, three reads


def test_an_expired_session_is_renewed_transparently(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
):
    # given the hub read an account, then its session timed out (2 hours)
    account_id = sandbox.put_account(FABRIKAM)
    connector.fetch_account(account_id)
    clock.advance(hours=3)
    # when it reads again
    account = connector.fetch_account(account_id)
    # then the 401 INVALID_SESSION_ID led to one new token and the read succeeded
    assert account.name == "Fabrikam Consulting"
    assert token_requests(sandbox) == 2


def test_revoked_sessions_are_renewed_on_401(sandbox: SalesforceSandbox, connector: SalesforceConnector):
    account_id = sandbox.put_account(FABRIKAM)
    connector.fetch_account(account_id)
    sandbox.expire_sessions()
    assert connector.fetch_account(account_id).source.id == account_id
    assert token_requests(sandbox) == 2


def test_wrong_client_secret_is_a_configuration_error(sandbox: SalesforceSandbox):
    connector = make_connector(sandbox, client_secret="not-the-secret")
    account_id = sandbox.put_account(FABRIKAM)
    with pytest.raises(ConfigurationError, match="invalid_client"):
        connector.fetch_account(account_id)


def test_spent_daily_allocation_is_a_rate_limit_not_a_failure(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    # given the org has 2 API calls a day and the hub used both
    account_id = sandbox.put_account(FABRIKAM)
    sandbox.set_api_limit(2)
    connector.fetch_account(account_id)
    connector.fetch_account(account_id)
    assert connector.api_usage is not None and connector.api_usage.remaining == 0
    # when it reads again, Salesforce answers 403 REQUEST_LIMIT_EXCEEDED
    with pytest.raises(RateLimitedError, match="REQUEST_LIMIT_EXCEEDED") as raised:
        connector.fetch_account(account_id)
    # then the message is parked for later, not sent to the exception queue
    assert raised.value.retry_after is not None and raised.value.retry_after > 0


def test_a_spent_allocation_holds_the_orgs_budget_for_every_container(
    sandbox: SalesforceSandbox, clock: FakeClock
):
    # given two containers sharing the org's budget, and an org whose day's allocation is spent
    budgets = InMemoryBudgets(clock=lambda: clock().timestamp())
    first, second = (
        SalesforceConnector(
            SalesforceConnection.model_validate(sandbox.connection(BASE_URL)),
            transport=httpx.WSGITransport(app=sandbox),
            sleep=lambda _: None,
            budgets=budgets,
        )
        for _ in range(2)
    )
    account_id = sandbox.put_account(FABRIKAM)
    first.fetch_account(account_id)
    sandbox.set_api_limit(sandbox.api_usage[0])
    # when the first meets Salesforce's 403 REQUEST_LIMIT_EXCEEDED (not a 429)
    with pytest.raises(RateLimitedError, match="REQUEST_LIMIT_EXCEEDED"):
        first.fetch_account(account_id)

    def data_calls() -> int:
        return sum(1 for _, path in sandbox.requests if path.startswith("/services/data/"))

    calls = data_calls()
    # then the second waits for the hold too, without spending a call the org would refuse
    with pytest.raises(RateLimitedError) as held:
        second.fetch_account(account_id)
    assert data_calls() == calls
    assert held.value.retry_after is not None and held.value.retry_after > 3000
    # and once the hold is over and calls have rolled out of the 24 hours, both read again
    clock.advance(hours=24)
    assert second.fetch_account(account_id).source.id == account_id


def test_usage_is_read_from_the_limit_header(sandbox: SalesforceSandbox, connector: SalesforceConnector):
    account_id = sandbox.put_account(FABRIKAM)
    connector.fetch_account(account_id)
    connector.fetch_account(account_id)
    assert connector.api_usage is not None
    assert (connector.api_usage.used, connector.api_usage.limit) == (2, 15_000)


def test_a_deleted_or_unknown_account_is_not_found(connector: SalesforceConnector):
    with pytest.raises(NotFoundError, match="NOT_FOUND"):
        connector.fetch_account("001D000000IRFmaIAH")


def test_a_malformed_id_is_refused_before_any_call(connector: SalesforceConnector):
    with pytest.raises(ValidationFailed):
        connector.fetch_account("../../limits")
    assert connector.http_calls == 0


def test_a_passing_outage_is_retried(sandbox: SalesforceSandbox, connector: SalesforceConnector):
    account_id = sandbox.put_account(FABRIKAM)
    sandbox.fail_next(2, 503)
    assert connector.fetch_account(account_id).name == "Fabrikam Consulting"


def test_all_accounts_are_read_across_query_pages(clock: FakeClock):
    # given an org of 5 accounts that returns 2 records per query page
    sandbox = SalesforceSandbox(client_id="c2c", client_secret="s", clock=clock, page_size=2)
    ids = []
    for number in range(5):
        ids.append(sandbox.put_account({"Name": f"Client {number}"}))
        clock.advance(minutes=1)
    connector = make_connector(sandbox)
    # when the hub lists every account
    accounts = list(connector.accounts_modified_since())
    # then it followed nextRecordsUrl to the end: 5 accounts, oldest change first, in 3 pages
    assert [a.source.id for a in accounts] == ids
    queries = [path for method, path in sandbox.requests if "/query" in path]
    assert len(queries) == 3


def test_only_accounts_changed_since_a_moment_are_listed(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
):
    old = sandbox.put_account({"Name": "Old Client"})
    clock.advance(hours=1)
    since = clock.now
    clock.advance(minutes=1)
    new = sandbox.put_account({"Name": "New Client"})
    listed = [a.source.id for a in connector.accounts_modified_since(since)]
    assert listed == [new]
    assert old not in listed


def test_build_validates_the_connection_and_names_the_field(sandbox: SalesforceSandbox):
    settings = {**sandbox.connection(BASE_URL), "organization_id": "not-an-org"}
    with pytest.raises(ConfigurationError, match="organization_id"):
        build(settings)


def test_secrets_never_show_in_the_connection_repr(sandbox: SalesforceSandbox):
    connector = build(sandbox.connection(BASE_URL))
    shown = repr(connector.connection)
    assert "s3cret" not in shown
    assert sandbox.connection(BASE_URL)["webhook_token"] not in shown


def test_values_owned_elsewhere_are_shown_on_the_account_and_not_read_back(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    account_id = sandbox.put_account(FABRIKAM)
    before = connector.fetch_account(account_id)
    connector.show_owned_elsewhere(account_id, {"payment_terms": "Net 30"})
    assert sandbox.account(account_id)["Payment_Terms__c"] == "Net 30"
    # the CRM does not own them: the canonical account is the same as before
    assert connector.fetch_account(account_id).synced_fields() == before.synced_fields()
    with pytest.raises(ConfigurationError, match="no Account field for billing_address"):
        connector.show_owned_elsewhere(account_id, {"billing_address": "1 Main St"})
