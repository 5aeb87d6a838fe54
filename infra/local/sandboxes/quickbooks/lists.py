"""List entities a bookkeeper keeps: Class and Department (QBO's "location") for tracking."""

from __future__ import annotations

from infra.local.sandboxes.quickbooks.company import Company

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
