"""The Salesforce sandbox's change events: the documented shape, relayed as Event Relay does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from infra.local.sandboxes.salesforce import SalesforceSandbox
from shared.connectors.salesforce.cdc import ChangeEventReader
from shared.domain.notices import Operation

BASE = "https://sandbox.my.salesforce.test"
DATA = "/services/data/v62.0"
BUS = "aws.partner.salesforce.com.local"


class PartnerBus:
    """What the relay put on the bus (a boto3 EventBridge client's put_events, recorded)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert len(Entries) <= 10  # PutEvents' maximum
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i, _ in enumerate(Entries)]}

    def events(self) -> list[dict[str, Any]]:
        """The entries as the bus delivers them to a rule's target (the EventBridge envelope)."""
        return [
            {
                "version": "0",
                "id": f"event-{n}",
                "detail-type": e["DetailType"],
                "source": e["Source"],
                "account": "123456789012",
                "time": e["Time"].isoformat(),
                "region": "eu-west-1",
                "resources": e["Resources"],
                "detail": json.loads(e["Detail"]),
            }
            for n, e in enumerate(self.entries)
        ]

    def headers(self) -> list[dict[str, Any]]:
        return [event["detail"]["payload"]["ChangeEventHeader"] for event in self.events()]


@pytest.fixture
def sandbox() -> SalesforceSandbox:
    clock = iter(datetime(2025, 3, 3, 9, 0, tzinfo=UTC) + timedelta(seconds=n) for n in range(10_000))
    return SalesforceSandbox(client_id="app", client_secret="secret", clock=lambda: next(clock))


@pytest.fixture
def bus(sandbox: SalesforceSandbox) -> PartnerBus:
    recorded = PartnerBus()
    sandbox.relay_to(recorded, BUS)
    return recorded


@pytest.fixture
def api(sandbox: SalesforceSandbox) -> httpx.Client:
    http = httpx.Client(base_url=BASE, transport=httpx.WSGITransport(app=sandbox))
    token = http.post(
        "/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "app", "client_secret": "secret"},
    ).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    http.headers["Sforce-Call-Options"] = "client=close2cash"
    return http


def test_an_api_create_and_edit_are_two_events_naming_the_client_and_the_changed_fields(sandbox, bus, api):
    # when a client that names itself creates an account and changes its phone
    account_id = api.post(f"{DATA}/sobjects/Account", json={"Name": "Contoso"}).json()["id"]
    api.patch(f"{DATA}/sobjects/Account/{account_id}", json={"Phone": "+1 555 0199"})
    assert sandbox.relay_pending() == 2
    # then the partner bus got a CREATE with the record's fields, then an UPDATE with the changed ones
    [created, updated] = bus.events()
    assert {created["source"], created["detail-type"]} == {sandbox.event_source, "AccountChangeEvent"}
    assert bus.entries[0]["EventBusName"] == BUS
    assert created["detail"]["payload"]["Name"] == "Contoso"
    header = updated["detail"]["payload"]["ChangeEventHeader"]
    assert (header["changeType"], header["recordIds"]) == ("UPDATE", [account_id])
    assert header["changedFields"] == ["LastModifiedDate", "Phone"]
    assert updated["detail"]["payload"]["Phone"] == "+1 555 0199"
    assert header["changeOrigin"] == "com/salesforce/api/rest/62.0;client=close2cash"
    # and each change has its own transaction key, and replay ids increase
    assert created["detail"]["payload"]["ChangeEventHeader"]["transactionKey"] != header["transactionKey"]
    assert int(updated["detail"]["replayId"]) > int(created["detail"]["replayId"])


def test_a_save_that_changes_no_field_says_only_last_modified_date_changed(sandbox, bus):
    account_id = sandbox.put_account({"Name": "Same Old Ltd"})
    # when a user saves the account without changing anything
    sandbox.put_account({"Name": "Same Old Ltd"}, account_id=account_id)
    sandbox.relay_pending()
    # then the save itself (LastModifiedDate) is the only change the event names
    assert [h["changedFields"] for h in bus.headers()] == [[], ["LastModifiedDate"]]


def test_delete_and_undelete_are_events_without_an_origin_when_a_user_acts(sandbox, bus):
    account_id = sandbox.put_account({"Name": "Back Again Ltd"})
    sandbox.delete_account(account_id)
    sandbox.undelete_account(account_id)
    sandbox.relay_pending()
    assert [h["changeType"] for h in bus.headers()] == ["CREATE", "DELETE", "UNDELETE"]
    assert {h["changeOrigin"] for h in bus.headers()} == {""}
    assert "Name" not in bus.events()[1]["detail"]["payload"]  # a delete carries no fields


def test_gap_and_overflow_events_carry_the_header_only(sandbox, bus):
    account_id = sandbox.put_account({"Name": "Gappy Ltd"})
    sandbox.gap_next()
    sandbox.put_account({"Name": "Gappy 2 Ltd"}, account_id=account_id)
    sandbox.overflow_next()
    sandbox.put_account({"Name": "Gappy 3 Ltd"}, account_id=account_id)
    sandbox.relay_pending()
    [_, gap, overflow] = bus.events()
    assert gap["detail"]["payload"]["ChangeEventHeader"]["changeType"] == "GAP_UPDATE"
    assert set(gap["detail"]["payload"]) == {"ChangeEventHeader"}
    assert overflow["detail"]["payload"]["ChangeEventHeader"]["changeType"] == "GAP_OVERFLOW"
    assert overflow["detail"]["payload"]["ChangeEventHeader"]["recordIds"] == []


def test_a_resumed_relay_sends_the_retained_events_again(sandbox, bus):
    sandbox.put_account({"Name": "Twice Told Ltd"})
    sandbox.relay_pending()
    assert sandbox.replay_retained() == 1
    assert bus.entries[0]["Detail"] == bus.entries[1]["Detail"]


def test_only_the_channel_members_are_relayed(sandbox, bus):
    account_id = sandbox.put_account({"Name": "Deal Maker Inc"})
    sandbox.put_opportunity(
        {"Name": "Deal", "AccountId": account_id, "StageName": "Prospecting", "CloseDate": "2025-06-30"},
        line_items=[{"Product": "Consulting", "Quantity": 2, "UnitPrice": 100}],
    )
    sandbox.relay_pending()
    # products, price book entries and line items are not members: only the account and the deal
    assert {e["detail-type"] for e in bus.events()} == {"AccountChangeEvent", "OpportunityChangeEvent"}


def test_the_hub_reads_every_event_the_sandbox_relays(sandbox, bus):
    account_id = sandbox.put_account({"Name": "Round Trip Ltd"})
    sandbox.put_account({"Name": "Round Trip 2 Ltd"}, account_id=account_id)
    sandbox.delete_account(account_id)
    sandbox.relay_pending()
    reader = ChangeEventReader(organization_id=sandbox.organization_id, own_client="close2cash")
    operations = [reader.read_change_event(event).notices[0].operation for event in bus.events()]
    assert operations == [Operation.CREATED, Operation.UPDATED, Operation.DELETED]


def test_a_relay_resumed_at_the_latest_event_loses_what_it_had_not_relayed(sandbox, bus):
    kept = sandbox.put_account({"Name": "Kept Ltd"})
    lost = sandbox.put_account({"Name": "Lost Ltd"})
    assert sandbox.drop_pending_changes(lost) == 1
    sandbox.relay_pending()
    assert [h["recordIds"] for h in bus.headers()] == [[kept]]
