"""The use case behind `workflow_start`: a closed-won notice starts engagement setup once per close.

Every opportunity it reads, in any status, is stated on the bus as `OpportunityChanged` (the
pipeline is read from open deals, bookings from won ones, a re-opened deal from its later open
state), and a won one as `OpportunityClosedWon` too, before any setup starts: a bus that fails
leaves the notice to be retried, and the retry states the same event ids (`DomainEvent.fact`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.domain.commercial import IncompleteOpenDeal, Opportunity, OpportunityStatus
from shared.domain.engagement_ports import OpportunitySource
from shared.domain.errors import NotFoundError, PermanentError
from shared.domain.events import DomainEvent, OpportunityChanged, OpportunityClosedWon
from shared.domain.metrics import BusinessMetric
from shared.domain.models import EntityType, SourceRef, utcnow
from shared.domain.ports import ExceptionRecord, Ledger, Metrics, WorkflowStarter
from shared.sync.engagements.state import initial_state
from shared.sync.exceptions import open_exception
from shared.sync.facts import Publisher, publish_facts
from shared.sync.write_back import is_write_back_echo

if TYPE_CHECKING:
    from shared.domain.notices import ChangeNotice


class WorkflowStart:
    """The use case behind `workflow_start`: a closed-won notice starts setup once per close.

    Only a won deal is checked for what setup needs: an open deal without a service line is skipped
    (counted as OpenDealsSkipped), not refused. A notice that can never start setup (the opportunity
    was deleted, a won deal cannot be mapped, a connection is misconfigured) opens an exception
    naming the opportunity, the step and the cause, and the message is done, not retried.
    """

    def __init__(
        self,
        *,
        opportunities: Callable[[], OpportunitySource],
        starter: Callable[[], WorkflowStarter],
        ledger: Ledger,
        metrics: Metrics,
        approval_timeout_seconds: int,
        clock: Callable[[], datetime] = utcnow,
        events: Publisher = None,
    ) -> None:
        self._opportunities = opportunities
        self._events = events
        self._starter = starter
        self._ledger = ledger
        self._metrics = metrics
        self._timeout = approval_timeout_seconds
        self._clock = clock

    def on_notice(self, notice: ChangeNotice) -> str | None:
        """The execution name started, or None (not won, a duplicate, or an exception opened)."""
        if notice.won is False and self._events is None:
            # The notice itself says the deal is open: nothing to set up, nobody to tell of its
            # state, and no fetch to learn it.
            return None
        if is_write_back_echo(self._ledger, notice):
            # The echo of the hub's own write-back that reached the bus before the hub recorded
            # the write's instant (shared/sync/write_back.py): nothing changed that could start a
            # setup, and the deal need not be fetched to know it.
            self._metrics.count(BusinessMetric.ECHOES_SUPPRESSED, dimensions={"flow": "engagement_setup"})
            return None
        try:
            opportunity = self._opportunities().fetch_opportunity(notice.record_id)
        except IncompleteOpenDeal:
            self._metrics.count(BusinessMetric.OPEN_DEALS_SKIPPED)
            return None
        except PermanentError as exc:
            if notice.won is not False:
                # An open deal's notice could never start a setup: nothing for a person to fix here.
                self._cannot_start(notice, exc)
            return None
        if opportunity.status is not OpportunityStatus.WON:
            publish_facts(self._events, [self._changed(opportunity, notice, notice.event_id)])
            return None
        # The close version is when the stage last changed: a replayed notice, an edit and the hub's
        # own write-back keep it (one execution); a re-opened and re-closed deal moves it. Without
        # it, the record's version stands in (every edit is then a new close).
        version = (
            opportunity.stage_changed_at.isoformat()
            if opportunity.stage_changed_at is not None
            else opportunity.source.version
        )
        state = initial_state(opportunity.source.id, version, now=self._clock(), opportunity=opportunity)
        execution = str(state["execution"])
        won: list[DomainEvent[Any]] = [
            self._changed(opportunity, notice, execution),
            OpportunityClosedWon.fact(
                opportunity,
                correlation_id=execution,
                occurred_at=opportunity.stage_changed_at or _instant(opportunity, notice, self._clock),
            ),
        ]
        # Stated before the workflow starts: a start that fails is retried, and states the same ids.
        publish_facts(self._events, won)
        payload = {"state": state, "approval_timeout_seconds": self._timeout}
        try:
            started = self._starter().start(state["execution"], payload)
        except PermanentError as exc:
            self._cannot_start(notice, exc)
            return None
        if not started:
            self._metrics.count(BusinessMetric.DUPLICATES_PREVENTED, dimensions={"flow": "engagement_setup"})
            return None
        return str(state["execution"])

    def _changed(
        self, opportunity: Opportunity, notice: ChangeNotice, correlation_id: str
    ) -> OpportunityChanged:
        return OpportunityChanged.fact(
            opportunity, correlation_id=correlation_id, occurred_at=_instant(opportunity, notice, self._clock)
        )

    def _cannot_start(self, notice: ChangeNotice, exc: PermanentError) -> None:
        deleted = isinstance(exc, NotFoundError)
        open_exception(
            self._ledger,
            self._metrics,
            ExceptionRecord(
                id=f"start:{notice.provider}:{notice.record_id}:{type(exc).__name__}",
                kind="deleted_at_source" if deleted else type(exc).__name__,
                entity=EntityType.OPPORTUNITY,
                subject=SourceRef(system=notice.provider, type=notice.vendor_type, id=notice.record_id),
                reason=f"engagement setup not started for {notice.provider} {notice.vendor_type} "
                f"{notice.record_id}: {exc}",
                step="workflow_start",
                opened_at=self._clock(),
            ),
        )
        self._metrics.count(BusinessMetric.FAILED_TRANSACTIONS, dimensions={"flow": "engagement_setup"})


def _instant(opportunity: Opportunity, notice: ChangeNotice, clock: Callable[[], datetime]) -> datetime:
    """When the CRM last changed the deal: its version (Salesforce's SystemModstamp), else the
    notice's instant, else now."""
    version = opportunity.source.version
    if version:
        try:
            stamped = datetime.fromisoformat(version)
        except ValueError:
            stamped = None
        if stamped is not None and stamped.tzinfo is not None:
            return stamped
    return notice.occurred_at or clock()
