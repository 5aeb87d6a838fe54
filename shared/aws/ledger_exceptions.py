"""The ledger's exceptions desk: problems a person must act on, open until resolved.

`EXCEPTION#<id>` / `EXCEPTION`, listed from the status index (never a scan): an exception carries
`status_key` `EXCEPTION#open` or `EXCEPTION#resolved` and `status_at` `<opened at>#<id>`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.aws.ledger_table import LedgerTable, get_s, s_value, status_items
from shared.domain.ports import ExceptionRecord
from shared.settings import LEDGER_STATUS_KEY, LEDGER_STATUS_SORT

# What a reconciliation break adds to an exception: each side (JSON), the action, the money at stake.
DETAIL_KEYS = ("evidence", "action", "at_stake")


def _details(exception: ExceptionRecord) -> dict[str, dict[str, str]]:
    details: dict[str, dict[str, str]] = {}
    if exception.evidence:
        sides = [side.model_dump(mode="json", exclude_none=True) for side in exception.evidence]
        details["evidence"] = {"S": json.dumps(sides, separators=(",", ":"))}
    if exception.action:
        details["action"] = {"S": exception.action}
    if exception.at_stake is not None:
        details["at_stake"] = {"S": f"{exception.at_stake.amount} {exception.at_stake.currency}"}
    return details


EXCEPTION_OPEN = "EXCEPTION#open"
EXCEPTION_RESOLVED = "EXCEPTION#resolved"


class ExceptionDesk(LedgerTable):
    """Exceptions: opened once per problem, refreshed while open, resolved with a reason."""

    def record_exception(self, exception: ExceptionRecord) -> bool:
        item = {
            "pk": {"S": f"EXCEPTION#{exception.id}"},
            "sk": {"S": "EXCEPTION"},
            "kind": s_value(exception.kind),
            "entity": s_value(exception.entity.value),
            "subject": s_value(str(exception.subject)),
            "reason": s_value(exception.reason),
            "owner": s_value(exception.owner),
            "state": s_value(exception.state),
            "step": s_value(exception.step),
            "opened_at": s_value(exception.opened_at.isoformat()),
            **_details(exception),
            LEDGER_STATUS_KEY: {"S": EXCEPTION_OPEN},
            LEDGER_STATUS_SORT: {"S": f"{exception.opened_at.isoformat()}#{exception.id}"},
        }
        try:
            # The same problem reported twice stays one exception with its first opening time; one
            # that was resolved and comes back opens again.
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR #state <> :open",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":open": {"S": "open"}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def refresh_exception(self, exception: ExceptionRecord) -> bool:
        """An open exception's reason and evidence as they are now (the same problem, new figures);
        False when it is not open (resolved meanwhile: `record_exception` opens it again)."""
        details = _details(exception)
        names = {"#state": "state", "#reason": "reason", **{f"#{k}": k for k in details}}
        values: dict[str, Any] = {":open": {"S": "open"}, ":reason": s_value(exception.reason)}
        values.update({f":{k}": v for k, v in details.items()})
        sets = ["#reason = :reason", *(f"#{k} = :{k}" for k in details)]
        removed = [k for k in DETAIL_KEYS if k not in details]
        names.update({f"#{k}": k for k in removed})
        expression = (
            "SET " + ", ".join(sets) + (f" REMOVE {', '.join(f'#{k}' for k in removed)}" if removed else "")
        )
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"EXCEPTION#{exception.id}"}, "sk": {"S": "EXCEPTION"}},
                UpdateExpression=expression,
                ConditionExpression="#state = :open",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def resolve_exception(self, exception_id: str, *, resolution: str, at: datetime) -> datetime | None:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"EXCEPTION#{exception_id}"}, "sk": {"S": "EXCEPTION"}},
                UpdateExpression=(
                    "SET #state = :resolved, resolution = :why, resolved_at = :at, #status = :filed"
                ),
                ConditionExpression="#state = :open",
                ExpressionAttributeNames={"#state": "state", "#status": LEDGER_STATUS_KEY},
                ExpressionAttributeValues={
                    ":filed": {"S": EXCEPTION_RESOLVED},
                    ":resolved": {"S": "resolved"},
                    ":open": {"S": "open"},
                    ":why": {"S": resolution[:2000]},
                    ":at": {"S": at.isoformat()},
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return None
        opened = get_s(answer.get("Attributes", {}), "opened_at")
        return datetime.fromisoformat(opened) if opened else at

    def exception(self, exception_id: str) -> dict[str, str | None] | None:
        """One exception record by its id (open or resolved), or None."""
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"EXCEPTION#{exception_id}"}, "sk": {"S": "EXCEPTION"}},
            ConsistentRead=True,
        ).get("Item")
        return self._exception_from(item) if item else None

    def open_exceptions(self) -> list[dict[str, str | None]]:
        """The exceptions still open, oldest first: a query on the status index, never a scan."""
        return [
            self._exception_from(item) for item in status_items(self._client, self._table, EXCEPTION_OPEN)
        ]

    def exceptions(self) -> list[dict[str, str | None]]:
        """Every exception record, open then resolved, each oldest first (two paginated index queries)."""
        return [
            self._exception_from(item)
            for status in (EXCEPTION_OPEN, EXCEPTION_RESOLVED)
            for item in status_items(self._client, self._table, status)
        ]

    @staticmethod
    def _exception_from(item: dict[str, Any]) -> dict[str, str | None]:
        keys = (
            "kind",
            "subject",
            "reason",
            "owner",
            "step",
            "state",
            "opened_at",
            "resolution",
            "resolved_at",
            *DETAIL_KEYS,
        )
        record: dict[str, str | None] = {"id": (get_s(item, "pk") or "").removeprefix("EXCEPTION#")}
        return record | {k: get_s(item, k) for k in keys}
