"""The one table of the entities this twin serves: URL resource, documented properties, what each allows.

Per entity, Intuit's API reference lists its attributes and operations:
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer (no delete:
"make inactive" instead), .../all-entities/item and .../all-entities/term (lists: no delete either),
.../all-entities/class, .../all-entities/department, and .../all-entities/invoice (create, read,
sparse/full update, delete, void), then Employee and TimeActivity (time_activities.py), Account,
TaxCode (accounts.py) and Purchase (expenses.py).
ChangeDataCapture serves every entity except JournalCode,
TimeActivity, TaxAgency, TaxCode and TaxRate:
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
"""

from __future__ import annotations

from dataclasses import dataclass

_COMMON = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse"})


@dataclass(frozen=True)
class EntitySpec:
    """One entity: its name, its URL segment, its documented properties and its operations."""

    name: str
    properties: frozenset[str]
    writable: bool  # create and update through POST /{resource}
    deletable: bool  # POST /{resource}?operation=delete

    @property
    def resource(self) -> str:
        """The URL segment (`/v3/company/{realm}/invoice`)."""
        return self.name.lower()

    def knows(self, path: str) -> bool:
        """Whether a (dotted) property path starts with a documented property of this entity."""
        head = path.split(".")[0].casefold()
        return any(head == known.casefold() for known in self.properties)


def _spec(name: str, properties: str, *, writable: bool, deletable: bool) -> EntitySpec:
    return EntitySpec(name, _COMMON | frozenset(properties.split()), writable, deletable)


# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment (create, read,
# query, sparse/full update, delete, void) and .../all-entities/creditmemo (create, read, query, update,
# delete); cash is applied through Payment lines (payments.py)
PAYMENT = _spec(
    "Payment",
    "CustomerRef TotalAmt UnappliedAmt Line TxnDate PaymentRefNum PrivateNote DepositToAccountRef "
    "PaymentMethodRef ARAccountRef CurrencyRef ExchangeRate ProcessPayment TxnSource "
    "CreditCardPayment TransactionLocationType",
    writable=True,
    deletable=True,
)
CREDIT_MEMO = _spec(
    "CreditMemo",
    "DocNumber TxnDate CustomerRef Line TotalAmt RemainingCredit Balance CurrencyRef PrivateNote LinkedTxn "
    "CustomerMemo BillEmail BillAddr ShipAddr ClassRef DepartmentRef TxnTaxDetail ApplyTaxAfterDiscount "
    "ExchangeRate GlobalTaxCalculation HomeBalance HomeTotalAmt EmailStatus PrintStatus SalesTermRef",
    writable=True,
    deletable=True,
)
ENTITIES: tuple[EntitySpec, ...] = (
    _spec(
        "Customer",
        "DisplayName Title GivenName MiddleName FamilyName Suffix CompanyName FullyQualifiedName "
        "PrintOnCheckName Active PrimaryPhone AlternatePhone Mobile Fax PrimaryEmailAddr WebAddr BillAddr "
        "ShipAddr Notes Job BillWithParent ParentRef Level SalesTermRef PaymentMethodRef Balance "
        "OpenBalanceDate BalanceWithJobs CurrencyRef PreferredDeliveryMethod ResaleNum Taxable "
        "DefaultTaxCodeRef TaxExemptionReasonId PrimaryTaxIdentifier BusinessNumber CustomerTypeRef "
        "ARAccountRef Source",
        writable=True,
        deletable=False,
    ),
    _spec("Class", "Name SubClass ParentRef FullyQualifiedName Active", writable=False, deletable=False),
    _spec(
        "Department",
        "Name SubDepartment ParentRef FullyQualifiedName Active",
        writable=False,
        deletable=False,
    ),
    _spec(
        "Term",
        "Name Active Type DueDays DiscountPercent DiscountDays DayOfMonthDue DueNextMonthDays "
        "DiscountDayOfMonth",
        writable=True,
        deletable=False,
    ),
    _spec(
        "Item",
        "Name Sku Description Active SubItem ParentRef Level FullyQualifiedName Taxable SalesTaxIncluded "
        "UnitPrice Type IncomeAccountRef ExpenseAccountRef PurchaseDesc PurchaseCost AssetAccountRef "
        "TrackQtyOnHand QtyOnHand InvStartDate ClassRef",
        writable=True,
        deletable=False,
    ),
    _spec(
        "Invoice",
        "DocNumber TxnDate DueDate CustomerRef Line TotalAmt Balance CurrencyRef SalesTermRef PrivateNote "
        "CustomerMemo BillEmail BillAddr ShipAddr ClassRef DepartmentRef LinkedTxn TxnTaxDetail "
        "EmailStatus PrintStatus ApplyTaxAfterDiscount ExchangeRate GlobalTaxCalculation HomeBalance "
        "HomeTotalAmt Deposit AllowOnlineCreditCardPayment AllowOnlineACHPayment",
        writable=True,
        deletable=True,
    ),
    # https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/employee (no
    # delete: an employee is made inactive)
    _spec(
        "Employee",
        "DisplayName Title GivenName MiddleName FamilyName Suffix PrintOnCheckName Active PrimaryPhone "
        "Mobile PrimaryEmailAddr PrimaryAddr EmployeeNumber SSN BillableTime BillRate CostRate HiredDate "
        "ReleasedDate BirthDate Gender Organization V4IDPseudonym",
        writable=True,
        deletable=False,
    ),
    # https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
    # (create, read, sparse/full update, delete, query)
    _spec(
        "TimeActivity",
        "TxnDate NameOf EmployeeRef VendorRef OtherNameRef CustomerRef ProjectRef ItemRef ClassRef "
        "DepartmentRef PayrollItemRef BillableStatus Taxable HourlyRate CostRate Hours Minutes BreakHours "
        "BreakMinutes StartTime EndTime Description TimeZone",
        writable=True,
        deletable=True,
    ),
    # https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/account (no
    # delete: an account is made inactive) and .../all-entities/taxcode (read and query only)
    _spec(
        "Account",
        "Name SubAccount ParentRef Description Active Classification AccountType AccountSubType AcctNum "
        "FullyQualifiedName CurrentBalance CurrentBalanceWithSubAccounts CurrencyRef TaxCodeRef",
        writable=True,
        deletable=False,
    ),
    _spec(
        "TaxCode",
        "Name Description Active Hidden Taxable TaxGroup SalesTaxRateList PurchaseTaxRateList",
        writable=False,
        deletable=False,
    ),
    # https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/purchase
    # (create, read, sparse/full update, delete, query)
    _spec(
        "Purchase",
        "PaymentType AccountRef Line EntityRef Credit TxnDate DocNumber PrivateNote TotalAmt CurrencyRef "
        "ExchangeRate DepartmentRef RemitToAddr PrintStatus TxnSource GlobalTaxCalculation TxnTaxDetail "
        "PaymentMethodRef LinkedTxn IncludeInAnnualTPAR TransactionLocationType",
        writable=True,
        deletable=True,
    ),
    PAYMENT,
    CREDIT_MEMO,
)
BY_NAME = {spec.name.casefold(): spec for spec in ENTITIES}
# Entities a CDC request may name that exist in QBO but are not kept by this twin are refused as
# not served; these five QBO itself refuses for CDC (TimeActivity too, though the twin serves it).
NOT_FOR_CDC = frozenset({"journalcode", "timeactivity", "taxagency", "taxcode", "taxrate"})


def entity(name: str) -> EntitySpec | None:
    """The spec of `name` (case-insensitive, as QBO's query language takes it), or None."""
    return BY_NAME.get(name.casefold())
