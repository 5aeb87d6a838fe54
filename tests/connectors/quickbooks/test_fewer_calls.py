"""The QuickBooks connector spends as few calls as the vendor allows: batch searches, known SyncTokens."""

from __future__ import annotations

from datetime import UTC, datetime

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from shared.connectors.quickbooks import QuickBooksConnector
from shared.connectors.quickbooks.client import BATCH_MAX_ITEMS
from shared.domain.account_ports import MAX_MATCH_CANDIDATES
from shared.domain.models import EntityType
from shared.domain.ports import CrossReference
from tests.connectors.quickbooks.conftest import make_account


def _last_synced(connector: QuickBooksConnector, record_id: str) -> CrossReference:
    """What the ledger keeps after the hub wrote the customer: its SyncToken and content."""
    record = connector.read_account(record_id)
    return CrossReference(
        entity=EntityType.ACCOUNT,
        source=make_account().source,
        target=record.ref,
        checksum=record.view.checksum(),
        synced_at=datetime.now(UTC),
        content=record.view.synced_fields(),
    )


def test_match_candidates_search_both_names_in_one_call(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    # given a bookkeeper's customer known by its company name only
    sandbox.put_customer({"DisplayName": "AC Ltd", "CompanyName": "Acme Consulting Ltd"})
    connector.client.refresh_tokens()  # the token is in hand, as in a warm container
    calls = connector.http_calls
    # when the hub looks for customers that could be the account
    found = connector.match_candidates(make_account())
    # then the DisplayName and CompanyName searches went in one batch request, and found it
    assert connector.http_calls - calls == 1
    assert [c.view.name for c in found] == ["AC Ltd"]


def test_names_that_start_alike_still_cost_one_search_call(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    # given more customers than the match bound whose names start with the account's first word
    for n in range(MAX_MATCH_CANDIDATES + 5):
        name = f"Acme Holdings {n:02d}"
        sandbox.put_customer({"DisplayName": name, "CompanyName": name})
    sandbox.put_customer({"DisplayName": "Acme Consulting", "CompanyName": "Acme Consulting"})
    connector.client.refresh_tokens()
    calls = connector.http_calls
    # when the hub looks for customers that could be "Acme Consulting Ltd"
    found = connector.match_candidates(make_account())
    # then every prefix was searched in the one batch request, and the narrowest bound one answered
    assert connector.http_calls - calls == 1
    assert [c.view.name for c in found] == ["Acme Consulting"]


def test_a_name_of_more_words_than_one_batch_holds_takes_a_second_request_only_when_needed(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    words = [f"W{n}" for n in range(BATCH_MAX_ITEMS)]  # 30 prefixes: 60 searches, 2 batches
    for n in range(MAX_MATCH_CANDIDATES + 1):
        name = " ".join([*words[:16], f"X{n}"])
        sandbox.put_customer({"DisplayName": name, "CompanyName": name})
    connector.client.refresh_tokens()
    calls = connector.http_calls
    # when the account's first 16 words are shared by more customers than the bound
    found = connector.match_candidates(make_account(name=" ".join(words)))
    # then the first batch (15 prefixes) found none narrow enough and a second one found nobody
    assert connector.http_calls - calls == 2
    assert found == []
    # and a name whose first word is its own costs one request
    calls = connector.http_calls
    assert connector.match_candidates(make_account(name="Zyzzyva Partners")) == []
    assert connector.http_calls - calls == 1


def test_an_update_over_the_ledgers_sync_token_is_one_call(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    created = connector.create_account(make_account(), idempotency_key="create:001ACME")
    known = _last_synced(connector, created.ref.id)
    calls = connector.http_calls
    # when the account's phone changes and the hub knows the SyncToken it last wrote
    edited = make_account().model_copy(update={"phone": "+44 20 7946 0999"})
    updated = connector.update_account(created.ref.id, edited, idempotency_key="u1", last_synced=known)
    # then one write and no read made the change
    assert connector.http_calls - calls == 1
    assert sandbox.customer(created.ref.id)["PrimaryPhone"]["FreeFormNumber"] == "+44 20 7946 0999"
    assert updated.ref.version == "1"


def test_an_update_over_a_moved_sync_token_reads_and_still_lands(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    created = connector.create_account(make_account(), idempotency_key="create:001ACME")
    known = _last_synced(connector, created.ref.id)
    # given a bookkeeper saved the customer since (its SyncToken moved on)
    sandbox.put_customer({"Id": created.ref.id, "Notes": "close2cash-ref:salesforce/account/001ACME\nVIP"})
    # when the hub updates over the SyncToken it knew
    edited = make_account().model_copy(update={"phone": "+44 20 7946 0111"})
    connector.update_account(created.ref.id, edited, idempotency_key="u2", last_synced=known)
    # then QBO refused the stale one (5010), and the re-read write landed without losing the note
    customer = sandbox.customer(created.ref.id)
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "+44 20 7946 0111"
    assert customer["Notes"].endswith("VIP")
