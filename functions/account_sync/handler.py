"""account-changes queue: each notice becomes a fetch from the CRM and upserts into PSA and ERP."""

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
def on_record(record: SQSRecord) -> dict[str, Any]:
    # The queue carries EventBridge events; the notice is their `detail`.
    notice = ChangeNotice.model_validate(json.loads(record.body)["detail"])
    logger.set_correlation_id(notice.event_id)
    # A failure that will not go away, or that sends the message to the DLQ, opens an exception.
    with services().last_receive.guard(
        notice,
        step="account_sync",
        queue_arn=record.event_source_arn,
        receive_count=int(record.attributes.approximate_receive_count),
    ):
        report = services().account_notices(notice)
    for result in report.results:
        logger.info(
            "account notice handled",
            target=result.target_system,
            action=result.action,
            target_id=result.target_id,
            source=str(result.source),
        )
    return report.model_dump(mode="json")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    services().account_notices.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=on_record, processor=processor, context=context
    )
