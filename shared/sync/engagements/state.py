"""What the engagement workflow carries from step to step, how an execution is named, and its errors.

The state is JSON that Step Functions passes from one Task to the next (and keeps in executions in
flight across a deploy): a field added here has a default, so a state written by an earlier release
still loads.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from shared.domain.commercial import Opportunity
from shared.domain.errors import PermanentError, TransientError
from shared.domain.models import CanonicalModel, SystemName
from shared.domain.systems import Role

# Step Functions execution names: 1-80 characters of letters, digits, '-' and '_'.
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
EXECUTION_NAME_MAX = 80
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
# The error a rejection fails the approval's task token with (the state's Catch compensates on it).
REJECTED_ERROR = "Rejected"
# The status of a state no step has run on yet (the workflow's input).
STARTED = "started"


class Step(StrEnum):
    """The workflow's task steps, in order (the ASL file names each in its Task's Parameters)."""

    VALIDATE_CUSTOMER = "validate_customer"
    UPSERT_CUSTOMER = "upsert_customer"
    ASSIGN_DIMENSIONS = "assign_dimensions"
    GENERATE_SHELL = "generate_shell"
    APPLY_RATE_CARD = "apply_rate_card"
    REQUEST_APPROVAL = "request_approval"
    ACTIVATE = "activate"
    NOTIFY = "notify"
    WRITE_BACK = "write_back"
    COMPENSATE = "compensate"


class StepTransientError(TransientError):
    """A step failed on something a later attempt may not meet; the state's Retry matches this name."""


class StepPermanentError(PermanentError):
    """A step failed on something only a person can fix; the state's Catch compensates on this name."""


class SetupState(CanonicalModel):
    """What the workflow carries from step to step (JSON, well below Step Functions' 256 KB)."""

    opportunity_id: str = Field(min_length=1)
    close_version: str | None = None
    execution: str = Field(min_length=1)
    started_at: datetime
    account_id: str | None = None
    customers: dict[str, str] = Field(default_factory=dict, description="role -> customer id")
    legal_entity: str | None = None
    # The systems that hold the engagement, chosen once by the first step and kept: a retry after a
    # cutover, or after a routing edit, keeps finishing the engagement where it was begun. Empty in
    # a state no step has run on, and in one begun before this field existed (see context.py).
    systems: dict[Role, SystemName] = Field(default_factory=dict, description="role -> system")
    dimensions: dict[str, str | None] = Field(default_factory=dict)
    posting_dimensions: dict[str, str | None] = Field(default_factory=dict)
    revenue_account: str | None = None
    template: str | None = None
    default_rate_card: str | None = None
    engagements: dict[str, str] = Field(default_factory=dict, description="role -> record id created")
    rates: list[dict[str, str]] = Field(default_factory=list)
    rates_source: str | None = None
    approval_id: str | None = None
    reopened: list[str] = Field(
        default_factory=list, description="roles whose closed engagement was reopened"
    )
    status: str = STARTED
    # The opportunity as the CRM had it when setup validated it: every later step works from this one
    # reading (one fetch per setup, not one per step), and all steps agree on what was sold.
    opportunity: dict[str, Any] | None = None
    # The customer's account as validation read it, for the next step (one CRM read, not two).
    account: dict[str, Any] | None = None


def execution_name(opportunity_id: str, close_version: str | None) -> str:
    """Deterministic and legal for Step Functions: the same close of the same deal, the same name."""
    version = _NAME_UNSAFE.sub("-", close_version or "0").strip("-") or "0"
    name = f"opp-{_NAME_UNSAFE.sub('-', opportunity_id).strip('-')}-{version}"
    return name[:EXECUTION_NAME_MAX]


def initial_state(
    opportunity_id: str,
    close_version: str | None,
    *,
    now: datetime,
    opportunity: Opportunity | None = None,
) -> dict[str, Any]:
    """The workflow's input state for one close of one opportunity.

    `opportunity`: the deal as the start just read it, so validation need not read it again (a
    `workflow retry` drops it from the input, so a retried setup reads the deal as fixed).
    """
    return SetupState(
        opportunity_id=opportunity_id,
        close_version=close_version,
        execution=execution_name(opportunity_id, close_version),
        started_at=now,
        opportunity=opportunity.model_dump(mode="json") if opportunity is not None else None,
    ).model_dump(mode="json")


def exception_id(execution: str) -> str:
    """The one exception a setup opens when it fails; its retries reopen or resolve the same one."""
    return f"setup:{execution}"


def retry_command(execution: str) -> str:
    """What a person runs once the cause is fixed: a new execution with the same input."""
    return f"close2cash workflow retry {execution}"
