"""Money: a Decimal amount in an ISO 4217 currency, rounded half-up to the currency's minor unit.

Rounding rule: ROUND_HALF_UP ("commercial" rounding, half away from zero). It is what invoices,
tax authorities and the accounting systems the hub posts to apply to a line or a tax figure, so a
figure the hub computes matches the one the ledger computes. Banker's rounding (half-even) only
pays off when summing very many unrounded halves, which the hub never does: it rounds each line
and sums rounded figures. Because Decimal's ROUND_HALF_UP works on the magnitude, rounding is
symmetric: a credit of -0.005 rounds to -0.01, the mirror of 0.005 -> 0.01.

Arithmetic is only within one currency; crossing currencies goes through an explicit FxRate.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from fractions import Fraction
from types import MappingProxyType
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shared.domain.decimals import CONTEXT, ExactDecimal, exact, fixed_point
from shared.domain.errors import ValidationFailed

ROUNDING = decimal.ROUND_HALF_UP

# ISO 4217 Table A.1 ("list one"), maintained by SIX on behalf of ISO:
# https://www.six-group.com/en/products-services/financial-information/data-standards.html
# (the XML: https://www.six-group.com/dam/download/financial-information/data-center/iso-currrency/lists/list-one.xml)
# Codes whose minor unit is "N.A." are left out on purpose: precious metals (XAU, XAG, XPT, XPD),
# the IMF's SDR (XDR), the European bond-market units (XBA-XBD), XSU, XUA, the test code XTS and
# "no currency" XXX. Nobody invoices in them and "round to the minor unit" has no meaning for them.
# Funds codes that do have a minor unit (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) are kept: CLF
# and UYW are real invoicing units in Chile and Uruguay. Withdrawn codes (HRK, SLL, ZWL, CUC, ...)
# are absent; a record that still carries one is refused with a clear error rather than guessed.
_TWO_DIGITS = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL "
    "MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK "
    "PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS "
    "TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"
)
_ZERO_DIGITS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DIGITS = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DIGITS = "CLF UYW"

CURRENCIES: Mapping[str, int] = MappingProxyType(
    {
        code: digits
        for codes, digits in ((_ZERO_DIGITS, 0), (_TWO_DIGITS, 2), (_THREE_DIGITS, 3), (_FOUR_DIGITS, 4))
        for code in codes.split()
    }
)


def currency(code: str) -> str:
    """`code` if it is an active ISO 4217 alphabetic code with a minor unit, else ValueError."""
    if not isinstance(code, str) or len(code) != 3 or not code.isascii() or not code.isupper():
        raise ValueError(
            f"currency {code!r} must be an ISO 4217 code of three upper-case letters, e.g. 'USD'"
        )
    if code not in CURRENCIES:
        raise ValueError(f"currency {code!r} is not an active ISO 4217 currency with a minor unit")
    return code


CurrencyCode = Annotated[str, AfterValidator(currency)]


class CurrencyMismatch(ValidationFailed, ValueError):
    """Two amounts in different currencies were combined without an explicit FxRate."""

    def __init__(self, left: str, right: str, operation: str) -> None:
        super().__init__(
            f"cannot {operation} {left} and {right}: amounts must share one currency "
            "(convert with an explicit FxRate first)"
        )
        self.left = left
        self.right = right


def _quantum(code: str) -> decimal.Decimal:
    return decimal.Decimal(1).scaleb(-CURRENCIES[code])


class Money(BaseModel):
    """An exact amount in one ISO 4217 currency; unrounded until `rounded()` is asked for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # ExactDecimal writes JSON as a fixed-point string: a JSON number is a float to most readers.
    amount: ExactDecimal
    currency: CurrencyCode

    @classmethod
    def of(cls, amount: decimal.Decimal | int | str, currency: str) -> Money:
        """Money from a Decimal, int or numeric string (never a float) and a currency code."""
        return cls(amount=amount, currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, written to the currency's minor unit (0.00 USD, 0 JPY, 0.000 KWD)."""
        return cls(amount=decimal.Decimal(0).quantize(_quantum(currency)), currency=currency)

    @classmethod
    def _trusted(cls, amount: decimal.Decimal, currency: str) -> Money:
        # Results of arithmetic on already-validated Money skip re-validation (hot path in batches).
        return cls.model_construct(amount=amount, currency=currency)

    @property
    def minor_unit(self) -> int:
        """How many decimal places this currency's minor unit has (JPY 0, USD 2, KWD 3, CLF 4)."""
        return CURRENCIES[self.currency]

    def rounded(self) -> Money:
        """This amount rounded half-up to the currency's minor unit."""
        return self._trusted(
            self.amount.quantize(_quantum(self.currency), rounding=ROUNDING, context=CONTEXT), self.currency
        )

    @property
    def is_rounded(self) -> bool:
        """Whether the amount already sits on the currency's minor unit."""
        return self.rounded().amount == self.amount

    def _same_currency(self, other: object, operation: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot {operation} Money and {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency, operation)
        return other

    def __add__(self, other: Money) -> Money:
        other = self._same_currency(other, "add")
        return self._trusted(CONTEXT.add(self.amount, other.amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        other = self._same_currency(other, "subtract")
        return self._trusted(CONTEXT.subtract(self.amount, other.amount), self.currency)

    def __neg__(self) -> Money:
        return self._trusted(CONTEXT.minus(self.amount), self.currency)

    def __abs__(self) -> Money:
        return self._trusted(CONTEXT.abs(self.amount), self.currency)

    def __mul__(self, factor: decimal.Decimal | int) -> Money:
        """This amount times a quantity or rate, unrounded: the caller decides where to round."""
        if isinstance(factor, Money):
            raise TypeError("cannot multiply Money by Money")
        return self._trusted(CONTEXT.multiply(self.amount, exact(factor, what="factor")), self.currency)

    def __rmul__(self, factor: decimal.Decimal | int) -> Money:
        return self.__mul__(factor)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same_currency(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same_currency(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same_currency(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same_currency(other, "compare").amount

    def __str__(self) -> str:
        return f"{fixed_point(self.amount)} {self.currency}"

    def allocate(self, ratios: Sequence[decimal.Decimal | int]) -> list[Money]:
        """Split a rounded amount by `ratios` so that the parts sum to it exactly.

        Largest remainder: each part gets the whole minor units of its exact share, and the minor
        units left over go one each to the parts with the largest fractional remainders (earlier
        parts first on ties), so no part is more than one minor unit from its exact share.
        """
        if not self.is_rounded:
            raise ValueError(f"allocate needs an amount on the minor unit of {self.currency}, got {self}")
        weights = [Fraction(exact(ratio, what="ratio")) for ratio in ratios]
        if not weights:
            raise ValueError("allocate needs at least one ratio")
        if any(weight < 0 for weight in weights):
            raise ValueError(f"allocate ratios must not be negative, got {list(ratios)}")
        total_weight = sum(weights, Fraction(0))
        if total_weight == 0:
            raise ValueError("allocate ratios must not all be zero")
        digits = self.minor_unit
        # Work in whole minor units of the magnitude; the sign is put back at the end so a
        # negative amount splits as the mirror image of the positive one.
        units = int(abs(self.amount).scaleb(digits, context=CONTEXT))
        shares = [units * weight / total_weight for weight in weights]
        parts = [share.numerator // share.denominator for share in shares]
        leftover = units - sum(parts)
        by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - parts[i]), i))
        for index in by_remainder[:leftover]:
            parts[index] += 1
        sign = -1 if self.amount < 0 else 1
        return [
            self._trusted(decimal.Decimal(sign * part).scaleb(-digits, context=CONTEXT), self.currency)
            for part in parts
        ]


def sum_money(items: Iterable[Money], currency: str) -> Money:
    """The sum of `items`, all in `currency` (zero of that currency when there are none)."""
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total


class FxRate(BaseModel):
    """One unit of `base` is worth `rate` units of `quote` on `as_of`, according to `source`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: CurrencyCode
    quote: CurrencyCode
    rate: ExactDecimal = Field(gt=0)
    as_of: date
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _two_currencies(self) -> FxRate:
        if self.base == self.quote:
            raise ValueError(f"an FxRate needs two different currencies, got {self.base} to {self.quote}")
        return self

    def convert(self, money: Money) -> Money:
        """`money` (in `base`) in `quote`, rounded half-up to the quote currency's minor unit."""
        if money.currency != self.base:
            raise CurrencyMismatch(money.currency, self.base, "convert with a rate from")
        return Money.of(CONTEXT.multiply(money.amount, self.rate), self.quote).rounded()
