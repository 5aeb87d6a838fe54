"""What one run of the delivery flow did, and why a piece of work must be tried again."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.domain.errors import TransientError


class WorkHeld(TransientError):
    """Another batch is writing this work right now: the notice comes back after a short wait."""


@dataclass
class DeliveryReport:
    """What one run did: counts per outcome, and the keys that must be tried again (with why)."""

    fetched: int = 0
    skipped: int = 0  # notices about a version already handled (duplicates prevented)
    written: dict[str, int] = field(default_factory=dict)  # operation -> works
    parked: int = 0
    exceptions: int = 0
    retry: dict[str, TransientError] = field(default_factory=dict)  # work key -> why

    def summary(self) -> dict[str, object]:
        """The counts as log fields (what a run did, and how many works come back later)."""
        return {
            "fetched": self.fetched,
            "skipped": self.skipped,
            "written": self.written,
            "parked": self.parked,
            "exceptions": self.exceptions,
            "retry": len(self.retry),
        }

    def merge(self, other: DeliveryReport) -> None:
        self.fetched += other.fetched
        self.skipped += other.skipped
        for operation, count in other.written.items():
            self.written[operation] = self.written.get(operation, 0) + count
        self.parked += other.parked
        self.exceptions += other.exceptions
        self.retry.update(other.retry)
