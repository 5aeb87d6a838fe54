"""Approval requests on the ledger table: `APPROVAL#<id>` / `APPROVAL`.

`request` holds the request as it was asked (JSON, with its task token: the item is the only place
the token lives outside Step Functions; the approval routes read it there and never show it). What
happens to it afterwards are attributes beside it, each changed by one conditional write:
`state`, `decided_by`, `decided_at`, `reason`, `deliver_until` (epoch seconds: who decided holds the
callback until then), `delivered_at`, `reminded_at`. While a request waits for a decision or for its
decision to reach the workflow it carries the status index's key `APPROVAL#awaiting`, so the lists
are queries on that sparse index, never scans of a ledger that grows for years.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from shared.aws.ledger_table import status_items
from shared.domain.engagement_ports import ApprovalRequest, ApprovalState, Decision
from shared.settings import LEDGER_STATUS_KEY, LEDGER_STATUS_SORT

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

AWAITING = "APPROVAL#awaiting"
_DECIDED = (ApprovalState.APPROVED, ApprovalState.REJECTED)


def _key(approval_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"APPROVAL#{approval_id}"}, "sk": {"S": "APPROVAL"}}


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None or "S" not in value else str(value["S"])


def _request_from(item: dict[str, Any]) -> ApprovalRequest:
    asked = ApprovalRequest.model_validate_json(item["request"]["S"])
    # An attribute beside the request wins; an item written before they existed kept all in `request`.
    return asked.model_copy(
        update={
            "state": ApprovalState(item["state"]["S"]),
            "decided_by": _text(item, "decided_by") or asked.decided_by,
            "reason": _text(item, "reason") or asked.reason,
            "decided_at": _moment(item, "decided_at") or asked.decided_at,
            "delivered_at": _moment(item, "delivered_at") or asked.delivered_at,
            "reminded_at": _moment(item, "reminded_at") or asked.reminded_at,
        }
    )


def _moment(item: dict[str, Any], name: str) -> datetime | None:
    text = _text(item, name)
    return datetime.fromisoformat(text) if text else None


class DynamoApprovals:
    """`ApprovalStore` port on the ledger table."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client: DynamoDBClient = client or boto3.client("dynamodb")

    def put(self, request: ApprovalRequest) -> None:
        item: dict[str, Any] = {
            **_key(request.id),
            "state": {"S": request.state.value},
            "request": {"S": request.model_dump_json()},
        }
        for name in ("decided_by", "reason"):
            if getattr(request, name) is not None:
                item[name] = {"S": getattr(request, name)}
        for name in ("decided_at", "delivered_at", "reminded_at"):
            if getattr(request, name) is not None:
                item[name] = {"S": getattr(request, name).isoformat()}
        if request.state is ApprovalState.PENDING:
            item[LEDGER_STATUS_KEY] = {"S": AWAITING}
            item[LEDGER_STATUS_SORT] = {"S": f"{request.requested_at.isoformat()}#{request.id}"}
        self._client.put_item(TableName=self._table, Item=item)

    def get(self, approval_id: str) -> ApprovalRequest | None:
        item = self._client.get_item(TableName=self._table, Key=_key(approval_id), ConsistentRead=True).get(
            "Item"
        )
        return _request_from(item) if item else None

    def _awaiting(self) -> list[ApprovalRequest]:
        return [_request_from(item) for item in status_items(self._client, self._table, AWAITING)]

    def pending(self) -> list[ApprovalRequest]:
        return [r for r in self._awaiting() if r.state is ApprovalState.PENDING]

    def undelivered(self) -> list[ApprovalRequest]:
        return [r for r in self._awaiting() if r.state in _DECIDED and r.delivered_at is None]

    def _update(self, approval_id: str, **kwargs: Any) -> bool:
        """One conditional update_item; False when its condition does not hold."""
        try:
            self._client.update_item(TableName=self._table, Key=_key(approval_id), **kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def decide(self, approval_id: str, decision: Decision) -> bool:
        # The whole race is this condition: of concurrent decisions exactly one finds it pending.
        values: dict[str, Any] = {
            ":decided": {"S": decision.state.value},
            ":pending": {"S": ApprovalState.PENDING.value},
            ":by": {"S": decision.by},
            ":at": {"S": decision.at.isoformat()},
            ":until": {"N": str(int(decision.deliver_until.timestamp()))},
        }
        update = "SET #s = :decided, decided_by = :by, decided_at = :at, deliver_until = :until"
        if decision.reason is not None:
            update += ", reason = :why"
            values[":why"] = {"S": decision.reason}
        return self._update(
            approval_id,
            UpdateExpression=update,
            ConditionExpression="#s = :pending",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues=values,
        )

    def claim_delivery(self, approval_id: str, *, now: datetime, until: datetime) -> bool:
        return self._update(
            approval_id,
            UpdateExpression="SET deliver_until = :until",
            ConditionExpression=(
                "#s IN (:approved, :rejected) AND attribute_not_exists(delivered_at) AND deliver_until < :now"
            ),
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":approved": {"S": ApprovalState.APPROVED.value},
                ":rejected": {"S": ApprovalState.REJECTED.value},
                ":now": {"N": str(int(now.timestamp()))},
                ":until": {"N": str(int(until.timestamp()))},
            },
        )

    def release_delivery(self, approval_id: str) -> None:
        self._update(
            approval_id,
            UpdateExpression="SET deliver_until = :zero",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(delivered_at)",
            ExpressionAttributeValues={":zero": {"N": "0"}},
        )

    def delivered(self, approval_id: str, *, at: datetime) -> None:
        self._update(
            approval_id,
            UpdateExpression="SET delivered_at = :at REMOVE #k, #t",
            ConditionExpression="#s IN (:approved, :rejected)",
            ExpressionAttributeNames={"#s": "state", "#k": LEDGER_STATUS_KEY, "#t": LEDGER_STATUS_SORT},
            ExpressionAttributeValues={
                ":at": {"S": at.isoformat()},
                ":approved": {"S": ApprovalState.APPROVED.value},
                ":rejected": {"S": ApprovalState.REJECTED.value},
            },
        )

    def time_out(self, approval_id: str) -> bool:
        return self._update(
            approval_id,
            UpdateExpression="SET #s = :timed_out REMOVE #k, #t",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#s": "state", "#k": LEDGER_STATUS_KEY, "#t": LEDGER_STATUS_SORT},
            ExpressionAttributeValues={":timed_out": {"S": ApprovalState.TIMED_OUT.value}},
        )

    def reminded(self, approval_id: str, *, at: datetime) -> None:
        self._update(
            approval_id,
            UpdateExpression="SET reminded_at = :at",
            ConditionExpression="#s = :pending",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":at": {"S": at.isoformat()},
                ":pending": {"S": ApprovalState.PENDING.value},
            },
        )
