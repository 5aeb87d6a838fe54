"""10,000 canonical time entries: validated from the PSA's shape, then mapped to the ledger's values."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.domain.delivery import TimeEntry
from shared.domain.dimensions import FinancialDimensions
from shared.domain.models import SystemName
from shared.governance.loader import load_landscape
from shared.governance.mappings import Mappings
from shared.sync.dimensions import DimensionMapper

DEMO = Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml"
ENGAGEMENTS = [
    (
        FinancialDimensions(
            legal_entity="US01", department="Strategy", location="New York", cost_center="CC-100"
        ),
        "Consulting",
    ),
    (
        FinancialDimensions(legal_entity="US01", department="Technology", cost_center="CC-100"),
        "Implementation",
    ),
    (
        FinancialDimensions(
            legal_entity="UK01", department="Strategy", location="London", cost_center="CC-200"
        ),
        "Consulting",
    ),
]


@dataclass
class MappingFigures:
    records: int
    validate_seconds: float
    map_seconds: float

    @property
    def per_second(self) -> float:
        return self.records / (self.validate_seconds + self.map_seconds)

    @property
    def microseconds_per_record(self) -> float:
        return (self.validate_seconds + self.map_seconds) / self.records * 1e6


def raw_entries(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Time entries as a PSA connector's mapper hands them over: JSON-shaped, amounts as strings."""
    rng = random.Random(seed)
    entries = []
    for n in range(count):
        currency = "GBP" if n % 3 == 2 else "USD"
        entries.append(
            {
                "source": {
                    "system": "productive",
                    "type": "time_entry",
                    "id": str(100000 + n),
                    "version": "1",
                },
                "project": {"system": "productive", "type": "project", "id": str(n % 3)},
                "worker": {"system": "productive", "type": "person", "id": str(rng.randint(1, 400))},
                "worked_on": f"2026-11-{rng.randint(1, 27):02d}",
                "hours": f"{rng.randint(1, 40) * 0.25:.2f}",
                "rate": {"amount": f"{rng.choice([150, 175, 210, 260])}.00", "currency": currency},
                "billable": True,
                "approved_at": "2026-11-28T09:00:00Z",
                "role": "Consultant",
            }
        )
    return entries


def measure(count: int = 10_000) -> MappingFigures:
    raw = raw_entries(count)
    mapper = DimensionMapper(
        Mappings(load_landscape(DEMO)), source=SystemName.PRODUCTIVE, target=SystemName.QUICKBOOKS
    )
    started = time.perf_counter()
    entries = [TimeEntry.model_validate(item) for item in raw]
    validated = time.perf_counter()
    for entry in entries:
        dimensions, service = ENGAGEMENTS[int(entry.project.id)]
        mapper.map(dimensions, service=service)
        entry.amount  # noqa: B018 - the posting amount is part of what each record costs
    mapped = time.perf_counter()
    return MappingFigures(count, validated - started, mapped - validated)
