"""cash-changes queue: an invoice, payment or credit memo notice re-reads the invoice and reports it."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.domain.deadline import time_limit
from shared.domain.notices import ChangeNotice
from shared.observability import logger, metrics, tracer

# A notice that meets an invoice another worker is reporting (the report lease, ConflictError) waits
# for its redelivery, and so does a batch of only such notices: answered as item failures, not as a
# function error, which would raise the function's error alarm for an expected wait. What never
# succeeds still ends in the DLQ, whose alarm is the one that needs a person.
# https://docs.powertools.aws.dev/lambda/python/latest/utilities/batch/#working-with-full-batch-failures
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def on_record(record: SQSRecord) -> list[str]:
    # The queue carries EventBridge events; the notice is their `detail`.
    notice = ChangeNotice.model_validate(json.loads(record.body)["detail"])
    logger.set_correlation_id(notice.event_id)
    with services().queued_notice(notice, record, step="cash_feedback"):
        refreshed = services().cash_feedback.on_notice(notice)
    logger.info("billing notice handled", extra={"entity": notice.entity.value, "invoices": refreshed})
    return refreshed


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    with time_limit(context.get_remaining_time_in_millis):
        return process_partial_response(
            event=event, record_handler=on_record, processor=processor, context=context
        )
