"""List entities: Class and Department (QBO's "location") for tracking, Term and Item for invoicing."""

from __future__ import annotations

from typing import Any

from infra.local.sandboxes.quickbooks.company import Company
from infra.local.sandboxes.quickbooks.faults import (
    fault,
    invalid_enumeration,
    invalid_property,
    required_missing,
)

TRACKING = ("Class", "Department")


def add_tracking(company: Company, entity: str, name: str, *, active: bool, record_id: str | None) -> str:
    """A Class or Department set up in the QBO UI (Settings > All lists); returns its Id."""
    if record_id is None:
        record_id = company.next_id(entity)
    elif record_id in company.table(entity):
        raise ValueError(f"{entity} {record_id} already exists in the sandbox")
    else:
        company.reserve_id(entity, record_id)
    fields = {
        "Name": name,
        "SubClass" if entity == "Class" else "SubDepartment": False,
        "FullyQualifiedName": name,
        "Active": active,
    }
    # Set up in the UI before the app connected: no notice is owed for it.
    company.stamp_new(entity, record_id, fields, report=False)
    return record_id


def set_active(company: Company, entity: str, record_id: str, active: bool) -> None:
    """The bookkeeper makes a list entry inactive or active again (KeyError for an unknown Id)."""
    row = company.table(entity)[record_id]
    row["Active"] = active
    company.bump(row)


# Item types a client may create (https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/item):
# an income account is required for each of them.
ITEM_TYPES = frozenset({"Service", "NonInventory", "Inventory"})


def unique_name(company: Company, entity: str, name: Any, own_id: str | None) -> str:
    """Name is required and unique within its list (2020, 6240)."""
    if not isinstance(name, str) or not name.strip():
        raise required_missing(f"Required parameter Name is missing in the request ({entity})", "Name")
    folded = name.strip().casefold()
    for other in company.table(entity).values():
        if other["Id"] != own_id and str(other.get("Name", "")).casefold() == folded:
            raise fault(
                400,
                "6240",
                "Duplicate Name Exists Error",
                f"The name supplied already exists. : Another {entity.lower()} is already using this name.",
                "ValidationFault",
                "Name",
            )
    return name.strip()


def check_term(company: Company, fields: dict[str, Any], own_id: str | None) -> dict[str, Any]:
    """A Term: a name, and DueDays (STANDARD) or DayOfMonthDue (DATE_DRIVEN).

    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/term
    """
    name = unique_name(company, "Term", fields.get("Name"), own_id)
    for key in ("DueDays", "DayOfMonthDue", "DiscountDays", "DueNextMonthDays", "DiscountDayOfMonth"):
        value = fields.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise invalid_property(f"Property Name:{key} must be a whole number of days", key)
    kind = "DATE_DRIVEN" if fields.get("DayOfMonthDue") is not None else "STANDARD"
    return {"Active": True, **fields, "Name": name, "Type": kind}


def check_item(company: Company, fields: dict[str, Any], own_id: str | None) -> dict[str, Any]:
    """An Item: a unique name, one of the types served, and the income account it posts to.

    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/item
    """
    name = unique_name(company, "Item", fields.get("Name"), own_id)
    kind = fields.get("Type", "Service")
    if kind not in ITEM_TYPES:
        raise invalid_enumeration(kind, "Item Type", ", ".join(sorted(ITEM_TYPES)), "Type")
    if not (fields.get("IncomeAccountRef") or {}).get("value"):
        raise required_missing(
            "Required parameter IncomeAccountRef is missing in the request: an item needs an income account",
            "IncomeAccountRef",
        )
    return {"Active": True, "Taxable": False, "UnitPrice": 0, **fields, "Name": name, "Type": kind}


def add_item(company: Company, name: str, *, income_account: str, record_id: str | None) -> str:
    """A service Item set up in the QBO UI before the app connected (no notice owed); returns its Id."""
    fields = check_item(
        company, {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": income_account}}, None
    )
    if record_id is None:
        record_id = company.next_id("Item")
    elif record_id in company.table("Item"):
        raise ValueError(f"Item {record_id} already exists in the sandbox")
    else:
        company.reserve_id("Item", record_id)
    company.stamp_new("Item", record_id, fields, report=False)
    return record_id
