"""AWS and vendor calls per synced account, and webhook ingest throughput, on the local runtime."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from botocore.client import BaseClient

from infra.local.environment import LocalEnvironment
from shared import bootstrap
from shared.connectors.quickbooks.webhooks import sign


@contextmanager
def counting_aws_calls() -> Iterator[Counter[str]]:
    """Count every AWS API call made by any boto3 client in this process, as `service:Operation`."""
    counts: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counted(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        # The local API front stands in for API Gateway's own metrics (free in AWS, not the hub's calls).
        if api_params.get("Namespace") != "AWS/ApiGateway":
            counts[f"{self.meta.service_model.endpoint_prefix}:{operation_name}"] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


# Issue 9's goals for vendor calls per record, echoes included (`make bench` says met or missed).
GOAL_NEW_ACCOUNT = 5
GOAL_EDIT = 3
GOAL_DEAL = 25
GOAL_WORKFLOW_STARTS = 1


def verdict(value: float, goal: float) -> str:
    return f"{'meets' if value <= goal else 'MISSES'} goal <= {goal:g}"


@dataclass
class PerAccount:
    accounts: int
    aws_calls: Counter[str]
    invocations: Counter[str]
    vendor_calls: dict[str, int]
    seconds: float
    ids: tuple[str, ...] = ()

    @property
    def vendor_total(self) -> float:
        """Vendor calls per account, every vendor together."""
        return sum(self.vendor_calls.values()) / self.accounts


def _measured(env: LocalEnvironment, change: Callable[[], tuple[str, ...]]) -> PerAccount:
    """Run `change` (Salesforce edits by a user; it returns the accounts it touched), settle, count."""
    assert env.runtime is not None
    env.settle()
    invocations_before = Counter(env.runtime.invocations)
    vendor_before = bootstrap.services().vendor_calls()
    started = time.perf_counter()
    with counting_aws_calls() as counts:
        ids = change()
        env.settle()
    seconds = time.perf_counter() - started
    invocations = Counter(env.runtime.invocations)
    invocations.subtract(invocations_before)
    vendor_after = bootstrap.services().vendor_calls()
    vendor = {k: v - vendor_before.get(k, 0) for k, v in vendor_after.items()}
    return PerAccount(len(ids), counts, +invocations, vendor, seconds, ids)


def per_synced_account(env: LocalEnvironment, accounts: int = 20) -> PerAccount:
    """Create `accounts` accounts in Salesforce and count what their sync costs, echoes included."""
    return _measured(
        env,
        lambda: tuple(
            env.salesforce.put_account({"Name": f"Bench Account {n:04d}", "Phone": f"+1 555 {n:04d}"})
            for n in range(accounts)
        ),
    )


def per_edit(env: LocalEnvironment, account_ids: tuple[str, ...]) -> PerAccount:
    """Edit each account once in Salesforce (a new phone) and count what the sync costs, echoes included."""
    return _measured(
        env,
        lambda: tuple(
            env.salesforce.put_account({"Phone": f"+1 555 9{n:03d}"}, account_id=account_id)
            for n, account_id in enumerate(account_ids)
        ),
    )


def _qbo_body(realm: str, n: int) -> bytes:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    entity = {"name": "Customer", "id": str(900000 + n), "operation": "Update", "lastUpdated": stamp}
    return json.dumps(
        {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": [entity]}}]}
    ).encode()


def ingest_throughput(env: LocalEnvironment, notices: int = 300) -> dict[str, float]:
    """Notices per second through `POST /webhooks/{provider}` over loopback HTTP, one client."""
    connection = env.connections()["quickbooks"]
    token, realm = connection["verifier_token"], connection["realm_id"]
    bodies = [_qbo_body(realm, n) for n in range(notices)]
    figures: dict[str, float] = {}
    with httpx.Client(base_url=env.api_url, timeout=30) as client:
        started = time.perf_counter()
        for body in bodies:
            response = client.post(
                "/webhooks/quickbooks", content=body, headers={"intuit-signature": sign(token, body)}
            )
            response.raise_for_status()
        figures["quickbooks: 1 notice per request, notices/s"] = notices / (time.perf_counter() - started)
    # Salesforce packs up to 100 notifications into one outbound message.
    for n in range(notices):
        env.salesforce.put_account({"Name": f"Ingest Bench {n:04d}"})
    started = time.perf_counter()
    delivered = env.salesforce.deliver_pending()
    figures["salesforce: up to 100 notices per message, notices/s"] = delivered / (
        time.perf_counter() - started
    )
    # The workers' backlog (300 new accounts) is not part of the ingest figure; stopping drops it.
    return figures
