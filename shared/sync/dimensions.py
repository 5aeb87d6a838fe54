"""Financial dimensions as the target ledger names them, through the landscape's mapping tables.

A time entry, expense or invoice line carries the engagement's dimensions in the firm's own codes
(the PSA's department "Strategy", location "London", cost center "CC-200") and the service it was
delivered under. Before anything is posted, each becomes the value the accounting system expects
for that legal entity; a value with no mapping stops the posting with an error naming the table.
"""

from __future__ import annotations

from shared.domain.dimensions import FinancialDimensions
from shared.domain.models import CanonicalModel, SystemName
from shared.governance.mappings import Mappings


class PostingDimensions(CanonicalModel):
    """The dimension values one posting carries in the target system."""

    legal_entity: str
    department: str | None = None
    accounting_class: str | None = None
    location: str | None = None
    cost_center: str | None = None
    revenue_account: str | None = None


class DimensionMapper:
    """Translates dimensions from `source` codes to `target` values, legal entity by legal entity."""

    def __init__(self, mappings: Mappings, *, source: SystemName, target: SystemName) -> None:
        self._mappings = mappings
        self._source = source
        self._target = target

    def _map(self, table: str, value: str | None, legal_entity: str) -> str | None:
        if value is None:
            return None
        return self._mappings.map(
            table, value, source=self._source, target=self._target, legal_entity=legal_entity
        )

    def map(self, dimensions: FinancialDimensions, *, service: str | None = None) -> PostingDimensions:
        """The posting's dimensions in the target; MappingMissing names the first unmapped value."""
        entity = dimensions.legal_entity
        return PostingDimensions(
            legal_entity=entity,
            department=self._map("departments", dimensions.department, entity),
            accounting_class=self._map("classes", dimensions.accounting_class, entity),
            location=self._map("locations", dimensions.location, entity),
            cost_center=self._map("cost_centers", dimensions.cost_center, entity),
            revenue_account=self._map("revenue_accounts", service, entity),
        )
