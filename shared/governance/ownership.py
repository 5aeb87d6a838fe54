"""Who owns what: the owning system of each domain and field, and where each posting goes.

A change reported by a system propagates only for the fields that system owns; a change to a field
some other system owns is drift (DESIGN.md §2: "ownership is declared, not implied").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from shared.domain.models import SystemName
from shared.domain.systems import Domain
from shared.governance.landscape import Landscape


class ChangeSplit(NamedTuple):
    """A system's changed fields, split into those it owns (propagate) and those it does not (drift)."""

    propagate: tuple[str, ...]
    drift: tuple[str, ...]


class Ownership:
    """Answers ownership questions from a validated landscape."""

    def __init__(self, landscape: Landscape) -> None:
        self._landscape = landscape
        self._owners: dict[tuple[Domain, str], SystemName] = {}
        for domain in Domain:
            rule = landscape.ownership.rule(domain)
            for system, fields in rule.fields.items():
                for field in fields:
                    self._owners[domain, field] = system

    def owner_of(self, domain: Domain, field: str | None = None) -> SystemName:
        """The system that owns `field` of `domain` records (the domain's owner when not said)."""
        if field is not None and (domain, field) in self._owners:
            return self._owners[domain, field]
        return self._landscape.ownership.rule(domain).owner

    def fields_owned_apart(self, domain: Domain) -> dict[str, SystemName]:
        """The fields of `domain` that a system other than the domain's owner owns: field -> owner."""
        owner = self._landscape.ownership.rule(domain).owner
        return {
            field: system
            for (dom, field), system in self._owners.items()
            if dom is domain and system != owner
        }

    def filter_changes(
        self, domain: Domain, source_system: SystemName, changed_fields: Iterable[str]
    ) -> ChangeSplit:
        """Split the fields `source_system` changed: those it owns propagate, the others are drift."""
        propagate: list[str] = []
        drift: list[str] = []
        for field in dict.fromkeys(changed_fields):  # de-duplicated, first-seen order kept
            (propagate if self.owner_of(domain, field) == source_system else drift).append(field)
        return ChangeSplit(tuple(propagate), tuple(drift))
