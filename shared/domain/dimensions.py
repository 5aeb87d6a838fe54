"""The firm's financial dimensions: legal entities, departments, classes, locations, tax and revenue."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.domain._rules import Code, CountryCode
from shared.domain.decimals import ExactDecimal
from shared.domain.models import CanonicalModel, SourceRef, SystemName
from shared.domain.money import CurrencyCode

# Dimension values are declared in the landscape configuration and identified by the firm's own
# code; `source` is where the value lives in the accounting system when it has a record there
# (a NetSuite department, a Xero tracking option), and None while it is only declared.


class LegalEntity(CanonicalModel):
    """A company of the group that keeps its own books (a subsidiary, a company, a tenant)."""

    code: Code
    name: str = Field(min_length=1, max_length=255)
    functional_currency: CurrencyCode
    accounting_system: SystemName
    country: CountryCode
    source: SourceRef | None = None


class DimensionValue(CanonicalModel):
    """One value of a reporting dimension: the firm's code, its name, and where it is kept."""

    code: Code
    name: str = Field(min_length=1, max_length=255)
    source: SourceRef | None = None


class Department(DimensionValue):
    """A department of the firm that revenue and cost are reported by."""


class AccountingClass(DimensionValue):
    """A class (service line, practice) that postings are tagged with; 'class' is a keyword."""


class Location(DimensionValue):
    """An office or region that postings are tagged with."""

    country: CountryCode | None = None


class CostCenter(DimensionValue):
    """A cost centre that postings are tagged with."""


class TaxCode(CanonicalModel):
    """A tax treatment: its rate as a percentage (20 means 20 %) in one jurisdiction."""

    code: Code
    name: str | None = None
    rate: ExactDecimal = Field(ge=0, le=100)
    jurisdiction: str = Field(min_length=1)
    # Inclusive codes mean prices already contain the tax; invoice lines in the canonical model are
    # always net of tax, so a mapper extracts the net before building an InvoiceLine.
    inclusive: bool = False
    source: SourceRef | None = None


class RevenueMapping(CanonicalModel):
    """Where revenue of a service line (or one item of it) is posted in the general ledger."""

    code: Code
    service_line: str = Field(min_length=1)
    item: str | None = None
    revenue_account: Code
    # Set when revenue is recognised over time (retainers, fixed fee): billing posts here first.
    deferred_revenue_account: Code | None = None

    @model_validator(mode="after")
    def _distinct_accounts(self) -> RevenueMapping:
        if self.deferred_revenue_account == self.revenue_account:
            raise ValueError(
                "deferred_revenue_account must differ from revenue_account "
                f"({self.revenue_account}); leave it empty when revenue is not deferred"
            )
        return self


class FinancialDimensions(CanonicalModel):
    """The dimension codes a posting carries; only the legal entity is always required."""

    legal_entity: Code
    department: Code | None = None
    accounting_class: Code | None = None
    location: Code | None = None
    cost_center: Code | None = None
