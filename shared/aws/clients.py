"""boto3 clients the composition root shares between adapters (each new client costs a cold start)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def dynamodb() -> DynamoDBClient:
    """A DynamoDB client from the environment (region, endpoint); thread-safe, so one serves many."""
    return boto3.client("dynamodb")
