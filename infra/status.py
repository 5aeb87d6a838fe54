"""What `close2cash status` prints: what happened and what needs a person, on one screen.

It reads the deployed resources (AWS, or the local runtime's moto with `--endpoint-url`) by the
names the wiring gives them: CloudFormation and the local runtime both keep the wiring's name
inside the physical name, so each is found by it, the way `workflow` finds its state machine.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from infra.wiring import WIRING
from infra.wiring_model import Wiring
from infra.workflow_view import setup_of
from shared.aws.approvals import DynamoApprovals
from shared.aws.ledger import DynamoLedger
from shared.aws.postings import DynamoPostings
from shared.domain.postings import PostingState

EXECUTION_STATES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
QUEUE_SIDES = (("waiting", False), ("dead-lettered", True))


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def find(names: Iterable[str], logical: str, *, dead_letter: bool | None = None) -> str | None:
    """The one physical name holding `logical`, or None when none or several do.

    With `dead_letter`, only names that are (True) or are not (False) a dead-letter queue: the
    local runtime calls it `<queue>-dlq`, CloudFormation `...Dlq<queue>...`.
    """
    wanted = _key(logical)
    found = [
        n for n in names if wanted in _key(n) and (dead_letter is None or ("dlq" in _key(n)) is dead_letter)
    ]
    return found[0] if len(found) == 1 else None


class StatusReport:
    """Gathers the status lines from Step Functions, DynamoDB and SQS clients."""

    def __init__(
        self, *, sfn: Any, dynamodb: Any, sqs: Any, wiring: Wiring = WIRING, cloudwatch: Any = None
    ) -> None:
        self._sfn = sfn
        self._dynamodb = dynamodb
        self._sqs = sqs
        self._wiring = wiring
        self._cloudwatch = cloudwatch

    def lines(self, *, now: datetime) -> list[str]:
        api = self._api(now) if self._cloudwatch is not None else []
        return [*self._workflows(), *self._ledger(now), *self._queues(), *api]

    def _api(self, now: datetime) -> list[str]:
        # API Gateway's own metrics (the local API front publishes the same ones to moto): a 5xx is a
        # webhook we did not record, a 4xx one we refused. The alarms watch the same two.
        totals: dict[str, int] = {}
        for metric in ("Count", "5XXError", "4XXError"):
            points = self._cloudwatch.get_metric_statistics(
                Namespace="AWS/ApiGateway",
                MetricName=metric,
                Dimensions=[{"Name": "ApiName", "Value": self._wiring.api_name}],
                StartTime=now - timedelta(hours=1),
                EndTime=now,
                Period=3600,
                Statistics=["Sum"],
            )["Datapoints"]
            totals[metric] = int(sum(point["Sum"] for point in points))
        line = (
            f"api, last hour: {totals['Count']} requests, {totals['5XXError']} answered 5xx, "
            f"{totals['4XXError']} refused (4xx)"
        )
        if totals["5XXError"]:
            line += " -- webhooks not recorded: vendors redeliver; see the webhook_ingest logs"
        return [line]

    def executions(self) -> dict[str, list[dict[str, Any]] | None]:
        """Every execution of each wiring state machine (None: the machine is not deployed here)."""
        machines = self._sfn.list_state_machines()["stateMachines"]
        found: dict[str, list[dict[str, Any]] | None] = {}
        for spec in self._wiring.state_machines:
            name = find((m["name"] for m in machines), spec.name)
            if name is None:
                found[spec.name] = None
                continue
            arn = next(m["stateMachineArn"] for m in machines if m["name"] == name)
            found[spec.name] = [
                execution
                for page in self._sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
                for execution in page["executions"]
            ]
        return found

    def _workflows(self) -> list[str]:
        lines: list[str] = []
        for machine, executions in self.executions().items():
            if executions is None:
                lines.append(f"workflow {machine}: not found")
                continue
            counts: Counter[str] = Counter()
            failed: list[str] = []
            succeeded: set[str] = set()
            for execution in executions:
                counts[execution["status"]] += 1
                base = setup_of(execution["name"])
                if execution["status"] == "SUCCEEDED":
                    succeeded.add(base)
                elif execution["status"] in ("FAILED", "TIMED_OUT", "ABORTED"):
                    failed.append(execution["name"])
            summary = ", ".join(f"{counts[s]} {s.lower()}" for s in EXECUTION_STATES if counts[s])
            lines.append(f"workflow {machine}: {summary or 'no executions'}")
            # A failed run whose setup later succeeded (a retry) needs nobody any more.
            waiting = sorted({setup_of(f) for f in failed} - succeeded)
            for name in waiting:
                lines.append(f"  needs a retry or a decision: {name} (close2cash workflow show {name})")
        return lines

    def _ledger(self, now: datetime) -> list[str]:
        tables = [
            t for page in self._dynamodb.get_paginator("list_tables").paginate() for t in page["TableNames"]
        ]
        name = find(tables, "ledger")
        if name is None:
            return ["ledger: not found"]
        approvals = DynamoApprovals(name, client=self._dynamodb)
        pending = approvals.pending()
        lines = [f"approvals pending: {len(pending)}"]
        for request in sorted(pending, key=lambda r: r.requested_at):
            hours = (now - request.requested_at).total_seconds() / 3600
            lines.append(
                f"  {request.id}: {request.engagement}, budget {request.budget}, waiting {hours:.1f} h"
            )
        # Decided, but the deciding call died before telling the workflow: the reminder delivers them.
        for request in approvals.undelivered():
            lines.append(
                f"  {request.id}: {request.state} by {request.decided_by}, not yet delivered to the workflow "
                "(the hourly approval reminder, or the same approver deciding again, delivers it)"
            )
        lines.extend(self._parked(name))
        open_ = DynamoLedger(name, client=self._dynamodb).open_exceptions()
        kinds = Counter(e["kind"] or "unknown" for e in open_)
        described = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        lines.append(f"open exceptions: {len(open_)}" + (f" ({described})" if described else ""))
        if open_:
            oldest = min(open_, key=lambda e: e["opened_at"] or "")
            lines.append(f"  oldest: {oldest['id']} since {oldest['opened_at']} (close2cash exceptions list)")
        return lines

    def _parked(self, table: str) -> list[str]:
        """Approved work waiting for its engagement, per engagement (from the status index)."""
        waiting = [
            r for r in DynamoPostings(table, client=self._dynamodb).parked() if r.state is PostingState.PARKED
        ]
        lines = [
            f"work parked: {len(waiting)}" + (" (posts when its engagement is active)" if waiting else "")
        ]
        projects = Counter(r.project for r in waiting)
        for project, count in sorted(projects.items()):
            reason = next(r.reason for r in waiting if r.project == project)
            lines.append(f"  project {project}: {count} entr{'y' if count == 1 else 'ies'} -- {reason}")
        return lines

    def queue_depths(self) -> dict[str, dict[str, int | None]]:
        """Messages waiting and dead-lettered per wiring queue (None: that queue is not deployed here)."""
        urls = self._sqs.list_queues().get("QueueUrls", [])
        names = {url.rsplit("/", 1)[-1]: url for url in urls}
        depths: dict[str, dict[str, int | None]] = {}
        for spec in self._wiring.queues:
            depths[spec.name] = {}
            for label, dead_letter in QUEUE_SIDES:
                name = find(names, spec.name, dead_letter=dead_letter)
                if name is None:
                    depths[spec.name][label] = None
                    continue
                attributes = self._sqs.get_queue_attributes(
                    QueueUrl=names[name], AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]
                depths[spec.name][label] = int(attributes["ApproximateNumberOfMessages"])
        return depths

    def _queues(self) -> list[str]:
        return [
            f"queue {queue}: "
            + ", ".join(
                f"{label} {'?' if counts[label] is None else counts[label]}" for label, _ in QUEUE_SIDES
            )
            for queue, counts in self.queue_depths().items()
        ]
