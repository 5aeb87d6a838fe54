"""salesforce-changes queue: Change Data Capture events relayed to the partner bus become notices."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.domain.deadline import time_limit
from shared.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def on_record(record: SQSRecord) -> dict[str, Any]:
    # The queue carries the partner bus's EventBridge events whole (envelope and detail).
    event = json.loads(record.body)
    logger.set_correlation_id(str(event.get("id", "")))
    outcome = services().change_events.on_event(event)
    logger.info(
        "change event handled",
        detail_type=event.get("detail-type"),
        published=outcome.published,
        duplicates=outcome.duplicates,
        swept=outcome.swept,
        rejected=outcome.rejected,
        dropped=outcome.dropped,
    )
    return outcome.model_dump(mode="json")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # No wait inside may outlast the invocation: what does not fit goes back to the queue.
    with time_limit(context.get_remaining_time_in_millis):
        return process_partial_response(
            event=event, record_handler=on_record, processor=processor, context=context
        )
