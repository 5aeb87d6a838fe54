"""opportunity-changes queue: a closed-won opportunity starts engagement setup, once per close."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.domain.notices import ChangeNotice
from shared.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def on_record(record: SQSRecord) -> str | None:
    # The queue carries EventBridge events; the notice is their `detail`.
    notice = ChangeNotice.model_validate(json.loads(record.body)["detail"])
    logger.set_correlation_id(notice.event_id)
    # A failure that will not go away, or that sends the message to the DLQ, opens an exception.
    with services().last_receive.guard(
        notice,
        step="workflow_start",
        queue_arn=record.event_source_arn,
        receive_count=int(record.attributes.approximate_receive_count),
    ):
        started = services().workflow_start.on_notice(notice)
    logger.info("opportunity notice handled", opportunity=notice.record_id, execution=started)
    return started


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=on_record, processor=processor, context=context
    )
