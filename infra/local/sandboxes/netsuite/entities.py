"""The rules of entity records: customers, projects (jobs), employees, and time bills against them.

- A company customer needs a Company Name; a person (`isPerson: true`) a first and last name.
- A project's `parent` is the customer it is for (a customer, not another project), fixed once the
  project exists; it takes its customer's subsidiary and currency when none is sent. Its Status
  (`entityStatus`) names a project status (`jobStatus`: Oracle's five are seeded).
- A customer or project that transactions, projects or time bills refer to cannot be deleted.
- A time bill names an employee, a customer or project, hours (more than 0, at most 24 a day) and a
  date; not a project whose Allow Time Entry (`allowTime`) is cleared. With a customer or project it
  needs a service item ("This field is required when the customer field is set", TimeBill's `item`,
  SOAP Schema Browser). Once billed (an invoice carries it, `status` "Billed") it can be neither
  changed nor deleted (USER_ERROR; wording UNCONFIRMED).
Subsidiary and currency default to the account's first subsidiary and its currency (the sandbox's
account is OneWorld with one subsidiary unless a test adds more).
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html (error bodies)
"""

from __future__ import annotations

from decimal import Decimal

from infra.local.sandboxes.netsuite import records
from infra.local.sandboxes.netsuite.account import Account, Record
from infra.local.sandboxes.netsuite.errors import invalid_reference, required, user_error
from infra.local.sandboxes.netsuite.schema import CURRENCY, SPECS, SUBSIDIARY, RecordSpec

_DEPENDENT = "This record cannot be deleted because it has dependent records."
TIME_BILLED = "Billed"
_BILLED_TIME = "This time entry has been billed and can no longer be changed."


def default_subsidiary(account: Account, record: Record) -> None:
    """Subsidiary (the account's first) and currency (the subsidiary's) when none was sent."""
    if record.get("subsidiary") is None:
        first = next(iter(account.rows(SUBSIDIARY)), None)
        if first is not None:
            record["subsidiary"] = first["id"]
    if record.get("currency") is None and record.get("subsidiary") is not None:
        subsidiary = account.get(SUBSIDIARY, record["subsidiary"])
        if subsidiary is not None and subsidiary.get("currency"):
            record["currency"] = subsidiary["currency"]


def _customer(account: Account, spec: RecordSpec, record: Record, previous: Record | None) -> None:
    if record.get("isPerson"):
        for name, label in (("firstName", "First Name"), ("lastName", "Last Name")):
            if not record.get(name):
                raise required(label, name)
    elif not record.get("companyName"):
        raise required("Company Name", "companyName")
    if record.get("parent") is not None and previous is not None and record["parent"] == previous["id"]:
        raise invalid_reference(record["parent"], "parent", "parent")
    if not record.get("entityId"):
        name = record.get("companyName") or f"{record.get('firstName', '')} {record.get('lastName', '')}"
        record["entityId"] = name.strip()
    record.setdefault("isPerson", False)
    record.setdefault("isInactive", False)
    # One default billing and one default shipping address: the last line marked wins.
    for flag in ("defaultBilling", "defaultShipping"):
        marked = [line for line in record.get("addressbook", []) if line.get(flag)]
        for line in marked[:-1]:
            line[flag] = False
    default_subsidiary(account, record)


def _job(account: Account, spec: RecordSpec, record: Record, previous: Record | None) -> None:
    customer = account.get(SPECS["customer"], record["parent"])
    if customer is None:
        raise invalid_reference(record["parent"], "parent", "parent")
    # "After a project record is created, you cannot change the customer associated with that
    # project record." https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_N1179164.html
    if previous is not None and previous.get("parent") != record["parent"]:
        raise user_error(
            "You cannot change the customer of a project once it is created.", error_path="parent"
        )
    record.setdefault("subsidiary", customer.get("subsidiary"))
    record.setdefault("currency", customer.get("currency"))
    if not record.get("entityId"):
        record["entityId"] = f"{customer.get('entityId', '')} : {record['companyName']}"
    record.setdefault("isInactive", False)
    default_subsidiary(account, record)


def _employee(account: Account, spec: RecordSpec, record: Record, previous: Record | None) -> None:
    if not record.get("entityId"):
        record["entityId"] = f"{record['firstName']} {record['lastName']}"
    record.setdefault("isInactive", False)
    default_subsidiary(account, record)


def _time_bill(account: Account, spec: RecordSpec, record: Record, previous: Record | None) -> None:
    if previous is not None and previous.get("status") == TIME_BILLED:
        raise user_error(_BILLED_TIME)
    if record.get("customer") is not None and record.get("item") is None:
        raise required("Service Item", "item")
    hours: Decimal = record["hours"]
    if not Decimal(0) < hours <= Decimal(24):
        raise user_error(
            "The duration of a time entry must be more than 0 and at most 24 hours.", error_path="hours"
        )
    employee = account.get(SPECS["employee"], record["employee"])
    if employee is not None and employee.get("isInactive"):
        raise invalid_reference(record["employee"], "employee", "employee")
    # A project's "Allow Time Entry" box, cleared, keeps time off it (the wording is UNCONFIRMED).
    # https://www.netsuite.com/help/helpcenter/en_US/srbrowser/Browser2020_1/script/record/job.html
    project = account.get(SPECS["job"], record["customer"])
    if project is not None and project.get("allowTime") is False:
        raise user_error(
            "Time cannot be entered for this project: Allow Time Entry is not checked.", error_path="customer"
        )
    record.setdefault("isBillable", True)
    if record.get("subsidiary") is None and employee is not None:
        record["subsidiary"] = employee.get("subsidiary")


def mark_billed(account: Account, time_bill: Record, billed: bool = True) -> bool:
    """An invoice carries the time bill (`billed`) or no longer does: its read-only `status` is Billed
    (or cleared, the time billable again) and its `lastModifiedDate` moves; False when unchanged."""
    if (time_bill.get("status") == TIME_BILLED) == billed:
        return False
    if billed:
        time_bill["status"] = TIME_BILLED
    else:
        time_bill.pop("status", None)
    time_bill["lastModifiedDate"] = account.now()
    return True


def _refuse_if_referenced(account: Account, spec: RecordSpec, record: Record) -> None:
    entity_id = record["id"]
    for other in SPECS.values():
        for row in account.table(other).values():
            if row is record:
                continue
            for name, field in other.fields.items():
                if field.kind == "ref" and spec.name in field.refs and row.get(name) == entity_id:
                    raise user_error(_DEPENDENT)


def _refuse_if_billed(account: Account, spec: RecordSpec, record: Record) -> None:
    if record.get("status") == TIME_BILLED:
        raise user_error(_BILLED_TIME)


def _refuse_currency_change(
    account: Account, spec: RecordSpec, record: Record, previous: Record | None
) -> None:
    if previous is not None and previous.get("symbol") != record.get("symbol"):
        raise user_error("The ISO code of a currency cannot be changed.", error_path="symbol")


records.RULES.update(
    {
        "customer": _customer,
        "job": _job,
        "employee": _employee,
        "timeBill": _time_bill,
        CURRENCY.name: _refuse_currency_change,
    }
)
for _name in (
    "department",
    "classification",
    "location",
    "customer",
    "job",
    "employee",
    "serviceItem",
    "subsidiary",
    "currency",
    "term",
    "expenseCategory",
):
    records.DELETE_RULES[_name] = _refuse_if_referenced
records.DELETE_RULES["timeBill"] = _refuse_if_billed
