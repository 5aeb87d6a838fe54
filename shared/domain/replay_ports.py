"""What a replay reads: the notices the bus carried in a window of time.

In AWS that is the EventBridge archive of the hub's bus, replayed to a rule that only a replay's
events match; locally the same archive in moto. Nothing else re-reads it: a replay re-derives what
the hub would write for those notices and diffs it against what the targets hold now.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from shared.domain.notices import ChangeNotice


@runtime_checkable
class NoticeArchive(Protocol):
    """The bus's archive, read one window at a time; `calls`: the API calls reading it took, by name."""

    @property
    def calls(self) -> Mapping[str, int]: ...

    def notices(self, start: datetime, end: datetime) -> list[ChangeNotice]:
        """Each change notice published on the bus in [start, end), once (by provider and event id),
        oldest first. Domain events the hub published itself are not notices and are left out."""
        ...
