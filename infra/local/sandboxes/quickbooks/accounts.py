"""Account (the chart of accounts) and TaxCode rules, and the accounts a new company starts with.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/account: create,
read, query, sparse/full update, no delete (an account is made inactive). `Name` is required and
unique ("Duplicate Name Exists Error", 6240) and "must not contain double quotes (") or colon (:)";
`AccountType` is required unless `AccountSubType` is given (the type follows from the sub-type);
`Classification` follows from the type; "Default accounts are created for new companies".
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/taxcode: read and
query only; a tax code is created through the TaxService resource
(https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/taxservice), which this
twin does not serve, so POST /taxcode answers 500 Unsupported Operation.
"""

from __future__ import annotations

from typing import Any

from infra.local.sandboxes.quickbooks.company import Company
from infra.local.sandboxes.quickbooks.faults import invalid_enumeration, invalid_property, required_missing
from infra.local.sandboxes.quickbooks.lists import unique_name

# AccountType -> (Classification, its AccountSubType values; the first is the one given when none is
# sent). Values from the reference's AccountType and AccountSubType enumerations: the common sub-types
# of each type, not all of them (a documented sub-type left out is refused 2170 here).
ACCOUNT_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Bank": (
        "Asset",
        ("Checking", "Savings", "MoneyMarket", "CashOnHand", "RentsHeldInTrust", "TrustAccounts"),
    ),
    "Credit Card": ("Liability", ("CreditCard",)),
    "Accounts Receivable": ("Asset", ("AccountsReceivable",)),
    "Accounts Payable": ("Liability", ("AccountsPayable",)),
    "Other Current Asset": (
        "Asset",
        ("OtherCurrentAssets", "PrepaidExpenses", "UndepositedFunds", "Inventory", "EmployeeCashAdvances"),
    ),
    "Other Current Liability": (
        "Liability",
        ("OtherCurrentLiabilities", "SalesTaxPayable", "PayrollTaxPayable", "LineOfCredit"),
    ),
    "Equity": ("Equity", ("OpeningBalanceEquity", "RetainedEarnings", "OwnersEquity", "PartnersEquity")),
    "Income": (
        "Revenue",
        ("ServiceFeeIncome", "SalesOfProductIncome", "OtherPrimaryIncome", "DiscountsRefundsGiven"),
    ),
    "Other Income": ("Revenue", ("OtherMiscellaneousIncome", "InterestEarned", "DividendIncome")),
    "Cost of Goods Sold": (
        "Expense",
        ("SuppliesMaterialsCogs", "CostOfLaborCos", "OtherCostsOfServiceCos", "EquipmentRentalCos"),
    ),
    "Expense": (
        "Expense",
        (
            "OtherMiscellaneousServiceCost",
            "AdvertisingPromotional",
            "Auto",
            "BankCharges",
            "EntertainmentMeals",
            "Insurance",
            "LegalProfessionalFees",
            "OfficeGeneralAdministrativeExpenses",
            "SuppliesMaterials",
            "Travel",
            "TravelMeals",
            "Utilities",
        ),
    ),
    "Other Expense": ("Expense", ("OtherMiscellaneousExpense", "Depreciation", "Amortization")),
}
_BY_SUB_TYPE = {sub: kind for kind, (_, subs) in ACCOUNT_TYPES.items() for sub in subs}
# Accounts a new company has (Name, AccountType, AccountSubType): a bank account to pay from, a
# credit card, and the expense, income and receivable accounts invoices and purchases post to.
DEFAULT_ACCOUNTS = (
    ("Checking", "Bank", "Checking"),
    ("Mastercard", "Credit Card", "CreditCard"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("Services", "Income", "ServiceFeeIncome"),
    ("Billable Expense Income", "Income", "OtherPrimaryIncome"),
    ("Travel", "Expense", "Travel"),
    ("Meals and Entertainment", "Expense", "EntertainmentMeals"),
    ("Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses"),
)
_FORBIDDEN = ('"', ":")


def check_account(company: Company, fields: dict[str, Any], own_id: str | None) -> dict[str, Any]:
    """The stored Account for these fields: a unique, clean name and a known type and sub-type."""
    name = unique_name(company, "Account", fields.get("Name"), own_id)
    if any(mark in name for mark in _FORBIDDEN):
        raise invalid_property('Property Name:Name must not contain double quotes (") or colon (:)', "Name")
    kind, sub_type = fields.get("AccountType"), fields.get("AccountSubType")
    if kind is None and sub_type is None:
        raise required_missing(
            "Required parameter AccountType is missing in the request (or AccountSubType)", "AccountType"
        )
    if kind is not None and kind not in ACCOUNT_TYPES:
        raise invalid_enumeration(kind, "AccountType", ", ".join(ACCOUNT_TYPES), "AccountType")
    if sub_type is not None and sub_type not in _BY_SUB_TYPE:
        raise invalid_enumeration(sub_type, "AccountSubType", "the reference's list", "AccountSubType")
    kind = kind or _BY_SUB_TYPE[str(sub_type)]
    classification, subs = ACCOUNT_TYPES[str(kind)]
    if sub_type is not None and sub_type not in subs:
        raise invalid_enumeration(sub_type, f"AccountSubType of {kind}", ", ".join(subs), "AccountSubType")
    return {
        "Active": True,
        "SubAccount": False,
        "CurrentBalance": 0,
        "CurrentBalanceWithSubAccounts": 0,
        "CurrencyRef": {"value": company.home_currency},
        **fields,
        "Name": name,
        "FullyQualifiedName": name,
        "AccountType": kind,
        "AccountSubType": sub_type or subs[0],
        "Classification": classification,
    }


def _place(company: Company, entity: str, record_id: str | None) -> str:
    """The Id a helper-made object gets: the next one, or the caller's (ValueError when taken)."""
    if record_id is None:
        return company.next_id(entity)
    if record_id in company.table(entity):
        raise ValueError(f"{entity} {record_id} already exists in the sandbox")
    company.reserve_id(entity, record_id)
    return record_id


def add_account(
    company: Company,
    name: str,
    *,
    account_type: str,
    sub_type: str | None,
    active: bool,
    record_id: str | None,
) -> str:
    """An account the bookkeeper set up in the QBO UI (no notice owed); returns its Id."""
    fields: dict[str, Any] = {"Name": name, "AccountType": account_type, "Active": active}
    if sub_type is not None:
        fields["AccountSubType"] = sub_type
    stored = check_account(company, fields, None)
    record_id = _place(company, "Account", record_id)
    company.stamp_new("Account", record_id, stored, report=False)
    return record_id


def seed_accounts(company: Company) -> None:
    """The default chart of accounts of a new company."""
    for name, kind, sub_type in DEFAULT_ACCOUNTS:
        add_account(company, name, account_type=kind, sub_type=sub_type, active=True, record_id=None)


def add_tax_code(company: Company, name: str, *, taxable: bool, active: bool, record_id: str | None) -> str:
    """A sales tax code set up in the QBO UI (Taxes > Sales tax); returns its Id."""
    record_id = _place(company, "TaxCode", record_id)
    fields = {
        "Name": name,
        "Description": name,
        "Active": active,
        "Taxable": taxable,
        "TaxGroup": False,
        "Hidden": False,
    }
    company.stamp_new("TaxCode", record_id, fields, report=False)
    return record_id
