"""Step Functions adapters: start an execution under a deterministic name, answer a task token."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3

from shared.domain.errors import NotFoundError

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient


class StepFunctionsWorkflow:
    """`WorkflowStarter` and `TaskCallback` ports on one state machine."""

    def __init__(self, state_machine_arn: str, *, client: SFNClient | None = None) -> None:
        self._arn = state_machine_arn
        self._client: SFNClient = client or boto3.client("stepfunctions")

    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        try:
            self._client.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(payload))
        except self._client.exceptions.ExecutionAlreadyExists:
            # Standard workflows keep names unique for 90 days: the duplicate notice starts nothing.
            return False
        return True

    def succeed(self, token: str, output: Mapping[str, Any]) -> None:
        try:
            self._client.send_task_success(taskToken=token, output=json.dumps(output))
        except self._gone() as exc:
            raise NotFoundError(f"the workflow no longer waits for this decision: {exc}") from exc

    def fail(self, token: str, *, error: str, cause: str) -> None:
        try:
            self._client.send_task_failure(taskToken=token, error=error, cause=cause)
        except self._gone() as exc:
            raise NotFoundError(f"the workflow no longer waits for this decision: {exc}") from exc

    def _gone(self) -> tuple[type[Exception], ...]:
        # A token whose task timed out, or whose execution ended, is answered with one of these.
        # https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html
        errors = self._client.exceptions
        return (errors.InvalidToken, errors.TaskDoesNotExist, errors.TaskTimedOut)
