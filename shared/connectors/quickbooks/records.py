"""What both QuickBooks ports write with: requestid idempotency keys, sparse updates, query rows read."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from shared.connectors.quickbooks.client import QuickBooksClient, StaleObjectError, quote_literal
from shared.connectors.quickbooks.schemas import Customer, TrackingCategory
from shared.domain.errors import TransientError

# `requestid` may be at most 50 characters and must be unique per company.
# https://blogs.intuit.com/blog/2015/04/06/15346/
_REQUEST_ID_DIGEST_CHARS = 40


def request_id(kind: str, *parts: str) -> str:
    """The `requestid` of one write: `kind` plus a digest of what makes the write unique."""
    # Hashing keeps any idempotency key under the 50-character cap while staying deterministic.
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:_REQUEST_ID_DIGEST_CHARS]
    return f"c2c-{kind}-{digest}"


# Sub-customers are the only customers whose FullyQualifiedName has a colon ("Parent:Child"): QBO
# refuses colons in a name. FullyQualifiedName is filterable (Job and ParentRef are not), so this
# narrows a search to sub-customers in the query itself.
# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
SUB_CUSTOMERS = "FullyQualifiedName LIKE " + quote_literal("%:%")


def sparse_update(
    client: QuickBooksClient, record_id: str, kind: str, change: Callable[[Customer], dict[str, Any] | None]
) -> Customer:
    """Read, let `change` decide the fields (None: nothing to do), sparse-update over the SyncToken.

    The requestid is the record + its SyncToken, so a resend over the same version replays.
    A 5010 (someone saved it meanwhile) re-reads and retries once, as `update_account` does.
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
    """
    for attempt in (1, 2):
        current = client.read_customer(record_id)
        fields = change(current)
        if fields is None:
            return current
        sync_token = current.SyncToken or "0"
        body = {"Id": record_id, "SyncToken": sync_token, "sparse": True, **fields}
        try:
            return client.update_customer(body, request_id=request_id(kind, record_id, sync_token))
        except StaleObjectError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def customers(rows: list[dict[str, Any]]) -> list[Customer]:
    """Query rows as Customers; an unreadable row is transient (the queue tries again)."""
    try:
        return [Customer.model_validate(row) for row in rows]
    except ValidationError as exc:
        raise TransientError(f"quickbooks: query customers: unreadable row: {exc}") from exc


def tracking(rows: list[dict[str, Any]]) -> list[TrackingCategory]:
    """Query rows as Classes or Departments; an unreadable row is transient."""
    try:
        return [TrackingCategory.model_validate(row) for row in rows]
    except ValidationError as exc:
        raise TransientError(f"quickbooks: query tracking lists: unreadable row: {exc}") from exc
