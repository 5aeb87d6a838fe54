"""Rate budgets in DynamoDB: one item per vendor tenant, shared by every Lambda container and flow.

Item `BUDGET#<vendor>#<tenant>` / `BUDGET` on the ledger table holds one theoretical arrival time
per published limit (the GCRA of `shared.domain.budgets`), the limits' signature, a version and,
after a vendor throttled a request, the time its hold ends (`held_until`).
Taking a slot computes the next slot from the item and writes it back on condition that the version
is still the one it was computed from; a caller who lost the race retries from the item as it is,
so two containers can never hand out the same slot. Each container remembers the item as it last
wrote it, so a slot costs one conditional put and no read: when another container wrote since, the
put is refused and the refusal carries the current item (ReturnValuesOnConditionCheckFailure), which
the retry starts from. Only a container's first slot reads the item (strongly consistent).
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html
A hold is written the same way (read, extend, conditional put), so it survives the race with takers
and with other holds: a taker who computed its slot before the hold loses its write and gets the
hold with the refusal; a shorter hold never replaces a longer one, because each writer extends
what it read.

Why the ledger table: every function that calls a vendor is already granted it (no new table, no
new grant in the wiring), the items are few (one per connected tenant), tiny and expire by TTL when
idle, and the write rate of one item is the vendor's own rate (a few per second), far below what
one DynamoDB partition takes (1,000 writes/s,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from shared.domain.budgets import RateLimit, bands_of, extended_hold, reserve, signature, too_far
from shared.domain.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# A lost race costs one read and one write; this many in a row means something else is wrong.
MAX_RACES = 50
# Idle budgets disappear (TTL) this long after their longest window has passed.
IDLE_SECONDS = 86_400


def wall_time() -> float:
    """Epoch seconds, every container's common time (Lambda hosts keep NTP time).

    Budgets built without a clock look this name up when built, so the local runtime can point it
    at its virtual clock (SQS redelivery and the sandboxes count in that time, and a hold must end
    when they say it has).
    """
    return time.time()


# What the item says: its TATs (None: none for these limits), its version and the hold's end.
_State = tuple[tuple[float, ...] | None, int | None, float | None]


def budget_key(vendor: str, tenant: str) -> dict[str, Any]:
    """The item's key: one budget per vendor and tenant (realm, organization, org id)."""
    return {"pk": {"S": f"BUDGET#{vendor}#{tenant}"}, "sk": {"S": "BUDGET"}}


class DynamoBudget:
    """One vendor tenant's budget in DynamoDB (`RateBudget` port)."""

    def __init__(
        self,
        vendor: str,
        tenant: str,
        limits: Sequence[RateLimit],
        *,
        table_name: str,
        client: DynamoDBClient,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.vendor = vendor
        self.tenant = tenant
        self._bands = bands_of(limits)
        self._signature = signature(limits)
        self._longest = max(limit.seconds for limit in limits)
        self._table = table_name
        self._client = client
        # Wall-clock time: every container must agree on it (Lambda hosts keep NTP time).
        self._clock = clock or wall_time
        self.races = 0  # conditional writes lost to another taker (then retried)
        self._known: _State | None = None  # the item as this container last wrote it

    def _read(self) -> _State:
        """The stored TATs (None: none for these limits), the version and the hold's end."""
        item = self._client.get_item(
            TableName=self._table, Key=budget_key(self.vendor, self.tenant), ConsistentRead=True
        ).get("Item")
        return self._state_of(item)

    def _state_of(self, item: Mapping[str, Any] | None) -> _State:
        if item is None:
            return None, None, None
        version = int(item["version"]["N"])
        held = item.get("held_until")
        held_until = float(held["N"]) if held is not None else None
        if item.get("limits", {}).get("S") != self._signature:
            # Other limits (a new release): start afresh, keep the version chain and the vendor's hold.
            return None, version, held_until
        return tuple(float(value["N"]) for value in item["tat"]["L"]), version, held_until

    def _write(
        self, tats: Sequence[float], version: int | None, now: float, held_until: float | None
    ) -> _State | None:
        """Store `tats` and the hold unless someone wrote since `version`: None when stored, else the
        item as it now is (the race was lost; the refusal carries it)."""
        hold = {} if held_until is None else {"held_until": {"N": str(Decimal(repr(held_until)))}}
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **budget_key(self.vendor, self.tenant),
                    "tat": {"L": [{"N": str(Decimal(repr(tat)))} for tat in tats]},
                    "limits": {"S": self._signature},
                    "version": {"N": str((version or 0) + 1)},
                    **hold,
                    "expires_at": {"N": str(int(max(now, held_until or now) + self._longest + IDLE_SECONDS))},
                },
                # Nobody wrote since the read: the item is still absent, or still at the version read
                # (-1 when it was absent: no stored item has that version).
                ConditionExpression="attribute_not_exists(pk) OR version = :seen",
                ExpressionAttributeValues={":seen": {"N": str(-1 if version is None else version)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                # The item as it is, sent back because of ALL_OLD (read it when a service omits it).
                current = dict(exc.response).get("Item")
                return self._state_of(current) if isinstance(current, Mapping) else self._read()
            raise
        self._known = (tuple(tats), (version or 0) + 1, held_until)
        return None

    def reserve(self, *, max_wait: float) -> float:
        """Reserve the next slot for every container; returns the seconds to wait for it.

        Raises RateLimitedError (retry_after = the wait) without reserving when the slot is more
        than `max_wait` away, so a full budget delays the message instead of holding a Lambda.
        """
        state, fresh = (self._known, False) if self._known is not None else (self._read(), True)
        for _ in range(MAX_RACES):
            tats, version, held_until = state
            now = self._clock()
            start, updated = reserve(tats, self._bands, now, held_until)
            wait = start - now
            if wait > max_wait:
                if not fresh:
                    # Remembered, not read: make sure the budget really is that full (an idle
                    # item may have expired meanwhile) before sending the work back to its queue.
                    state, fresh = self._read(), True
                    continue
                raise too_far(self.vendor, self.tenant, wait)
            current = self._write(updated, version, now, held_until)
            if current is None:
                return max(0.0, wait)
            state, fresh = current, True
            self.races += 1
        raise TransientError(f"{self.vendor}: budget of {self.tenant} lost {MAX_RACES} races in a row")

    def hold(self, seconds: float) -> None:
        """Hand out no slot to any container for `seconds` from now (or longer, if a longer hold is on)."""
        for _ in range(MAX_RACES):
            tats, version, held_until = self._read()
            now = self._clock()
            extended = extended_hold(held_until, now, seconds)
            if extended == held_until:
                return  # a hold at least as long is already on: nothing to write
            # Empty TATs (none stored yet) read back as "nothing taken", like an absent item.
            if self._write(tats or (), version, now, extended) is None:
                return
            self.races += 1
        raise TransientError(f"{self.vendor}: hold on {self.tenant} lost {MAX_RACES} races in a row")


class DynamoBudgets:
    """`RateBudgets` on the ledger table: the composition root hands it to every connector."""

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._table = table_name
        self._client: DynamoDBClient = client or boto3.client("dynamodb")
        self._clock = clock

    def budget(self, vendor: str, tenant: str, limits: Sequence[RateLimit]) -> DynamoBudget:
        return DynamoBudget(
            vendor, tenant, limits, table_name=self._table, client=self._client, clock=self._clock
        )
