"""A budget's `budget_total` as Productive reports it: its services' price x quantity, in cents.

https://developer.productive.io/reference/resources/deals: `budget_total` is the "Total budget amount
across all services"; money is in cents (as service `price`). A service without a quantity adds
nothing (how Productive totals a time-and-materials line without one is UNCONFIRMED). Computed on
every read, so it follows the services as they change.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from infra.local.sandboxes.productive.filters import related


def _number(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def with_budget_total(deal: dict[str, Any], services: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The deal with `budget_total` (a budget's only; a plain deal is returned as it is)."""
    if not deal["attributes"].get("budget"):
        return deal
    total = sum(
        (
            _number(s["attributes"].get("price")) * _number(s["attributes"].get("quantity"))
            for s in services
            if related(s, "deal") == deal["id"] and not s["attributes"].get("deleted_at")
        ),
        Decimal(0),
    )
    shown = copy.deepcopy(deal)
    shown["attributes"]["budget_total"] = int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return shown
