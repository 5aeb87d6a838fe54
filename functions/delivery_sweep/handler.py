"""Scheduled: time entries and expenses changed since the cursor are settled; parked work looked at again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.domain.deadline import time_limit
from shared.domain.postings import WorkKind
from shared.observability import logger, metrics, tracer

# A first sweep looks this far back; later ones from their cursor, with the overlap.
FIRST_LOOK_BACK = timedelta(days=35)
OVERLAP = timedelta(minutes=10)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    written: dict[str, dict[str, int]] = {}
    # A wait longer than the invocation has left ends the sweep with its cursor unmoved.
    with time_limit(context.get_remaining_time_in_millis):
        for kind in WorkKind:
            report = services().delivery.sweep(kind, look_back=FIRST_LOOK_BACK, overlap=OVERLAP)
            written[kind.value] = report.written
            logger.info("work swept", extra={"kind": kind.value, **report.summary()})
    return {"written": written}
