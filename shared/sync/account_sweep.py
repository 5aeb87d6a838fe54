"""Deleted accounts, swept from the CRM's delete log: the notices Salesforce never sends.

Outbound messages fire when an account is created or edited, never when it is deleted or merged
away, so the copies of a deleted account would stay active for ever. On a schedule this sweep reads
the delete log from where it left off (a cursor in the ledger) and puts one DELETED notice per
account on the bus, claimed like a webhook's so a window read twice publishes nothing twice; the
account sync then applies the landscape's policy (`shared.sync.account_lifecycle`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from shared.domain.models import EntityType, utcnow
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import DeletedAccountsFeed, Ledger, Metrics, NoticePublisher

# The first sweep looks back this far; Salesforce keeps its delete log for 15 days at most.
# https://developer.salesforce.com/docs/platform/api-rest/guide/resources-getdeleted.html
FIRST_LOOK_BACK = timedelta(days=1)
MAX_LOOK_BACK = timedelta(days=15)


class DeletedAccountSweep:
    """The use case behind the `account_sweep` schedule."""

    def __init__(
        self,
        *,
        source: Callable[[], DeletedAccountsFeed],
        ledger: Ledger,
        publisher: Callable[[], NoticePublisher],
        metrics: Metrics,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._source = source
        self._ledger = ledger
        self._publisher = publisher
        self._metrics = metrics
        self._clock = clock

    def run(self) -> int:
        """Publish a notice for each account deleted since the last run; returns how many were new."""
        source = self._source()
        name = f"deleted:{source.system}:Account"
        now = self._clock()
        saved = self._ledger.cursor(name)
        start = datetime.fromisoformat(saved) if saved else now - FIRST_LOOK_BACK
        # An outage longer than the log's life cannot be swept: start where the log does.
        start = max(start, now - MAX_LOOK_BACK + timedelta(minutes=1))
        log = source.deleted_accounts(start, now)
        fresh: list[ChangeNotice] = []
        for record_id, deleted_at in log.deleted:
            notice = ChangeNotice(
                provider=source.system,
                event_id=f"deleted:{record_id}:{deleted_at.isoformat()}",
                entity=EntityType.ACCOUNT,
                vendor_type="Account",
                record_id=record_id,
                operation=Operation.DELETED,
                occurred_at=deleted_at,
            )
            if self._ledger.claim_notice(notice):
                fresh.append(notice)
        if fresh:
            self._publisher().publish(fresh)
            for notice in fresh:
                self._ledger.mark_published(notice)
        # Only after publishing: a crash before this line sweeps the window again (claims dedupe it).
        self._ledger.set_cursor(name, log.covered_until.isoformat())
        self._metrics.count("DeletesSwept", len(fresh), dimensions={"system": source.system.value})
        return len(fresh)
