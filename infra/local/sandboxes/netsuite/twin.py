"""The NetSuite sandbox as the local environment runs it: one account, set up as the landscape maps it.

NetSuite pushes nothing (no signed webhooks): its changes reach the hub by the SuiteQL sweep, so
`connect` and `push_pending` have nothing to do. `seed` creates what the landscape's mapping rows
name in NetSuite, by the internal ids the rows give (payment terms, service items, expense
categories, classes, departments, locations), and a subsidiary per legal entity, whose ids go into
the connection with the currencies' record ids, as an administrator would write them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from infra.local.sandboxes.netsuite.app import NetSuiteSandbox
from infra.local.sandboxes.twin import TwinDefaults
from shared.domain.models import SystemName

if TYPE_CHECKING:
    from shared.governance.landscape import Landscape


class NetSuiteTwin(TwinDefaults):
    """One NetSuite account (and the close2cash integration record) for the local environment."""

    system = SystemName.NETSUITE

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.sandbox = NetSuiteSandbox("TSTDRV2026001", clock=clock)
        self.subsidiaries: dict[str, str] = {}
        home = self.sandbox.home_currency
        self.currencies: dict[str, str] = {home: self.sandbox.add_currency(home)}

    def connection(self, base_url: str) -> dict[str, Any]:
        # A customer's subsidiary: its legal entity's, else the first company's (OneWorld needs one).
        first = next(iter(self.subsidiaries.values()), None)
        return {
            **self.sandbox.connection(base_url),
            "subsidiary": first,
            "subsidiaries": dict(self.subsidiaries),
            "currencies": dict(self.currencies),
        }

    def seed(self, landscape: Landscape) -> None:
        """A subsidiary per legal entity in its functional currency, and the payment terms the
        landscape's rows name, called as the CRM calls the same term ("Net 30": due in 30 days)."""
        for entity in landscape.legal_entities:
            currency = entity.functional_currency
            self.currencies[currency] = self.sandbox.add_currency(currency)
            self.subsidiaries[entity.code] = self.sandbox.add_subsidiary(entity.name, currency=currency)
        rows = landscape.mappings.payment_terms
        seeded: set[str] = set()
        for row in rows:
            if row.target_system != self.system or row.target in seeded:
                continue
            named = [
                other.target
                for other in rows
                if other.source == row.source
                and other.source_system == row.source_system
                and other is not row
            ]
            name = next((n for n in named if any(w.isdigit() for w in n.split())), f"Term {row.target}")
            days = next((int(word) for word in name.split() if word.isdigit()), 30)
            self.sandbox.add_term(name, days_until_net_due=days, internal_id=row.target)
            seeded.add(row.target)
        self._seed_postings(landscape)

    def _seed_postings(self, landscape: Landscape) -> None:
        """What posted work and invoices are booked with: service items (and the fixed-fee item),
        expense categories, and the class, department and location records the rows name."""
        tables = landscape.mappings
        seen: set[tuple[str, str]] = set()

        def first(kind: str, target: str) -> bool:
            if (kind, target) in seen:
                return False
            seen.add((kind, target))
            return True

        mine = self.system.value
        for row in tables.service_items:
            if row.target_system == mine and first("item", row.target):
                self.sandbox.add_item(row.source, internal_id=row.target)
        item = landscape.billing.fixed_item.get(self.system)
        if item is not None and first("item", item):
            self.sandbox.add_item("Professional services (fixed fee, retainer)", internal_id=item)
        for row in tables.expense_accounts:
            if row.target_system == mine and first("category", row.target):
                self.sandbox.add_expense_category(f"Billable {row.source}", internal_id=row.target)
        for record_type, rows in (
            ("classification", tables.classes),
            ("department", tables.departments),
            ("location", tables.locations),
        ):
            for row in rows:
                if row.target_system == mine and first(record_type, row.target):
                    self.sandbox.add_segment(record_type, row.source, internal_id=row.target)

    def describe(self) -> list[str]:
        return [f"netsuite sandbox account {self.sandbox.account_id}: changes are swept (no webhooks)"]


def local_twin(clock: Callable[[], datetime]) -> NetSuiteTwin:
    return NetSuiteTwin(clock)
