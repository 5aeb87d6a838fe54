"""Opening and resolving exceptions, with the business metrics the dashboard shows for them.

Every use case opens exceptions through `open_exception` and closes them through
`resolve_exception`, so "exceptions opened / resolved and resolution time" are counted the same way
whoever reports the problem.
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.ports import ExceptionRecord, Ledger, Metrics


def open_exception(ledger: Ledger, metrics: Metrics, exception: ExceptionRecord) -> None:
    """Record `exception`; counted once when it opens, not again while it stays open."""
    if ledger.record_exception(exception):
        metrics.count("ExceptionsOpened")


def resolve_exception(
    ledger: Ledger, metrics: Metrics, exception_id: str, *, resolution: str, at: datetime
) -> bool:
    """Resolve the open exception `exception_id`; False when none was open (nothing counted)."""
    opened = ledger.resolve_exception(exception_id, resolution=resolution, at=at)
    if opened is None:
        return False
    metrics.count("ExceptionsResolved")
    metrics.count("ExceptionResolutionTime", max((at - opened).total_seconds(), 0.0), unit="Seconds")
    return True
