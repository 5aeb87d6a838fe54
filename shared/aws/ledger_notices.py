"""The ledger's notice log: each webhook notice claimed by one request, then marked published.

`NOTICE#<provider>#<realm>#<event id>` / `NOTICE`: received (with a claim that expires), then published.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from shared.aws.ledger_table import LedgerTable, get_s
from shared.domain.notices import ChangeNotice
from shared.domain.ports import NoticeClaim

NOTICE_RETENTION = timedelta(days=35)  # longer than any vendor's redelivery window (QBO, Productive)
# How long a notice's claim keeps concurrent deliveries out while its holder publishes it. Longer than
# the webhook function's 10 s timeout (infra/wiring.py), so a live holder is never overtaken, with a
# few seconds for clock skew between containers; shorter than the vendors' redelivery intervals after
# the first (QBO retries after 10 s, 20 s, 30 s, ... per
# https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/best-practices; Salesforce and
# Productive back off for minutes), so a holder that died without releasing its claim (a crash, a
# timeout) delays the notice by at most one redelivery. A failed publish releases the claim at once.
NOTICE_CLAIM_SECONDS = 15
# DynamoDB's limit of actions in one TransactWriteItems call.
MAX_TRANSACTION_PARTS = 100


def _held_claim(item: dict[str, Any]) -> NoticeClaim:
    """What a refused claim found: the notice's item as the refusal returned it (ALL_OLD)."""
    return NoticeClaim.PUBLISHED if get_s(item, "status") == "published" else NoticeClaim.IN_FLIGHT


def cancellation_reasons(exc: ClientError) -> list[dict[str, Any]]:
    """Why a TransactWriteItems was cancelled: one reason per part, in order (`Code` "None" for the
    parts that were fine). Any other error is raised again.
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
    """
    if exc.response["Error"]["Code"] != "TransactionCanceledException":
        raise exc
    return [dict(reason) for reason in exc.response.get("CancellationReasons", [])]


class NoticeLog(LedgerTable):
    """Notice claims (one holder at a time, in batches of a transaction) and their publication."""

    def _notice_key(self, notice: ChangeNotice) -> dict[str, Any]:
        return {
            "pk": {"S": f"NOTICE#{notice.provider}#{notice.realm or '-'}#{notice.event_id}"},
            "sk": {"S": "NOTICE"},
        }

    def _claim_write(self, notice: ChangeNotice, holder: str, now: float) -> dict[str, Any]:
        """The conditional put that claims `notice` for `holder` (PutItem and transaction part alike)."""
        return {
            "TableName": self._table,
            "Item": {
                **self._notice_key(notice),
                "status": {"S": "received"},
                "received_at": {"S": datetime.fromtimestamp(now, UTC).isoformat()},
                "claimed_by": {"S": holder},
                "claimed_until": {"N": str(int((now + NOTICE_CLAIM_SECONDS) * 1000))},
                "record": {"S": f"{notice.vendor_type}/{notice.record_id}"},
                "operation": {"S": notice.operation.value},
                "expires_at": {"N": str(int(now + NOTICE_RETENTION.total_seconds()))},
            },
            # One conditional write makes the claim exclusive: a notice never seen, or one whose
            # receipt never reached "published" and whose claim was released or went stale.
            # (An item written before claims had a lease has no claimed_until: stale.)
            "ConditionExpression": (
                "attribute_not_exists(pk) OR (#st = :received AND "
                "(attribute_not_exists(claimed_until) OR claimed_until < :now))"
            ),
            "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": {
                ":received": {"S": "received"},
                ":now": {"N": str(int(now * 1000))},
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def claim_notice(self, notice: ChangeNotice, *, holder: str) -> NoticeClaim:
        try:
            self._client.put_item(**self._claim_write(notice, holder, self._clock()))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # The item that failed the condition comes back with the error (ALL_OLD above).
            return _held_claim(dict(exc.response.get("Item") or {}))  # type: ignore[call-overload]
        return NoticeClaim.CLAIMED

    def claim_notices(self, notices: Sequence[ChangeNotice], *, holder: str) -> list[NoticeClaim]:
        """`claim_notice` for each notice, in order, 100 claims per TransactWriteItems call.

        A QuickBooks notification aggregates minutes of changes (a bulk import: a thousand
        customers) and must be answered within 3 s; one conditional put per notice does not fit.
        A transaction whose conditions fail for some notices (redeliveries) is cancelled with
        one reason per part, the failed parts' items included (ALL_OLD): those are answered from
        them and the rest are claimed again. A cancellation of another kind (a concurrent
        transaction on one of the items) falls back to one put per notice.
        https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
        """
        claims: dict[int, NoticeClaim] = {}
        for start in range(0, len(notices), MAX_TRANSACTION_PARTS):
            pending = list(range(start, min(start + MAX_TRANSACTION_PARTS, len(notices))))
            keys = {json.dumps(self._notice_key(notices[i]), sort_keys=True) for i in pending}
            # One notice (most webhooks carry one) is one plain put: a transaction costs twice the
            # writes. One item twice in a transaction is refused, so such a chunk goes one by one.
            if len(pending) == 1 or len(keys) < len(pending):
                claims.update({i: self.claim_notice(notices[i], holder=holder) for i in pending})
                continue
            while pending:
                now = self._clock()
                parts: list[Any] = [{"Put": self._claim_write(notices[i], holder, now)} for i in pending]
                try:
                    self._client.transact_write_items(TransactItems=parts)
                except ClientError as exc:
                    reasons = cancellation_reasons(exc)
                    failed = {
                        i: _held_claim(dict(reason.get("Item") or {}))
                        for i, reason in zip(pending, reasons, strict=False)
                        if reason.get("Code") == "ConditionalCheckFailed"
                    }
                    if len(reasons) != len(pending) or not failed:
                        claims.update({i: self.claim_notice(notices[i], holder=holder) for i in pending})
                        break
                    claims.update(failed)
                    pending = [i for i in pending if i not in failed]
                    continue
                claims.update(dict.fromkeys(pending, NoticeClaim.CLAIMED))
                break
        return [claims[i] for i in range(len(notices))]

    def release_notice(self, notice: ChangeNotice, *, holder: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._notice_key(notice),
                UpdateExpression="SET claimed_until = :zero",
                # Only our own claim: after a takeover the claim is another request's to keep.
                ConditionExpression="#st = :received AND claimed_by = :holder",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={
                    ":zero": {"N": "0"},
                    ":received": {"S": "received"},
                    ":holder": {"S": holder},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def notice_status(self, notice: ChangeNotice) -> str | None:
        """ "received" or "published" for a notice the hub has seen, None for one it has not."""
        response = self._client.get_item(
            TableName=self._table, Key=self._notice_key(notice), ConsistentRead=True
        )
        return get_s(response.get("Item") or {}, "status")

    def _published_write(self, notice: ChangeNotice) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": self._notice_key(notice),
            "UpdateExpression": "SET #st = :published, published_at = :at",
            "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": {
                ":published": {"S": "published"},
                ":at": {"S": datetime.now(UTC).isoformat()},
            },
        }

    def mark_published(self, notice: ChangeNotice) -> None:
        self._client.update_item(**self._published_write(notice))

    def mark_all_published(self, notices: Sequence[ChangeNotice]) -> None:
        """`mark_published` for each notice, 100 per TransactWriteItems call (one update for a lone notice,
        and one per notice if the transaction is refused)."""
        for start in range(0, len(notices), MAX_TRANSACTION_PARTS):
            chunk = notices[start : start + MAX_TRANSACTION_PARTS]
            if 1 < len({json.dumps(self._notice_key(n), sort_keys=True) for n in chunk}) == len(chunk):
                parts: list[Any] = [{"Update": self._published_write(n)} for n in chunk]
                try:
                    self._client.transact_write_items(TransactItems=parts)
                    continue
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "TransactionCanceledException":
                        raise
            for notice in chunk:
                self.mark_published(notice)
