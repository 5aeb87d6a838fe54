"""The SuiteQL tables the sandbox serves, built from the stored records: lowercase columns, raw values.

A column holds what SuiteQL holds: internal ids (and references) as numbers, check boxes as 'T' /
'F', dates and date-times as such; BUILTIN.DF(column) shows a reference's or a status's name.
Invoices, payments and credit memos are rows of one `transaction` table told apart by `type`
(CustInvc, CustPymt, CustCred, ExpRept), a credit memo's amounts negative; service items are rows
of `item` with itemtype 'Service'.
Column names come from the Records Catalog's analytics names (the REST field names, lower-cased).
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from infra.local.sandboxes.netsuite.account import Account, Record
from infra.local.sandboxes.netsuite.schema import (
    ADDRESS_FIELDS,
    CREDIT_MEMO,
    CURRENCY,
    CUSTOMER,
    CUSTOMER_PAYMENT,
    EMPLOYEE,
    EXPENSE_CATEGORY,
    EXPENSE_REPORT,
    INVOICE,
    JOB,
    SERVICE_ITEM,
    SUBSIDIARY,
    TERM,
    TIME_BILL,
    RecordSpec,
)
from infra.local.sandboxes.netsuite.transactions import application_links

# transaction columns and the REST field each comes from, per transaction type.
_TRANSACTION_COLUMNS = (
    "id",
    "tranid",
    "type",
    "entity",
    "trandate",
    "duedate",
    "currency",
    "foreigntotal",
    "foreignamountpaid",
    "foreignamountremaining",
    "foreignamountunpaid",
    "status",
    "memo",
    "otherrefnum",
    "externalid",
    "createddate",
    "lastmodifieddate",
)
_TRANSACTION_SOURCES = {
    "tranid": "tranId",
    "trandate": "tranDate",
    "duedate": "dueDate",
    "currency": "currency",
    "foreigntotal": "total",
    "foreignamountpaid": "amountPaid",
    "memo": "memo",
    "otherrefnum": "otherRefNum",
    "externalid": "externalId",
    "createddate": "createdDate",
    "lastmodifieddate": "lastModifiedDate",
}
_LINK_COLUMNS = (
    "previousdoc",
    "previoustype",
    "previousline",
    "nextdoc",
    "nexttype",
    "nextline",
    "linktype",
    "foreignamount",
    "lastmodifieddate",
)
_STATUS_LABELS = {
    "CustInvc": "Invoice",
    "CustPymt": "Payment",
    "CustCred": "Credit Memo",
    "ExpRept": "Expense Report",
}


@dataclass
class Row:
    """One row: raw values by column, and the display names BUILTIN.DF shows."""

    values: dict[str, Any]
    display: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A SuiteQL table: its name, its columns in `SELECT *` order, the record types it reads."""

    name: str
    columns: tuple[str, ...]
    specs: tuple[RecordSpec, ...]


def _generic_columns(spec: RecordSpec, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    names = [
        "id",
        *(name.lower() for name in spec.fields),
        *extra,
        spec.created_field.lower(),
        "lastmodifieddate",
    ]
    return tuple(dict.fromkeys(names))


TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        Table(
            "customer",
            _generic_columns(CUSTOMER, ("defaultbillingaddress", "defaultshippingaddress")),
            (CUSTOMER,),
        ),
        Table("job", _generic_columns(JOB, ("customer",)), (JOB,)),
        Table("employee", _generic_columns(EMPLOYEE), (EMPLOYEE,)),
        Table("item", _generic_columns(SERVICE_ITEM, ("itemtype",)), (SERVICE_ITEM,)),
        Table("subsidiary", _generic_columns(SUBSIDIARY), (SUBSIDIARY,)),
        Table("currency", _generic_columns(CURRENCY), (CURRENCY,)),
        Table("term", _generic_columns(TERM), (TERM,)),
        # Address subrecords of entities' address books: `nkey` is what customer.defaultbillingaddress holds.
        Table("entityaddress", ("nkey", *(name.lower() for name in ADDRESS_FIELDS)), ()),
        Table("timebill", _generic_columns(TIME_BILL), (TIME_BILL,)),
        Table("expensecategory", _generic_columns(EXPENSE_CATEGORY), (EXPENSE_CATEGORY,)),
        Table("transaction", _TRANSACTION_COLUMNS, (INVOICE, CUSTOMER_PAYMENT, CREDIT_MEMO, EXPENSE_REPORT)),
        # A payment's or credit memo's application to an invoice (transactions.application_links).
        Table("nexttransactionlinelink", _LINK_COLUMNS, ()),
    )
}


def table_rows(account: Account, table: Table) -> list[Row]:
    """Every row of `table` now, in internal id order."""
    if table.name == "entityaddress":
        return _address_rows(account)
    if table.name == "nexttransactionlinelink":
        return [Row(dict(link)) for link in application_links(account)]
    rows = [_row(account, spec, record) for spec in table.specs for record in account.rows(spec)]
    rows.sort(key=lambda row: row.values["id"])
    return rows


def _address_rows(account: Account) -> list[Row]:
    rows = []
    for record in account.rows(CUSTOMER):
        for line in record.get("addressbook", []):
            address = line.get("addressbookaddress")
            if address:
                values = {name.lower(): address.get(name) for name in ADDRESS_FIELDS}
                rows.append(Row({"nkey": Decimal(address["id"]), **values}))
    rows.sort(key=lambda row: row.values["nkey"])
    return rows


def _default_address(record: Record, flag: str) -> Decimal | None:
    for line in record.get("addressbook", []):
        if line.get(flag) and line.get("addressbookaddress"):
            return Decimal(line["addressbookaddress"]["id"])
    return None


def _number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _row(account: Account, spec: RecordSpec, record: Record) -> Row:
    if spec.type_code is not None:
        return _transaction_row(account, spec, record)
    row = Row({"id": Decimal(record["id"])})
    for name, field_spec in spec.fields.items():
        column = name.lower()
        value = record.get(name)
        if field_spec.kind == "ref":
            row.values[column] = _number(value)
            if value is not None:
                row.display[column] = _ref_name(account, field_spec.refs, str(value))
        elif field_spec.kind == "bool":
            row.values[column] = "T" if value else "F"
        else:
            row.values[column] = value
    row.values[spec.created_field.lower()] = record.get(spec.created_field)
    row.values["lastmodifieddate"] = record.get("lastModifiedDate")
    if spec is JOB:
        row.values["customer"] = row.values["parent"]
        row.display["customer"] = row.display.get("parent", "")
    if spec is SERVICE_ITEM:
        row.values["itemtype"] = "Service"
    if spec is CUSTOMER:
        row.values["defaultbillingaddress"] = _default_address(record, "defaultBilling")
        row.values["defaultshippingaddress"] = _default_address(record, "defaultShipping")
    return row


def _transaction_row(account: Account, spec: RecordSpec, record: Record) -> Row:
    code = spec.type_code or ""
    row = Row({"id": Decimal(record["id"]), "type": code})
    for column, source in _TRANSACTION_SOURCES.items():
        value = record.get(source)
        row.values[column] = _number(value) if column == "currency" else value
    party_field = "customer" if spec is CUSTOMER_PAYMENT else "entity"
    party = record.get(party_field)
    row.values["entity"] = _number(party)
    if party is not None:
        row.display["entity"] = _ref_name(account, spec.fields[party_field].refs, str(party))
    if record.get("currency") is not None:
        row.display["currency"] = _ref_name(account, ("currency",), str(record["currency"]))
    remaining = record.get("unapplied") if spec is CUSTOMER_PAYMENT else record.get("amountRemaining")
    row.values["foreignamountremaining"] = row.values["foreignamountunpaid"] = remaining
    if spec is CREDIT_MEMO:
        # A credit memo's amounts are negative in the transaction table (a credit to the customer).
        for column in ("foreigntotal", "foreignamountremaining", "foreignamountunpaid"):
            if row.values[column] is not None:
                row.values[column] = -row.values[column]
    status = record.get("status") or {}
    row.values["status"] = status.get("id")
    if status:
        row.display["status"] = f"{_STATUS_LABELS[code]} : {status['refName']}"
    row.display["type"] = _STATUS_LABELS[code]
    return row


def _ref_name(account: Account, types: tuple[str, ...], record_id: str) -> str:
    found = account.find(types, record_id)
    return account.ref_name(*found) if found else record_id
