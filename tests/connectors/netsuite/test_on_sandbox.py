"""The NetSuite connector against the in-process NetSuite sandbox: what a firm's accountant would see."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from infra.local.clock import Clock
from infra.local.sandboxes.netsuite import NetSuiteSandbox
from shared.connectors.netsuite import NetSuiteConnector, build, mapper
from shared.domain.errors import ConfigurationError, RateLimitedError
from shared.domain.models import Account
from tests.connectors.netsuite.conftest import make_account

BASE = "https://tstdrv1234567.suitetalk.api.netsuite.com"
# What the sandbox at its first milestone does not hold yet (Oracle documents all three): the
# customer's web address, its address book, and GET /system/v1/serverTime; see the note.
SANDBOX_GAP = pytest.mark.xfail(
    strict=True, reason="sandbox milestone 1: no customer url/terms/addressbook columns, no serverTime"
)


class Waits:
    """The connector's sleep on the fast-forwarding clock; each `until` hook runs at every wait until done."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.slept: list[float] = []
        self.until: list[Callable[[], bool]] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.until = [hook for hook in self.until if not hook()]
        self.clock.sleep(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(fast_forward=True)


@pytest.fixture
def sandbox(clock: Clock) -> NetSuiteSandbox:
    return NetSuiteSandbox("TSTDRV1234567", clock=clock.now)


@pytest.fixture
def waits(clock: Clock) -> Waits:
    return Waits(clock)


def connect(sandbox: NetSuiteSandbox, clock: Clock, waits: Waits, **overrides: Any) -> NetSuiteConnector:
    return build(
        {**sandbox.connection(BASE), **overrides},
        transport=httpx.WSGITransport(app=sandbox.app),
        clock=clock.time,
        sleep=waits.sleep,
    )


@pytest.fixture
def connector(sandbox: NetSuiteSandbox, clock: Clock, waits: Waits) -> NetSuiteConnector:
    return connect(sandbox, clock, waits)


def plain_account(crm_id: str = "001ACME", **changes: Any) -> Account:
    """An account with the fields the sandbox holds today (no web address, no billing address)."""
    return make_account(crm_id, **{"website": None, "billing_address": None, **changes})


def test_the_same_create_sent_twice_makes_one_customer(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    # given a create that succeeded but whose worker crashed before recording it
    account = plain_account()
    first = connector.create_account(account, idempotency_key="create:001ACME")
    writes = sandbox.writes
    # when SQS redelivers and the hub creates again
    second = connector.create_account(account, idempotency_key="create:001ACME")
    # then NetSuite holds one customer, found by the account's external id, with the projected content
    assert second.ref.id == first.ref.id
    assert sandbox.writes == writes  # the second found the first and had nothing to write
    assert len(sandbox.records("customer")) == 1
    held = sandbox.by_external_id("customer", mapper.external_id(account.source))
    assert held is not None and held["companyName"] == "Acme Consulting Ltd" and held["isPerson"] is False
    assert first.view.checksum() == connector.project(account).checksum()
    assert first.made_for(account.source)


def test_find_account_after_a_crash_finds_ours_and_not_a_namesake(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    account = plain_account()
    assert connector.find_account(account) is None
    # given a bookkeeper's customer of the same name, and the hub's own
    sandbox.enter(
        "customer", {"companyName": "Acme Consulting Ltd", "isPerson": False, "subsidiary": {"id": "1"}}
    )
    created = connector.create_account(account, idempotency_key="create:001ACME")
    # then the hub finds its own (one GET by external id), and nothing for another CRM account
    found = connector.find_account(account)
    assert found is not None and found.ref.id == created.ref.id
    assert connector.find_account(plain_account(crm_id="001OTHER")) is None


def test_an_update_writes_only_what_changed_and_keeps_the_bookkeepers_fields(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    # given the hub's customer, on which a bookkeeper wrote a comment
    account = plain_account()
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
    created = connector.create_account(plain_account(), idempotency_key="create:001ACME")
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
    created = connector.create_account(plain_account(), idempotency_key="create:001ACME")
    sandbox.revoke_tokens()
    assert connector.read_account(created.ref.id).ref.id == created.ref.id
    assert sandbox.token_calls == 2


def test_a_429_at_the_concurrency_limit_is_waited_out(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, waits: Waits
) -> None:
    # given another application holding every one of the account's 15 slots, until NetSuite refused us
    created = connector.create_account(plain_account(), idempotency_key="create:001ACME")
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
    created = connector.create_account(plain_account(), idempotency_key="create:001ACME")
    sandbox.hold_slots(15)
    with pytest.raises(RateLimitedError):
        connector.read_account(created.ref.id)
    assert sandbox.concurrency_refused == 4  # every attempt VendorHttp makes


def test_an_async_create_sent_twice_with_its_key_runs_once(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    # given a create sent asynchronously with an idempotency key, then resent (a redelivery)
    body = mapper.upsert_payload(plain_account(), connector.connection)
    first = connector.client.run_async(
        "POST", "/services/rest/record/v1/customer", body, idempotency_key="c:1"
    )
    second = connector.client.run_async(
        "POST", "/services/rest/record/v1/customer", body, idempotency_key="c:1"
    )
    # then the resend followed the first job: one customer
    assert second.job_id == first.job_id
    assert len(sandbox.records("customer")) == 1


@SANDBOX_GAP
def test_a_customer_with_its_web_and_billing_address_reads_back_as_projected(
    connector: NetSuiteConnector,
) -> None:
    account = make_account()
    created = connector.create_account(account, idempotency_key="create:001ACME")
    assert created.view.checksum() == connector.project(account).checksum()


@SANDBOX_GAP
def test_match_candidates_find_namesakes_inactive_ones_included(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    sandbox.enter("customer", {"companyName": "ACME Consulting", "isPerson": False, "isInactive": True})
    sandbox.enter("customer", {"companyName": "Beta Corp", "isPerson": False})
    found = connector.match_candidates(plain_account())
    assert [c.view.name for c in found] == ["ACME Consulting"] and not found[0].active


@SANDBOX_GAP
def test_the_change_window_names_what_changed_since_the_last_sweep(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox, clock: Clock
) -> None:
    since = clock.now()
    clock.advance(5)
    created = connector.create_account(plain_account(), idempotency_key="create:001ACME")
    clock.advance(5)
    window = connector.changed_accounts(since, clock.now() + timedelta(minutes=1))
    assert [change.record_id for change in window.changes] == [created.ref.id]
    assert window.complete
