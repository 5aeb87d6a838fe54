"""Where a posting goes: the accounting system the landscape's routing names for a legal entity and date.

`[[routing]]` entries say "from `from_date` on, postings of `legal_entity` go to `system`". A posting
is routed by its own date (the day the work was done, the invoice's issue date), not by today's: a
firm that moves a company from legacy accounting to a cloud ERP on a cutover date keeps the work
done before the cutover in the old ledger. Routing is decided per posting, never once per flow.
"""

from __future__ import annotations

from datetime import date

from shared.domain.errors import ValidationFailed
from shared.domain.models import SystemName
from shared.governance.landscape import Landscape, Route


class NoRoute(ValidationFailed):
    """The landscape names no accounting system for a legal entity on a date."""


class Routing:
    """The landscape's `[[routing]]` entries, per legal entity, latest start first."""

    def __init__(self, landscape: Landscape) -> None:
        self._routes: dict[str, list[Route]] = {}
        for route in landscape.routing:
            self._routes.setdefault(route.legal_entity, []).append(route)
        for routes in self._routes.values():
            routes.sort(key=lambda r: r.from_date, reverse=True)

    def system_for(self, legal_entity: str, on: date) -> SystemName:
        """The system postings of `legal_entity` dated `on` go to; NoRoute naming what is missing."""
        routes = self._routes.get(legal_entity)
        if not routes:
            raise NoRoute(
                f"legal entity {legal_entity!r} has no [[routing]] entry; expected one naming the "
                "accounting system its postings go to"
            )
        for route in routes:
            if route.from_date <= on:
                return route.system
        first = routes[-1]
        raise NoRoute(
            f"legal entity {legal_entity!r} has no route for {on.isoformat()}: its first [[routing]] "
            f"entry starts {first.from_date.isoformat()} ({first.system})"
        )
