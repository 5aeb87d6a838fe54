"""What the run report shows, as data: gathered from the deployed resources, then rendered."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class Gathered(BaseModel):
    """A frozen model of the report: the renderer reads it and nothing else."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class WorkflowCounts(Gathered):
    """One wiring state machine's executions by status (`deployed` False: not found here)."""

    name: str
    deployed: bool = True
    by_status: dict[str, int] = Field(default_factory=dict)


class QueueCounts(Gathered):
    """One wiring queue: messages waiting and dead-lettered (None: that queue is not deployed)."""

    name: str
    waiting: int | None = None
    dead_lettered: int | None = None


class FlowCount(Gathered):
    """A count metric of the flows (records synced, notices received, ...), in total and per flow."""

    metric: str
    label: str
    total: float = 0
    per_flow: dict[str, float] = Field(default_factory=dict, description="dimension set label -> sum")


class Flows(Gathered):
    """What ran and what waits: workflow executions, flow counts, queue depths."""

    workflows: tuple[WorkflowCounts, ...] = ()
    counts: tuple[FlowCount, ...] = ()
    queues: tuple[QueueCounts, ...] = ()


WATERFALL_STEPS = ("booked", "approved", "posted", "invoiced", "paid")


class Waterfall(Gathered):
    """One engagement's money in one currency, from the deal to the cash, exact to the minor unit."""

    engagement: str = Field(description="the PSA project, system/id")
    name: str
    currency: str
    status: str
    booked: Decimal | None = Field(default=None, description="None: the amount won was not kept")
    approved: Decimal
    posted: Decimal
    invoiced: Decimal
    paid: Decimal
    credited: Decimal = Decimal(0)
    open_ar: Decimal = Decimal(0)
    invoices: int = 0
    entries: int = 0

    def step(self, name: str) -> Decimal | None:
        """The figure of one waterfall step by its name (WATERFALL_STEPS)."""
        value: Decimal | None = getattr(self, name)
        return value


class OpenException(Gathered):
    """An open exception (a break is one of kind `reconciliation`) and how long it has been open."""

    id: str
    kind: str
    subject: str
    reason: str
    opened_at: datetime | None
    age: timedelta | None
    owner: str | None = None
    step: str | None = None
    extra: dict[str, str] = Field(
        default_factory=dict, description="what else the record carries (details, action, evidence, ...)"
    )


class MetricFigure(Gathered):
    """One operational metric over the report's window, summed over its dimension sets."""

    name: str = Field(description="the CloudWatch metric name")
    label: str
    kind: str = Field(description="count, duration (seconds) or gauge")
    samples: int = 0
    total: float = 0
    average: float | None = None
    maximum: float | None = None
    per_flow: dict[str, float] = Field(
        default_factory=dict, description="per dimension set: the sum (count) or the average (duration)"
    )
    note: str | None = Field(default=None, description="how the figure was obtained, when not plainly")

    @property
    def has_data(self) -> bool:
        return self.samples > 0


class Report(Gathered):
    """Everything the page shows, read at `generated_at`."""

    generated_at: datetime
    since: datetime
    source: str = Field(description="where it was read: AWS or the moto endpoint")
    flows: Flows
    waterfalls: tuple[Waterfall, ...] = ()
    exceptions: tuple[OpenException, ...] = ()
    metrics: tuple[MetricFigure, ...] = ()
