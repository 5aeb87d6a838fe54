"""What a replay found: per record, the fields a target holds and what the hub would write there now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import Field

from shared.domain.models import CanonicalModel, SourceRef, SystemName
from shared.domain.notices import ChangeNotice


class Change(StrEnum):
    """What applying a record's diff does to the target."""

    UPDATE = "update"  # the target holds the record; these fields change
    CREATE = "create"  # the target holds no copy yet: matching links an existing record or creates one


class FieldChange(CanonicalModel):
    """One field: what the target holds now, what the hub would write."""

    field: str
    now: Any = None
    then: Any = None


class RecordDiff(CanonicalModel):
    """One target record that differs from what the hub would write for its source record."""

    flow: str
    source: SourceRef
    system: SystemName
    record: SourceRef | None = Field(default=None, description="the target's record (None: not there yet)")
    change: Change
    fields: tuple[FieldChange, ...] = ()

    @property
    def summary(self) -> str:
        where = (
            f"{self.system} {self.record.type} {self.record.id}" if self.record else f"{self.system} (new)"
        )
        fields = "; ".join(f"{c.field}: {_shown(c.now)} -> {_shown(c.then)}" for c in self.fields)
        return f"{self.change} {where} for {self.source.system} {self.source.id}: {fields}"


class FlowReplay(Protocol):
    """One flow's replay: the records its notices name, re-derived and compared with the targets."""

    name: str

    def diff(self, notices: Sequence[ChangeNotice]) -> tuple[list[RecordDiff], list[str]]:
        """The differences for the records these notices name, and a note per record left aside."""
        ...

    def apply(self, diff: RecordDiff) -> RecordDiff:
        """Write `diff` to its target (idempotent); the diff as written (its record now known)."""
        ...


class ReplayReport(CanonicalModel):
    """A replay's answer: what the window held, what differs, what was written."""

    start: datetime
    end: datetime
    landscape: str
    dry_run: bool
    notices: int = 0
    by_flow: dict[str, int] = Field(default_factory=dict)
    not_replayed: dict[str, int] = Field(
        default_factory=dict, description="notices of flows a replay does not re-derive, by flow"
    )
    diffs: tuple[RecordDiff, ...] = ()
    applied: tuple[RecordDiff, ...] = ()
    left_aside: tuple[str, ...] = ()
    vendor_calls: dict[str, int] = Field(default_factory=dict)
    archive_calls: dict[str, int] = Field(default_factory=dict)


def _shown(value: object) -> str:
    return "(none)" if value is None else repr(value) if isinstance(value, str) else str(value)
