"""DynamoDB's batch calls with what AWS asks of their callers: unprocessed keys and items asked again
after a full-jitter exponential backoff, a TransientError when they stay unprocessed.
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from shared.domain.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger(__name__)

# DynamoDB's limit per call: 100 keys per BatchGetItem.
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
MAX_BATCH_GET = 100
# 25 put or delete requests per BatchWriteItem.
MAX_BATCH_WRITE = 25
# Unprocessed keys/items (a partition throttled) are asked again with full-jitter exponential backoff,
# as AWS asks: "we strongly recommend that you use an exponential backoff algorithm" (pages above).
ATTEMPTS = 8
BASE_DELAY = 0.05
MAX_DELAY = 2.0


class _Unprocessed(Exception):
    """DynamoDB left part of a batch call undone: ask again for `rest`, after a backoff."""

    def __init__(self, rest: dict[str, Any]) -> None:
        super().__init__("unprocessed")
        self.rest = rest


def _retrying(what: str) -> Retrying:
    return Retrying(
        retry=retry_if_exception_type(_Unprocessed),
        wait=wait_random_exponential(multiplier=BASE_DELAY, max=MAX_DELAY),
        stop=stop_after_attempt(ATTEMPTS),
        reraise=True,
        before_sleep=lambda state: logger.info(
            "%s: attempt %d incomplete, again", what, state.attempt_number
        ),
    )


def batch_get(client: DynamoDBClient, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of `keys` (at most 100) that exist, strongly consistent, unprocessed keys asked again."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
    try:
        for attempt in _retrying("BatchGetItem"):
            with attempt:
                answer = client.batch_get_item(RequestItems=request)
                items += answer.get("Responses", {}).get(table, [])
                rest = dict(answer.get("UnprocessedKeys") or {})
                if rest:
                    request = rest
                    raise _Unprocessed(rest)
    except _Unprocessed as exhausted:
        left = len(exhausted.rest.get(table, {}).get("Keys", []))
        raise TransientError(f"BatchGetItem: {left} keys unprocessed after {ATTEMPTS} attempts") from None
    return items


def batch_write(client: DynamoDBClient, table: str, items: list[dict[str, Any]]) -> None:
    """Put `items` (at most 25), unprocessed items written again."""
    request: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in items]}
    try:
        for attempt in _retrying("BatchWriteItem"):
            with attempt:
                answer = client.batch_write_item(RequestItems=request)
                rest = dict(answer.get("UnprocessedItems") or {})
                if rest:
                    request = rest
                    raise _Unprocessed(rest)
    except _Unprocessed as exhausted:
        left = len(exhausted.rest.get(table, []))
        raise TransientError(f"BatchWriteItem: {left} items unprocessed after {ATTEMPTS} attempts") from None
