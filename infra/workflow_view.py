"""What `close2cash workflow show` prints, and how `workflow retry` starts a failed setup again."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.domain.engagement_ports import ApprovalStore

APPROVAL_STATE = "AwaitApproval"
# Step Functions execution names are at most 80 characters; a retry appends "-r<n>".
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
_NAME_MAX = 80


_RETRY_SUFFIX = re.compile(r"-r\d+$")


def retry_name(setup: str, attempt: int) -> str:
    """The name of retry `attempt` of the setup first run as `setup` (legal length kept)."""
    return f"{setup[: _NAME_MAX - 4]}-r{attempt}"


def setup_of(execution: str) -> str:
    """The setup an execution runs: its own name, or the first run's for a retry (`...-r<n>`)."""
    return _RETRY_SUFFIX.sub("", execution)


class RetryRefused(Exception):
    """`workflow retry` would start a second run where it must not; the message says why."""


def describe(
    sfn: Any, execution_arn: str, *, approvals: ApprovalStore | None = None, now: datetime | None = None
) -> list[str]:
    """Status, current step, the pending approval (what is to be approved), the compensation's outcome."""
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
    if pending and approvals is not None:
        lines.extend(_approval_lines(approvals, described, now))
    outcome = _compensation(events)
    if outcome is not None:
        lines.append(f"failed step:      {outcome.get('failed_step')}")
        lines.append(f"cause:            {outcome.get('cause')}")
        lines.append(f"retry with:       close2cash workflow retry {described['name']}")
    return lines


def _approval_lines(approvals: ApprovalStore, described: dict[str, Any], now: datetime | None) -> list[str]:
    """What the approver is asked to approve: the request is keyed by the setup's first name."""
    payload = json.loads(described.get("input") or "{}")
    setup = str((payload.get("state") or {}).get("execution") or described["name"])
    request = approvals.get(setup)
    if request is None:
        return [f"  request:        none recorded yet for {setup}"]
    rates = ", ".join(f"{r.get('role')} {r.get('rate')} {r.get('currency')}" for r in request.rates)
    dimensions = ", ".join(f"{k} {v}" for k, v in request.dimensions.items() if v)
    waited = f" (waiting {(now - request.requested_at).total_seconds() / 3600:.1f} h)" if now else ""
    return [
        f"  request:        {request.id}, requested {request.requested_at.isoformat()}{waited}",
        f"  engagement:     {request.engagement}",
        f"  customer:       {request.customer}",
        f"  budget:         {request.budget}",
        f"  rates:          {rates or 'the template card'}",
        f"  dimensions:     {dimensions}",
    ]


def _compensation(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    for event in events:
        details = event.get("stateExitedEventDetails")
        if details and details.get("name") == "Compensate":
            output = json.loads(details.get("output") or "{}")
            found = output.get("outcome")
            return found if isinstance(found, dict) else None
    return None


def _executions(sfn: Any, machine_arn: str, status: str) -> Iterator[dict[str, Any]]:
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn, statusFilter=status)
    for page in pages:
        yield from page["executions"]


def retry(sfn: Any, machine_arn: str, execution: str) -> str:
    """Start the setup of a failed execution again, with its input; the new execution's name.

    Every run of one close of one deal shares the setup's first name (the state's `execution`), so
    its approval request, its exception and its shells stay one each. A retry is refused while a
    run of the setup is still going, and once one has succeeded: a second engagement is never the
    answer to a retry typed twice.
    """
    arn = machine_arn.replace(":stateMachine:", ":execution:") + f":{execution}"
    try:
        failed = sfn.describe_execution(executionArn=arn)
    except sfn.exceptions.ExecutionDoesNotExist:
        raise RetryRefused(f"no execution named {execution!r} (see close2cash workflow list)") from None
    if failed["status"] == "RUNNING":
        raise RetryRefused(f"{execution} is still running: see close2cash workflow show {execution}")
    payload = json.loads(failed["input"])
    base = str((payload.get("state") or {}).get("execution") or execution)
    runs = [base, *(retry_name(base, n) for n in range(1, 100))]
    own = set(runs)
    for status in ("RUNNING", "SUCCEEDED"):
        for found in _executions(sfn, machine_arn, status):
            if found["name"] in own:
                doing = "is running" if status == "RUNNING" else "already succeeded"
                raise RetryRefused(f"{found['name']} {doing}: setup {base} needs no retry now")
    # The deal as the first run's start read it is left out: the retry reads it as it is now, fixed.
    state = payload.get("state")
    if isinstance(state, dict):
        state.pop("opportunity", None)
    fresh = json.dumps(payload)
    for name in runs[1:]:
        try:
            sfn.start_execution(stateMachineArn=machine_arn, name=name, input=fresh)
        except sfn.exceptions.ExecutionAlreadyExists:
            continue  # an earlier retry's name: Standard workflows keep names for 90 days
        return name
    raise RetryRefused(f"setup {base} was retried 99 times; start it again from the CRM")
