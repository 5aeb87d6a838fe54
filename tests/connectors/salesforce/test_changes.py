"""Accounts changed in a window, as the catch-up sweep reads them: edits and deletes in one queryAll."""

from __future__ import annotations

from datetime import timedelta

from infra.local.sandboxes.salesforce import SalesforceSandbox
from shared.connectors.salesforce import SalesforceConnector
from shared.connectors.salesforce.mapper import version_of

from .conftest import FakeClock


def test_edits_and_deletes_in_the_window_come_back_in_one_call_with_the_fetch_version(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
) -> None:
    # given an account edited and another deleted in the last ten minutes, and one untouched since earlier
    earlier = sandbox.put_account({"Name": "Quiet Co"})
    clock.advance(minutes=30)
    start = clock.now
    clock.advance(minutes=1)
    edited = sandbox.put_account({"Name": "Edited Co"})
    gone = sandbox.put_account({"Name": "Gone Co"})
    clock.advance(minutes=1)
    sandbox.delete_account(gone)
    connector.client.token()  # the token exists already in a warm container
    calls = connector.http_calls
    # when the sweep asks for the window
    window = connector.changed_accounts(start, clock.now)
    assert connector.http_calls - calls == 1  # one queryAll, however many changes
    # then both changes are listed, oldest first, the delete marked, and the untouched one is not
    assert [(c.record_id, c.deleted) for c in window.changes] == [(edited, False), (gone, True)]
    assert earlier not in {c.record_id for c in window.changes}
    # and the edit's version is the one fetching the account gives (so the ledger can be compared)
    assert window.changes[0].version == connector.fetch_account(edited).source.version
    assert window.covered_until == clock.now
    assert window.realm == connector.connection.organization_id


def test_a_quiet_window_is_empty(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
) -> None:
    sandbox.put_account({"Name": "Before"})
    clock.advance(minutes=5)
    window = connector.changed_accounts(clock.now - timedelta(minutes=1), clock.now)
    assert window.changes == ()
    assert window.covered_until == clock.now


def test_a_window_ending_inside_a_second_reaches_the_end_of_that_second(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
) -> None:
    # given an edit stamped 0.4 s into a second, and a sweep at 0.7 s into the same second
    clock.advance(seconds=0.4)
    edited = sandbox.put_account({"Name": "Same Second Co"})
    # when the sweep reads up to its own clock (SOQL literals have whole seconds)
    window = connector.changed_accounts(clock.now - timedelta(minutes=1), clock.now + timedelta(seconds=0.3))
    # then the edit is in the window, which reaches the end of the second
    assert [c.record_id for c in window.changes] == [edited]
    assert version_of(window.covered_until).endswith(":01.000Z")
