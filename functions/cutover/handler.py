"""On demand: a legal entity's cutover to another ledger, its shadow diff, acknowledgements, go-ahead.

`close2cash cutover` invokes the function with
`{"action": "diff" | "acknowledge" | "confirm", "legal_entity": CODE, "line": ID, "by": WHO, "note": TEXT}`
and prints its answer: the diff (document by document), with the acknowledgements made so far and
the confirmation once given. A request it cannot serve (no cutover for the entity, a line the diff
does not have, a confirmation over open lines) is answered with `{"refused": "...", "diff": ...}`,
never a failure: nothing was written.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.bootstrap import services
from shared.domain.deadline import time_limit
from shared.observability import logger, metrics, tracer


class CutoverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["diff", "acknowledge", "confirm"]
    legal_entity: str = Field(min_length=1)
    line: str | None = None
    by: str | None = None
    note: str | None = None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from shared.sync.cutover import CutoverNotClear, CutoverRequestInvalid

    try:
        request = CutoverRequest.model_validate(event)
        cutovers = services().cutovers
        with time_limit(context.get_remaining_time_in_millis):
            if request.action == "acknowledge":
                if not (request.line and request.by and request.note):
                    raise CutoverRequestInvalid("acknowledge needs the line, who acknowledges it and a note")
                cutovers.acknowledge(request.legal_entity, request.line, by=request.by, note=request.note)
                diff = cutovers.diff(request.legal_entity)
            elif request.action == "confirm":
                if not request.by:
                    raise CutoverRequestInvalid("confirm needs who lets the cutover go ahead")
                diff = cutovers.confirm(request.legal_entity, by=request.by)
            else:
                diff = cutovers.diff(request.legal_entity)
    except CutoverNotClear as open_lines:
        return {"refused": str(open_lines), "diff": open_lines.diff.model_dump(mode="json")}
    except (ValidationError, CutoverRequestInvalid) as refused:
        return {"refused": str(refused)}
    answer = diff.model_dump(mode="json")
    answer["clear"] = diff.clear
    logger.info(
        "cutover",
        extra={"action": request.action, "legal_entity": diff.legal_entity, "lines": len(diff.lines)},
    )
    return answer
