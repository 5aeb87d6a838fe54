"""On demand: a window of the bus archive re-derived under a landscape, diffed, applied when asked.

`close2cash replay` invokes the function with
`{"start": ISO, "end": ISO, "flow": NAME | null, "landscape": TOML text | null, "dry_run": bool}` and
prints its answer. A request it cannot serve (a backwards window, an unknown flow, a landscape file
with problems) is answered with `{"refused": "..."}`, never a failure: nothing was read or written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.bootstrap import services
from shared.domain.deadline import time_limit
from shared.observability import logger, metrics, tracer

# The answer lists this many differences (and as many written); the counts cover them all.
LISTED = 200


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime
    flow: str | None = None
    landscape: str | None = None
    dry_run: bool = True


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from shared.governance.loader import LandscapeInvalid, parse_landscape
    from shared.sync.replay.run import ReplayRequestInvalid

    try:
        request = ReplayRequest.model_validate(event)
        landscape = (
            None if request.landscape is None else parse_landscape(request.landscape, file="--landscape")
        )
        replay = services().replay(landscape)
        with time_limit(context.get_remaining_time_in_millis):
            report = replay.run(request.start, request.end, flow=request.flow, dry_run=request.dry_run)
    except (ValidationError, LandscapeInvalid, ReplayRequestInvalid) as refused:
        return {"refused": str(refused)}
    answer = report.model_dump(mode="json", exclude={"diffs", "applied"})
    answer["found"] = len(report.diffs)
    answer["written"] = len(report.applied)
    answer["diffs"] = [{"summary": d.summary, **d.model_dump(mode="json")} for d in report.diffs[:LISTED]]
    answer["applied"] = [{"summary": d.summary, **d.model_dump(mode="json")} for d in report.applied[:LISTED]]
    logger.info(
        "replay", extra={k: answer[k] for k in ("notices", "found", "written", "dry_run", "landscape")}
    )
    return answer
