"""A cutover's acknowledgements and its confirmation on the ledger table (`CutoverBook` port).

Items (pk / sk), beside the ledger's own:
- `CUTOVER#<legal entity>#<new system>` / `ACK#<line id>`: a person accepted one line of the
  shadow diff (who, when, the note);
- `CUTOVER#<legal entity>#<new system>` / `CONFIRMED`: the go-ahead, written once (a conditional
  put: two people confirming at once record one confirmation).

One cutover's items share a partition, so its acknowledgements are one Query, never a scan.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from shared.domain.cutover import Acknowledgement, Confirmation
from shared.domain.models import SystemName

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

ACK = "ACK#"
CONFIRMED = "CONFIRMED"


def _partition(legal_entity: str, new: SystemName) -> dict[str, str]:
    return {"S": f"CUTOVER#{legal_entity}#{new}"}


class DynamoCutovers:
    """`CutoverBook` on the ledger table."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client: DynamoDBClient = client or boto3.client("dynamodb")

    def acknowledgements(self, legal_entity: str, new: SystemName) -> dict[str, Acknowledgement]:
        """Every acknowledged line of the cutover: one Query of its partition (pages of 1 MB).
        https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html
        """
        found: dict[str, Acknowledgement] = {}
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :ack)",
            "ExpressionAttributeValues": {":pk": _partition(legal_entity, new), ":ack": {"S": ACK}},
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**request)
            for item in page.get("Items", []):
                found[item["sk"]["S"].removeprefix(ACK)] = Acknowledgement.model_validate_json(
                    item["body"]["S"]
                )
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def acknowledge(self, legal_entity: str, new: SystemName, line_id: str, nod: Acknowledgement) -> None:
        """https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html"""
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": _partition(legal_entity, new),
                "sk": {"S": f"{ACK}{line_id}"},
                "body": {"S": nod.model_dump_json()},
            },
        )

    def confirmation(self, legal_entity: str, new: SystemName) -> Confirmation | None:
        """https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html"""
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": _partition(legal_entity, new), "sk": {"S": CONFIRMED}},
            ConsistentRead=True,
        ).get("Item")
        return Confirmation.model_validate(json.loads(item["body"]["S"])) if item else None

    def confirm(self, legal_entity: str, new: SystemName, confirmation: Confirmation) -> bool:
        """Written once (attribute_not_exists): False when the cutover was confirmed already."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": _partition(legal_entity, new),
                    "sk": {"S": CONFIRMED},
                    "body": {"S": confirmation.model_dump_json()},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
