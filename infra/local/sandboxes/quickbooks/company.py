"""The books of one QBO company: stored objects per entity, their ids, the company clock, and its changes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from infra.local.sandboxes.quickbooks.faults import not_found

# QBO answers in the company's time zone with a numeric offset; a Pacific company makes the
# hub's offset parsing earn its keep.
COMPANY_TZ = timezone(timedelta(hours=-7))
# Class and Department ids are long numbers in QBO, unlike the small counters of customers.
_FIRST_ID = {"Class": 5000000000000000001}

# (entity, Id, operation, merged-away Id, the instant of the change)
ChangeListener = Callable[[str, str, str, str | None, datetime], None]
# How long the change journal keeps an entry: ChangeDataCapture looks back at most 30 days.
JOURNAL_DAYS = 31


@dataclass(frozen=True)
class Change:
    """One entry of the change journal ChangeDataCapture reads."""

    at: datetime
    entity: str
    record_id: str
    operation: str  # Create, Update, Delete, Merge, Void


class Company:
    """Stored objects by entity name then Id, with the change listener every write reports to."""

    def __init__(self, clock: Callable[[], datetime], home_currency: str, on_change: ChangeListener) -> None:
        self._clock = clock
        self.home_currency = home_currency
        self._on_change = on_change
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self._next: dict[str, int] = {}
        self.journal: list[Change] = []
        # Objects written earlier in the batch being run: its later items cannot see them.
        self.unseen: set[tuple[str, str]] = set()

    def now(self) -> datetime:
        """The company clock."""
        return self._clock()

    def now_text(self) -> str:
        """Now as QBO writes it: company time, milliseconds, numeric offset."""
        return self._clock().astimezone(COMPANY_TZ).isoformat(timespec="milliseconds")

    def table(self, entity: str) -> dict[str, dict[str, Any]]:
        """The live objects of one entity by Id (created empty on first use)."""
        return self.tables.setdefault(entity, {})

    def next_id(self, entity: str) -> str:
        """A new Id for `entity` (a counter per entity)."""
        number = self._next.get(entity, _FIRST_ID.get(entity, 1))
        self._next[entity] = number + 1
        return str(number)

    def reserve_id(self, entity: str, record_id: str) -> None:
        """A caller-chosen Id: the counter moves past it if numeric."""
        if record_id.isdigit():
            self._next[entity] = max(self._next.get(entity, _FIRST_ID.get(entity, 1)), int(record_id) + 1)

    def rows(self, entity: str) -> list[dict[str, Any]]:
        """The live objects of one entity in Id order (not copies)."""
        found = self.table(entity)
        return [found[key] for key in sorted(found, key=lambda key: (len(key), key))]

    def visible(self, entity: str, record_id: str) -> dict[str, Any] | None:
        """The live object a request may refer to (not one created earlier in the same batch)."""
        if (entity, record_id) in self.unseen:
            return None
        return self.table(entity).get(record_id)

    def get(self, entity: str, record_id: str, detail: str | None = None) -> dict[str, Any]:
        """A copy of one object, or QBO's 610 Object Not Found."""
        found = self.visible(entity, record_id)
        if found is None:
            raise not_found(entity, record_id, detail)
        return copy.deepcopy(found)

    def stamp_new(
        self, entity: str, record_id: str, fields: dict[str, Any], *, report: bool = True
    ) -> dict[str, Any]:
        """Store a new object with Id, SyncToken 0 and MetaData; reports a Create unless told not to."""
        now = self.now_text()
        stored = {
            **fields,
            "domain": "QBO",
            "sparse": False,
            "Id": record_id,
            "SyncToken": "0",
            "MetaData": {"CreateTime": now, "LastUpdatedTime": now},
        }
        self.table(entity)[record_id] = stored
        if report:
            self.changed(entity, record_id, "Create")
        return stored

    def bump(self, stored: dict[str, Any]) -> None:
        """A change to a stored object: the next SyncToken and a new LastUpdatedTime."""
        stored["SyncToken"] = str(int(stored["SyncToken"]) + 1)
        stored["MetaData"] = {**stored["MetaData"], "LastUpdatedTime": self.now_text()}

    def delete(self, entity: str, record_id: str) -> None:
        """Remove an object for good (reads answer 610 from now on); reports a Delete."""
        del self.table(entity)[record_id]
        self.changed(entity, record_id, "Delete")

    def changed(self, entity: str, record_id: str, operation: str, deleted_id: str | None = None) -> None:
        """Report a change: a journal entry for ChangeDataCapture, then a webhook notice.

        The instant is the object's own `MetaData.LastUpdatedTime` when it has one, so a notice's
        `lastUpdated` and the object a client reads back name the same moment.
        """
        now = self._clock()
        stamped = (self.table(entity).get(record_id) or {}).get("MetaData", {}).get("LastUpdatedTime")
        if stamped:
            now = datetime.fromisoformat(stamped)
        horizon = now - timedelta(days=JOURNAL_DAYS)
        while self.journal and self.journal[0].at < horizon:
            self.journal.pop(0)
        self.journal.append(Change(now, entity, record_id, operation))
        if deleted_id is not None:
            # The merged-away object is gone: ChangeDataCapture reports it as deleted.
            self.journal.append(Change(now, entity, deleted_id, "Delete"))
        self._on_change(entity, record_id, operation, deleted_id, now)
