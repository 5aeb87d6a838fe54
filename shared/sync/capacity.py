"""Capacity read: every worker's capacity and cost rate for a month, stated as `capacity.changed` facts.

For one calendar month, the landscape's PSA (the owner of time) reports each worker's capacity and
cost rate (`CapacitySource.capacities`); each record becomes a `CapacityChanged` event built with
`DomainEvent.fact`, so its id is uuid5 of "<type>|<source>|<checksum of the record>", and the record
holds the period and the figures: the same month read twice gives the same ids (landed once), a
changed schedule or cost rate a new one that supersedes the earlier. Events go to the bus in
batches (`publish_facts`; the adapter chunks each batch by PutEvents' limit).

Meant to run daily (the current month, and the previous one while its figures may still move);
scheduling it is the wiring's business, not this module's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from uuid import UUID

from shared.domain.capacity import Month, WorkerCapacity
from shared.domain.capacity_ports import CapacitySource
from shared.domain.events import CapacityChanged
from shared.sync.facts import Publisher, publish_facts

logger = logging.getLogger(__name__)

# Events per publish call: a month of a 1,000-person firm is ten calls.
BATCH_SIZE = 100


@dataclass(frozen=True)
class CapacityRun:
    """What one month's read stated: the records read and the ids of the events published."""

    month: Month
    system: str
    read: int
    event_ids: tuple[UUID, ...] = field(default=())

    @property
    def published(self) -> int:
        return len(self.event_ids)


def capacity_event(capacity: WorkerCapacity, month: Month) -> CapacityChanged:
    """The fact `capacity` states, its id derived from the record (period and figures included)."""
    return CapacityChanged.fact(
        capacity,
        correlation_id=f"capacity-{month}",
        # True from the first day of its period (the PSA reports no instant for a schedule).
        occurred_at=datetime.combine(capacity.period_start, time(0), tzinfo=UTC),
    )


class CapacitySync:
    """Reads a month's capacities from the PSA and publishes one `capacity.changed` fact each."""

    def __init__(
        self,
        *,
        source: Callable[[], CapacitySource],
        events: Publisher,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self._source = source
        self._events = events
        self._batch_size = batch_size

    def run(self, month: Month) -> CapacityRun:
        """Read every worker's capacity in `month` and publish them, `batch_size` events a call."""
        source = self._source()
        capacities = source.capacities(month)
        facts = [capacity_event(capacity, month) for capacity in capacities]
        for start in range(0, len(facts), self._batch_size):
            publish_facts(self._events, facts[start : start + self._batch_size])
        logger.info("capacity %s from %s: %d record(s) read", month, source.system, len(capacities))
        return CapacityRun(
            month=month,
            system=str(source.system),
            read=len(capacities),
            event_ids=tuple(fact.id for fact in facts) if self._events is not None else (),
        )
