"""Money keeps every minor unit: rounding, allocation, arithmetic and JSON, within one currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.domain.money import CURRENCIES, ROUNDING, CurrencyMismatch, FxRate, Money, currency, sum_money

codes = st.sampled_from(sorted(CURRENCIES))
amounts = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=6, allow_nan=False)


@st.composite
def money(draw: st.DrawFn, code: str | None = None) -> Money:
    return Money.of(draw(amounts), code or draw(codes))


@st.composite
def same_currency(draw: st.DrawFn, count: int) -> list[Money]:
    code = draw(codes)
    return [draw(money(code)) for _ in range(count)]


def test_minor_units_follow_iso_4217():
    # given the currencies whose minor unit is not the usual two digits
    # then each rounds to its own number of places
    assert CURRENCIES["JPY"] == 0 and CURRENCIES["ISK"] == 0
    assert CURRENCIES["KWD"] == 3 and CURRENCIES["BHD"] == 3 and CURRENCIES["TND"] == 3
    assert CURRENCIES["CLF"] == 4 and CURRENCIES["UYW"] == 4
    assert CURRENCIES["USD"] == 2 and CURRENCIES["EUR"] == 2
    assert Money.of("1234.5", "JPY").rounded().amount == Decimal("1235")
    assert Money.of("1.2345", "KWD").rounded().amount == Decimal("1.235")
    assert Money.of("1.23455", "CLF").rounded().amount == Decimal("1.2346")
    assert str(Money.zero("KWD")) == "0.000 KWD"


def test_codes_without_a_minor_unit_are_not_currencies():
    for code in ("XAU", "XAG", "XPT", "XPD", "XDR", "XTS", "XXX"):
        assert code not in CURRENCIES
        with pytest.raises(ValueError, match=code):
            currency(code)


@pytest.mark.parametrize("code", ["usd", "US", "USDX", "U$D", "ABC"])
def test_an_invalid_code_is_refused_with_what_is_expected(code: str):
    with pytest.raises(ValueError, match="ISO 4217"):
        currency(code)


def test_half_up_is_the_rounding_rule_and_symmetric_for_credits():
    assert ROUNDING == "ROUND_HALF_UP"
    assert Money.of("0.005", "USD").rounded().amount == Decimal("0.01")
    assert Money.of("-0.005", "USD").rounded().amount == Decimal("-0.01")
    assert Money.of("0.125", "EUR").rounded().amount == Decimal("0.13")  # half-even would give 0.12


@pytest.mark.parametrize("bad", [1.1, 0.0, float("nan")])
def test_a_float_amount_is_refused_and_named(bad: float):
    with pytest.raises(ValidationError, match="float"):
        Money.of(bad, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        _ = Money.of(1, "USD") * bad  # type: ignore[operator]


def test_strings_ints_and_decimals_are_accepted():
    assert Money.of("12.30", "USD") == Money.of(Decimal("12.3"), "USD")
    assert Money.of(12, "USD").amount == Decimal(12)


def test_amounts_in_different_currencies_do_not_mix():
    usd, eur = Money.of("1", "USD"), Money.of("1", "EUR")
    for operation in (
        lambda: usd + eur,
        lambda: usd - eur,
        lambda: usd < eur,
        lambda: sum_money([usd, eur], "USD"),
    ):
        with pytest.raises(CurrencyMismatch, match="USD") as raised:
            operation()
        assert "EUR" in str(raised.value)
        assert isinstance(raised.value, ValueError)
    assert usd != eur


def test_json_carries_the_amount_as_a_string():
    assert Money.of("12.3", "USD").rounded().model_dump_json() == '{"amount":"12.30","currency":"USD"}'
    assert Money.of("1E+3", "USD").model_dump(mode="json") == {"amount": "1000", "currency": "USD"}


def test_a_rate_converts_only_from_its_base_and_rounds_to_the_quote():
    rate = FxRate(base="USD", quote="JPY", rate=Decimal("151.237"), as_of=date(2025, 3, 31), source="ecb")
    assert rate.convert(Money.of("10.01", "USD")) == Money.of("1514", "JPY")
    with pytest.raises(CurrencyMismatch, match="EUR"):
        rate.convert(Money.of("1", "EUR"))
    with pytest.raises(ValidationError, match="greater than 0"):
        FxRate(base="USD", quote="EUR", rate=Decimal(0), as_of=date(2025, 3, 31), source="ecb")


@settings(max_examples=500, deadline=None)
@given(money())
def test_rounding_is_idempotent(amount: Money):
    once = amount.rounded()
    assert once.is_rounded
    assert once.rounded() == once
    assert abs(once.amount - amount.amount) <= Decimal(1).scaleb(-amount.minor_unit) / 2


@settings(max_examples=500, deadline=None)
@given(
    money().map(Money.rounded),
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=20).filter(any),
)
def test_allocation_sums_exactly_and_each_part_is_within_one_minor_unit(total: Money, ratios: list[int]):
    parts = total.allocate(ratios)
    assert sum_money(parts, total.currency) == total
    unit = Decimal(1).scaleb(-total.minor_unit)
    for part, ratio in zip(parts, ratios, strict=True):
        assert part.is_rounded
        exact_share = total.amount * ratio / sum(ratios)
        assert abs(part.amount - exact_share) < unit


@settings(max_examples=500, deadline=None)
@given(same_currency(3))
def test_addition_and_subtraction_are_associative_within_a_currency(trio: list[Money]):
    a, b, c = trio
    assert (a + b) + c == a + (b + c)
    assert (a - b) - c == a - (b + c)
    assert a + (-a) == Money.zero(a.currency)
    assert a + b - b == a


@settings(max_examples=500, deadline=None)
@given(money())
def test_json_round_trip_keeps_the_exact_amount(amount: Money):
    payload = amount.model_dump_json()
    assert '"amount":"' in payload
    assert Money.model_validate_json(payload) == amount
