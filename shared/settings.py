"""Environment of a running function, as one pydantic model read at call time (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.budgets import BACKGROUND_MAX_WAIT, BACKGROUND_SHARE

# Vendors' notices are small; anything near 256 KiB is abuse. The wiring's API declares this limit.
WEBHOOK_MAX_BODY_BYTES = 256 * 1024
# The ledger's sparse index of what a person acts on: approvals awaiting a decision (or its callback)
# and exceptions by state. The wiring declares it; the adapters query it, so no read scans the ledger.
LEDGER_STATUS_INDEX = "by-status"
LEDGER_STATUS_KEY = "status_key"  # e.g. "APPROVAL#awaiting", "EXCEPTION#open"; absent = not indexed
LEDGER_STATUS_SORT = "status_at"  # ISO time then id: oldest first
# The ledger's index of delivered work per engagement (`time list --engagement ID --since DATE`):
# work records carry `<PSA system>#<project>` and `<worked on>#<kind>#<id>` (shared/aws/postings.py).
LEDGER_ENGAGEMENT_INDEX = "by-engagement"
LEDGER_ENGAGEMENT_KEY = "engagement_key"
LEDGER_ENGAGEMENT_SORT = "engagement_sort"


class Settings(BaseModel):
    """What the wiring's `uses` put in each function's environment, and where the landscape file is."""

    model_config = ConfigDict(frozen=True, defer_build=True)  # built on first use, as the domain models are

    ledger_table: str = Field(min_length=1)
    connections_secret: str = Field(min_length=1)
    # Rotated OAuth tokens (QuickBooks): only the functions that refresh them are granted it.
    oauth_tokens_secret: str | None = None
    event_bus_name: str | None = None
    idempotency_table: str | None = None
    # The landscape file shipped with the code (relative paths are resolved against the code's
    # root: LAMBDA_TASK_ROOT in Lambda, the working directory elsewhere).
    landscape_file: str = "landscape.toml"
    secret_max_age_seconds: int = 300
    state_machine_arn: str | None = None
    # The billing run workflow (issue 11), beside engagement setup's.
    billing_state_machine_arn: str | None = None
    notify_topic_arn: str | None = None
    # A week to decide, a reminder after two days: firms approve engagements in days, not minutes.
    approval_timeout_seconds: int = Field(default=7 * 86400, ge=60)
    approval_reminder_seconds: int = Field(default=2 * 86400, ge=60)
    # Of each vendor's published limits, the share background work (month-end posting of time and
    # expenses) may use at most, so interactive flows always find the rest (shared.domain.budgets).
    background_share: float = Field(default=BACKGROUND_SHARE, gt=0, lt=1)
    # How long a background call may wait for its slots inside a Lambda before its message goes back.
    background_max_wait_seconds: float = Field(default=BACKGROUND_MAX_WAIT, ge=0, le=60)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        names = {
            "ledger_table": "LEDGER_TABLE",
            "connections_secret": "CONNECTIONS_SECRET",
            "oauth_tokens_secret": "OAUTH_TOKENS_SECRET",
            "event_bus_name": "EVENT_BUS_NAME",
            "idempotency_table": "IDEMPOTENCY_TABLE",
            "landscape_file": "LANDSCAPE_FILE",
            "state_machine_arn": "STATE_MACHINE_ARN",
            "billing_state_machine_arn": "BILLING_STATE_MACHINE_ARN",
            "notify_topic_arn": "NOTIFY_TOPIC_ARN",
            "approval_timeout_seconds": "APPROVAL_TIMEOUT_SECONDS",
            "approval_reminder_seconds": "APPROVAL_REMINDER_SECONDS",
            "background_share": "BACKGROUND_SHARE",
            "background_max_wait_seconds": "BACKGROUND_MAX_WAIT_SECONDS",
        }
        values = {field: env[var] for field, var in names.items() if env.get(var)}
        return cls.model_validate(values)

    def landscape_path(self, environ: Mapping[str, str] | None = None) -> Path:
        path = Path(self.landscape_file)
        if path.is_absolute():
            return path
        env = os.environ if environ is None else environ
        return Path(env.get("LAMBDA_TASK_ROOT") or Path.cwd()) / path

    def require_bus(self) -> str:
        if not self.event_bus_name:
            raise RuntimeError("EVENT_BUS_NAME is not set: this function was not granted the event bus")
        return self.event_bus_name

    def require(self, field: str) -> str:
        """A setting a function needs; its absence means the wiring did not grant the resource."""
        value = getattr(self, field)
        if not value:
            raise RuntimeError(f"{field.upper()} is not set: this function was not granted it in the wiring")
        return str(value)
