"""What the run report reads, from the deployed resources found by the wiring's names.

Like `close2cash status` (infra/status.py), it reads AWS, or the local runtime's moto with
`--endpoint-url`: Step Functions and SQS through `StatusReport`, the ledger table (engagements,
work, invoices, exceptions) through the adapters the functions use, and the metrics from
CloudWatch (infra/report/metrics.py). Every list is a Query of an index, never a scan.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.report.metrics import FLOW_COUNTS, OPERATIONAL, CloudWatchMetrics
from infra.report.models import (
    Flows,
    MetricFigure,
    OpenException,
    QueueCounts,
    Report,
    Waterfall,
    WorkflowCounts,
)
from infra.report.money import waterfalls
from infra.status import StatusReport, find
from infra.wiring import WIRING
from infra.wiring_model import Wiring
from shared.aws.billing import DynamoBilling
from shared.aws.ledger import DynamoLedger
from shared.aws.postings import DynamoPostings
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.metrics import BusinessMetric

# CloudWatch keeps 1-minute data for 15 days: the report's default window.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#metrics-retention
DEFAULT_WINDOW = timedelta(days=14)
# The fields every exception record has; anything else it carries is shown as it is.
EXCEPTION_FIELDS = frozenset(
    {"id", "kind", "subject", "reason", "owner", "step", "state", "opened_at", "resolution", "resolved_at"}
)
BREAK_KIND = "reconciliation"


def _opened(raw: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def open_exception(record: Mapping[str, Any], *, now: datetime) -> OpenException:
    """One ledger exception record as the page shows it, with its age at `now`."""
    opened = _opened(record.get("opened_at"))
    extra = {
        str(k): str(v) for k, v in record.items() if k not in EXCEPTION_FIELDS and v is not None and v != ""
    }
    return OpenException(
        id=str(record.get("id") or "?"),
        kind=str(record.get("kind") or "unknown"),
        subject=str(record.get("subject") or ""),
        reason=str(record.get("reason") or ""),
        opened_at=opened,
        age=(now - opened) if opened is not None else None,
        owner=record.get("owner"),
        step=record.get("step"),
        extra=extra,
    )


def is_duplicate_break(exception: OpenException) -> bool:
    """A duplicate created: an exception of kind `duplicate`, or a break that says it is one."""
    if exception.kind == "duplicate":
        return True
    said = " ".join((exception.id, exception.step or "", *exception.extra.values())).lower()
    return exception.kind == BREAK_KIND and "duplicate" in said


def duplicates_created(exceptions: tuple[OpenException, ...]) -> MetricFigure:
    created = sum(1 for e in exceptions if is_duplicate_break(e))
    return MetricFigure(
        name=BusinessMetric.DUPLICATES_CREATED.value,
        label="duplicates created",
        kind="derived",
        samples=created,
        total=float(created),
        note="open breaks of kind duplicate (0 when there are none)",
    )


class ReportGatherer:
    """Reads everything the page shows from boto3 clients (AWS, or moto with an endpoint)."""

    def __init__(
        self, *, sfn: Any, dynamodb: Any, sqs: Any, cloudwatch: Any, wiring: Wiring = WIRING
    ) -> None:
        self._dynamodb = dynamodb
        self._cloudwatch = cloudwatch
        self._status = StatusReport(sfn=sfn, dynamodb=dynamodb, sqs=sqs, wiring=wiring)

    def gather(self, *, now: datetime, source: str, window: timedelta = DEFAULT_WINDOW) -> Report:
        # Metrics are stamped by the wall clock, ages are counted to `now` (the local runtime's clock
        # may run days ahead): the window covers both, and data stamped a little ahead still counts.
        wall = datetime.now(UTC)
        since = min(now, wall) - window
        reader = CloudWatchMetrics(self._cloudwatch, since=since, until=max(now, wall) + timedelta(hours=1))
        table = self._ledger_table()
        exceptions = self._exceptions(table, now)
        metrics = [reader.figure(spec) for spec in OPERATIONAL]
        at = next(i for i, m in enumerate(metrics) if m.name == BusinessMetric.DUPLICATES_PREVENTED)
        metrics.insert(at, duplicates_created(exceptions))
        return Report(
            generated_at=now,
            since=since,
            source=source,
            flows=self._flows(reader),
            waterfalls=self._waterfalls(table),
            exceptions=exceptions,
            metrics=tuple(metrics),
        )

    def _ledger_table(self) -> str | None:
        paginator = self._dynamodb.get_paginator("list_tables")
        tables = [t for page in paginator.paginate() for t in page["TableNames"]]
        return find(tables, "ledger")

    def _flows(self, reader: CloudWatchMetrics) -> Flows:
        workflows = []
        for name, executions in self._status.executions().items():
            counts: dict[str, int] = {}
            for execution in executions or []:
                counts[execution["status"]] = counts.get(execution["status"], 0) + 1
            workflows.append(WorkflowCounts(name=name, deployed=executions is not None, by_status=counts))
        queues = [
            QueueCounts(name=name, waiting=depth["waiting"], dead_lettered=depth["dead-lettered"])
            for name, depth in self._status.queue_depths().items()
        ]
        return Flows(
            workflows=tuple(workflows),
            counts=tuple(reader.flow_count(spec) for spec in FLOW_COUNTS),
            queues=tuple(queues),
        )

    def _waterfalls(self, table: str | None) -> tuple[Waterfall, ...]:
        if table is None:
            return ()
        postings = DynamoPostings(table, client=self._dynamodb)
        billing = DynamoBilling(table, client=self._dynamodb)
        rows: list[Waterfall] = []
        for status in EngagementStatus:
            for engagement in postings.engagements(status):
                works = postings.engagement_works(engagement.psa.system, engagement.psa.id)
                invoices = billing.engagement_invoices(engagement.psa)
                rows += waterfalls(engagement, works, invoices)
        return tuple(sorted(rows, key=lambda r: (r.status != "active", r.name, r.currency)))

    def _exceptions(self, table: str | None, now: datetime) -> tuple[OpenException, ...]:
        if table is None:
            return ()
        found = DynamoLedger(table, client=self._dynamodb).open_exceptions()
        return tuple(open_exception(record, now=now) for record in found)
