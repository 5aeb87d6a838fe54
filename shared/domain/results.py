"""What a notice did to each target system: the results every account use case reports."""

from __future__ import annotations

from pydantic import Field

from shared.domain.models import CanonicalModel, SourceRef, SystemName
from shared.domain.ports import SyncAction


class SyncResult(CanonicalModel):
    """What one notice did to one target system."""

    notice_id: str
    source: SourceRef
    target_system: SystemName
    action: SyncAction
    target_id: str | None = None
    detail: str = ""


class SyncReport(CanonicalModel):
    """Everything one notice caused (one result per target system)."""

    results: tuple[SyncResult, ...] = Field(default_factory=tuple)

    def count(self, action: SyncAction) -> int:
        return sum(1 for r in self.results if r.action is action)
