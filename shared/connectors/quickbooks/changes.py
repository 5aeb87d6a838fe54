"""Customers changed since a moment, from QuickBooks' ChangeDataCapture (CDC) operation.

GET /v3/company/{realm}/cdc?entities=Customer&changedSince=<date-time> answers with the full payload
of every customer changed since then, deleted ones as `"status": "Deleted"` with their Id and
MetaData only, grouped as CDCResponse[].QueryResponse[].Customer[], plus the server's `time`.
CDC reaches 30 days back, and one answer holds at most 1,000 objects ("we suggest you query for
shorter time periods"): a capped answer is read as covering only up to its latest change, and the
next read starts there (the window narrowed to what the answer could hold).
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
https://blogs.intuit.com/2023/08/24/building-smarter-with-intuit-stay-in-sync-with-cdc/
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from shared.connectors.quickbooks.schemas import Customer
from shared.connectors.quickbooks.times import parse_qbo_time
from shared.domain.errors import TransientError
from shared.domain.sweeps import ChangeWindow, SweptChange

CDC_LOOK_BACK = timedelta(days=30)
CDC_MAX_OBJECTS = 1000
VENDOR_TYPE = "Customer"  # as QuickBooks' webhooks name it


def changed_since_param(since: datetime) -> str:
    """`changedSince` as an ISO date-time with its offset (Intuit's example: 2015-12-23T09:00-07:00)."""
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _customers(payload: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    groups = payload.get("CDCResponse")
    if not isinstance(groups, list):
        raise TransientError("quickbooks: cdc: the answer has no CDCResponse list")
    for group in groups:
        responses = group.get("QueryResponse", []) if isinstance(group, dict) else None
        if not isinstance(responses, list):
            raise TransientError("quickbooks: cdc: a CDCResponse item has no QueryResponse list")
        for response in responses:
            rows = response.get(VENDOR_TYPE, []) if isinstance(response, dict) else None
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise TransientError("quickbooks: cdc: unexpected Customer list")
            yield from rows


def _change(row: dict[str, Any]) -> SweptChange | None:
    """One CDC row as a change; None for a sub-customer (an engagement, not an account)."""
    try:
        customer = Customer.model_validate(row)
    except ValidationError as exc:
        raise TransientError(f"quickbooks: cdc: unreadable Customer: {exc}") from exc
    when = parse_qbo_time(customer.MetaData.LastUpdatedTime if customer.MetaData else None)
    if customer.Id is None or when is None:
        raise TransientError("quickbooks: cdc: a Customer without Id or MetaData.LastUpdatedTime")
    deleted = str(row.get("status", "")).lower() == "deleted"
    if customer.is_sub_customer:
        return None
    # A deleted entry carries no SyncToken: its deletion time is its version.
    version = f"deleted@{when.isoformat()}" if deleted or customer.SyncToken is None else customer.SyncToken
    return SweptChange(
        record_id=customer.Id, vendor_type=VENDOR_TYPE, version=version, changed_at=when, deleted=deleted
    )


def change_window(
    payload: Mapping[str, Any], *, since: datetime, until: datetime, realm: str
) -> ChangeWindow:
    """A CDC answer as a window: complete up to the server's `time`, or (capped) up to its latest change."""
    rows = list(_customers(payload))
    changes = [change for row in rows if (change := _change(row)) is not None]
    capped = len(rows) >= CDC_MAX_OBJECTS
    if capped:
        # Intuit does not say which 1,000 a capped answer holds; taking its latest change as the
        # end of what it covers, and reading on from there, narrows each read to what fits.
        latest = max((c.changed_at for c in changes), default=since)
        return ChangeWindow(
            changes=tuple(changes), covered_until=max(latest, since), complete=False, realm=realm
        )
    server_time = parse_qbo_time(payload.get("time") if isinstance(payload.get("time"), str) else None)
    # Intuit's clock, not ours, says how far the answer reaches (no skew between the two).
    reached = server_time if server_time is not None else until
    return ChangeWindow(changes=tuple(changes), covered_until=reached, realm=realm)
