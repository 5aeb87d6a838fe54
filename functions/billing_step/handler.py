"""Every Task of the billing-run state machine: `step` names what to run on `state`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.domain.deadline import time_limit
from shared.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = str(event["step"])
    state = dict(event.get("state") or {})
    logger.append_keys(step=step, run=state.get("run"), execution=state.get("execution"))
    if "error" in event:
        state["error"] = event["error"]
    with time_limit(context.get_remaining_time_in_millis):
        return services().billing_runs.step(step, state, token=event.get("token"))
