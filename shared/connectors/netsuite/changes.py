"""Customers changed in a window, from a SuiteQL sweep on lastModifiedDate (NetSuite has no webhooks).

NetSuite sends no signed change notices; what changed is read on a schedule: every customer whose
`lastmodifieddate` falls after the last sweep's end and up to NetSuite's own clock (serverTime, so
the two clocks never skew), oldest first. One sweep reads at most MAX_SWEEP_ROWS; a capped sweep
covers only up to its latest change, less a second (the rows of that second may go on past the
cap), and the next sweep reads on from there. A customer deleted in NetSuite is not in the
customer table any more: the sweep does not see deletions.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_0528010158.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from shared.connectors.netsuite import mapper
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.netsuite.schemas import CustomerRow
from shared.domain.errors import TransientError
from shared.domain.sweeps import ChangeWindow, SweptChange

VENDOR_TYPE = mapper.CUSTOMER_TYPE
# Ten SuiteQL pages: one sweep stays well inside a Lambda's time, a backlog drains over sweeps.
MAX_SWEEP_ROWS = 10_000
_SECOND = timedelta(seconds=1)


def change_window(
    rows: Sequence[CustomerRow],
    *,
    since: datetime,
    end: datetime,
    capped: bool,
    connection: NetSuiteConnection,
) -> ChangeWindow:
    """A sweep's rows as a window: complete up to `end`, or (capped) up to its latest change less a second."""
    zone = mapper.query_zone(connection)
    changes: list[SweptChange] = []
    for row in rows:
        when = mapper.suiteql_time(row.lastmodified, zone)
        if when is None:
            raise TransientError(f"netsuite: sweep: customer {row.id} has no readable lastmodifieddate")
        version = mapper.version_of(when)
        assert version is not None
        changes.append(
            SweptChange(record_id=row.id, vendor_type=VENDOR_TYPE, version=version, changed_at=when)
        )
    realm = connection.account_id
    if not capped:
        return ChangeWindow(changes=tuple(changes), covered_until=end, realm=realm)
    latest = max((change.changed_at for change in changes), default=since)
    # More than MAX_SWEEP_ROWS changed within one second would never move on: then the window ends
    # at that second (a row of it past the cap is left to the next full read or reconciliation).
    covered = latest - _SECOND if latest - _SECOND > since else latest
    return ChangeWindow(
        changes=tuple(changes), covered_until=max(covered, since), complete=False, realm=realm
    )
