"""DynamoDB on moto made atomic per request, as DynamoDB is: one lock around each request.

DynamoDB checks a write's condition and applies the write as one step, so of concurrent conditional
writes on one item exactly one succeeds (the approval race, notice claims and leases rely on it).
moto checks the condition and then writes, unlocked: two threads of the local API or of the pollers
can both pass. Measured here: twelve concurrent `decide` calls on moto 5.2 recorded several winners.
The lock spans the whole request, answer included: moto's `get_item` hands back the stored item and
turns it into JSON after the backend call, so a lock on the backend alone let a concurrent update
change the item mid-copy ("dictionary changed size during iteration", seen in CI).
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler

_LOCK = threading.RLock()
# Reads too: moto mutates an item in place while updating it, so an unlocked read could see half.
OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "transact_write_items",
    "batch_write_item",
)
_MARK = "__close2cash_atomic__"


def _atomic(operation: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(operation)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return operation(*args, **kwargs)

    setattr(locked, _MARK, True)
    return locked


def _wrap(owner: type, name: str) -> None:
    current = getattr(owner, name)
    if not getattr(current, _MARK, False):
        setattr(owner, name, _atomic(current))


def install() -> None:
    """Wrap each DynamoDB request, and the item operations under it, in one lock (idempotent)."""
    _wrap(DynamoHandler, "call_action")
    for name in OPERATIONS:
        _wrap(DynamoDBBackend, name)


def installed() -> bool:
    wrapped = [DynamoHandler.call_action] + [getattr(DynamoDBBackend, n) for n in OPERATIONS]
    return all(getattr(operation, _MARK, False) for operation in wrapped)
