"""The ledger's leases (one worker at a time per record) and sweep cursors (where a sweep left off).

`LEASE#<name>` / `LEASE` and `CURSOR#<name>` / `CURSOR`.
"""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from shared.aws.ledger_table import LedgerTable, get_s


class LeasesAndCursors(LedgerTable):
    """Leases that expire on their own, and named cursors."""

    def acquire_lease(self, name: str, owner: str, seconds: int) -> bool:
        now = int(time.time())
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"LEASE#{name}"},
                    "sk": {"S": "LEASE"},
                    "owner": {"S": owner},
                    "lease_until": {"N": str(now + seconds)},
                    "expires_at": {"N": str(now + seconds + 3600)},
                },
                ConditionExpression="attribute_not_exists(pk) OR lease_until < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_lease(self, name: str, owner: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"LEASE#{name}"}, "sk": {"S": "LEASE"}},
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # --- sweep cursors ----------------------------------------------------------------------

    def cursor(self, name: str) -> str | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"CURSOR#{name}"}, "sk": {"S": "CURSOR"}},
            ConsistentRead=True,
        ).get("Item")
        return get_s(item, "value") if item else None

    def set_cursor(self, name: str, value: str) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={"pk": {"S": f"CURSOR#{name}"}, "sk": {"S": "CURSOR"}, "value": {"S": value}},
        )
