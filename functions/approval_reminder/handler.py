"""Scheduled: a reminder for each approval pending longer than configured; decisions whose callback
never completed (the deciding invocation died in between) are delivered to their workflow."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = services()
    # The scheduled event's time is "now": the same instant in AWS, and the local runtime's clock locally.
    now = datetime.fromisoformat(event["time"].replace("Z", "+00:00")) if event.get("time") else None
    reminded = svc.approval_desk.remind(
        older_than=timedelta(seconds=svc.settings.approval_reminder_seconds), now=now
    )
    delivered = svc.approval_desk.complete_deliveries(now=now)
    logger.info("approval reminders sent", reminded=reminded, delivered=delivered)
    return {"reminded": reminded, "delivered": delivered}
