"""Scheduled daily: every worker's capacity and cost rate for last month and this one, as facts.

The PSA that owns time is read for both months (last month's schedules and time off are still
corrected early in a month); each capacity is published as `capacity.changed` with an id derived
from its figures, so a day on which nothing changed lands nothing new.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.domain.capacity import Month
from shared.domain.deadline import time_limit
from shared.domain.models import utcnow
from shared.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    this_month = Month.of(utcnow().date())
    last_month = Month.of(this_month.first_day - timedelta(days=1))
    published: dict[str, int] = {}
    with time_limit(context.get_remaining_time_in_millis):
        for month in (last_month, this_month):
            run = services().capacity_sync.run(month)
            published[str(month)] = run.published
            logger.info("capacity read", extra={"month": str(month), "published": run.published})
    return {"published": published}
