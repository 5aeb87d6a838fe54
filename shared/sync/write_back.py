"""The CRM's echo of the hub's own write-back, known by the instant the CRM stamped on that write.

When setup ends, the hub writes its outcome onto the opportunity and keeps the instant the CRM
stamped on that write (its `SystemModstamp`) in the ledger. The CRM then sends a notice about that
very change; it carries the same instant, and a later edit by anyone carries a later one. So one
ledger read tells the echo apart without fetching the deal: the webhook ingest drops it before it
reaches the bus (no workflow start is invoked), and the workflow start checks again for a notice
that arrived before the instant was recorded.
"""

from __future__ import annotations

from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice
from shared.domain.ports import Ledger


def write_back_key(system: SystemName, opportunity_id: str) -> str:
    """The ledger entry holding when the hub last wrote setup's outcome onto the opportunity."""
    return f"write-back:{system}:{opportunity_id}"


def is_write_back_echo(ledger: Ledger, notice: ChangeNotice) -> bool:
    """Whether `notice` is about the hub's own last write-back on an opportunity (one ledger read)."""
    # A notice saying the deal is open cannot be about setup's outcome on a won deal: no read.
    return (
        notice.entity is EntityType.OPPORTUNITY
        and notice.won is not False
        and notice.occurred_at is not None
        and ledger.cursor(write_back_key(notice.provider, notice.record_id)) == notice.occurred_at.isoformat()
    )
