"""Opening and resolving exceptions, with the business metrics the dashboard shows for them.

Every use case opens exceptions through `open_exception` and closes them through
`resolve_exception`, so "exceptions opened / resolved and resolution time" are counted the same way
whoever reports the problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from shared.domain.errors import PermanentError
from shared.domain.metrics import BusinessMetric
from shared.domain.models import SourceRef, utcnow
from shared.domain.notices import ChangeNotice
from shared.domain.ports import ExceptionRecord, Ledger, Metrics


def open_exception(ledger: Ledger, metrics: Metrics, exception: ExceptionRecord) -> bool:
    """Record `exception`; counted once when it opens, not again while it stays open. False when it
    was open already."""
    if ledger.record_exception(exception):
        metrics.count(BusinessMetric.EXCEPTIONS_OPENED)
        return True
    return False


def resolve_exception(
    ledger: Ledger, metrics: Metrics, exception_id: str, *, resolution: str, at: datetime
) -> bool:
    """Resolve the open exception `exception_id`; False when none was open (nothing counted)."""
    opened = ledger.resolve_exception(exception_id, resolution=resolution, at=at)
    if opened is None:
        return False
    metrics.count(BusinessMetric.EXCEPTIONS_RESOLVED)
    metrics.count(BusinessMetric.EXCEPTION_RESOLUTION_TIME, max((at - opened).total_seconds(), 0.0))
    return True


def dead_letter_exception_id(notice: ChangeNotice) -> str:
    """The exception a notice opens when its message is dead-lettered (`dlq list` looks it up)."""
    return f"dlq:{notice.idempotency_key}"


class LastReceive:
    """Failures of queue workers that a person must hear about before a message is given up.

    A `PermanentError` that escapes a use case opens an exception at once (retrying cannot fix it;
    the message waits in the queue, then the DLQ, for a redrive after the fix). Any other failure
    is retried by the queue; on the message's last allowed receive (ApproximateReceiveCount reaches
    the queue's maxReceiveCount) it opens an exception saying it is going to the DLQ and how to
    redrive it.
    """

    def __init__(
        self,
        *,
        ledger: Ledger,
        metrics: Metrics,
        max_receive_count: Callable[[str], int | None],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._ledger = ledger
        self._metrics = metrics
        self._max_receive_count = max_receive_count
        self._clock = clock

    @contextmanager
    def guard(self, notice: ChangeNotice, *, step: str, queue_arn: str, receive_count: int) -> Iterator[None]:
        """Run the body; on failure open the exception it calls for, then let the failure go on."""
        try:
            yield
        except Exception as exc:
            queue = queue_arn.rsplit(":", 1)[-1]
            limit = self._max_receive_count(queue_arn)
            last = limit is not None and receive_count >= limit
            if not isinstance(exc, PermanentError) and not last:
                raise
            where = f"{notice.provider} {notice.vendor_type} {notice.record_id} (notice {notice.event_id})"
            redrive = f"once the cause is fixed: close2cash dlq redrive {queue}"
            if last:
                reason = (
                    f"{step} failed on the last of {limit} receives of {where}: {type(exc).__name__}: "
                    f"{exc}; the message is in the dead-letter queue of {queue}; {redrive}"
                )
                self._metrics.count(BusinessMetric.MESSAGES_DEAD_LETTERED, dimensions={"step": step})
            else:
                reason = f"{step} cannot handle {where}: {type(exc).__name__}: {exc}; {redrive}"
            open_exception(
                self._ledger,
                self._metrics,
                ExceptionRecord(
                    id=dead_letter_exception_id(notice),
                    kind="dead_lettered" if last else type(exc).__name__,
                    entity=notice.entity,
                    subject=SourceRef(system=notice.provider, type=notice.vendor_type, id=notice.record_id),
                    reason=reason[:2000],
                    step=step,
                    opened_at=self._clock(),
                ),
            )
            raise
