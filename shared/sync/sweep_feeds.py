"""Which vendors keep a change feed the customer-master sweep can read, and how far back it reaches.

The one table the sweeps derive from: a system of the landscape is swept when it is listed here and
connected; its connector implements `shared.domain.sweeps.ChangeFeed`. A vendor missing here is
not swept (Productive, for now): a notice lost there waits for reconciliation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from shared.domain.models import SystemName


@dataclass(frozen=True)
class SweepFeed:
    """One vendor's change feed: what is read and how long the vendor keeps it."""

    reads: str
    max_look_back: timedelta
    doc: str


SWEEP_FEEDS: Mapping[SystemName, SweepFeed] = {
    # queryAll on SystemModstamp: edits and deletes in one call. Deleted records stay in the
    # recycle bin (and so in queryAll) for 15 days.
    SystemName.SALESFORCE: SweepFeed(
        reads="queryAll: Account WHERE SystemModstamp in the window (IsDeleted included)",
        max_look_back=timedelta(days=15),
        doc="https://developer.salesforce.com/docs/platform/api-rest/guide/dome-queryall.html",
    ),
    # ChangeDataCapture for Customer: 30 days back, at most 1,000 objects an answer.
    SystemName.QUICKBOOKS: SweepFeed(
        reads="ChangeDataCapture: entities=Customer, changedSince the window's start",
        max_look_back=timedelta(days=30),
        doc="https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture",
    ),
}
