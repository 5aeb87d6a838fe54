"""Lookups in the landscape's mapping tables: a source system's value as a target system says it."""

from __future__ import annotations

from shared.domain.errors import ValidationFailed
from shared.domain.models import SystemName
from shared.governance.landscape import Landscape, MappingRow, MappingTables


class MappingMissing(ValidationFailed):
    """No row of a mapping table translates a value between two systems."""

    def __init__(
        self,
        table: str,
        value: str,
        *,
        source: SystemName,
        target: SystemName,
        legal_entity: str | None = None,
        other_entities: tuple[str, ...] = (),
    ) -> None:
        self.table = table
        self.value = value
        self.source = source
        self.target = target
        self.legal_entity = legal_entity
        scope = f" for legal entity {legal_entity}" if legal_entity else ""
        others = f" (rows exist for legal entity {', '.join(other_entities)} only)" if other_entities else ""
        super().__init__(
            f"mapping {table!r} has no row for {value!r} from {source} to {target}{scope}{others}; "
            f"expected a row in mappings.{table} with source = {value!r}, "
            f"source_system = {source.value!r}, target_system = {target.value!r}"
        )


class Mappings:
    """The mapping tables of a validated landscape, indexed for lookups."""

    def __init__(self, landscape: Landscape) -> None:
        self._index: dict[tuple[str, SystemName, SystemName, str], list[MappingRow]] = {}
        for table in MappingTables.model_fields:
            for row in landscape.mappings.table(table):
                key = (table, row.source_system, row.target_system, row.source)
                self._index.setdefault(key, []).append(row)

    def row(
        self,
        table: str,
        value: str,
        *,
        source: SystemName,
        target: SystemName,
        legal_entity: str | None = None,
    ) -> MappingRow:
        """The row that translates `value`; a row for `legal_entity` wins over one for every entity.

        Without a legal entity, a row for one entity still answers when it is the only one: the
        legal entity of a record is often what the lookup is for. Rows for several entities with
        no row for all of them are a question only the caller can settle, so that is MappingMissing.
        """
        if table not in MappingTables.model_fields:
            raise KeyError(
                f"no mapping table {table!r}; expected one of: {', '.join(MappingTables.model_fields)}"
            )
        rows = self._index.get((table, source, target, value), [])
        for scope in (legal_entity, None):
            found = next((r for r in rows if r.legal_entity == scope), None)
            if found is not None:
                return found
        if legal_entity is None and len(rows) == 1:
            return rows[0]
        raise MappingMissing(
            table,
            value,
            source=source,
            target=target,
            legal_entity=legal_entity,
            other_entities=tuple(sorted(r.legal_entity for r in rows if r.legal_entity)),
        )

    def map(
        self,
        table: str,
        value: str,
        *,
        source: SystemName,
        target: SystemName,
        legal_entity: str | None = None,
    ) -> str:
        """`value` as `source` says it, translated to what `target` calls it; MappingMissing if unmapped."""
        return self.row(table, value, source=source, target=target, legal_entity=legal_entity).target
