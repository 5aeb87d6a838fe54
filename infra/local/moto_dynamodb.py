"""DynamoDB on moto at a cost per request that does not grow with the table (moto 5.2.5).

Two of moto's DynamoDB paths cost the whole table on every call, so the local runtime slowed and
swelled with each account it synced (13.4 GB and 1.7 s per account at 500 accounts):
- `TransactWriteItems` deep-copies every table it touches before it starts, to roll back on failure.
  Here the transaction keeps a journal instead: a copy of each item it is about to write, put back
  in reverse order if any part fails. What DynamoDB promises stays: all or nothing, each part's
  condition checked, `TransactionCanceledException` with one reason per part in order, and a
  validation error (two parts on one item, a bad key) raised as such after undoing what was written.
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
- `Query` on a table's key walks every item of the table to find one partition. Here it reads the
  partition alone (an index query still walks the table: moto keeps no index of its own).
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.html

Nothing here changes what the hub does in AWS: only the local runtime's moto is patched
(infra/local/moto_patches.py lists these internals and checks them before patching).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

# DynamoDB's documented limit of actions in one TransactWriteItems call.
MAX_TRANSACT_ITEMS = 100
OPERATIONS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})


@dataclass
class _Journal:
    """What a transaction wrote, to be put back: the prior copy of each item, in write order."""

    before: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = field(default_factory=list)
    stream_lengths: dict[int, tuple[Table, int]] = field(default_factory=dict)

    def remember(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        current = table.get_item(hash_key, range_key)
        # An update changes the stored item in place, so the journal keeps a copy, not the object.
        self.before.append((table, hash_key, range_key, copy.deepcopy(current)))
        if table.stream_shard is not None and id(table) not in self.stream_lengths:
            self.stream_lengths[id(table)] = (table, len(table.stream_shard.items))

    def undo(self) -> None:
        for table, hash_key, range_key, item in reversed(self.before):
            if range_key is None:
                partition: dict[Any, Any] = table.items
                key: Any = hash_key
            else:
                partition = table.items[hash_key]
                key = range_key
            if item is None:
                partition.pop(key, None)
            else:
                partition[key] = item
        # The stream records of writes that never happened go too, as the whole-table copy had it.
        for table, length in self.stream_lengths.values():
            if table.stream_shard is not None:
                del table.stream_shard.items[length:]
        self.before.clear()


def _put_key(table: Table, attrs: dict[str, Any]) -> dict[str, Any]:
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    condition: dict[str, Any] = {
        "condition_expression": op.get("ConditionExpression"),
        "expression_attribute_names": op.get("ExpressionAttributeNames"),
        "expression_attribute_values": op.get("ExpressionAttributeValues"),
    }
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"], **condition)
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key, **condition)
    elif op_type == "Update":
        backend.update_item(op["TableName"], key, update_expression=op["UpdateExpression"], **condition)


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's TransactWriteItems, part for part, with a journal in place of table copies."""
    if len(transact_items) > MAX_TRANSACT_ITEMS:
        raise TooManyTransactionsException()
    journal = _Journal()
    targets: set[tuple[str, str]] = set()
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for part in transact_items:
        if len(part) > 1:
            # A malformed request writes nothing in DynamoDB (moto raised it with earlier parts applied).
            journal.undo()
            raise TransactWriteSingleOpException
        old_item: dict[str, Any] | None = None
        try:
            op_type, op = next(iter(part.items()))
            if op_type not in OPERATIONS:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            key = _put_key(self.get_table(table_name), op["Item"]) if op_type == "Put" else op["Key"]
            target = (str(table_name), str(dict(sorted(key.items()))))
            if target in targets:
                raise MultipleTransactionsException()
            targets.add(target)
            current = self.get_item(table_name, key)
            expression = op.get("ConditionExpression")
            if expression is not None:
                condition = get_filter_expression(
                    expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                if not condition.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        old_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=old_item)
            if op_type != "ConditionCheck":
                table = self.get_table(table_name)
                journal.remember(table, *self.get_keys_value(table, key))
                _apply(self, op_type, op, key)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            journal.undo()
            raise
        except ConditionalCheckFailed as failed:
            errors.append(("ConditionalCheckFailed", str(failed.message), old_item))
        except Exception as error:  # moto reports any other failure as that part's reason
            errors.append((type(error).__name__, str(error), old_item))
    if any(code is not None for code, _, _ in errors):
        journal.undo()
        raise TransactionCanceledException(errors)


class _Partition:
    """A table seen as one partition: `all_items` yields only the items under one hash key."""

    def __init__(self, table: Table, hash_key: DynamoType) -> None:
        self._table = table
        self._hash_key = hash_key

    def all_items(self) -> list[Item]:
        found: Any = self._table.items.get(self._hash_key)
        if found is None:
            return []
        if self._table.range_key_attr:
            return list(found.values())
        return [found]  # a table without a range key keeps one item per hash key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


_MOTO_QUERY: Callable[..., Any] = Table.query


def partition_query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
    """moto's `Table.query`, reading only the queried partition when no index is named."""
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if index_name or hash_key is None:
        return _MOTO_QUERY(self, hash_key, *args, **kwargs)
    return _MOTO_QUERY(_Partition(self, hash_key), hash_key, *args, **kwargs)
