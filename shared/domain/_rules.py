"""Checks shared by the lifecycle models; each error names the field and what is expected."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import StringConstraints

from shared.domain.money import Money

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
"""The firm's own short code for a dimension value, tax code or mapping (e.g. 'UK01', 'VAT20')."""

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""An ISO 3166-1 alpha-2 country code, upper case."""


def in_currency(field: str, money: Money | None, expected: str) -> None:
    """Raise ValueError naming `field` unless `money` is in `expected` (None passes)."""
    if money is not None and money.currency != expected:
        raise ValueError(f"{field} is in {money.currency}; expected {expected}")


def on_minor_unit(field: str, money: Money | None) -> None:
    """Raise ValueError naming `field` unless `money` is rounded to its currency's minor unit."""
    if money is not None and not money.is_rounded:
        raise ValueError(
            f"{field} {money} has more decimal places than {money.currency} allows "
            f"({money.minor_unit}); round it first"
        )


def all_in_currency(field: str, amounts: Iterable[Money | None], expected: str) -> None:
    """`in_currency` for each item of a list field, naming the item's index."""
    for index, money in enumerate(amounts):
        in_currency(f"{field}[{index}]", money, expected)
