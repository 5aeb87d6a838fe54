"""Where a posting goes: the accounting system the landscape's routing names for a legal entity and date.

`[[routing]]` entries say "from `from_date` on, postings of `legal_entity` go to `system`"; an
entity's first entry has no `from_date` and covers every date before the next (the landscape refuses
routing that leaves an entity without a system on some date, or with two). A posting is routed by its
own date (the day the work was done, the invoice's issue date), not by today's: a firm that moves a
company from legacy accounting to a cloud ERP on a cutover date keeps the work done before the
cutover in the old ledger. Routing is decided per posting, never once per flow.

Before a cutover, a route's `shadow_from` opens the shadow period: postings dated in it still go to
the system before the cutover and are also computed for the new one (`shadow_for`), not written.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from shared.domain.errors import ValidationFailed
from shared.domain.models import SystemName
from shared.governance.landscape import Landscape, Route


class NoRoute(ValidationFailed):
    """The landscape names no accounting system for a legal entity on a date."""


@dataclass(frozen=True)
class Cutover:
    """One legal entity's move from one accounting system to another on a date."""

    legal_entity: str
    old: SystemName
    new: SystemName
    on: date
    shadow_from: date | None

    def in_shadow(self, day: date) -> bool:
        """`day` falls in the shadow period (from `shadow_from` up to the cutover)."""
        return self.shadow_from is not None and self.shadow_from <= day < self.on

    @property
    def waiting(self) -> str:
        """Why a posting to the new system waits, and what a person runs."""
        return (
            f"the cutover of {self.legal_entity} to {self.new} on {self.on.isoformat()} is not confirmed "
            f"yet: `close2cash cutover diff --legal-entity {self.legal_entity}`, then `cutover confirm`"
        )


class Routing:
    """The landscape's `[[routing]]` entries, per legal entity, latest start first."""

    def __init__(self, landscape: Landscape) -> None:
        self._routes: dict[str, list[Route]] = {}
        for route in landscape.routing:
            self._routes.setdefault(route.legal_entity, []).append(route)
        for routes in self._routes.values():
            routes.sort(key=lambda r: r.from_date or date.min, reverse=True)

    def system_for(self, legal_entity: str, on: date) -> SystemName:
        """The system postings of `legal_entity` dated `on` go to; NoRoute naming what is missing."""
        routes = self._routes.get(legal_entity)
        if not routes:
            raise NoRoute(
                f"legal entity {legal_entity!r} has no [[routing]] entry; expected one naming the "
                "accounting system its postings go to"
            )
        for route in routes:
            if route.from_date is None or route.from_date <= on:
                return route.system
        # Only a landscape built without validation gets here: a validated one opens every entity.
        first = routes[-1]
        raise NoRoute(
            f"legal entity {legal_entity!r} has no route for {on.isoformat()}: its first [[routing]] "
            f"entry starts {first.from_date.isoformat() if first.from_date else '-'} ({first.system})"
        )

    def cutovers(self, legal_entity: str | None = None) -> list[Cutover]:
        """Each cutover of `legal_entity` (every entity's when None), oldest first."""
        found: list[Cutover] = []
        for entity, routes in sorted(self._routes.items()):
            if legal_entity is not None and entity != legal_entity:
                continue
            for before, route in itertools.pairwise(routes[::-1]):
                if route.from_date is not None and route.system != before.system:
                    found.append(
                        Cutover(entity, before.system, route.system, route.from_date, route.shadow_from)
                    )
        return found

    def cutover_into(self, legal_entity: str, system: SystemName, on: date) -> Cutover | None:
        """The cutover that routes `legal_entity`'s postings dated `on` to `system` (None: none does;
        a posting then goes there whatever anyone confirmed)."""
        return next((c for c in self.cutovers(legal_entity) if c.new == system and c.on <= on), None)

    def signed_off_system_for(
        self, legal_entity: str, on: date, confirmed: Callable[[str, SystemName], bool]
    ) -> SystemName:
        """The system `on` routes to, stepping back over each cutover into it nobody has confirmed
        yet (`confirmed(entity, new system)`): where a record may be written today."""
        system = self.system_for(legal_entity, on)
        for cutover in reversed(self.cutovers(legal_entity)):
            if cutover.new == system and cutover.on <= on and not confirmed(legal_entity, system):
                system = cutover.old
        return system

    def shadow_for(self, legal_entity: str, on: date) -> SystemName | None:
        """The system a posting of `legal_entity` dated `on` is also computed for (None: no shadow)."""
        for cutover in self.cutovers(legal_entity):
            if cutover.in_shadow(on):
                return cutover.new
        return None
