"""The planner's wiring: what `Planner` asks of the ledger, the routing and the targets, read once per batch.

A planner decides what each piece of work needs (shared.sync.delivery.plan); it asks for the
engagement a project belongs to, the person's record in the target, and whether a cutover's go-ahead
was given. Each answer is read once for the planner (a batch of 200 entries on one engagement reads
it once), and a person found in a target by e-mail is kept as a cross-reference so the next batch
reads the ledger, not the vendor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from shared.domain.delivery_ports import BookedEngagement, PostingStore, PostingTarget
from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.ports import CrossReference, Ledger, SyncAction
from shared.domain.postings import DeliveredWork
from shared.governance.mappings import Mappings
from shared.governance.routing import Routing
from shared.sync.delivery.plan import Planner
from shared.sync.delivery.postings import build_posting


class Planners:
    """Builds the planner each batch of work is decided by."""

    def __init__(
        self,
        *,
        store: PostingStore,
        target: Callable[[SystemName], PostingTarget],
        connected: Callable[[SystemName], bool],
        ledger: Ledger,
        mappings: Mappings,
        routing: Routing,
        cutover_confirmed: Callable[[str, SystemName], bool],
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._target = target
        self._connected = connected
        self._ledger = ledger
        self._mappings = mappings
        self._routing = routing
        self._cutover_confirmed = cutover_confirmed
        self._clock = clock

    def planner(self) -> Planner:
        """A planner for one batch of work: each engagement and person read once for it."""
        engagements: dict[tuple[SystemName, str], BookedEngagement | None] = {}
        workers: dict[tuple[SystemName, str], str | None] = {}

        def engagement(system: SystemName, project: str) -> BookedEngagement | None:
            if (system, project) not in engagements:
                engagements[system, project] = self._store.engagement(system, project)
            return engagements[system, project]

        def worker(target: SystemName, work: DeliveredWork) -> str | None:
            if (target, work.worker.id) not in workers:
                workers[target, work.worker.id] = self._worker(target, work)
            return workers[target, work.worker.id]

        return Planner(
            engagement=engagement,
            connected=self._connected,
            worker=worker,
            posting=lambda work, booked, target, worker_id: build_posting(
                work, booked, target=target, worker_id=worker_id, mappings=self._mappings
            ),
            routing=self._routing,
            awaiting_cutover=self._awaiting_cutover(),
        )

    def _awaiting_cutover(self) -> Callable[[str, SystemName, date], str | None]:
        """Why work waits for a cutover's go-ahead: routed to its new system, dated from it on, and
        not confirmed yet (each confirmation read once per planner)."""
        confirmed: dict[tuple[str, SystemName], bool] = {}

        def waits(legal_entity: str, target: SystemName, day: date) -> str | None:
            cutover = self._routing.cutover_into(legal_entity, target, day)
            if cutover is None:
                return None
            if (legal_entity, target) not in confirmed:
                confirmed[legal_entity, target] = self._cutover_confirmed(legal_entity, target)
            return None if confirmed[legal_entity, target] else f"{cutover.waiting} (this work posts then)"

        return waits

    def _worker(self, target: SystemName, work: DeliveredWork) -> str | None:
        """The person's record in `target`: the ledger's cross-reference, else found once and kept."""
        person = SourceRef(system=work.worker.system, type=work.worker.type, id=work.worker.id)
        xref = self._ledger.cross_reference(EntityType.WORKER, person, target)
        if xref is not None and xref.active:
            return xref.target.id
        found = self._target(target).find_worker(person, name=work.worker_name, email=work.worker_email)
        if found is not None:
            self._ledger.record_sync(
                CrossReference(
                    entity=EntityType.WORKER,
                    source=person,
                    target=SourceRef(system=target, type="employee", id=found),
                    checksum="",
                    synced_at=self._clock(),
                ),
                SyncAction.LINKED,
            )
        return found
