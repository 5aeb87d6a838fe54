"""Catch-up sweeps: what a system's own change feed says changed in a window, before anything is fetched.

Webhooks are hints: a vendor may drop one (Salesforce gives up on an outbound message after 24
hours, an Intuit app's endpoint may be down), so each system that keeps a change feed is also read
on a schedule from where the last read stopped. What the feed says is turned into the same change
notices a webhook would have produced.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from pydantic import Field

from shared.domain.models import CanonicalModel, SystemName, UtcDateTime

# Same shape as a notice's ids: printable ASCII, bounded (they become ledger keys).
_VENDOR_ID = r"^[\x21-\x7e]+$"


class SweptChange(CanonicalModel):
    """One record the feed says changed (or was deleted), at the version the feed names."""

    record_id: str = Field(min_length=1, max_length=255, pattern=_VENDOR_ID)
    vendor_type: str = Field(min_length=1, max_length=64)
    version: str = Field(
        min_length=1,
        max_length=200,
        pattern=_VENDOR_ID,
        description="the system's version of the record after the change (SystemModstamp, SyncToken)",
    )
    changed_at: UtcDateTime
    deleted: bool = False


class ChangeWindow(CanonicalModel):
    """What one read of a change feed returned, and how far it can be trusted to reach."""

    changes: tuple[SweptChange, ...] = ()
    covered_until: UtcDateTime = Field(description="every change up to here is in `changes` (or earlier)")
    complete: bool = Field(
        default=True, description="False: the feed capped its answer, read again from `covered_until`"
    )
    realm: str | None = Field(default=None, description="org / company the records live in")


@runtime_checkable
class ChangeFeed(Protocol):
    """A system that can say which of its customer records changed in a window (one vendor call)."""

    system: SystemName

    def changed_accounts(self, since: datetime, until: datetime) -> ChangeWindow:
        """Customer records changed after `since` and up to `until` (the system's clock may stop sooner)."""
        ...
