"""Deleted and merged Accounts as Salesforce reports them: 404 on read, queryAll, the delete log."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from infra.local.sandboxes.salesforce import SalesforceSandbox
from shared.connectors.salesforce import SalesforceConnector
from shared.domain.errors import NotFoundError
from shared.domain.ports import RecordFate

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


def test_a_merge_names_its_survivor_and_lands_in_the_delete_log(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
) -> None:
    keep, lose = sandbox.put_account({"Name": "Keep"}), sandbox.put_account({"Name": "Lose"})
    before = clock.now
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
    # and the delete log lists the loser in its window, and says where the next window starts
    clock.advance(minutes=5)
    log = connector.deleted_accounts(before, clock.now)
    assert [record_id for record_id, _ in log.deleted] == [lose]
    assert log.covered_until == clock.now
    assert (
        connector.deleted_accounts(clock.now + timedelta(minutes=1), clock.now + timedelta(minutes=2)).deleted
        == ()
    )
