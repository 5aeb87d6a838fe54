"""Landed event ids on the idempotency table (moto): a second claim of an id finds it landed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from infra.local.provision import table_spec
from infra.wiring import IDEMPOTENCY
from shared.aws.landed import MARK_DAYS, DynamoLandedIds

TABLE = "close2cash-idempotency"


@pytest.fixture
def client() -> Iterator[object]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        # The idempotency table as the wiring declares it (pk/sk, TTL `expiration`).
        dynamodb.create_table(TableName=TABLE, **table_spec(IDEMPOTENCY))
        yield dynamodb


def test_each_id_is_claimed_once_in_batches(client: object) -> None:
    landed = DynamoLandedIds(TABLE, client=client)  # type: ignore[arg-type]
    first = [f"e-{n}" for n in range(130)]
    # When 130 ids are claimed, then 130 again of which 30 are new
    assert landed.claim(first) == set(first)
    calls = landed.calls
    again = landed.claim([*first[30:], *(f"f-{n}" for n in range(30))])
    # Then the first claim takes them all, the second only the new ones
    assert again == {f"f-{n}" for n in range(30)}
    # and the first claim cost 2 reads (100 + 30) and 6 writes (25 each), not one call per id
    assert calls == 2 + 6


def test_a_mark_expires_after_the_archive_could_replay_it(client: object) -> None:
    now = datetime(2026, 12, 3, tzinfo=UTC)
    DynamoLandedIds(TABLE, client=client).claim(["e-1"], now=now)  # type: ignore[arg-type]
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": "LANDED#e-1"}, "sk": {"S": "landed"}})["Item"]  # type: ignore[attr-defined]
    assert int(item["expiration"]["N"]) == int(now.timestamp()) + MARK_DAYS * 86400
