"""POST /webhooks/{provider}: verify, record once, publish, answer within the vendor's deadline.

The function serves one route, so it reads API Gateway's proxy event itself (payload format 1.0:
`httpMethod`, `path`, `pathParameters`, `headers`, `queryStringParameters`, `body`,
`isBase64Encoded`) rather than through Powertools' event handler, whose import (the resolvers of
every event source, their data classes, OpenAPI, asyncio) cost ~40 ms of each cold start beyond
`import boto3` (a fresh interpreter as `tests/benchmarks/imports.py` starts one).
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.aws.ledger_notices import NOTICE_CLAIM_SECONDS
from shared.bootstrap import services
from shared.domain.intake_ports import WebhookRequest
from shared.observability import logger, metrics, tracer
from shared.sync.ingest import RetryLater, WebhookRejected


def _answer(
    status: int, body: str, content_type: str, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A proxy integration response (format 1.0).

    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-output-format
    """
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_type, **(headers or {})},
        "body": body,
        "isBase64Encoded": False,
    }


def _error(status: int, error: str, message: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON error body every refused or failed webhook gets: `error` (a reason code) and `message`."""
    return _answer(status, json.dumps({"error": error, "message": message}), "application/json", headers)


def _request(event: Mapping[str, Any]) -> WebhookRequest:
    """The webhook as the use case reads it: the raw body's exact bytes, header names in lower case."""
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    return WebhookRequest(
        method=event["httpMethod"],
        path=event["path"],
        query=dict(event.get("queryStringParameters") or {}),
        headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
        body=body,
    )


@tracer.capture_method
def receive(provider: str, event: Mapping[str, Any]) -> dict[str, Any]:
    try:
        outcome = services().webhook_ingest.handle(provider, _request(event))
    except WebhookRejected as rejected:
        logger.warning("webhook rejected", provider=provider, reason=rejected.reason, detail=rejected.message)
        return _error(rejected.status, rejected.reason.value, rejected.message)
    except RetryLater as busy:
        logger.info("webhook held by a concurrent delivery", provider=provider, detail=busy.message)
        return _error(busy.status, busy.reason, busy.message, {"Retry-After": str(NOTICE_CLAIM_SECONDS)})
    logger.info(
        "webhook accepted", provider=provider, published=outcome.published, duplicates=outcome.duplicates
    )
    return _answer(outcome.reply.status, outcome.reply.body, outcome.reply.content_type)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    provider = (event.get("pathParameters") or {}).get("provider")
    if event.get("httpMethod") != "POST" or not provider:
        # Only POST /webhooks/{provider} is routed here: anything else names no provider we know.
        return _error(404, "unknown_provider", f"no webhook route for {event.get('path')!r}")
    try:
        return receive(provider, event)
    except Exception as error:
        # Nothing was acknowledged: a 5xx makes the vendor redeliver, and the notices' claims (released,
        # or stale after the claim timeout) let the redelivery through. The API's 5xx alarm fires.
        logger.exception("webhook not recorded; the vendor will redeliver", error_type=type(error).__name__)
        return _error(503, "unavailable", "the notice was not recorded; retry later")
