"""QuickBooks Online batch writes (create, update, delete per item) and the time reads beside them.

One POST carries up to `BATCH_MAX_ITEMS` items; each item is answered on its own, with the object or
its own Fault, so one refused item fails that item only. The request's `requestid` makes the whole
batch replayable: a resend with the same id gets the original answers back and writes nothing
again, which is how a crash between the QuickBooks write and the ledger write is recovered.
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/batch
https://developer.intuit.com/hub/blog/2015/04/06/15346 ("For batch operations, the RequestID supports a
maximum of 36 characters"; a resend with a used requestid returns the original response)

Size: `batch_write` takes up to 30 items (the limits page: "Recommended maximum number of payloads in
a single batch request is 30"), but the batch page and Intuit's 2017 blog say 10: the caller picks
the size (10 is the safe one, see VENDORS.md).
https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
https://developer.intuit.com/hub/blog/2017/07/27/batch-operations-important

The client reads numbers as Decimal and writes Decimal values with their exact digits
(`client.read_json`, `client.encode_exact`): an HourlyRate never passes through float.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import ValidationError

from shared.connectors.quickbooks.client import BATCH_MAX_ITEMS, MAX_RESULTS, fault_error
from shared.connectors.quickbooks.schemas import Employee, FaultItem, TimeActivity, parse_faults
from shared.domain.errors import TransientError

if TYPE_CHECKING:
    from shared.connectors.quickbooks.client import QuickBooksClient

# "For batch operations, the RequestID supports a maximum of 36 characters" (50 elsewhere).
# https://developer.intuit.com/hub/blog/2015/04/06/15346
BATCH_REQUEST_ID_MAX = 36
Operation = Literal["create", "update", "delete"]
OPERATIONS: frozenset[str] = frozenset({"create", "update", "delete"})


class BatchOperation(NamedTuple):
    """One BatchItemRequest: `bid` unique in the request, the entity's name, what to do, the object.

    An update or delete body carries the record's Id and current SyncToken.
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch
    """

    bid: str
    entity: str
    operation: Operation
    body: Mapping[str, Any]


@dataclass(frozen=True)
class BatchResult:
    """One item's answer: the object as QBO returned it (numbers as Decimal), or the item's Fault."""

    bid: str
    entity: str
    record: dict[str, Any] | None = None
    faults: tuple[FaultItem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.faults and self.record is not None

    def error(self) -> Exception:
        """The hub error for this item's Fault (stale SyncToken, validation, not found, ...)."""
        return fault_error(list(self.faults), f"batch {self.entity} item {self.bid}")

    def time_activity(self) -> TimeActivity:
        """The answered TimeActivity (raises this item's error when it faulted)."""
        if not self.ok:
            raise self.error()
        try:
            return TimeActivity.model_validate(self.record)
        except ValidationError as exc:
            raise TransientError(f"quickbooks: batch item {self.bid}: unreadable TimeActivity") from exc


def check_batch(operations: Sequence[BatchOperation], request_id: str) -> None:
    """Refuse, before sending, what Intuit would refuse for the whole request (ValueError)."""
    if not 1 <= len(operations) <= BATCH_MAX_ITEMS:
        raise ValueError(f"a QuickBooks batch carries 1 to {BATCH_MAX_ITEMS} items, not {len(operations)}")
    if not 1 <= len(request_id) <= BATCH_REQUEST_ID_MAX:
        raise ValueError(
            f"a batch requestid has 1 to {BATCH_REQUEST_ID_MAX} characters, not {len(request_id)}"
        )
    bids = [op.bid for op in operations]
    if any(not bid for bid in bids) or len(set(bids)) != len(bids):
        raise ValueError("every batch item needs a bId, unique within the request")
    for op in operations:
        if op.operation not in OPERATIONS:
            raise ValueError(f"batch item {op.bid}: operation {op.operation!r} is not create/update/delete")
        if op.operation != "create" and not (op.body.get("Id") and op.body.get("SyncToken") is not None):
            raise ValueError(f"batch item {op.bid}: {op.operation} needs the record's Id and SyncToken")


def batch_write(
    client: QuickBooksClient, operations: Sequence[BatchOperation], *, request_id: str
) -> dict[str, BatchResult]:
    """POST /v3/company/{realm}/batch?requestid=...: one result per bId, in the operations' order.

    A per-item Fault is that item's result (the others land); a bId the answer leaves out raises
    TransientError (send the same batch with the same `request_id` again: Intuit replays, nothing is
    written twice). Request-level failures (429, 401 refresh, 5xx, a whole-request Fault) go through
    the client's error translation. The request takes a slot of the realm's budget and of the
    40-a-minute batch budget.
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
    https://developer.intuit.com/hub/blog/2015/04/06/15346
    """
    operations = [BatchOperation(*op) for op in operations]
    check_batch(operations, request_id)
    items = [{"bId": op.bid, "operation": op.operation, op.entity: dict(op.body)} for op in operations]
    # A whole-request Fault (1040 too many items, 2050 requestid too long) is raised by `_send`;
    # the items' Faults are their own results.
    payload = client._send(
        "POST",
        client._path("batch"),
        params={"requestid": request_id},
        body={"BatchItemRequest": items},
        context=f"batch {request_id}",
        http=client.batch_api,
        item_faults_fail=False,
    )
    answers: dict[str, Mapping[str, Any]] = {}
    for answer in payload.get("BatchItemResponse", []):
        if isinstance(answer, dict) and isinstance(answer.get("bId"), str):
            answers[answer["bId"]] = answer
    results: dict[str, BatchResult] = {}
    for op in operations:
        answer = answers.get(op.bid)
        if answer is None:
            raise TransientError(
                f"quickbooks: batch {request_id}: no answer for item {op.bid}; resend the same batch"
            )
        faults = parse_faults({"Fault": answer["Fault"]}) if "Fault" in answer else []
        record = answer.get(op.entity)
        if not faults and not isinstance(record, dict):
            raise TransientError(f"quickbooks: batch {request_id}: item {op.bid} has no {op.entity}")
        results[op.bid] = BatchResult(
            bid=op.bid,
            entity=op.entity,
            record=record if isinstance(record, dict) else None,
            faults=tuple(faults),
        )
    return results


def query_time_activities(client: QuickBooksClient, where: str | None = None) -> list[TimeActivity]:
    """Every TimeActivity matching `where`, 1,000 a page (Intuit's maximum), numbers as Decimal.

    GET /v3/company/{realm}/query?query=select * from TimeActivity ... STARTPOSITION n MAXRESULTS 1000
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
    https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
    """
    rows = client._query("TimeActivity", where, page_size=MAX_RESULTS, limit=None)
    try:
        return [TimeActivity.model_validate(row) for row in rows]
    except ValidationError as exc:
        raise TransientError(f"quickbooks: query TimeActivity: unreadable row: {exc}") from exc


def employees(client: QuickBooksClient, where: str | None = None) -> list[Employee]:
    """Every Employee matching `where`, 1,000 a page: select * from Employee ...

    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/employee
    """
    rows = client._query("Employee", where, page_size=MAX_RESULTS, limit=None)
    try:
        return [Employee.model_validate(row) for row in rows]
    except ValidationError as exc:
        raise TransientError(f"quickbooks: query Employee: unreadable row: {exc}") from exc
