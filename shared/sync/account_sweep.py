"""Catch-up sweeps of the customer master: what a lost notice missed, read from each system's change feed.

Webhooks are hints. Salesforce gives up on an outbound message after 24 hours and sends none on a
delete; an Intuit webhook may never arrive. So, on a schedule, each system that keeps a change feed
(`feed` in `shared/domain/systems.py`) is read from where the last read stopped (a cursor in the ledger), and
every change in it becomes the change notice a webhook would have carried, put on the bus and
handled by the account sync exactly as that webhook's would be: an owner's change is fetched and
upserted everywhere, a copy's change is checked for echo, owned fields and drift.

Rules, in the order they apply:
- The window starts `OVERLAP` before the cursor: the vendor's clock may be behind the hub's, and a
  transaction may commit after the instant it stamps; what the overlap reads twice is recognised.
- A change the ledger already holds (the copy was written from that version of the record, or the
  copy is that version) is not published: the webhook got there first, or it is the hub's own echo.
  A copy's record the hub does not manage is not published either: its notice would be ignored.
- Each swept notice is claimed like a webhook's, under an id made of the record and its version, so
  a change read by two sweeps (the overlap, a retried run) is published once.
- The cursor moves only after the window's notices are published: a crash in between reads the
  window again, and the claims keep it from publishing anything twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.models import CanonicalModel, EntityType, SourceRef, SystemName, utcnow
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import Ledger, Metrics, NoticeClaim, NoticePublisher
from shared.domain.sweeps import ChangeFeed, ChangeWindow, SweptChange

# Clock skew between the hub and a vendor, and transactions that commit after their timestamp.
OVERLAP = timedelta(minutes=2)
# The first sweep of a system reads this far back (the webhooks were expected to cover the rest).
FIRST_LOOK_BACK = timedelta(days=1)
# A feed that caps its answers is read again from where the answer stopped, this many times a run.
MAX_READS_PER_RUN = 20


class SweepRole(StrEnum):
    """What the swept system is to the customer master."""

    OWNER = "owner"  # its accounts are the record (the CRM)
    COPY = "copy"  # it holds copies the hub wrote (PSA client, accounting customer)


class SweepOutcome(CanonicalModel):
    """What one run of one system's sweep did."""

    system: SystemName
    reads: int = 0  # vendor calls to the change feed
    seen: int = 0  # changes the feed listed
    published: int = 0  # notices put on the bus
    already_synced: int = 0  # changes the ledger already holds (webhook first, or the hub's echo)


class AccountSweep:
    """One system's catch-up sweep (one entry of the `account_sweep` schedule)."""

    def __init__(
        self,
        *,
        system: SystemName,
        role: SweepRole,
        feed: Callable[[], ChangeFeed],
        max_look_back: timedelta,
        ledger: Ledger,
        publisher: Callable[[], NoticePublisher],
        metrics: Metrics,
        clock: Callable[[], datetime] = utcnow,
        overlap: timedelta = OVERLAP,
    ) -> None:
        self.system = system
        self._role = role
        self._feed = feed
        self._max_look_back = max_look_back
        self._ledger = ledger
        self._publisher = publisher
        self._metrics = metrics
        self._clock = clock
        self._overlap = overlap

    @property
    def cursor_name(self) -> str:
        return f"changes:{self.system}:Account"

    def run(self) -> SweepOutcome:
        """Read the feed from the cursor (less the overlap) to now; publish what the ledger lacks."""
        feed = self._feed()
        now = self._clock()
        saved = self._ledger.cursor(self.cursor_name)
        start = datetime.fromisoformat(saved) - self._overlap if saved else now - FIRST_LOOK_BACK
        # An outage longer than the feed's memory cannot be swept: start where the feed does.
        start = max(start, now - self._max_look_back + timedelta(minutes=1))
        outcome = SweepOutcome(system=self.system)
        holder = f"{self.cursor_name}@{now.isoformat()}"
        while True:
            window = feed.changed_accounts(start, now)
            outcome = self._publish(window, holder, outcome.model_copy(update={"reads": outcome.reads + 1}))
            # Only after publishing: a crash before this line sweeps the window again (claims dedupe it).
            self._ledger.set_cursor(self.cursor_name, window.covered_until.isoformat())
            if window.complete:
                break
            if window.covered_until <= start or outcome.reads >= MAX_READS_PER_RUN:
                # Capped answers that no longer move forward: the next run carries on from the cursor.
                self._metrics.count("SweepCapped", dimensions={"system": self.system.value})
                break
            start = window.covered_until
        self._metrics.count("NoticesSwept", outcome.published, dimensions={"system": self.system.value})
        return outcome

    def _publish(self, window: ChangeWindow, holder: str, outcome: SweepOutcome) -> SweepOutcome:
        fresh: list[ChangeNotice] = []
        held = 0
        for change in window.changes:
            if self._already_synced(change):
                held += 1
                continue
            notice = self._notice(change, window.realm)
            # CLAIMED only: a notice another sweep (or a redelivered one) holds is not ours to publish.
            if self._ledger.claim_notice(notice, holder=holder) is NoticeClaim.CLAIMED:
                fresh.append(notice)
        if fresh:
            try:
                self._publisher().publish(fresh)
            except Exception:
                # Let the next run (or a webhook) claim them at once instead of after the claim timeout.
                for notice in fresh:
                    with contextlib.suppress(Exception):
                        self._ledger.release_notice(notice, holder=holder)
                raise
            for notice in fresh:
                self._ledger.mark_published(notice)
        return outcome.model_copy(
            update={
                "seen": outcome.seen + len(window.changes),
                "published": outcome.published + len(fresh),
                "already_synced": outcome.already_synced + held,
            }
        )

    def _notice(self, change: SweptChange, realm: str | None) -> ChangeNotice:
        return ChangeNotice(
            provider=self.system,
            event_id=f"sweep:{change.record_id}:{change.version}",
            entity=EntityType.ACCOUNT,
            vendor_type=change.vendor_type,
            record_id=change.record_id,
            operation=Operation.DELETED if change.deleted else Operation.CHANGED,
            occurred_at=change.changed_at,
            realm=realm,
        )

    def _already_synced(self, change: SweptChange) -> bool:
        """True when publishing `change` could only end as a no-op (see the module docstring)."""
        ref = SourceRef(system=self.system, type=change.vendor_type, id=change.record_id)
        if self._role is SweepRole.OWNER:
            copies = self._ledger.cross_references(EntityType.ACCOUNT, ref)
            if not copies:
                return False  # a new account, or one no target holds yet
            if change.deleted:
                return all(not copy.active for copy in copies)
            # One sync writes every target from one fetch: one copy at this version means it ran.
            return any(copy.source.version == change.version for copy in copies)
        copy = self._ledger.find_by_target(EntityType.ACCOUNT, ref)
        if copy is None or not copy.active:
            return True  # not managed by the hub, or a copy it deactivated itself
        return not change.deleted and copy.target.version == change.version


class AccountSweeps:
    """The `account_sweep` schedule: every swept system of the landscape, each on its own."""

    def __init__(
        self, sweeps: list[AccountSweep], *, on_failure: Callable[[SystemName, Exception], None]
    ) -> None:
        self._sweeps = sweeps
        self._on_failure = on_failure

    @property
    def systems(self) -> list[SystemName]:
        return [sweep.system for sweep in self._sweeps]

    def run(self) -> list[SweepOutcome]:
        """Run each system's sweep; one vendor failing (down, rate-limited) does not hold up the others."""
        outcomes: list[SweepOutcome] = []
        failures: list[tuple[SystemName, Exception]] = []
        for sweep in self._sweeps:
            try:
                outcomes.append(sweep.run())
            except Exception as exc:
                self._on_failure(sweep.system, exc)
                failures.append((sweep.system, exc))
        if failures:
            # The schedule's retries and DLQ see the run fail; the cursors of the others moved on.
            names = ", ".join(f"{system}: {exc}" for system, exc in failures)
            raise SweepFailed(f"catch-up sweep failed for {names}") from failures[0][1]
        return outcomes


class SweepFailed(RuntimeError):
    """At least one system's sweep failed (the others ran); its cursor stays where it was."""
