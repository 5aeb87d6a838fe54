"""The account's records: one table per record type, internal ids per sequence, external ids, the clock.

Internal ids come from shared sequences as in NetSuite: customers, projects and employees are all
entities and never share an id; invoices, payments and credit memos are all transactions. An
external id is unique per record type (one record of a type per external id).
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from infra.local.sandboxes.netsuite.schema import SPECS, RecordSpec
from infra.local.sandboxes.netsuite.wire import Clock

# First internal id of each sequence (small, distinct ranges make ids easy to tell apart in tests).
_FIRST = {
    "entity": 100,
    "transaction": 1000,
    "item": 10,
    "timebill": 500,
    "subsidiary": 1,
    "currency": 1,
    "term": 1,
    "expensecategory": 1,
    "jobstatus": 1,
    "department": 1,
    "classification": 1,
    "location": 1,
    "address": 5001,  # address subrecords (SuiteQL's entityaddress.nkey)
}

Record = dict[str, Any]


class Account:
    """Stored records by type then internal id (plain dicts: refs as id strings, money as Decimal)."""

    def __init__(self, account_id: str, clock: Clock) -> None:
        self.account_id = account_id
        self._clock = clock
        self.tables: dict[str, dict[str, Record]] = {spec.name: {} for spec in SPECS.values()}
        self._next = dict(_FIRST)
        self._numbers: dict[str, int] = {}
        self._external: dict[str, dict[str, str]] = {spec.name: {} for spec in SPECS.values()}
        self.writes = 0  # record writes carried out (creates, updates, deletes)

    def now(self) -> datetime:
        """The account's clock (UTC), to the second as NetSuite stamps records."""
        return self._clock().replace(microsecond=0)

    def today(self) -> date:
        """Today in the account's time zone (UTC here)."""
        return self._clock().date()

    def table(self, spec: RecordSpec) -> dict[str, Record]:
        """The live records of one type by internal id."""
        return self.tables[spec.name]

    def next_id(self, spec: RecordSpec) -> str:
        """A new internal id from the type's sequence."""
        return self.next_in(spec.sequence)

    def claim_id(self, spec: RecordSpec, internal_id: str) -> str:
        """`internal_id` for a seeded record (ValueError when taken); the sequence moves past it."""
        if internal_id in self.table(spec):
            raise ValueError(f"{spec.name} {internal_id} exists already")
        if internal_id.isdigit() and int(internal_id) >= self._next[spec.sequence]:
            self._next[spec.sequence] = int(internal_id) + 1
        return internal_id

    def next_in(self, sequence: str) -> str:
        """A new id from a named sequence."""
        number = self._next[sequence]
        self._next[sequence] = number + 1
        return str(number)

    def next_number(self, spec: RecordSpec) -> str:
        """The next transaction number (`tranId`) of a type: its own counter, from 1."""
        number = self._numbers.get(spec.name, 0) + 1
        self._numbers[spec.name] = number
        return str(number)

    def get(self, spec: RecordSpec, record_id: str) -> Record | None:
        """The stored record (not a copy), or None."""
        return self.table(spec).get(record_id)

    def by_external_id(self, spec: RecordSpec, external_id: str) -> Record | None:
        """The record of this type carrying `external_id`, or None."""
        record_id = self._external[spec.name].get(external_id)
        return None if record_id is None else self.get(spec, record_id)

    def put(self, spec: RecordSpec, record: Record, before: Record | None = None) -> None:
        """Store (or re-store) a record, keeping the external id index in step."""
        index = self._external[spec.name]
        if before is not None and before.get("externalId") is not None:
            index.pop(before["externalId"], None)
        self.table(spec)[record["id"]] = record
        if record.get("externalId") is not None:
            index[record["externalId"]] = record["id"]

    def remove(self, spec: RecordSpec, record: Record) -> None:
        """Delete a record for good."""
        del self.table(spec)[record["id"]]
        if record.get("externalId") is not None:
            self._external[spec.name].pop(record["externalId"], None)

    def find(self, types: tuple[str, ...], record_id: str) -> tuple[RecordSpec, Record] | None:
        """The record with this internal id among `types` (a reference to a customer or a project)."""
        for name in types:
            spec = SPECS[name.lower()]
            found = self.get(spec, record_id)
            if found is not None:
                return spec, found
        return None

    def find_external(self, types: tuple[str, ...], external_id: str) -> tuple[RecordSpec, Record] | None:
        """The record with this external id among `types`."""
        for name in types:
            spec = SPECS[name.lower()]
            found = self.by_external_id(spec, external_id)
            if found is not None:
                return spec, found
        return None

    def type_of(self, record_id: str, types: tuple[str, ...]) -> RecordSpec | None:
        """Which of `types` holds the internal id (None when none does)."""
        found = self.find(types, record_id)
        return found[0] if found else None

    def rows(self, spec: RecordSpec) -> list[Record]:
        """The live records of one type in internal id order (not copies)."""
        table = self.table(spec)
        return [table[key] for key in sorted(table, key=int)]

    def ref_name(self, spec: RecordSpec, record: Record) -> str:
        """What a reference to this record shows as `refName` (its name as the UI lists it)."""
        for key in ("companyName", "name", "itemId", "tranId", "entityId"):
            if record.get(key):
                if spec.name == "employee" or (spec.name == "customer" and record.get("isPerson")):
                    break
                return str(record[key])
        full = " ".join(str(record.get(k) or "") for k in ("firstName", "lastName")).strip()
        return full or str(record.get("entityId") or record["id"])
