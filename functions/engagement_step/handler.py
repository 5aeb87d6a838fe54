"""Every Task of the close-to-cash state machine: `step` names what to run on `state`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bootstrap import services
from shared.domain.deadline import time_limit
from shared.observability import logger, metrics, tracer
from shared.sync.engagements.state import Step


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    setup = services().engagement_setup
    step = str(event["step"])
    logger.append_keys(step=step, execution=event.get("state", {}).get("execution"))
    # A wait that would outlast the invocation fails the step as transient instead: the state's
    # Retry tries again, where a Lambda timeout (Sandbox.Timedout) would compensate the setup.
    with time_limit(context.get_remaining_time_in_millis):
        if step == Step.COMPENSATE:
            return setup.compensate(event["state"], event.get("error") or {})
        return setup.run(step, event["state"], token=event.get("token"))
