"""The record types the sandbox serves: their REST fields, required values, references and sublists.

Names follow the REST record service (camelCase, matched without regard to case, as the service's
record type names are); each type also names its SuiteQL table and, for transactions, the type code
SuiteQL's `transaction.type` holds. https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157305090645.html
(field value formats: dates `2017-07-21`, date-times ISO 8601 in UTC, durations in hours).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Field kinds: text, bool, number (quantities, rates), money, date, datetime, duration (hours), ref,
# subrecord (an address: its fields are ADDRESS_FIELDS).
ENTITY = "entity"
TRANSACTION = "transaction"


@dataclass(frozen=True)
class FieldSpec:
    """One body field: its kind, the label a refusal names, what a reference may point to."""

    kind: str
    label: str = ""
    refs: tuple[str, ...] = ()  # record types a `{"id": ...}` may name
    read_only: bool = False  # computed by NetSuite: a value sent is refused


@dataclass(frozen=True)
class SublistSpec:
    """A sublist (`item`, `apply`): the fields of a line and the ones a line must have."""

    fields: dict[str, FieldSpec]
    required: tuple[str, ...]


@dataclass(frozen=True)
class RecordSpec:
    """One record type: fields, required fields (by name), sublists, id sequence and SuiteQL table."""

    name: str
    sequence: str  # records sharing a sequence share internal ids (entities, transactions)
    table: str  # SuiteQL table
    fields: dict[str, FieldSpec]
    required: tuple[str, ...] = ()
    sublists: dict[str, SublistSpec] = field(default_factory=dict)
    type_code: str | None = None  # transaction.type in SuiteQL (CustInvc, CustPymt, CustCred)
    created_field: str = "dateCreated"  # entities say dateCreated, transactions createdDate


def _ref(label: str, *types: str) -> FieldSpec:
    return FieldSpec("ref", label, types)


_COMMON = {
    "externalId": FieldSpec("text", "External ID"),
    "isInactive": FieldSpec("bool", "Inactive"),
}
_CUSTOMER_OR_JOB = ("customer", "job")

# The address subrecord (`addressbookaddress`) of an address book line; `addrText` is NetSuite's
# own rendering of the address. https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545141947.html
ADDRESS_FIELDS = {
    "addressee": FieldSpec("text", "Addressee"),
    "attention": FieldSpec("text", "Attention"),
    "addr1": FieldSpec("text", "Address 1"),
    "addr2": FieldSpec("text", "Address 2"),
    "addr3": FieldSpec("text", "Address 3"),
    "city": FieldSpec("text", "City"),
    "state": FieldSpec("text", "State"),
    "zip": FieldSpec("text", "Zip"),
    "country": FieldSpec("text", "Country"),
    "addrPhone": FieldSpec("text", "Phone"),
    "addrText": FieldSpec("text", "Address", read_only=True),
}
_ADDRESS_BOOK = SublistSpec(
    {
        "line": FieldSpec("number", "Line"),
        "defaultBilling": FieldSpec("bool", "Default Billing"),
        "defaultShipping": FieldSpec("bool", "Default Shipping"),
        "isResidential": FieldSpec("bool", "Residential Address"),
        "label": FieldSpec("text", "Label"),
        "addressbookaddress": FieldSpec("subrecord", "Address"),
    },
    required=(),
)

CUSTOMER = RecordSpec(
    "customer",
    ENTITY,
    "customer",
    {
        **_COMMON,
        "entityId": FieldSpec("text", "Customer ID"),
        "companyName": FieldSpec("text", "Company Name"),
        "isPerson": FieldSpec("bool", "Type"),
        "firstName": FieldSpec("text", "First Name"),
        "lastName": FieldSpec("text", "Last Name"),
        "email": FieldSpec("text", "Email"),
        "phone": FieldSpec("text", "Phone"),
        "comments": FieldSpec("text", "Comments"),
        "url": FieldSpec("text", "Web Address"),
        "terms": _ref("Terms", "term"),
        "parent": _ref("Child Of", "customer"),
        "subsidiary": _ref("Primary Subsidiary", "subsidiary"),
        "currency": _ref("Currency", "currency"),
    },
    sublists={"addressbook": _ADDRESS_BOOK},
)
# Project statuses are an accounting list (Setup > Accounting > Accounting Lists > Project Status)
# exposed to REST as `jobstatus`; a project's Status is its `entityStatus`. Oracle's example names
# the account's default values: 1 = Closed, 2 = In Progress, 3 = Not Awarded, 4 = Pending, 5 = Awarded.
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_46115448596.html
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_3795306517.html
JOB_STATUS = RecordSpec(
    "jobStatus",
    "jobstatus",
    "jobstatus",
    {**_COMMON, "name": FieldSpec("text", "Name"), "description": FieldSpec("text", "Description")},
    required=("name",),
)
DEFAULT_JOB_STATUSES = {"1": "Closed", "2": "In Progress", "3": "Not Awarded", "4": "Pending", "5": "Awarded"}
JOB = RecordSpec(
    "job",
    ENTITY,
    "job",
    {
        **_COMMON,
        "entityId": FieldSpec("text", "Project ID"),
        "companyName": FieldSpec("text", "Project Name"),
        "parent": _ref("Customer", "customer"),
        "entityStatus": _ref("Status", "jobStatus"),
        "allowTime": FieldSpec("bool", "Allow Time Entry"),
        "allowExpenses": FieldSpec("bool", "Allow Expenses"),
        "subsidiary": _ref("Subsidiary", "subsidiary"),
        "currency": _ref("Currency", "currency"),
        "startDate": FieldSpec("date", "Start Date"),
        "projectedEndDate": FieldSpec("date", "Projected End Date"),
        "endDate": FieldSpec("date", "End Date"),
        "comments": FieldSpec("text", "Comments"),
    },
    required=("companyName", "parent"),
)
EMPLOYEE = RecordSpec(
    "employee",
    ENTITY,
    "employee",
    {
        **_COMMON,
        "entityId": FieldSpec("text", "Employee ID"),
        "firstName": FieldSpec("text", "First Name"),
        "lastName": FieldSpec("text", "Last Name"),
        "email": FieldSpec("text", "Email"),
        "subsidiary": _ref("Subsidiary", "subsidiary"),
    },
    required=("firstName", "lastName"),
)
SERVICE_ITEM = RecordSpec(
    "serviceItem",
    "item",
    "item",
    {
        **_COMMON,
        "itemId": FieldSpec("text", "Item Name/Number"),
        "displayName": FieldSpec("text", "Display Name/Code"),
        "description": FieldSpec("text", "Description"),
        "subsidiary": _ref("Subsidiary", "subsidiary"),
    },
    required=("itemId",),
)
SUBSIDIARY = RecordSpec(
    "subsidiary",
    "subsidiary",
    "subsidiary",
    {**_COMMON, "name": FieldSpec("text", "Name"), "currency": _ref("Currency", "currency")},
    required=("name",),
)
TERM = RecordSpec(
    "term",
    "term",
    "term",
    {
        **_COMMON,
        "name": FieldSpec("text", "Terms"),
        "daysUntilNetDue": FieldSpec("number", "Days Till Net Due"),
    },
    required=("name",),
)
CURRENCY = RecordSpec(
    "currency",
    "currency",
    "currency",
    {**_COMMON, "name": FieldSpec("text", "Name"), "symbol": FieldSpec("text", "ISO Code")},
    required=("name", "symbol"),
)
# Classifications (Setup > Company > Classifications): class, department, location lists that
# transactions and time bills name. https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_N3691883.html
DEPARTMENT = RecordSpec(
    "department", "department", "department", {**_COMMON, "name": FieldSpec("text", "Name")}, ("name",)
)
CLASSIFICATION = RecordSpec(
    "classification",
    "classification",
    "classification",
    {**_COMMON, "name": FieldSpec("text", "Name")},
    ("name",),
)
LOCATION = RecordSpec(
    "location", "location", "location", {**_COMMON, "name": FieldSpec("text", "Name")}, ("name",)
)
_SEGMENTS = {
    "class": _ref("Class", "classification"),
    "department": _ref("Department", "department"),
    "location": _ref("Location", "location"),
}
# Record ID `timebill` (any case); Oracle's sample PATCHes `"hours": "4:00"`, so durations are
# accepted as H:MM as well as a number of hours (and answered as a number of hours).
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_164439865832.html
TIME_BILL = RecordSpec(
    "timeBill",
    "timebill",
    "timebill",
    {
        "externalId": FieldSpec("text", "External ID"),
        "employee": _ref("Employee", "employee"),
        "customer": _ref("Customer:Project", *_CUSTOMER_OR_JOB),
        "hours": FieldSpec("duration", "Duration"),
        "tranDate": FieldSpec("date", "Date"),
        "item": _ref("Service Item", "serviceItem"),
        "rate": FieldSpec("number", "Rate"),
        "isBillable": FieldSpec("bool", "Billable"),
        "memo": FieldSpec("text", "Memo"),
        "subsidiary": _ref("Subsidiary", "subsidiary"),
        **_SEGMENTS,
        # Read-only: "Billed" once an invoice carries the time (UNCONFIRMED value; the SOAP schema
        # lists a read-only `status` string on TimeBill, 2022.1 Schema Browser).
        "status": FieldSpec("text", "Status", read_only=True),
    },
    required=("employee", "customer", "hours", "tranDate"),
)

_ITEM_LINES = SublistSpec(
    {
        "line": FieldSpec("number", "Line"),
        "item": _ref("Item", "serviceItem"),
        "quantity": FieldSpec("number", "Quantity"),
        "rate": FieldSpec("number", "Rate"),
        "amount": FieldSpec("money", "Amount"),
        "description": FieldSpec("text", "Description"),
    },
    required=("item",),
)
_APPLY_LINES = SublistSpec(
    {
        "line": FieldSpec("number", "Line"),
        "doc": _ref("Invoice", "invoice"),
        "apply": FieldSpec("bool", "Apply"),
        "amount": FieldSpec("money", "Payment"),
    },
    required=("doc",),
)


# An invoice's Billable Time (`time`) and Billable Expenses (`expCost`) subtabs: each line names the
# time bill or expense report it bills (`doc`), marked `apply`. Field names as the SOAP schema's
# InvoiceTime / InvoiceExpCost (apply, doc, billedDate, quantity, rate, amount, memo; 3p listing of
# Oracle's 2013_2 WSDL: https://rubydoc.info/gems/activenetsuite/0.1.0/ActiveNetsuite/InvoiceTime,
# .../InvoiceExpCost); the REST sublist names `time` and `expCost` are UNCONFIRMED (REST API Browser).
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_N3678746.html (invoice, SOAP)
def _cost_lines(label: str, record_type: str, **figures: FieldSpec) -> SublistSpec:
    return SublistSpec(
        {
            "line": FieldSpec("number", "Line"),
            "doc": _ref(label, record_type),
            "apply": FieldSpec("bool", "Apply"),
            "billedDate": FieldSpec("date", "Date"),
            **figures,
            "amount": FieldSpec("money", "Amount"),
            "memo": FieldSpec("text", "Memo"),
        },
        required=("doc",),
    )


_TIME_LINES = _cost_lines(
    "Time", "timeBill", quantity=FieldSpec("number", "Qty"), rate=FieldSpec("number", "Rate")
)
_EXPENSE_COST_LINES = _cost_lines("Expense", "expenseReport")
_TRANSACTION = {
    "externalId": FieldSpec("text", "External ID"),
    "tranId": FieldSpec("text", "Number"),
    "tranDate": FieldSpec("date", "Date"),
    "currency": _ref("Currency", "currency"),
    "subsidiary": _ref("Subsidiary", "subsidiary"),
    "memo": FieldSpec("text", "Memo"),
    "status": FieldSpec("text", "Status", read_only=True),
}
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_161488248489.html (record ID invoice)
INVOICE = RecordSpec(
    "invoice",
    TRANSACTION,
    "transaction",
    {
        **_TRANSACTION,
        "entity": _ref("Customer", *_CUSTOMER_OR_JOB),
        "dueDate": FieldSpec("date", "Due Date"),
        "terms": _ref("Terms", "term"),
        "otherRefNum": FieldSpec("text", "PO #"),
        "subtotal": FieldSpec("money", "Subtotal", read_only=True),
        "total": FieldSpec("money", "Total", read_only=True),
        "amountPaid": FieldSpec("money", "Amount Paid", read_only=True),
        "amountRemaining": FieldSpec("money", "Amount Remaining", read_only=True),
    },
    required=("entity",),
    sublists={"item": _ITEM_LINES, "time": _TIME_LINES, "expCost": _EXPENSE_COST_LINES},
    type_code="CustInvc",
    created_field="createdDate",
)
CUSTOMER_PAYMENT = RecordSpec(
    "customerPayment",
    TRANSACTION,
    "transaction",
    {
        **_TRANSACTION,
        "customer": _ref("Customer", *_CUSTOMER_OR_JOB),
        "payment": FieldSpec("money", "Payment Amount"),
        "total": FieldSpec("money", "Total", read_only=True),
        "applied": FieldSpec("money", "Applied", read_only=True),
        "unapplied": FieldSpec("money", "Unapplied", read_only=True),
    },
    required=("customer", "payment"),
    sublists={"apply": _APPLY_LINES},
    type_code="CustPymt",
    created_field="createdDate",
)
CREDIT_MEMO = RecordSpec(
    "creditMemo",
    TRANSACTION,
    "transaction",
    {
        **_TRANSACTION,
        "entity": _ref("Customer", *_CUSTOMER_OR_JOB),
        "createdFrom": _ref("Created From", "invoice"),
        "subtotal": FieldSpec("money", "Subtotal", read_only=True),
        "total": FieldSpec("money", "Total", read_only=True),
        "applied": FieldSpec("money", "Applied", read_only=True),
        "unapplied": FieldSpec("money", "Unapplied", read_only=True),
        "amountRemaining": FieldSpec("money", "Amount Remaining", read_only=True),
    },
    required=("entity",),
    sublists={"item": _ITEM_LINES, "apply": _APPLY_LINES},
    type_code="CustCred",
    created_field="createdDate",
)

EXPENSE_CATEGORY = RecordSpec(
    "expenseCategory",
    "expensecategory",
    "expensecategory",
    {**_COMMON, "name": FieldSpec("text", "Name"), "description": FieldSpec("text", "Description")},
    required=("name",),
)
# An employee's expense report: lines by category, each optionally billable to a customer or project.
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157305090645.html (value formats)
EXPENSE_REPORT = RecordSpec(
    "expenseReport",
    TRANSACTION,
    "transaction",
    {
        "externalId": FieldSpec("text", "External ID"),
        "tranId": FieldSpec("text", "Number"),
        "tranDate": FieldSpec("date", "Date"),
        "entity": _ref("Employee", "employee"),
        "memo": FieldSpec("text", "Purpose"),
        "subsidiary": _ref("Subsidiary", "subsidiary"),
        "currency": _ref("Currency", "currency"),
        "supervisorApproval": FieldSpec("bool", "Supervisor Approval"),
        "accountingApproval": FieldSpec("bool", "Accounting Approval"),
        "total": FieldSpec("money", "Total", read_only=True),
        "status": FieldSpec("text", "Status", read_only=True),
    },
    required=("entity",),
    sublists={
        "expense": SublistSpec(
            {
                "line": FieldSpec("number", "Line"),
                "category": _ref("Category", "expenseCategory"),
                "amount": FieldSpec("money", "Amount"),
                "expenseDate": FieldSpec("date", "Date"),
                "customer": _ref("Customer:Project", *_CUSTOMER_OR_JOB),
                "isBillable": FieldSpec("bool", "Billable"),
                "memo": FieldSpec("text", "Memo"),
                **_SEGMENTS,
            },
            required=("category", "amount"),
        )
    },
    type_code="ExpRept",
    created_field="createdDate",
)

SPECS: dict[str, RecordSpec] = {
    spec.name.lower(): spec
    for spec in (
        CUSTOMER,
        JOB,
        JOB_STATUS,
        EMPLOYEE,
        SERVICE_ITEM,
        SUBSIDIARY,
        CURRENCY,
        TERM,
        TIME_BILL,
        INVOICE,
        CUSTOMER_PAYMENT,
        CREDIT_MEMO,
        EXPENSE_CATEGORY,
        EXPENSE_REPORT,
        DEPARTMENT,
        CLASSIFICATION,
        LOCATION,
    )
}


def spec_for(record_type: str) -> RecordSpec | None:
    """The record type named in a URL (any case), or None when the sandbox does not serve it."""
    return SPECS.get(record_type.lower())
