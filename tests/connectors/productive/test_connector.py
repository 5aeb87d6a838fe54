"""The Productive connector as an AccountTarget, run against the sandbox mounted in-process."""

from __future__ import annotations

import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector, build
from shared.domain.errors import ConfigurationError, NotFoundError, PermanentError, RateLimitedError
from shared.domain.models import PostalAddress, SystemName

from .conftest import BASE_URL, crm_account


def test_create_then_update_writes_one_company(connector: ProductiveConnector, sandbox: ProductiveSandbox):
    # given a CRM account never synced to Productive
    account = crm_account()
    # when the hub creates it and later writes a changed name
    created = connector.create_account(account, idempotency_key="create-1")
    updated = connector.update_account(
        created.ref.id, crm_account(name="Acme Consulting AG"), idempotency_key="update-1"
    )
    # then Productive holds one company with the new name, stamped with the CRM reference
    assert len(sandbox.companies()) == 1
    stored = sandbox.company(created.ref.id)["attributes"]
    assert stored["name"] == "Acme Consulting AG"
    assert stored["company_code"] == "salesforce-001A000001"
    assert updated.view.name == "Acme Consulting AG"
    assert updated.ref.system is SystemName.PRODUCTIVE and updated.ref.type == "company"
    assert updated.ref.version == stored["updated_at"]


@pytest.mark.parametrize(
    "account",
    [
        crm_account(),
        crm_account(website=None, phone=None, email=None, billing_address=None, currency=None),
        crm_account(billing_address=PostalAddress()),
        crm_account(billing_address=PostalAddress(city="Zürich", country="CH"), currency="CHF"),
        crm_account(name="  Société Générale — Conseil 株式会社  ", email="  ops@sg.example "),
    ],
    ids=["full", "none-fields", "empty-address", "partial-address", "unicode-and-spaces"],
)
def test_projection_equals_what_is_read_back(connector: ProductiveConnector, account):
    # given an account and what the connector says Productive will hold
    projected = connector.project(account)
    # when it is written and read back
    written = connector.create_account(account, idempotency_key="k")
    read = connector.read_account(written.ref.id)
    # then both views carry the same content, so echo suppression recognises the hub's own write
    assert read.view.synced_fields() == projected.synced_fields()
    assert read.view.checksum() == projected.checksum()
    assert written.view.checksum() == projected.checksum()


def test_find_account_finds_the_company_created_before_a_crash(connector: ProductiveConnector):
    # given a company created for this CRM account, among others, whose id the hub never recorded
    connector.create_account(crm_account("001OTHER"), idempotency_key="a")
    created = connector.create_account(crm_account(), idempotency_key="b")
    # when the hub looks for it by the stamped reference
    found = connector.find_account(crm_account())
    # then it is that company, and an unknown account finds nothing
    assert found is not None and found.ref.id == created.ref.id
    assert connector.find_account(crm_account("001NEVER")) is None


def test_find_account_walks_every_page(sandbox: ProductiveSandbox, clock):
    import httpx

    # given 5 companies and a connection that asks for pages of 2
    connection = {**sandbox.connection(BASE_URL), "page_size": 2}
    small_pages = build(connection, transport=httpx.WSGITransport(app=sandbox), sleep=lambda _: None)
    for n in range(5):
        small_pages.create_account(crm_account(f"001P{n}"), idempotency_key=str(n))
    # when it looks for the last one, the server-side filter narrows it to one page anyway
    found = small_pages.find_account(crm_account("001P4"))
    # then the right company is found
    assert found is not None and found.view.name == "Acme Consulting GmbH"
    assert sandbox.company(found.ref.id)["attributes"]["company_code"] == "salesforce-001P4"


def test_retried_create_does_not_make_a_second_company(connector: ProductiveConnector, sandbox):
    # given a create that landed but whose answer was lost (the worker crashed and retries)
    first = connector.create_account(crm_account(), idempotency_key="same")
    # when the same create runs again
    again = connector.create_account(crm_account(), idempotency_key="same")
    # then Productive still holds one company
    assert again.ref.id == first.ref.id
    assert len(sandbox.companies()) == 1


def test_rate_limited_request_is_retried(connector: ProductiveConnector, sandbox, sleeps):
    # given Productive answers the next request with 429
    sandbox.fail_next(1, 429)
    # when the hub creates a company
    created = connector.create_account(crm_account(), idempotency_key="k")
    # then the call succeeded after one backoff, and one company exists
    assert created.view.name == "Acme Consulting GmbH"
    assert len(sleeps) == 1
    assert len(sandbox.companies()) == 1


def test_rate_limit_persisting_raises_rate_limited(connector: ProductiveConnector, sandbox):
    # given Productive keeps answering 429
    sandbox.fail_next(10, 429)
    # when the hub reads, then the error says retry later
    with pytest.raises(RateLimitedError, match="429"):
        connector.read_account("1")


def test_missing_company_is_not_found(connector: ProductiveConnector):
    # given no company 999, when it is read, then NotFoundError names the vendor's message
    with pytest.raises(NotFoundError, match="Company 999 not found"):
        connector.read_account("999")


def test_validation_error_is_permanent_and_readable(connector: ProductiveConnector, sandbox):
    # given a company whose code another company already uses
    connector.create_account(crm_account(), idempotency_key="k")
    other = connector.create_account(crm_account("001B"), idempotency_key="k2")
    # when an update tries to take the first company's code (a second CRM record pointing here)
    with pytest.raises(PermanentError, match="company_code has already been taken"):
        connector.update_account(other.ref.id, crm_account(), idempotency_key="k3")


def test_wrong_token_is_a_permanent_error(sandbox: ProductiveSandbox):
    import httpx

    connector = build(
        {**sandbox.connection(BASE_URL), "api_token": "wrong"},
        transport=httpx.WSGITransport(app=sandbox),
        sleep=lambda _: None,
    )
    with pytest.raises(PermanentError, match="401: Unauthorized"):
        connector.read_account("1")


def test_bad_connection_names_the_field():
    with pytest.raises(ConfigurationError, match="organization_id"):
        build({"api_token": "t", "webhook_secret": "s"})


def test_http_calls_counts_attempts(connector: ProductiveConnector, sandbox):
    sandbox.fail_next(1, 503)
    connector.create_account(crm_account(), idempotency_key="k")
    # a POST that needed two attempts (no look-up first: Productive refuses a second company_code)
    assert connector.http_calls == 2


def test_deactivating_a_company_archives_it_once(connector: ProductiveConnector, sandbox: ProductiveSandbox):
    # given the company of an account the CRM deleted
    created = connector.create_account(crm_account(), idempotency_key="k")
    # when it is deactivated twice (a redelivered notice)
    connector.deactivate_account(created.ref.id, reason="deleted in salesforce")
    archived_at = next(c for c in sandbox.companies() if c["id"] == created.ref.id)["attributes"][
        "archived_at"
    ]
    connector.deactivate_account(created.ref.id, reason="deleted in salesforce")
    # then Productive keeps it, archived once (the second call did not archive it again)
    again = next(c for c in sandbox.companies() if c["id"] == created.ref.id)["attributes"]["archived_at"]
    assert archived_at is not None and again == archived_at
