"""The QuickBooks connector against the in-process sandbox: idempotent writes, concurrency, tokens, limits."""

from __future__ import annotations

import httpx
import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from shared.connectors.quickbooks import QuickBooksConnector, build, mapper
from shared.connectors.quickbooks.client import DuplicateNameError
from shared.domain.errors import ConfigurationError, RateLimitedError, ValidationFailed
from shared.domain.intake_ports import WebhookRequest
from shared.domain.models import SystemName
from tests.connectors.quickbooks.conftest import Recorder, connect, make_account


def test_created_customer_reads_back_as_the_projection(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    # given a CRM account
    account = make_account()
    # when the hub creates it in QuickBooks and reads it back
    created = connector.create_account(account, idempotency_key="create:001ACME")
    read = connector.read_account(created.ref.id)
    # then the read view has exactly the projected content, with QBO's id and SyncToken
    assert read.view.checksum() == connector.project(account).checksum()
    assert created.view.checksum() == read.view.checksum()
    assert (read.ref.system, read.ref.type, read.ref.version) == (SystemName.QUICKBOOKS, "customer", "0")
    assert read.view.source == read.ref
    assert sandbox.customer(created.ref.id)["Notes"] == "close2cash-ref:salesforce/account/001ACME"
    assert sandbox.minor_versions_seen == {"75"}


def test_the_same_create_sent_twice_makes_one_customer(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    # given a create that succeeded but whose worker crashed before recording it
    account = make_account()
    first = connector.create_account(account, idempotency_key="create:001ACME")
    # when SQS redelivers and the hub creates again with the same idempotency key
    second = connector.create_account(account, idempotency_key="create:001ACME")
    # then QBO replayed the original response: one customer, one write
    assert second.ref == first.ref
    assert len(sandbox.customers()) == 1
    assert sandbox.writes == 1


def test_find_account_after_a_crash_finds_our_customer_not_a_namesake(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    account = make_account()
    assert connector.find_account(account) is None
    # given the hub created the customer and crashed before writing the cross-reference
    created = connector.create_account(account, idempotency_key="create:001ACME")
    # when the retry looks for it first
    found = connector.find_account(account)
    # then it is found by its stamp; a same-named customer for another CRM record is not "ours"
    assert found is not None and found.ref.id == created.ref.id
    assert connector.find_account(make_account(crm_id="001OTHER")) is None


def test_duplicate_name_links_our_own_customer_and_rejects_a_foreign_one(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    account = make_account()
    ours = connector.create_account(account, idempotency_key="create:001ACME")
    # a create under a new key (requestid forgotten) gets 6240 and links the stamped customer
    again = connector.create_account(account, idempotency_key="create:001ACME:retry-after-days")
    assert again.ref.id == ours.ref.id
    assert len(sandbox.customers()) == 1
    # a bookkeeper's own "Globex" blocks the hub's "Globex": a person must decide
    sandbox.put_customer({"DisplayName": "Globex"})
    with pytest.raises(DuplicateNameError, match="did not create"):
        connector.create_account(make_account(crm_id="001GLOBEX", name="Globex"), idempotency_key="k")
    assert len(sandbox.customers()) == 2


def test_update_writes_sparse_changes_and_clears_removed_fields(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    created = connector.create_account(make_account(), idempotency_key="create:001ACME")
    sandbox.put_customer({"Id": created.ref.id, "PrimaryTaxIdentifier": "99-1234567"})
    changed = make_account(phone=None, email="billing@acme.example")
    updated = connector.update_account(created.ref.id, changed, idempotency_key="update:001ACME@4")
    stored = sandbox.customer(created.ref.id)
    assert "PrimaryPhone" not in stored
    assert stored["PrimaryEmailAddr"] == {"Address": "billing@acme.example"}
    assert stored["PrimaryTaxIdentifier"] == "99-1234567"  # a field the hub does not own survives
    assert updated.view.checksum() == connector.project(changed).checksum()


def test_content_a_then_b_then_a_is_written_three_times(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    # given the idempotency key is derived from the content and base version, A repeats it
    a, b = make_account(phone="111"), make_account(phone="222")
    record = connector.create_account(make_account(phone="000"), idempotency_key="c")
    for account, key in ((a, "content-A"), (b, "content-B"), (a, "content-A")):
        record = connector.update_account(record.ref.id, account, idempotency_key=key)
    # then the SyncToken in the requestid keeps the third write from replaying the first
    assert sandbox.customer(record.ref.id)["PrimaryPhone"] == {"FreeFormNumber": "111"}
    assert record.ref.version == "3"


def test_update_after_a_concurrent_ui_edit_rereads_and_retries_once(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = connector.create_account(make_account(), idempotency_key="c")
    # given a bookkeeper saves the customer between the hub's read and its write
    original_read = connector.client.read_customer
    edits = {"done": False}

    def read_then_bookkeeper_edits(customer_id: str):  # type: ignore[no-untyped-def]
        customer = original_read(customer_id)
        if not edits["done"]:
            edits["done"] = True
            sandbox.put_customer({"Id": customer_id, "Notes": "called about invoice 1001"})
        return customer

    monkeypatch.setattr(connector.client, "read_customer", read_then_bookkeeper_edits)
    # when the hub updates with the SyncToken it read
    updated = connector.update_account(created.ref.id, make_account(phone="333"), idempotency_key="u")
    # then the stale write is refused, re-read and retried: both edits survive
    stored = sandbox.customer(created.ref.id)
    assert stored["PrimaryPhone"] == {"FreeFormNumber": "333"}
    assert stored["Notes"] == "called about invoice 1001"
    assert updated.ref.version == "2"


def test_an_unchanged_update_writes_nothing(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    account = make_account()
    created = connector.create_account(account, idempotency_key="c")
    same = connector.update_account(created.ref.id, account, idempotency_key="u")
    assert same.ref.version == "0"
    assert sandbox.writes == 1


def test_currency_change_is_refused_with_a_clear_error(connector: QuickBooksConnector) -> None:
    created = connector.create_account(make_account(), idempotency_key="c")
    with pytest.raises(ValidationFailed, match="cannot change it to EUR"):
        connector.update_account(created.ref.id, make_account(currency="EUR"), idempotency_key="u")


def test_expired_access_token_is_refreshed_and_the_rotated_refresh_token_handed_over(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, recorder: Recorder
) -> None:
    connector.create_account(make_account(), idempotency_key="c")
    assert [refresh for _, refresh in recorder.tokens] == [sandbox.refresh_token]
    # given the access token stops working early (revoked, clock skew)
    sandbox.revoke_access_tokens()
    # when the hub calls the API, it gets Intuit's 401, refreshes once and carries on
    assert connector.find_account(make_account()) is not None
    assert len(recorder.tokens) == 2
    assert recorder.tokens[-1][1] == sandbox.refresh_token != recorder.tokens[0][1]


def test_a_stale_refresh_token_asks_for_reconnection(sandbox: QuickBooksSandbox, recorder: Recorder) -> None:
    original = sandbox.connection("http://qbo.sandbox")
    first = connect(sandbox, recorder)
    first.create_account(make_account(), idempotency_key="c")  # rotates the refresh token
    # given a second process that shares no token store and still holds the original refresh token
    stale = build(original, transport=httpx.WSGITransport(app=sandbox), clock=recorder.clock.time)
    # then Intuit's invalid_grant becomes a clear request to reconnect the company
    with pytest.raises(ConfigurationError, match=r"invalid_grant.*reconnect"):
        stale.read_account("1")


def test_access_token_refreshes_before_it_expires(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, recorder: Recorder
) -> None:
    connector.create_account(make_account(), idempotency_key="c")
    recorder.clock.advance(3600)
    connector.read_account("1")
    assert sandbox.refreshes == 2


def test_429_then_success_waits_and_carries_on(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, recorder: Recorder
) -> None:
    created = connector.create_account(make_account(), idempotency_key="c")
    sandbox.fail_next(1, 429)
    assert connector.read_account(created.ref.id).ref.id == created.ref.id
    # one backoff after the 429; the other pauses are the realm budget's pacing (1/8 s apart)
    assert len([s for s in recorder.sleeps if s > 1 / 8 + 1e-6]) == 1


def test_persistent_throttling_is_reported_with_intuits_60_second_wait(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    connector.create_account(make_account(), idempotency_key="c")
    sandbox.fail_next(10, 429)
    with pytest.raises(RateLimitedError) as raised:
        connector.read_account("1")
    assert raised.value.retry_after == 60.0


def test_own_writes_come_back_as_signed_webhooks_that_match_the_ledger_checksum(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    # given the hub wrote an account, and QBO notifies every change including API ones
    account = make_account()
    created = connector.create_account(account, idempotency_key="c")
    received: list[WebhookRequest] = []

    def hub(environ, start_response):  # type: ignore[no-untyped-def]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        received.append(
            WebhookRequest(
                method="POST",
                path=environ["PATH_INFO"],
                headers={"intuit-signature": environ.get("HTTP_INTUIT_SIGNATURE", "")},
                body=environ["wsgi.input"].read(length),
            )
        )
        start_response("200 OK", [])
        return [b""]

    import httpx

    sandbox.subscribe("http://hub/webhooks/quickbooks", transport=httpx.WSGITransport(app=hub))
    assert sandbox.deliver_pending() == 1
    # when the hub receives the echo and fetches the record
    notices = connector.receive(received[0]).notices
    assert [(n.record_id, n.realm) for n in notices] == [(created.ref.id, sandbox.realm_id)]
    fetched = connector.read_account(notices[0].record_id)
    # then its checksum equals that of the projection the hub recorded: recognised as an echo
    assert fetched.view.checksum() == connector.project(account).checksum()
    assert mapper.carries_stamp(connector.client.read_customer(created.ref.id), account.source)


def test_deactivating_a_customer_makes_it_inactive_once_and_keeps_it(
    sandbox: QuickBooksSandbox, connector: QuickBooksConnector
) -> None:
    # given our customer for an account the CRM deleted
    created = connector.create_account(make_account(), idempotency_key="k-deactivate")
    # when it is deactivated, twice (a redelivered notice)
    first = connector.deactivate_account(created.ref.id, reason="deleted in salesforce")
    token = sandbox.customer(created.ref.id)["SyncToken"]
    connector.deactivate_account(created.ref.id, reason="deleted in salesforce")
    # then QuickBooks keeps it, inactive, and the second call wrote nothing
    assert sandbox.customer(created.ref.id)["Active"] is False
    assert sandbox.customer(created.ref.id)["SyncToken"] == token
    assert first.ref.id == created.ref.id
