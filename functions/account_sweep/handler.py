"""Scheduled: accounts deleted or merged away in the CRM become DELETED notices on the bus."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The window ends at the wall clock, not the event's time: it is the CRM's delete log that is read.
    swept = services().account_sweep.run()
    logger.info("deleted accounts swept", published=swept)
    return {"published": swept}
