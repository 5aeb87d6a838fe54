"""Capacity read wired: the PSA that owns time reports its workers' capacity; facts go to the bus."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from shared.bootstrap.core import ServicesCore
from shared.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from shared.domain.capacity_ports import CapacitySource
    from shared.sync.capacity import CapacitySync


class CapacityServices(ServicesCore):
    """The monthly capacity read (utilization's and margin's hours and cost rates)."""

    def capacity_source(self) -> CapacitySource:
        """The PSA that owns time (the landscape's `ownership.time.owner`): its people and schedules."""
        from shared.domain.capacity_ports import CapacitySource
        from shared.domain.systems import Domain

        system = self.ownership.owner_of(Domain.TIME)
        source = self.connector(system)
        if not isinstance(source, CapacitySource):
            raise ConfigurationError(f"{system} owns time but its connector reports no capacity")
        return source

    @cached_property
    def capacity_sync(self) -> CapacitySync:
        """Reads a month's capacities from the PSA and publishes `capacity.changed` facts."""
        from shared.sync.capacity import CapacitySync

        return CapacitySync(source=self.capacity_source, events=lambda: self.publisher)
