"""Deleted and merged Accounts as Salesforce reports them: 404 on read, and queryAll."""

from __future__ import annotations

import httpx
import pytest

from infra.local.sandboxes.salesforce import SalesforceSandbox
from shared.connectors.salesforce import SalesforceConnector
from shared.domain.account_ports import RecordFate
from shared.domain.errors import NotFoundError

from .conftest import BASE_URL, FakeClock


def test_a_deleted_account_is_not_found_and_queryall_says_deleted(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
) -> None:
    # given an account deleted through the REST API (DELETE sObject Rows)
    account_id = sandbox.put_account({"Name": "Gone Co"})
    token = connector.client.token().access_token.get_secret_value()
    with httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url=BASE_URL) as api:
        answer = api.delete(
            f"/services/data/v{sandbox.api_version}/sobjects/Account/{account_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 204
    # then reading it is not found, and the recycle bin says deleted, merged into nothing
    with pytest.raises(NotFoundError):
        connector.fetch_account(account_id)
    assert connector.account_fate(account_id) == RecordFate(deleted=True)
    # and an id Salesforce never had has no fate at all
    assert connector.account_fate("001000000000000AAA") is None


def test_a_merge_names_its_survivor_from_either_side(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
) -> None:
    keep, lose = sandbox.put_account({"Name": "Keep"}), sandbox.put_account({"Name": "Lose"})
    clock.advance(minutes=5)
    # when sales merges one account into the other
    sandbox.merge_accounts(keep, lose)
    # then the loser is deleted with MasterRecordId = the survivor, found from either side
    assert connector.account_fate(lose) == RecordFate(deleted=True, merged_into=keep)
    assert connector.merged_away(keep) == [lose]
    assert connector.merged_away(lose) == []
    # and one queryAll reads the survivor and its losers together; the loser itself is gone
    calls = connector.http_calls
    account, losers = connector.fetch_with_merged(keep)
    assert (account.name, losers, connector.http_calls - calls) == ("Keep", [lose], 1)
    with pytest.raises(NotFoundError):
        connector.fetch_with_merged(lose)
