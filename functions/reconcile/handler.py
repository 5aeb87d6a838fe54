"""Nightly (and on demand): every customer, engagement and month compared across the systems, to the cent.

The schedule sends EventBridge's event; `close2cash reconcile` invokes the function with
`{"since": "YYYY-MM-DD", "engagement": "<PSA project>"}` (either optional) and prints its answer.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from shared.bootstrap import services
from shared.domain.deadline import time_limit
from shared.observability import logger, metrics, tracer

# The answer lists this many breaks; all of them are exceptions (`close2cash exceptions list`).
LISTED = 100


class ReconcileRequest(BaseModel):
    """What an on-demand run asks for (the schedule's event carries neither field)."""

    model_config = ConfigDict(extra="ignore")

    since: date | None = None
    engagement: str | None = None


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ReconcileRequest.model_validate(event if isinstance(event, dict) else {})
    with time_limit(context.get_remaining_time_in_millis):
        report = services().reconciliation.run(since=request.since, engagement=request.engagement)
    answer = report.model_dump(mode="json", exclude={"breaks"})
    answer["breaks"] = [
        {
            "id": found.id,
            "summary": found.summary,
            "at_stake": None if found.at_stake is None else str(found.at_stake),
            "action": found.action,
        }
        for found in report.breaks[:LISTED]
    ]
    answer["found"] = len(report.breaks)
    logger.info(
        "reconciliation",
        extra={k: answer[k] for k in ("found", "opened", "resolved", "backlog", "vendor_calls")},
    )
    return answer
