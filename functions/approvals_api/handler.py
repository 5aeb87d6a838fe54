"""GET /approvals, POST /approvals/{id}/approve, POST /approvals/{id}/reject: signed-in approvers only.

API Gateway's Cognito user pool authorizer verifies the approver's token before this function runs
(the local API front does the same from the local secrets) and passes the verified claims in
`requestContext.authorizer.claims`: who decided is read there, never from a header.
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, UnauthorizedError
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.domain.errors import ValidationFailed
from shared.observability import logger, metrics, tracer
from shared.sync.engagements.approvals import AlreadyDecided

app = APIGatewayRestResolver()
# The user's name in the pool: `cognito:username` in an ID token, `username` in an access token.
# https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
IDENTITY_CLAIMS = ("cognito:username", "username")


def _approver() -> str:
    """The signed-in approver from the authorizer's verified claims; 401 when there are none."""
    claims = app.current_event.request_context.authorizer.claims
    for claim in IDENTITY_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, str) and value:
            return value
    raise UnauthorizedError("no signed-in approver: the route must sit behind the approvers' authorizer")


def _reason() -> str:
    """`reason` from a JSON object body; anything else is a 400 naming what is wrong."""
    if not app.current_event.body:
        return ""
    try:
        body = json.loads(app.current_event.decoded_body or "")
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed(f'the body must be a JSON object like {{"reason": "..."}}: {exc}') from None
    if not isinstance(body, dict):
        raise ValidationFailed(
            f"the body must be a JSON object with field 'reason', not {type(body).__name__}"
        )
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise ValidationFailed(f"field 'reason' must be a string, not {type(reason).__name__}")
    return reason


def _json(status: int, body: Any) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body, default=str))


@app.get("/approvals")
@tracer.capture_method
def pending() -> Response[str]:
    _approver()
    requests = services().approval_desk.pending()
    return _json(200, [r.model_dump(mode="json", exclude={"task_token"}) for r in requests])


@app.post("/approvals/<approval_id>/approve")
@tracer.capture_method
def approve(approval_id: str) -> Response[str]:
    by = _approver()
    return _json(200, services().approval_desk.approve(approval_id, by=by).model_dump(mode="json"))


@app.post("/approvals/<approval_id>/reject")
@tracer.capture_method
def reject(approval_id: str) -> Response[str]:
    by = _approver()
    reason = _reason()
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
