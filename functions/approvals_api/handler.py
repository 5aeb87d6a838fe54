"""GET /approvals, POST /approvals/{id}/approve, POST /approvals/{id}/reject: bearer token required."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, UnauthorizedError
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.domain.errors import ValidationFailed
from shared.observability import logger, metrics, tracer
from shared.sync.engagements import AlreadyDecided

app = APIGatewayRestResolver()


def _caller() -> str:
    """Checks the bearer token against the SHA-256 kept in the connections secret; 401 otherwise."""
    header = app.current_event.headers.get("Authorization") or ""
    scheme, _, token = header.partition(" ")
    expected = services().approvals_bearer_sha256()
    if scheme.lower() != "bearer" or not token or expected is None:
        raise UnauthorizedError("a bearer token is required")
    if not hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), expected):
        raise UnauthorizedError("the bearer token is not valid")
    return str(app.current_event.headers.get("X-Approver") or "approver")


def _json(status: int, body: Any) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body, default=str))


@app.get("/approvals")
@tracer.capture_method
def pending() -> Response[str]:
    _caller()
    requests = services().approval_desk.pending()
    return _json(200, [r.model_dump(mode="json", exclude={"task_token"}) for r in requests])


@app.post("/approvals/<approval_id>/approve")
@tracer.capture_method
def approve(approval_id: str) -> Response[str]:
    by = _caller()
    return _json(200, services().approval_desk.approve(approval_id, by=by).model_dump(mode="json"))


@app.post("/approvals/<approval_id>/reject")
@tracer.capture_method
def reject(approval_id: str) -> Response[str]:
    by = _caller()
    body = app.current_event.json_body if app.current_event.body else {}
    reason = str((body or {}).get("reason") or "")
    return _json(
        200, services().approval_desk.reject(approval_id, by=by, reason=reason).model_dump(mode="json")
    )


@app.exception_handler(LookupError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def unknown(error: LookupError) -> Response[str]:
    raise NotFoundError(str(error))


@app.exception_handler(ValidationFailed)  # type: ignore[untyped-decorator]
def refused(error: ValidationFailed) -> Response[str]:
    return _json(409 if isinstance(error, AlreadyDecided) else 400, {"message": str(error)})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
