"""Employee and TimeActivity rules: who worked, for whom, on what, how long, at what rate.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/employee
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity

The TimeActivity reference: `NameOf` (Employee or Vendor) is required together with the matching
`EmployeeRef` or `VendorRef`; `TxnDate` defaults to the company's today; `Hours` (with `Minutes`,
0-59) is required unless `StartTime` and `EndTime` are given; `HourlyRate` is required when
`BillableStatus` is Billable. The reference documents no Fault codes of its own, so the refusals use
Intuit's general codes: 2020 for a missing value, 2170 for an unknown enumeration value, 2500 / 610 for
an unknown / inactive reference, 6000 for a business rule:
https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from infra.local.sandboxes.quickbooks.company import COMPANY_TZ, Company
from infra.local.sandboxes.quickbooks.customers import check_name, derived_name
from infra.local.sandboxes.quickbooks.faults import (
    business_rule,
    invalid_enumeration,
    invalid_property,
    required_missing,
)
from infra.local.sandboxes.quickbooks.invoices import reference

NAME_OF = {"Employee": "EmployeeRef", "Vendor": "VendorRef"}
BILLABLE_STATUSES = ("Billable", "NotBillable", "HasBeenBilled")
MAX_MINUTES = 59
# Optional references and the list each one names.
_OPTIONAL_REFS = {
    "CustomerRef": "Customer",
    "ItemRef": "Item",
    "ClassRef": "Class",
    "DepartmentRef": "Department",
}


def check_employee(company: Company, fields: dict[str, Any], own_id: str | None) -> dict[str, Any]:
    """An Employee: a DisplayName (or name parts) unique across customers, vendors and employees."""
    name = derived_name(fields)
    check_name(company, name, own_id, "Employee")
    return {
        "Active": True,
        "BillableTime": False,
        "PrintOnCheckName": name,
        **fields,
        "DisplayName": name,
    }


def add_name(company: Company, entity: str, display_name: str, *, active: bool) -> str:
    """An Employee or Vendor set up in the QBO UI before the app connected (no notice); returns its Id."""
    check_name(company, display_name, None, entity)
    fields = {"DisplayName": display_name, "PrintOnCheckName": display_name, "Active": active}
    if entity == "Employee":
        fields["BillableTime"] = False
    return str(company.stamp_new(entity, company.next_id(entity), fields, report=False)["Id"])


def _named_ref(company: Company, entity: str, ref: Any, element: str) -> dict[str, str]:
    """A reference resolved to the active object's Id and name (2500 unknown, 610 inactive)."""
    found = reference(company, entity, ref, element)
    name = found.get("DisplayName") or found.get("FullyQualifiedName") or found.get("Name") or ""
    return {"value": found["Id"], "name": str(name)}


def _whole(fields: dict[str, Any], key: str) -> int | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise invalid_property(f"Property Name:{key} must be a whole number, not negative", key)
    return int(value)


def _rate(fields: dict[str, Any], key: str) -> int | float | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid_property(f"Property Name:{key} must be a number", key)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise invalid_property(f"Property Name:{key} must be a number", key) from None
    if amount < 0:
        raise invalid_property(f"Property Name:{key} cannot be negative", key)
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _span(fields: dict[str, Any]) -> None:
    """StartTime and EndTime: both date-times, the end after the start."""
    try:
        start = datetime.fromisoformat(str(fields["StartTime"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(fields["EndTime"]).replace("Z", "+00:00"))
    except ValueError:
        raise invalid_property("Property Name:StartTime/EndTime must be date-times", "StartTime") from None
    if (start.tzinfo is None) != (end.tzinfo is None) or end <= start:
        raise business_rule("EndTime must be after StartTime.", "EndTime")


def _duration(fields: dict[str, Any]) -> dict[str, int]:
    """Hours and Minutes (0-59), required unless StartTime and EndTime are given."""
    hours, minutes = _whole(fields, "Hours"), _whole(fields, "Minutes")
    if minutes is not None and minutes > MAX_MINUTES:
        raise business_rule(f"Minutes must be between 0 and {MAX_MINUTES}.", "Minutes")
    spanned = fields.get("StartTime") is not None and fields.get("EndTime") is not None
    if hours is None and minutes is None:
        if not spanned:
            raise required_missing(
                "Required parameter Hours is missing in the request (or StartTime and EndTime)", "Hours"
            )
        _span(fields)
        return {}
    if spanned:
        _span(fields)
    return {"Hours": hours or 0, "Minutes": minutes or 0}


def check_time_activity(company: Company, fields: dict[str, Any], own_id: str | None) -> dict[str, Any]:
    """The stored TimeActivity for these fields: references resolved, duration and billing checked."""
    del own_id  # no rule compares one activity with the others
    name_of = fields.get("NameOf")
    if not name_of:
        raise required_missing("Required parameter NameOf is missing in the request", "NameOf")
    if name_of not in NAME_OF:
        raise invalid_enumeration(name_of, "NameOf", "Employee, Vendor", "NameOf")
    person_key = NAME_OF[str(name_of)]
    if not fields.get(person_key):
        raise required_missing(
            f"Required parameter {person_key} is missing in the request: NameOf {name_of} needs it",
            person_key,
        )
    resolved: dict[str, Any] = {person_key: _named_ref(company, str(name_of), fields[person_key], person_key)}
    for key, entity in _OPTIONAL_REFS.items():
        if fields.get(key):
            resolved[key] = _named_ref(company, entity, fields[key], key)
    status = fields.get("BillableStatus", "NotBillable")
    if status not in BILLABLE_STATUSES:
        raise invalid_enumeration(status, "BillableStatus", ", ".join(BILLABLE_STATUSES), "BillableStatus")
    if status == "Billable":
        # Billable time is billed to a customer as a service: Intuit's schema marks ItemRef
        # "Required for the create operation" (.NET SDK Finance.xsd, TimeActivity), and an invoice
        # line needs the customer and the item; time without them stays NotBillable.
        for key in ("CustomerRef", "ItemRef"):
            if not fields.get(key):
                raise required_missing(
                    f"Required parameter {key} is missing in the request: BillableStatus is Billable", key
                )
    hourly_rate = _rate(fields, "HourlyRate")
    if status == "Billable" and hourly_rate is None:
        raise required_missing(
            "Required parameter HourlyRate is missing in the request: BillableStatus is Billable",
            "HourlyRate",
        )
    other = next(key for key in NAME_OF.values() if key != person_key)
    kept = {key: value for key, value in fields.items() if key != other}
    rates = {"HourlyRate": hourly_rate if hourly_rate is not None else 0}
    cost_rate = _rate(fields, "CostRate")
    if cost_rate is not None:
        rates["CostRate"] = cost_rate
    txn_date = fields.get("TxnDate") or company.now().astimezone(COMPANY_TZ).date().isoformat()
    return {
        "Taxable": False,
        **kept,
        **resolved,
        **rates,
        **_duration(fields),
        "NameOf": name_of,
        "BillableStatus": status,
        "TxnDate": txn_date,
    }
