"""Approval requests on the ledger table: `APPROVAL#<id>` / `APPROVAL`, the request as JSON.

A request carries its task token, so the item is the only place the token lives outside Step
Functions; the approval routes read it there and never show it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3

from shared.domain.ports import ApprovalRequest, ApprovalState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class DynamoApprovals:
    """`ApprovalStore` port on the ledger table."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client: DynamoDBClient = client or boto3.client("dynamodb")

    def put(self, request: ApprovalRequest) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"APPROVAL#{request.id}"},
                "sk": {"S": "APPROVAL"},
                "state": {"S": request.state.value},
                "request": {"S": request.model_dump_json()},
            },
        )

    def get(self, approval_id: str) -> ApprovalRequest | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"APPROVAL#{approval_id}"}, "sk": {"S": "APPROVAL"}},
            ConsistentRead=True,
        ).get("Item")
        return ApprovalRequest.model_validate_json(item["request"]["S"]) if item else None

    def pending(self) -> list[ApprovalRequest]:
        # A scan: pending approvals are a handful at any time, read by people and an hourly reminder.
        found: list[ApprovalRequest] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(pk, :p) AND #s = :pending",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": {
                ":p": {"S": "APPROVAL#"},
                ":pending": {"S": ApprovalState.PENDING.value},
            },
        }
        while True:
            page = self._client.scan(**kwargs)
            found.extend(
                ApprovalRequest.model_validate_json(i["request"]["S"]) for i in page.get("Items", [])
            )
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
