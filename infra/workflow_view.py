"""What `close2cash workflow show` prints, read from an execution's description and history."""

from __future__ import annotations

import json
from typing import Any

APPROVAL_STATE = "AwaitApproval"


def describe(sfn: Any, execution_arn: str) -> list[str]:
    """Status, current step, whether an approval is pending, and the compensation's outcome."""
    described = sfn.describe_execution(executionArn=execution_arn)
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    exited = [e["stateExitedEventDetails"]["name"] for e in events if "stateExitedEventDetails" in e]
    current = entered[-1] if entered else "-"
    pending = described["status"] == "RUNNING" and current == APPROVAL_STATE and APPROVAL_STATE not in exited
    lines = [
        f"execution:        {described['name']}",
        f"status:           {described['status']}",
        f"current step:     {current}",
        f"approval pending: {'yes (GET /approvals)' if pending else 'no'}",
        f"steps run:        {len(entered)} state(s) entered",
    ]
    outcome = _compensation(events)
    if outcome is not None:
        lines.append(f"failed step:      {outcome.get('failed_step')}")
        lines.append(f"cause:            {outcome.get('cause')}")
        lines.append(f"retry with:       close2cash workflow retry {described['name']}")
    return lines


def _compensation(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    for event in events:
        details = event.get("stateExitedEventDetails")
        if details and details.get("name") == "Compensate":
            output = json.loads(details.get("output") or "{}")
            found = output.get("outcome")
            return found if isinstance(found, dict) else None
    return None
