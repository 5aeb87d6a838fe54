"""Scheduled: each swept system's changes since the last run (lost notices, deletes) become notices."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.domain.deadline import time_limit
from shared.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The window ends at the wall clock, not the event's time: it is the vendors' own change feeds
    # that are read, stamped by their clocks.
    # Within the invocation's time: a vendor asking us to wait longer than is left (a 429's
    # Retry-After) ends that vendor's sweep at once, its cursor unmoved; the next schedule resumes.
    with time_limit(context.get_remaining_time_in_millis):
        outcomes = services().account_sweep.run()
    for outcome in outcomes:
        logger.info("customer changes swept", **outcome.model_dump(mode="json"))
    return {"published": {o.system.value: o.published for o in outcomes}}
