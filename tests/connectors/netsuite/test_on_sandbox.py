"""The NetSuite connector against the in-process NetSuite sandbox: what a firm's accountant would see."""

from __future__ import annotations

from datetime import timedelta

import pytest

from infra.local.clock import Clock
from infra.local.sandboxes.netsuite import NetSuiteSandbox
from shared.connectors.netsuite import NetSuiteConnector, mapper
from shared.domain.errors import ConfigurationError, RateLimitedError, ValidationFailed
from shared.domain.models import PostalAddress
from tests.connectors.netsuite.conftest import Waits, connect, make_account


def test_the_same_create_sent_twice_makes_one_customer(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    # given a create that succeeded but whose worker crashed before recording it
    account = make_account()
    first = connector.create_account(account, idempotency_key="create:001ACME")
    writes, calls = sandbox.writes, connector.http_calls
    # when SQS redelivers and the hub creates again
    second = connector.create_account(account, idempotency_key="create:001ACME")
    # then NetSuite holds one customer, found by the account's external id, with the projected content
    assert second.ref.id == first.ref.id
    assert sandbox.writes == writes  # the second found the first and had nothing to write
    assert connector.http_calls == calls + 1  # one GET by external id
    assert len(sandbox.records("customer")) == 1
    held = sandbox.by_external_id("customer", mapper.external_id(account.source))
    assert held is not None and held["companyName"] == "Acme Consulting Ltd" and held["isPerson"] is False
    assert first.view.checksum() == connector.project(account).checksum()
    assert first.made_for(account.source)


def test_find_account_after_a_crash_finds_ours_and_not_a_namesake(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    account = make_account()
    assert connector.find_account(account) is None
    # given a bookkeeper's customer of the same name, and the hub's own
    sandbox.enter(
        "customer", {"companyName": "Acme Consulting Ltd", "isPerson": False, "subsidiary": {"id": "1"}}
    )
    created = connector.create_account(account, idempotency_key="create:001ACME")
    # then the hub finds its own (one GET by external id), and nothing for another CRM account
    found = connector.find_account(account)
    assert found is not None and found.ref.id == created.ref.id
    assert connector.find_account(make_account(crm_id="001OTHER")) is None


def test_an_update_writes_only_what_changed_and_keeps_the_bookkeepers_fields(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    # given the hub's customer, on which a bookkeeper wrote a comment
    account = make_account()
    created = connector.create_account(account, idempotency_key="create:001ACME")
    sandbox.edit("customer", created.ref.id, {"comments": "pays by wire"})
    writes = sandbox.writes
    # when the CRM renames the account and clears its phone
    renamed = account.model_copy(update={"name": "Acme Group", "phone": None})
    updated = connector.update_account(created.ref.id, renamed, idempotency_key="u1")
    # then NetSuite holds the new name and no phone, and the comment is still there
    held = sandbox.record("customer", created.ref.id)
    assert (held["companyName"], held.get("phone"), held["comments"]) == ("Acme Group", None, "pays by wire")
    assert updated.view.checksum() == connector.project(renamed).checksum()
    assert sandbox.writes == writes + 1
    # and the same update again writes nothing (no echo for the sweep to bring back)
    connector.update_account(created.ref.id, renamed, idempotency_key="u1")
    assert sandbox.writes == writes + 1


def test_deactivating_twice_is_the_same_as_once(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    created = connector.create_account(make_account(), idempotency_key="create:001ACME")
    first = connector.deactivate_account(created.ref.id, reason="merged in the CRM")
    writes = sandbox.writes
    second = connector.deactivate_account(created.ref.id, reason="merged in the CRM")
    # the customer is kept, inactive; the second call wrote nothing
    assert sandbox.record("customer", created.ref.id)["isInactive"] is True
    assert not first.active and not second.active
    assert sandbox.writes == writes


def test_a_revoked_certificate_is_refused_as_a_configuration_error(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    # given the administrator revoked the integration's certificate mapping
    sandbox.revoke_certificate()
    # when the hub calls NetSuite, it cannot sign in: the connection is what must change
    with pytest.raises(ConfigurationError, match="invalid_client"):
        connector.read_account("100")


def test_an_assertion_signed_with_another_key_is_refused(
    sandbox: NetSuiteSandbox, clock: Clock, waits: Waits
) -> None:
    other = sandbox.add_integration("someone else")
    # the certificate id of one integration, the key of another: the signature does not verify
    connector = connect(sandbox, clock, waits, private_key_pem=other.private_key_pem)
    with pytest.raises(ConfigurationError, match="refused the client assertion"):
        connector.read_account("100")
    assert sandbox.token_calls == 1


def test_a_token_revoked_early_is_replaced_and_the_call_goes_through(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    created = connector.create_account(make_account(), idempotency_key="create:001ACME")
    sandbox.revoke_tokens()
    assert connector.read_account(created.ref.id).ref.id == created.ref.id
    assert sandbox.token_calls == 2


def test_a_429_at_the_concurrency_limit_is_waited_out(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, waits: Waits
) -> None:
    # given another application holding every one of the account's 15 slots, until NetSuite refused us
    created = connector.create_account(make_account(), idempotency_key="create:001ACME")
    sandbox.hold_slots(15)

    def free_after_a_refusal() -> bool:
        if sandbox.concurrency_refused:
            sandbox.release_slots()
        return bool(sandbox.concurrency_refused)

    waits.until.append(free_after_a_refusal)
    # when the hub reads the customer
    record = connector.read_account(created.ref.id)
    # then NetSuite refused once (429), the hub waited and tried again, and got it
    assert record.ref.id == created.ref.id
    assert sandbox.concurrency_refused == 1
    assert waits.slept


def test_a_concurrency_limit_that_stays_full_goes_back_to_the_queue(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    created = connector.create_account(make_account(), idempotency_key="create:001ACME")
    sandbox.hold_slots(15)
    with pytest.raises(RateLimitedError):
        connector.read_account(created.ref.id)
    assert sandbox.concurrency_refused == 4  # every attempt VendorHttp makes


def test_an_async_create_sent_twice_with_its_key_runs_once(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    # given a create sent asynchronously with an idempotency key, then resent (a redelivery)
    body = mapper.upsert_payload(make_account(), connector.connection)
    first = connector.client.run_async(
        "POST", "/services/rest/record/v1/customer", body, idempotency_key="c:1"
    )
    second = connector.client.run_async(
        "POST", "/services/rest/record/v1/customer", body, idempotency_key="c:1"
    )
    # then the resend followed the first job: one customer
    assert second.job_id == first.job_id
    assert len(sandbox.records("customer")) == 1


def test_a_moved_billing_address_keeps_the_bookkeepers_other_addresses(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    # given the hub's customer, to which a bookkeeper added a shipping address
    account = make_account()
    created = connector.create_account(account, idempotency_key="create:001ACME")
    warehouse = {
        "defaultShipping": True,
        "label": "Warehouse",
        "addressbookaddress": {"addr1": "9 Dock Rd", "country": "US"},
    }
    sandbox.edit("customer", created.ref.id, {"addressbook": {"items": [warehouse]}})
    # when the CRM moves the billing address
    moved = account.model_copy(
        update={
            "billing_address": PostalAddress(street="2 Main St", city="Dallas", region="TX", country="US")
        }
    )
    updated = connector.update_account(created.ref.id, moved, idempotency_key="u1")
    # then NetSuite bills to the new address, and the warehouse is still in the address book
    assert updated.view.billing_address == moved.billing_address
    labels = sorted(line.get("label") for line in sandbox.record("customer", created.ref.id)["addressbook"])
    assert labels == ["Billing", "Warehouse"]
    assert connector.read_account(created.ref.id).view.checksum() == connector.project(moved).checksum()


def test_the_census_holds_every_customer_as_a_read_shows_it(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    # given two hub customers (one deactivated) and one a bookkeeper made
    first = connector.create_account(make_account(), idempotency_key="c1")
    second = connector.create_account(make_account("001BETA", name="Beta Corp"), idempotency_key="c2")
    connector.deactivate_account(second.ref.id, reason="merged")
    sandbox.enter("customer", {"companyName": "Gamma LLC", "isPerson": False, "subsidiary": {"id": "1"}})
    # when reconciliation takes the census
    census = {record.ref.id: record for record in connector.census_customers()}
    # then all three are there, each with the content and origin a read of it gives
    assert len(census) == 3
    for made in (first.ref.id, second.ref.id):
        assert census[made] == connector.read_account(made)
    assert not census[second.ref.id].active


def test_match_candidates_find_namesakes_inactive_ones_included(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    # given a bookkeeper's inactive "ACME Consulting", another customer on the account's web domain,
    # and an unrelated one
    sandbox.enter("customer", {"companyName": "ACME Consulting", "isPerson": False, "isInactive": True})
    sandbox.enter(
        "customer", {"companyName": "AC Holdings", "isPerson": False, "url": "https://www.acme.example"}
    )
    sandbox.enter("customer", {"companyName": "Beta Corp", "isPerson": False})
    # when the hub looks for customers that could be the CRM's "Acme Consulting Ltd"
    found = connector.match_candidates(make_account())
    # then both namesakes come back, the inactive one marked so, and Beta does not
    assert sorted((c.view.name, c.active) for c in found) == [
        ("AC Holdings", True),
        ("ACME Consulting", False),
    ]


def test_the_change_window_names_what_changed_since_the_last_sweep(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, clock: Clock
) -> None:
    # given a customer made before the last sweep, then edited in NetSuite's UI, and one made since
    earlier = connector.create_account(make_account(), idempotency_key="c1")
    clock.advance(5)
    since = clock.now()
    clock.advance(5)
    sandbox.edit("customer", earlier.ref.id, {"phone": "+1 512 555 0199"})
    clock.advance(5)
    later = connector.create_account(make_account("001BETA", name="Beta Corp"), idempotency_key="c2")
    clock.advance(5)
    # when the sweep reads the window up to a moment past NetSuite's clock
    window = connector.changed_accounts(since, clock.now() + timedelta(minutes=1))
    # then both changes are named, oldest first, and the window ends at NetSuite's time
    assert [change.record_id for change in window.changes] == [earlier.ref.id, later.ref.id]
    assert window.complete and window.covered_until <= clock.now() + timedelta(seconds=1)
    assert window.changes[1].version == connector.read_account(later.ref.id).ref.version
    # and the next sweep, from where this one stopped, finds nothing new
    assert connector.changed_accounts(window.covered_until, clock.now() + timedelta(minutes=1)).changes == ()


def test_terms_currency_and_subsidiary_come_from_the_accounts_own_setup(
    sandbox: NetSuiteSandbox, clock: Clock, waits: Waits
) -> None:
    # given an account with a pound sterling currency record, a UK subsidiary and Net 30 terms
    gbp = sandbox.add_currency("GBP", "British Pound")
    uk = sandbox.add_subsidiary("UK Ltd", currency="GBP")
    net30 = sandbox.add_term("Net 30")
    connector = connect(sandbox, clock, waits, currencies={"USD": "1", "GBP": gbp}, subsidiary=uk)
    # when the hub creates a GBP customer whose terms (in NetSuite's words) are Net 30
    account = make_account("001UK", name="Acme UK", currency="GBP", payment_terms=net30)
    created = connector.create_account(account, idempotency_key="c1")
    # then NetSuite holds the references to its own records, and the hub reads back ISO and terms
    held = sandbox.record("customer", created.ref.id)
    assert (held["currency"], held["subsidiary"], held["terms"]) == (gbp, uk, net30)
    assert (created.view.currency, created.view.payment_terms) == ("GBP", net30)
    assert created.view.checksum() == connector.project(account).checksum()


def test_a_currency_change_is_refused_not_written(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    # given a USD customer, and the CRM account switched to GBP (declared in the connection)
    created = connector.create_account(make_account(), idempotency_key="c1")
    writes = sandbox.writes
    switched = make_account(currency="GBP")
    # then the update is refused with a reason a person can act on, and nothing is written
    with pytest.raises(ValidationFailed, match=r"is in USD.*create a new customer"):
        connector.update_account(created.ref.id, switched, idempotency_key="u1")
    assert sandbox.writes == writes
