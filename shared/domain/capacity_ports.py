"""The port of the capacity facts: the PSA that reports its workers' schedules and cost rates.

Adapters: `shared.connectors.productive` (salaries: working hours, holidays, cost), and
`shared.connectors.kantata` (workweeks, time off, cost rates).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from shared.domain.capacity import Month, WorkerCapacity
from shared.domain.models import SystemName


@runtime_checkable
class CapacitySource(Protocol):
    """The PSA as the system of record for its workers' capacity and cost rates."""

    system: SystemName

    def capacities(self, month: Month) -> list[WorkerCapacity]:
        """Every worker's capacity in `month`: one record per worker and schedule covering part of it."""
        ...
