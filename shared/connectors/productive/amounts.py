"""Money as Productive writes it: whole minor units (cents) of the amount's currency, both ways.

One rule, used for what the hub writes (service prices) and what it reads (expense amounts):
Productive sends and takes money as integers in the currency's minor unit. Its pages show integers
(an expense's `amount` 10000 beside `exchange_rate` "1.25" and `amount_default` 12500,
https://developer.productive.io/expenses.html; budget totals and `rate_cents` "in cents",
https://developer.productive.io/reference/resources/deals), while the expense reference says only
"Unit cost of the expense in the expense currency"
(https://developer.productive.io/reference/resources/expenses). That these are minor units is
UNCONFIRMED by a sentence of the docs: should Productive say otherwise, this module is the one
place to change. A currency without a minor unit (JPY) is counted in whole units.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.domain.money import Money


def to_minor_units(money: Money) -> int:
    """`money` in whole minor units of its currency (189.50 EUR -> 18950)."""
    return int((money.amount * (Decimal(10) ** money.minor_unit)).quantize(Decimal(1)))


def from_minor_units(value: int, currency: str) -> Money:
    """The amount Productive writes as `value` minor units of `currency`, exactly (18950 EUR -> 189.50)."""
    # Imported here: the account and webhook paths import this package and never read an amount.
    from shared.domain.money import CURRENCIES, Money

    code = currency.upper()
    if code not in CURRENCIES:
        raise ValueError(f"currency {currency!r} is not an ISO 4217 currency with a minor unit")
    return Money(amount=Decimal(value).scaleb(-CURRENCIES[code]), currency=code)
