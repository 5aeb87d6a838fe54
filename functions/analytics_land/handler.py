"""Firehose data transformation: each buffer of domain events becomes landed rows, each event id once.

The answer has one record per record asked (Firehose's contract): `Ok` with the row and its `dt`
partition key, `Dropped` for an event id landed before, `ProcessingFailed` for a record that is
not a domain event (Firehose writes it to the errors prefix as it came). A request that is not a
transformation request at all fails the invocation: Firehose retries it, then writes the whole
buffer to the errors prefix.
https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.analytics.landing import parse_request, transform
from shared.bootstrap import services
from shared.domain.metrics import BusinessMetric
from shared.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_request(event)
    response = transform(request, services().landed_ids)
    failed = [r for r in response.records if r.result == "ProcessingFailed"]
    logger.info(
        "landed",
        extra={"stream": request.delivery_stream_arn, "records": len(request.records), **response.counts()},
    )
    counts = response.counts()
    services().metrics.count(BusinessMetric.EVENTS_LANDED, counts.get("Ok", 0))
    if failed:
        # Alarmed: each is kept under the errors prefix, and a person lands it again once fixed.
        services().metrics.count(BusinessMetric.EVENTS_NOT_LANDED, len(failed))
    for record in failed[:20]:
        logger.warning("not landed", extra={"record_id": record.record_id, "reason": record.reason})
    return response.model_dump(mode="json", exclude_none=True)
