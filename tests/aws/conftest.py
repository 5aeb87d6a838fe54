"""In-process moto with the hub's tables, as the wiring declares them (pk/sk string keys, indexes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local import moto_atomic
from infra.local.provision import table_spec
from infra.wiring import WIRING


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A DynamoDB client on moto with one table per wiring table, named by its logical name."""
    moto_atomic.install()  # conditional writes atomic, as in DynamoDB (infra/local/moto_atomic.py)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for table in WIRING.tables:
            client.create_table(TableName=table.name, **table_spec(table))
        yield client
