"""SuiteQL values alone: Oracle format models, relative ranges, implicit conversions, result text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from infra.local.sandboxes.netsuite.suiteql_values import (
    FormatError,
    comparable,
    like,
    relative_range,
    render,
    to_char,
    to_datetime,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday


def test_format_models_read_and_write_dates() -> None:
    assert to_datetime("2026-12-01 09:30:05", "YYYY-MM-DD HH24:MI:SS") == datetime(
        2026, 12, 1, 9, 30, 5, tzinfo=UTC
    )
    assert to_datetime("12/01/2026", "MM/DD/YYYY") == datetime(2026, 12, 1, tzinfo=UTC)
    assert to_datetime("2026-12-01T09:30:00", 'YYYY-MM-DD"T"HH24:MI:SS').hour == 9
    assert to_char(NOW, 'YYYY-MM-DD"T"HH24:MI:SS') == "2026-12-01T09:00:00"
    with pytest.raises(FormatError):
        to_datetime("2026-12-01", "MM/DD/YYYY")
    with pytest.raises(FormatError):
        to_datetime("2026-12-01", "YYYY-QQ")


def test_relative_ranges() -> None:
    assert relative_range("LM", "START", NOW) == datetime(2026, 11, 1, tzinfo=UTC)
    assert relative_range("LM", "END", NOW) == datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
    assert relative_range("TW", "START", NOW) == datetime(2026, 11, 29, tzinfo=UTC)  # a Sunday
    assert relative_range("LY", "END", NOW) == datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert relative_range("YESTERDAY", "START", NOW) == datetime(2026, 11, 30, tzinfo=UTC)
    assert relative_range("TMTD", "END", NOW) == datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC)
    with pytest.raises(FormatError):
        relative_range("LFY", "START", NOW)


def test_implicit_conversions_follow_the_other_side() -> None:
    # a text compared with a date column is read in the user's format (or ISO)
    assert comparable(date(2026, 12, 1), "12/1/2026") == (NOW.replace(hour=0), NOW.replace(hour=0))
    # a text compared with a number is a number
    assert comparable(Decimal(107), "107") == (Decimal(107), Decimal(107))
    assert comparable(None, "x") is None
    with pytest.raises(FormatError):
        comparable(date(2026, 12, 1), "yesterday")


def test_results_are_text_and_dates_have_no_time() -> None:
    assert render(Decimal("1500.00")) == "1500"
    assert render(Decimal("0.50")) == "0.5"
    assert render(NOW) == "12/1/2026"
    assert render(None) is None


def test_like_is_case_sensitive_with_percent_and_underscore() -> None:
    assert like("Acme Corp", "Acme%")
    assert like("Acme", "Ac_e")
    assert not like("acme", "Acme%")
    # an escape character makes % and _ literal
    assert like("100% Tea", "100\\% T%", "\\")
    assert not like("1000 Tea", "100\\% T%", "\\")
    assert like("a_b", "a!_b", "!")
    assert not like("axb", "a!_b", "!")
