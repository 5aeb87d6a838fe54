"""Scheduled daily: the billing calendar starts the month's runs; the change-data sweep of invoices,
payments and credit memos closes what lost notices missed, and applies parked payments."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.domain.deadline import time_limit
from shared.domain.models import utcnow
from shared.domain.systems import Role
from shared.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    hub = services()
    with time_limit(context.get_remaining_time_in_millis):
        started = hub.billing_runs.scheduled(utcnow())
        refreshed = {
            system.value: hub.cash_feedback.sweep(system)
            for system in hub.systems_with(Role.ACCOUNTING)
            if system in hub.connected()
        }
    logger.info("billing calendar and cash sweep", extra={"started": started, "refreshed": refreshed})
    return {"started": started, "refreshed": refreshed}
