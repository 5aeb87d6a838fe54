"""work-changes queue: time and expense notices settled in bulk; an activation releases parked work."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.domain.deadline import time_limit
from shared.domain.errors import Close2CashError
from shared.domain.notices import ChangeNotice
from shared.observability import logger, metrics, tracer
from shared.sync.delivery.report import DeliveryReport
from shared.sync.delivery.sync import ACTIVATED, notice_key

processor = BatchProcessor(event_type=EventType.SQS)


def _notice(record: SQSRecord) -> ChangeNotice | None:
    """The notice an EventBridge event carries, or None for an engagement activation."""
    body = json.loads(record.body)
    if body.get("detail-type") == ACTIVATED:
        return None
    return ChangeNotice.model_validate(body["detail"])


def _settle(records: list[SQSRecord]) -> tuple[DeliveryReport | None, Close2CashError | None]:
    """One bulk run over the whole batch: the PSA is read once per 200 entries, not once per notice."""
    notices = [n for n in (_notice(r) for r in records) if n is not None]
    try:
        report = services().delivery.on_messages(notices, engagements_activated=len(notices) < len(records))
    except Close2CashError as failed:
        # The whole run failed (the PSA throttled the read, a connection is wrong): every record
        # fails with it, delayed by its Retry-After or opening an exception as the guard decides.
        return None, failed
    return report, None


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    records = [SQSRecord(raw) for raw in event.get("Records", [])]
    with time_limit(context.get_remaining_time_in_millis):
        report, failed = _settle(records)
    if report is not None:
        logger.info("work settled", extra=report.summary())

    @tracer.capture_method
    def on_record(record: SQSRecord) -> None:
        notice = _notice(record)
        if notice is None:
            if failed is not None:
                raise failed
            return
        key = notice_key(notice)
        error = failed or (report.retry.get(key) if report is not None and key is not None else None)
        # A lasting or last-receive failure opens an exception; a Retry-After delays the message.
        with services().queued_notice(notice, record, step="time_sync"):
            if error is not None:
                raise error

    return process_partial_response(
        event=event, record_handler=on_record, processor=processor, context=context
    )
