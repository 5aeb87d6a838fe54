"""Days sales outstanding per customer: open AR over the trailing window's invoicing, in days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from shared.domain.cash import DSO_WINDOW_DAYS, InvoiceStanding, days_sales_outstanding, health_of
from shared.domain.models import SystemName
from shared.domain.money import Money

TODAY = date(2026, 12, 1)


def invoice(total: str, balance: str, *, days_ago: int, currency: str = "USD", voided: bool = False):
    return InvoiceStanding(
        system=SystemName.QUICKBOOKS,
        id=f"{total}-{days_ago}",
        customer="58",
        total=Money.of(total, currency),
        balance=Money.of(balance, currency),
        issued_on=TODAY - timedelta(days=days_ago),
        voided=voided,
        read_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_no_invoice_has_no_dso_and_everything_paid_is_zero_days() -> None:
    assert days_sales_outstanding([], "USD", TODAY) is None
    assert days_sales_outstanding([invoice("500.00", "0.00", days_ago=10)], "USD", TODAY) == Decimal("0.0")


def test_open_ar_over_the_windows_invoicing_times_the_window() -> None:
    standings = [
        invoice("3000.00", "1000.00", days_ago=20),  # in the window, partly paid
        invoice("1500.00", "1500.00", days_ago=60),  # in the window, open
        invoice("900.00", "500.00", days_ago=120),  # before the window: its balance is still AR
    ]
    # (1000 + 1500 + 500) / (3000 + 1500) x 90 = 60.0
    assert days_sales_outstanding(standings, "USD", TODAY) == Decimal("60.0")
    # an invoice issued exactly a window ago is outside it
    edge = [invoice("100.00", "100.00", days_ago=DSO_WINDOW_DAYS), invoice("100.00", "0.00", days_ago=1)]
    assert days_sales_outstanding(edge, "USD", TODAY) == Decimal("90.0")


def test_void_invoices_and_other_currencies_count_for_nothing() -> None:
    standings = [
        invoice("1000.00", "250.00", days_ago=5),
        invoice("9000.00", "9000.00", days_ago=5, voided=True),
        invoice("7000.00", "7000.00", days_ago=5, currency="GBP"),
    ]
    assert days_sales_outstanding(standings, "USD", TODAY) == Decimal("22.5")
    assert days_sales_outstanding(standings, "GBP", TODAY) == Decimal("90.0")


def test_ar_with_nothing_invoiced_lately_is_as_old_as_its_balance() -> None:
    # 300 open for 100 days and 100 open for 200 days: 125 days, weighted by balance
    standings = [invoice("300.00", "300.00", days_ago=100), invoice("400.00", "100.00", days_ago=200)]
    assert days_sales_outstanding(standings, "USD", TODAY) == Decimal("125.0")


def test_the_customers_health_carries_its_dso() -> None:
    standings = [invoice("3000.00", "1000.00", days_ago=20), invoice("1500.00", "1500.00", days_ago=60)]
    health = health_of(standings, "USD", TODAY)
    assert health.days_sales_outstanding == Decimal("50.0")
    assert health.open.amount == Decimal("2500.00")
