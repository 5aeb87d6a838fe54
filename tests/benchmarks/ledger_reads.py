"""Ledger reads per `GET /approvals` as the ledger grows: DynamoDB calls and items read (issue 8, item 5).

The whole route runs on the local runtime in-process (moto under mock_aws): the API front with the
approvers' authorizer, the approvals_api handler and its DynamoDB adapter. The ledger is filled
with batch writes of what a year of syncing leaves in it (cross-references both ways, traces,
notices, resolved exceptions) plus a handful of pending approvals and open exceptions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from botocore.client import BaseClient

from infra.local.authorizer import token_sha256
from infra.local.runtime import LocalRuntime
from infra.wiring import WIRING
from shared.aws.approvals import DynamoApprovals
from shared.aws.ledger import DynamoLedger
from shared.domain.engagement_ports import ApprovalRequest
from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.ports import ExceptionRecord

TOKEN = "bench-approver-token"
PENDING = 5
OPEN_EXCEPTIONS = 3


@dataclass(frozen=True)
class LedgerReads:
    """What one GET /approvals cost the ledger."""

    ledger_items: int
    calls: dict[str, int]  # DynamoDB operation -> calls
    items_read: int  # items DynamoDB read to answer (ScannedCount; 1 per GetItem found)
    listed: int  # pending approvals the route returned
    full_scan_calls: int  # what one scan of the same ledger takes (the read before the index)
    full_scan_items: int


@contextmanager
def counting_ledger_reads() -> Iterator[tuple[Counter[str], list[int]]]:
    """Count every DynamoDB call and the items each one read, for any boto3 client in this process."""
    calls: Counter[str] = Counter()
    items: list[int] = []
    original = BaseClient._make_api_call

    def counted(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        answer = original(self, operation_name, api_params)
        if self.meta.service_model.endpoint_prefix == "dynamodb":
            calls[operation_name] += 1
            items.append(int(answer.get("ScannedCount", 1 if answer.get("Item") else 0)))
        return answer

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield calls, items
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def _history(n: int) -> dict[str, Any]:
    """One item of the kinds that pile up: references, traces, notices, resolved exceptions."""
    kind = n % 4
    text = {"S": f"salesforce/Account/001{n:012d} -> quickbooks/customer/{n}; checksum {n:064x}"}
    if kind == 0:
        return {
            "pk": {"S": f"XREF#account#salesforce#001{n:012d}"},
            "sk": {"S": "TARGET#quickbooks"},
            "c": text,
        }
    if kind == 1:
        return {"pk": {"S": f"TRACE#account#salesforce#001{n:012d}"}, "sk": {"S": f"2026-{n:08d}"}, "c": text}
    if kind == 2:
        return {
            "pk": {"S": f"NOTICE#quickbooks#9341#{n}"},
            "sk": {"S": "NOTICE"},
            "status": {"S": "published"},
        }
    return {
        "pk": {"S": f"EXCEPTION#old-{n}"},
        "sk": {"S": "EXCEPTION"},
        "state": {"S": "resolved"},
        "status_key": {"S": "EXCEPTION#resolved"},
        "status_at": {"S": f"2025-01-01T00:00:00+00:00#old-{n}"},
        "reason": text,
    }


def _fill(client: Any, table: str, size: int) -> None:
    batch: list[dict[str, Any]] = []
    for n in range(size - PENDING - OPEN_EXCEPTIONS):
        batch.append({"PutRequest": {"Item": _history(n)}})
        if len(batch) == 25:  # BatchWriteItem's limit
            client.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})


DEAL = SourceRef(system=SystemName.SALESFORCE, type="Opportunity", id="006B")
ASKED = datetime(2026, 11, 30, tzinfo=UTC)


def approval_request(approval_id: str, *, at: datetime = ASKED) -> ApprovalRequest:
    """A request waiting for a decision, as request_approval records it."""
    return ApprovalRequest(
        id=approval_id,
        opportunity=DEAL,
        customer="001B",
        engagement=f"Engagement {approval_id}",
        dimensions={"legal_entity": "US01"},
        budget="1000.00 USD",
        task_token=f"token-{approval_id}",
        requested_at=at,
    )


def open_exception(exception_id: str, *, at: datetime = ASKED) -> ExceptionRecord:
    """An exception as a failed setup opens it."""
    return ExceptionRecord(
        id=exception_id,
        kind="engagement_setup_failed",
        entity=EntityType.OPPORTUNITY,
        subject=DEAL,
        reason="step activate failed",
        opened_at=at,
    )


def _waiting(rt: LocalRuntime, table: str) -> None:
    """The few things a person acts on, written by the adapters themselves."""
    client = rt.clients.dynamodb()
    for n in range(PENDING):
        DynamoApprovals(table, client=client).put(
            approval_request(f"opp-bench-{n}", at=ASKED + timedelta(minutes=n))
        )
    for n in range(OPEN_EXCEPTIONS):
        DynamoLedger(table, client=client).record_exception(open_exception(f"open-{n}"))


def _full_scan(client: Any, table: str) -> tuple[int, int]:
    calls = items = 0
    kwargs: dict[str, Any] = {"TableName": table, "Select": "COUNT"}
    while True:
        page = client.scan(**kwargs)
        calls, items = calls + 1, items + int(page["ScannedCount"])
        if "LastEvaluatedKey" not in page:
            return calls, items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def measure(size: int) -> LedgerReads:
    """GET /approvals once on a ledger of `size` items; what it read."""
    secrets = {"connections": {"approvers": {"bench@northwind.example": token_sha256(TOKEN)}}}
    with LocalRuntime(WIRING, secrets=secrets, mode="inprocess") as rt:
        table = rt.resources.tables["ledger"]
        client = rt.clients.dynamodb()
        _fill(client, table, size)
        _waiting(rt, table)
        from shared import bootstrap

        bootstrap.override(None)  # the handler builds its services from the runtime's environment
        api = httpx.Client(transport=httpx.WSGITransport(app=rt.api_wsgi), base_url="http://local")
        with counting_ledger_reads() as (calls, items):
            answer = api.get("/approvals", headers={"Authorization": f"Bearer {TOKEN}"})
        answer.raise_for_status()
        scan_calls, scan_items = _full_scan(client, table)
        bootstrap.override(None)
        return LedgerReads(
            ledger_items=int(client.describe_table(TableName=table)["Table"]["ItemCount"]) or size,
            calls=dict(calls),
            items_read=sum(items),
            listed=len(answer.json()),
            full_scan_calls=scan_calls,
            full_scan_items=scan_items,
        )
