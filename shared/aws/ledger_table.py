"""What every part of the DynamoDB ledger shares: the table, attribute helpers, the status index."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3

from shared.settings import LEDGER_STATUS_INDEX, LEDGER_STATUS_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def s_value(value: str | None) -> dict[str, Any]:
    """A string attribute, or NULL for None."""
    return {"S": value} if value is not None else {"NULL": True}


def get_s(item: dict[str, Any], key: str) -> str | None:
    """A string attribute of `item`; None when it is absent or NULL."""
    value = item.get(key)
    if value is None or "NULL" in value:
        return None
    return str(value["S"])


def query_pages(client: DynamoDBClient, table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a query matches, page by page (1 MB each)."""
    kwargs["TableName"] = table
    while True:
        page = client.query(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def status_items(client: DynamoDBClient, table: str, status: str) -> Iterator[dict[str, Any]]:
    """Every item of the ledger's status index under `status`, oldest first, page by page."""
    return query_pages(
        client,
        table,
        IndexName=LEDGER_STATUS_INDEX,
        KeyConditionExpression="#k = :status",
        ExpressionAttributeNames={"#k": LEDGER_STATUS_KEY},
        ExpressionAttributeValues={":status": {"S": status}},
    )


class LedgerTable:
    """The one DynamoDB table the ledger's parts read and write (single-table design, pk / sk)."""

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._client: DynamoDBClient = client or boto3.client("dynamodb")
        self._clock = clock  # epoch seconds; notice claims expire on it
