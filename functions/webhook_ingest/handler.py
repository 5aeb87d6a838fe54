"""POST /webhooks/{provider}: verify, record once, publish, answer within the vendor's deadline."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.aws.ledger import NOTICE_CLAIM_SECONDS
from shared.bootstrap import services
from shared.domain.ports import WebhookRequest
from shared.observability import logger, metrics, tracer
from shared.sync.ingest import RetryLater, WebhookRejected

app = APIGatewayRestResolver()


def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> Response[str]:
    """The JSON error body every refused or failed webhook gets: `error` (a reason code) and `message`."""
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"error": error, "message": message}),
        headers=headers,
    )


@app.post("/webhooks/<provider>")
@tracer.capture_method
def receive(provider: str) -> Response[str]:
    event = app.current_event
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8")
    request = WebhookRequest(
        method=event.http_method,
        path=event.path,
        query=dict(event.query_string_parameters or {}),
        headers={k.lower(): v for k, v in (event.headers or {}).items()},
        body=body,
    )
    try:
        outcome = services().webhook_ingest.handle(provider, request)
    except WebhookRejected as rejected:
        logger.warning("webhook rejected", provider=provider, reason=rejected.reason, detail=rejected.message)
        return _error(rejected.status, rejected.reason.value, rejected.message)
    except RetryLater as busy:
        logger.info("webhook held by a concurrent delivery", provider=provider, detail=busy.message)
        return _error(busy.status, busy.reason, busy.message, {"Retry-After": str(NOTICE_CLAIM_SECONDS)})
    logger.info(
        "webhook accepted", provider=provider, published=outcome.published, duplicates=outcome.duplicates
    )
    return Response(
        status_code=outcome.reply.status, content_type=outcome.reply.content_type, body=outcome.reply.body
    )


@app.not_found
def no_such_provider(error: Exception) -> Response[str]:
    # A provider segment the route cannot match (`/webhooks/%F0%9F%92%A5`, `/webhooks/salesforce%00`):
    # a 404 naming it, as for any provider we do not know. Without this, Powertools hands its
    # NotFoundError to the catch-all below and the vendor would see a 503.
    return _error(404, "unknown_provider", f"no webhook route for {app.current_event.path!r}")


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def unavailable(error: Exception) -> Response[str]:
    # Nothing was acknowledged: a 5xx makes the vendor redeliver, and the notices' claims (released,
    # or stale after the claim timeout) let the redelivery through. The API's 5xx alarm fires.
    logger.exception("webhook not recorded; the vendor will redeliver", error_type=type(error).__name__)
    return _error(503, "unavailable", "the notice was not recorded; retry later")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
