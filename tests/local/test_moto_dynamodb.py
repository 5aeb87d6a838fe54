"""The local runtime's DynamoDB: transactions all-or-nothing without copying tables; queries per partition."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table

from infra.local import moto_atomic, moto_patches
from infra.local.clock import Clock
from infra.local.moto_patches import Invoker

TABLE = "ledger"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """moto with the local runtime's patches, and one pk/sk table."""
    moto_patches.install(Invoker(()), Clock())
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(
                TableName=TABLE,
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                    {"AttributeName": "state", "AttributeType": "S"},
                ],
                GlobalSecondaryIndexes=[
                    {
                        "IndexName": "by-state",
                        "KeySchema": [
                            {"AttributeName": "state", "KeyType": "HASH"},
                            {"AttributeName": "sk", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            yield client
    finally:
        moto_patches.uninstall()


def _put(client: Any, pk: str, sk: str, **attrs: str) -> None:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attrs.items()}}
    client.put_item(TableName=TABLE, Item=item)


def _get(client: Any, pk: str, sk: str) -> dict[str, str] | None:
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
    found = item.get("Item")
    return None if found is None else {k: v["S"] for k, v in found.items()}


def _update(pk: str, sk: str, value: str, condition: str | None = None) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": TABLE,
        "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
        "UpdateExpression": "SET v = :v",
        "ExpressionAttributeValues": {":v": {"S": value}},
    }
    if condition:
        update["ConditionExpression"] = condition
    return {"Update": update}


def _new(pk: str, sk: str, value: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": TABLE,
            "Item": {"pk": {"S": pk}, "sk": {"S": sk}, "v": {"S": value}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _refused(client: Any, *parts: dict[str, Any]) -> dict[str, Any]:
    """The error DynamoDB answers a transaction that must not go through."""
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=list(parts))
    response: dict[str, Any] = raised.value.response
    return response


def test_a_transaction_applies_every_part_when_all_conditions_hold(dynamodb: Any) -> None:
    # given one stored item
    _put(dynamodb, "ACCOUNT#1", "XREF", v="old")
    # when a transaction updates it and creates another
    dynamodb.transact_write_items(
        TransactItems=[_update("ACCOUNT#1", "XREF", "new"), _new("ACCOUNT#2", "XREF", "two")]
    )
    # then both writes are there
    assert _get(dynamodb, "ACCOUNT#1", "XREF") == {"pk": "ACCOUNT#1", "sk": "XREF", "v": "new"}
    assert _get(dynamodb, "ACCOUNT#2", "XREF") == {"pk": "ACCOUNT#2", "sk": "XREF", "v": "two"}


def test_a_failed_condition_cancels_the_whole_transaction_with_a_reason_per_part(dynamodb: Any) -> None:
    # given an item to update, and one that already exists where the transaction creates one
    _put(dynamodb, "ACCOUNT#1", "XREF", v="old")
    _put(dynamodb, "ACCOUNT#3", "XREF", v="taken")
    # when the first two parts would succeed and the third's condition fails
    error = _refused(
        dynamodb,
        _update("ACCOUNT#1", "XREF", "new"),
        _new("ACCOUNT#2", "XREF", "two"),
        _new("ACCOUNT#3", "XREF", "three"),
    )
    # then DynamoDB's cancellation names the failing part, and nothing was written
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in error["CancellationReasons"]] == [
        "None",
        "None",
        "ConditionalCheckFailed",
    ]
    assert _get(dynamodb, "ACCOUNT#1", "XREF") == {"pk": "ACCOUNT#1", "sk": "XREF", "v": "old"}
    assert _get(dynamodb, "ACCOUNT#2", "XREF") is None
    assert _get(dynamodb, "ACCOUNT#3", "XREF") == {"pk": "ACCOUNT#3", "sk": "XREF", "v": "taken"}


def test_two_parts_on_one_item_are_refused_and_undo_what_came_before(dynamodb: Any) -> None:
    # given a stored item
    _put(dynamodb, "ACCOUNT#1", "XREF", v="old")
    parts = [_new("ACCOUNT#2", "XREF", "two"), *(_update("ACCOUNT#1", "XREF", v) for v in "ab")]
    # when a transaction writes another item, then the same item twice,
    # then it is a validation error, as in DynamoDB, and the first part's item is gone again
    assert _refused(dynamodb, *parts)["Error"]["Code"] == "ValidationException"
    stored = [_get(dynamodb, pk, "XREF") for pk in ("ACCOUNT#1", "ACCOUNT#2")]
    assert stored == [{"pk": "ACCOUNT#1", "sk": "XREF", "v": "old"}, None]


def test_a_cancelled_delete_puts_the_item_back(dynamodb: Any) -> None:
    # given two stored items
    _put(dynamodb, "ACCOUNT#1", "XREF", v="keep")
    _put(dynamodb, "ACCOUNT#2", "XREF", v="other")
    delete = {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "ACCOUNT#1"}, "sk": {"S": "XREF"}}}}
    # when a transaction deletes one and its other part's condition fails
    _refused(dynamodb, delete, _update("ACCOUNT#2", "XREF", "x", condition="v = :v"))
    # then the deleted item is back as it was
    assert _get(dynamodb, "ACCOUNT#1", "XREF") == {"pk": "ACCOUNT#1", "sk": "XREF", "v": "keep"}
    assert _get(dynamodb, "ACCOUNT#2", "XREF") == {"pk": "ACCOUNT#2", "sk": "XREF", "v": "other"}


def test_a_transaction_copies_the_items_it_writes_not_the_table(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a ledger of 300 items
    for n in range(300):
        _put(dynamodb, f"ACCOUNT#{n}", "XREF", v="x")
    copies = []
    original = Item.__deepcopy__
    monkeypatch.setattr(Item, "__deepcopy__", lambda self, memo: copies.append(1) or original(self, memo))
    # when one transaction writes two items
    dynamodb.transact_write_items(
        TransactItems=[_update("ACCOUNT#1", "XREF", "y"), _new("ACCOUNT#X", "XREF", "z")]
    )
    # then at most those two items were copied (moto copied all 300, so memory grew with the ledger)
    assert len(copies) <= 2


def test_a_key_query_pages_through_its_own_partition_only(dynamodb: Any) -> None:
    # given items in three partitions, five in the one asked for
    for pk in ("ACCOUNT#1", "ACCOUNT#2", "ACCOUNT#3"):
        for n in range(5):
            _put(dynamodb, pk, f"EVENT#{n}", state="open" if n % 2 else "closed")
    # when it is queried newest first, two at a time
    seen: list[str] = []
    kwargs: dict[str, Any] = {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :e)",
        "ExpressionAttributeValues": {":pk": {"S": "ACCOUNT#2"}, ":e": {"S": "EVENT#"}},
        "ScanIndexForward": False,
        "Limit": 2,
    }
    while True:
        page = dynamodb.query(**kwargs)
        seen += [f"{item['pk']['S']} {item['sk']['S']}" for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    # then it gets exactly that partition's items, in order
    assert seen == [f"ACCOUNT#2 EVENT#{n}" for n in (4, 3, 2, 1, 0)]
    # and an index query still finds items across partitions
    index = dynamodb.query(
        TableName=TABLE,
        IndexName="by-state",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":s": {"S": "open"}},
    )
    assert index["Count"] == 6


def test_the_journaled_transaction_holds_the_request_lock(dynamodb: Any) -> None:
    # the replacement is wrapped like every other DynamoDB operation (infra/local/moto_atomic.py)
    assert moto_atomic.installed()


def test_a_key_query_does_not_walk_the_whole_table(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:

    # given a table with items in several partitions
    for n in range(20):
        _put(dynamodb, f"ACCOUNT#{n}", "XREF", v="x")

    def whole_table(self: Table) -> list[Item]:
        raise AssertionError("a key query walked every item of the table")

    monkeypatch.setattr(Table, "all_items", whole_table)
    # when one partition is queried, then only it is read (moto walked all items for each query)
    page = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "ACCOUNT#7"}},
    )
    assert [item["pk"]["S"] for item in page["Items"]] == ["ACCOUNT#7"]


def test_a_part_with_two_actions_is_refused_and_writes_nothing(dynamodb: Any) -> None:
    # given a transaction whose second part both puts and deletes
    both = {
        **_new("ACCOUNT#9", "XREF", "x"),
        "Delete": {"TableName": TABLE, "Key": {"pk": {"S": "A"}, "sk": {"S": "B"}}},
    }
    # when it is sent, then it is refused and its first part is not there either
    assert (
        _refused(dynamodb, _new("ACCOUNT#8", "XREF", "eight"), both)["Error"]["Code"] == "ValidationException"
    )
    assert _get(dynamodb, "ACCOUNT#8", "XREF") is None
