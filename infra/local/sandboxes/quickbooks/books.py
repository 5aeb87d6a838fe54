"""Company settings an invoice must respect: the books' closing date and sales tax per line.

Closing the books (Settings > Account and settings > Advanced > Accounting > Close the books) shows
as Preferences.AccountingInfoPrefs.BookCloseDate; a transaction dated on or before it is refused
with 5010 "Account Period Closed" (as integrators report it:
https://github.com/routablehq/python-quickbooks/issues/208; Intuit's error-code page does not list
the detail text, UNCONFIRMED beyond that report).
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/preferences

Tax: QBO computes TxnTaxDetail.TotalTax from the lines' TaxCodeRef and the code's rates. Here a
code's rate is a sandbox seed (QBO holds it in TaxRate entities through SalesTaxRateList); tax is
rounded half-up per line. A company outside the US (`tax_per_line`, e.g. a UK realm) refuses a
sales line without TaxCodeRef with 6000 "Make sure all your transactions have a VAT rate before you
save." (the message QBO shows for a VAT company; its API code is reported as 6000, UNCONFIRMED).
https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-sales-tax-for-non-us-locales
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from infra.local.sandboxes.quickbooks.company import Company
from infra.local.sandboxes.quickbooks.faults import business_rule, fault

_CENT = Decimal("0.01")


@dataclass
class Books:
    """The settings of one company the sandbox's invoice and payment rules read."""

    book_close_date: str | None = None  # ISO date, inclusive
    tax_per_line: bool = False
    tax_rates: dict[str, Decimal] = field(default_factory=dict)  # TaxCode Id -> percent


def books_of(company: Company) -> Books:
    """The settings held on `company` (created on first use)."""
    found = getattr(company, "books", None)
    if not isinstance(found, Books):
        found = Books()
        company.books = found  # type: ignore[attr-defined]
    return found


def check_open_period(company: Company, txn_date: str) -> None:
    """5010 for a transaction dated on or before the closing date."""
    closed = books_of(company).book_close_date
    if closed is not None and txn_date <= closed:
        raise fault(
            400,
            "5010",
            "Account Period Closed",
            f"The account period has closed. TxnDate {txn_date} is on or before the closing date {closed}",
            "ValidationFault",
            "TxnDate",
        )


def line_tax(company: Company, line: dict[str, Any], amount: Decimal) -> Decimal:
    """The tax of one sales line (half-up to the cent); refuses a missing code where one is needed."""
    detail = line.get("SalesItemLineDetail") or {}
    ref = detail.get("TaxCodeRef")
    code = str(ref.get("value") or "") if isinstance(ref, dict) else ""
    settings = books_of(company)
    if not code:
        if settings.tax_per_line:
            raise business_rule(
                "Make sure all your transactions have a VAT rate before you save.",
                "Line.SalesItemLineDetail.TaxCodeRef",
            )
        return Decimal(0)
    rate = settings.tax_rates.get(code, Decimal(0))
    return (amount * rate / 100).quantize(_CENT, ROUND_HALF_UP)
