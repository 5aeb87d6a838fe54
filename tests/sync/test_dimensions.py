"""Dimensions reach the ledger as it names them, per legal entity; an unmapped value is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.domain.dimensions import FinancialDimensions
from shared.domain.models import SystemName
from shared.governance.loader import load_landscape
from shared.governance.mappings import MappingMissing, Mappings
from shared.sync.dimensions import DimensionMapper

DEMO = Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml"


@pytest.fixture
def mapper() -> DimensionMapper:
    mappings = Mappings(load_landscape(DEMO))
    return DimensionMapper(mappings, source=SystemName.PRODUCTIVE, target=SystemName.QUICKBOOKS)


def test_uk_time_is_posted_with_the_uk_ledgers_values(mapper: DimensionMapper) -> None:
    posting = mapper.map(
        FinancialDimensions(
            legal_entity="UK01", department="Strategy", location="London", cost_center="CC-200"
        ),
        service="Consulting",
    )
    assert (posting.department, posting.location, posting.cost_center) == ("1", "4", "Delivery UK")
    assert posting.revenue_account == "41"  # the UK income account, not the US one (79)


def test_a_value_for_another_legal_entity_is_not_borrowed(mapper: DimensionMapper) -> None:
    with pytest.raises(MappingMissing) as missing:
        mapper.map(FinancialDimensions(legal_entity="US01", location="London"))
    assert "locations" in str(missing.value) and "London" in str(missing.value)
