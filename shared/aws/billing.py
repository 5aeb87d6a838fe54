"""Billing runs, posted invoices and parked payments on the ledger table (`BillingStore` port).

Items (pk / sk), beside the ledger's own (shared/aws/ledger.py) and the postings' (shared/aws/postings.py):
- `RUN#<id>` / `RUN`: one engagement's run for one period (`BillingRun`, zlib-packed JSON as the
  postings are), with a revision token for optimistic concurrency; in the `by-engagement` index
  under `RUN#<PSA system>#<project>` (sort: the period) and in the status index under
  `BILLING#runs` (sort: `<period>#<id>`), which lists every run for `close2cash billing list`;
- `INVOICE#<system>#<id>` / `INVOICE`: an invoice a run posted (`InvoiceRecord`, with the standing
  last read from the ledger), in `by-engagement` under `INVOICE#<PSA system>#<project>` and in the
  status index under `ACCOUNT#<CRM system>#<account>` (the customer's invoices: its health);
- `PAYPARK#<system>#<invoice>` / `PAY#<payment>`: a payment that named an invoice the hub has not
  seen yet, also in the status index under `PAYMENT#parked`, so the sweep can look at each again.

Every list is a Query of an index, never a scan: the ledger grows for years.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from shared.aws.dynamo_batch import MAX_BATCH_GET, batch_get
from shared.aws.ledger_table import query_pages
from shared.aws.postings import _packed, _unpacked
from shared.domain.billing_ports import InvoiceRecord
from shared.domain.billing_runs import BillingRun
from shared.domain.cash import ParkedPayment
from shared.domain.errors import ConflictError
from shared.domain.models import SourceRef, SystemName
from shared.settings import (
    LEDGER_ENGAGEMENT_INDEX,
    LEDGER_ENGAGEMENT_KEY,
    LEDGER_ENGAGEMENT_SORT,
    LEDGER_STATUS_INDEX,
    LEDGER_STATUS_KEY,
    LEDGER_STATUS_SORT,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

RUNS = "BILLING#runs"
PARKED_PAYMENTS = "PAYMENT#parked"
REVISION = "rev"
VERSION = "ledger_version"


def _run_key(run_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}}


def _invoice_key(system: SystemName | str, invoice_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"INVOICE#{system}#{invoice_id}"}, "sk": {"S": "INVOICE"}}


def _parked_key(parked: ParkedPayment) -> dict[str, Any]:
    return {"pk": {"S": f"PAYPARK#{parked.system}#{parked.invoice}"}, "sk": {"S": f"PAY#{parked.payment}"}}


class DynamoBilling:
    """`BillingStore` port on the ledger table."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client: DynamoDBClient = client or boto3.client("dynamodb")

    # --- runs -------------------------------------------------------------------------------

    def run(self, run_id: str) -> BillingRun | None:
        item = self._client.get_item(TableName=self._table, Key=_run_key(run_id), ConsistentRead=True).get(
            "Item"
        )
        return _unpacked(item["run"], BillingRun) if item else None

    def save_run(self, run: BillingRun) -> BillingRun:
        """One conditional PutItem: refused (ConflictError) when someone wrote the run since it was read."""
        revision = uuid.uuid4().hex[:16]
        stored = run.model_copy(update={"revision": revision})
        engagement = run.engagement
        item = {
            **_run_key(run.id),
            "run": _packed(stored),
            REVISION: {"S": revision},
            LEDGER_ENGAGEMENT_KEY: {"S": f"RUN#{engagement.system}#{engagement.id}"},
            LEDGER_ENGAGEMENT_SORT: {"S": run.period.month},
            LEDGER_STATUS_KEY: {"S": RUNS},
            LEDGER_STATUS_SORT: {"S": f"{run.period.month}#{run.id}"},
        }
        request: dict[str, Any] = {"TableName": self._table, "Item": item}
        if run.revision is None:
            request["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            request["ConditionExpression"] = "#rev = :read"
            request["ExpressionAttributeNames"] = {"#rev": REVISION}
            request["ExpressionAttributeValues"] = {":read": {"S": run.revision}}
        try:
            self._client.put_item(**request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConflictError(f"billing run {run.id} was written by someone else meanwhile") from error
            raise
        return stored

    def runs(self, engagement: SourceRef | None = None) -> list[BillingRun]:
        """One Query (per 1 MB page): the engagement's runs from `by-engagement` (keys only, then
        BatchGetItem), or every run from the status index (all attributes)."""
        if engagement is None:
            items = self._query(
                IndexName=LEDGER_STATUS_INDEX,
                KeyConditionExpression="#k = :k",
                ExpressionAttributeNames={"#k": LEDGER_STATUS_KEY},
                ExpressionAttributeValues={":k": {"S": RUNS}},
            )
            runs = [_unpacked(item["run"], BillingRun) for item in items]
        else:
            keys = self._engagement_keys(f"RUN#{engagement.system}#{engagement.id}")
            runs = [_unpacked(item["run"], BillingRun) for item in self._batch_get(keys)]
        return sorted(runs, key=lambda r: (r.period.month, r.id))

    # --- invoices ---------------------------------------------------------------------------

    def invoice(self, system: SystemName, invoice_id: str) -> InvoiceRecord | None:
        item = self._client.get_item(
            TableName=self._table, Key=_invoice_key(system, invoice_id), ConsistentRead=True
        ).get("Item")
        return _unpacked(item["record"], InvoiceRecord) if item else None

    def save_invoice(self, record: InvoiceRecord) -> bool:
        """One conditional PutItem: written unless the stored standing has a higher ledger version."""
        item: dict[str, Any] = {
            **_invoice_key(record.system, record.id),
            "record": _packed(record),
            LEDGER_ENGAGEMENT_KEY: {"S": f"INVOICE#{record.engagement.system}#{record.engagement.id}"},
            LEDGER_ENGAGEMENT_SORT: {"S": f"{record.standing.issued_on.isoformat()}#{record.id}"},
        }
        if record.account is not None:
            item[LEDGER_STATUS_KEY] = {"S": f"ACCOUNT#{record.account.system}#{record.account.id}"}
            item[LEDGER_STATUS_SORT] = {"S": f"{record.system}#{record.id}"}
        request: dict[str, Any] = {"TableName": self._table, "Item": item}
        version = record.standing.version
        if version is not None and version.isdigit():
            # QuickBooks' SyncToken (a counter): never replace a later standing with an earlier one.
            item[VERSION] = {"N": version}
            request["ConditionExpression"] = "attribute_not_exists(#v) OR #v <= :v"
            request["ExpressionAttributeNames"] = {"#v": VERSION}
            request["ExpressionAttributeValues"] = {":v": {"N": version}}
        try:
            self._client.put_item(**request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def engagement_invoices(self, engagement: SourceRef) -> list[InvoiceRecord]:
        keys = self._engagement_keys(f"INVOICE#{engagement.system}#{engagement.id}")
        found = [_unpacked(item["record"], InvoiceRecord) for item in self._batch_get(keys)]
        return sorted(found, key=lambda r: (r.standing.issued_on, r.id))

    def account_invoices(self, account: SourceRef) -> list[InvoiceRecord]:
        items = self._query(
            IndexName=LEDGER_STATUS_INDEX,
            KeyConditionExpression="#k = :k",
            ExpressionAttributeNames={"#k": LEDGER_STATUS_KEY},
            ExpressionAttributeValues={":k": {"S": f"ACCOUNT#{account.system}#{account.id}"}},
        )
        return sorted(
            (_unpacked(item["record"], InvoiceRecord) for item in items),
            key=lambda r: (r.standing.issued_on, r.id),
        )

    # --- parked payments --------------------------------------------------------------------

    def park_payment(self, parked: ParkedPayment) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                **_parked_key(parked),
                "parked": {"S": parked.model_dump_json()},
                LEDGER_STATUS_KEY: {"S": PARKED_PAYMENTS},
                LEDGER_STATUS_SORT: {"S": f"{parked.parked_at.isoformat()}#{parked.system}#{parked.payment}"},
            },
        )

    def parked_payments(self, system: SystemName, invoice_id: str) -> list[ParkedPayment]:
        items = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"PAYPARK#{system}#{invoice_id}"}},
            ConsistentRead=True,
        )
        return [ParkedPayment.model_validate_json(item["parked"]["S"]) for item in items]

    def unpark_payment(self, parked: ParkedPayment) -> None:
        self._client.delete_item(TableName=self._table, Key=_parked_key(parked))

    def all_parked_payments(self) -> list[ParkedPayment]:
        items = self._query(
            IndexName=LEDGER_STATUS_INDEX,
            KeyConditionExpression="#k = :k",
            ExpressionAttributeNames={"#k": LEDGER_STATUS_KEY},
            ExpressionAttributeValues={":k": {"S": PARKED_PAYMENTS}},
        )
        return [ParkedPayment.model_validate_json(item["parked"]["S"]) for item in items]

    def remember_payment(self, system: SystemName, payment: str, invoices: Sequence[str]) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"PAYMENT#{system}#{payment}"},
                "sk": {"S": "PAYMENT"},
                "invoices": {"S": json.dumps(sorted(set(invoices)))},
            },
        )

    def payment_invoices(self, system: SystemName, payment: str) -> list[str]:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"PAYMENT#{system}#{payment}"}, "sk": {"S": "PAYMENT"}},
            ConsistentRead=True,
        ).get("Item")
        return list(json.loads(item["invoices"]["S"])) if item else []

    def hold(self, name: str, *, now: datetime, until: datetime) -> bool:
        """One conditional PutItem: the lease is free, or its holder's time has run out (TTL cleans up)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"LEASE#{name}"},
                    "sk": {"S": "LEASE"},
                    "until": {"N": str(until.timestamp())},
                    "expires_at": {"N": str(int(until.timestamp()) + 3600)},
                },
                ConditionExpression="attribute_not_exists(pk) OR #u < :now",
                ExpressionAttributeNames={"#u": "until"},
                ExpressionAttributeValues={":now": {"N": str(now.timestamp())}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def let_go(self, name: str) -> None:
        self._client.delete_item(
            TableName=self._table, Key={"pk": {"S": f"LEASE#{name}"}, "sk": {"S": "LEASE"}}
        )

    # --- DynamoDB calls ---------------------------------------------------------------------

    def _engagement_keys(self, key: str) -> list[dict[str, Any]]:
        return [
            {"pk": item["pk"], "sk": item["sk"]}
            for item in self._query(
                IndexName=LEDGER_ENGAGEMENT_INDEX,
                KeyConditionExpression="#k = :k",
                ExpressionAttributeNames={"#k": LEDGER_ENGAGEMENT_KEY},
                ExpressionAttributeValues={":k": {"S": key}},
            )
        ]

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return query_pages(self._client, self._table, **kwargs)

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Strongly consistent BatchGetItem per 100 keys (unprocessed keys asked again, with backoff)."""
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), MAX_BATCH_GET):
            items += batch_get(self._client, self._table, keys[start : start + MAX_BATCH_GET])
        return items
